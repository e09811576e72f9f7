using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>
/// The layer graph of a declaration: who reads whom, in what order the layers run, and which layers the output
/// depends on. A layer without <c>Input</c> reads the layer declared before it, so a Sequential declaration is a
/// chain whose order is the declaration order. Pure: no Roslyn types.
/// </summary>
internal sealed class Graph
{
    /// <summary>An input given by layer index rather than name (-1: the network's input); how block expansion refers to the layer before a block.</summary>
    public static string IndexReference(int index) => "\0#" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>Names that mean the network's input (Keras names the input layer <c>input_1</c>).</summary>
    public static readonly string[] InputNames = { "input", "input_1" };

    private Graph(int[][] inputs, int[] order, bool[] live, bool isChain, int[] outputs)
    {
        Outputs = outputs;
        Inputs = inputs;
        Order = order;
        Live = live;
        IsChain = isChain;
    }

    /// <summary>Per layer, the layers it reads by declaration index (-1: the network's input).</summary>
    public int[][] Inputs { get; }

    /// <summary>The output layers, in the order of <c>[Network(Outputs = ...)]</c>; by default the last declared layer.</summary>
    public int[] Outputs { get; }

    /// <summary>Every layer in a topological order: declaration order among the layers that are ready.</summary>
    public int[] Order { get; }

    /// <summary>Whether the output (the last declared layer) depends on the layer.</summary>
    public bool[] Live { get; }

    /// <summary>True when every layer reads the one declared before it (a Sequential network).</summary>
    public bool IsChain { get; }

    /// <summary>Resolves the input names; reports unknown names, wrong input counts, cycles and unused layers.</summary>
    public static Graph? Build(NetworkSpec spec, string[] names, List<ShapeError> errors)
    {
        int n = spec.Layers.Length;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            if (!byName.ContainsKey(names[i])) byName[names[i]] = i;
        var inputs = new int[n][];
        bool ok = true, chain = true;
        for (int i = 0; i < n; i++)
        {
            var layer = spec.Layers[i];
            string kind = layer.Kind.ToString(), index = Invariant(i + 1);
            var rule = Layers.LayerRegistry.Get(layer.Kind);
            var declared = layer.Inputs;
            if (rule is { InputCount.Max: 0 })
            {
                // An Input layer: where data enters the network; it reads nothing.
                if (layer.InputProperty)
                {
                    errors.Add(new ShapeError(i, Descriptors.InputCountId, new[] { kind, index, "no inputs", "Input = \"...\"",
                        "remove Input: an Input layer is where the data of a second network input enters; layers read it by its Name" }));
                    ok = false;
                }
                inputs[i] = Array.Empty<int>();
                chain = false;
                continue;
            }
            if (rule is { InputsFromArguments: true })
            {
                var (min, max) = rule.InputCount;
                if (layer.InputProperty)
                {
                    errors.Add(new ShapeError(i, Descriptors.InputCountId, new[] { kind, index, "its inputs as arguments", "Input = \"...\" as well",
                        "remove Input and list every layer to combine, e.g. [" + kind + "(\"branch_a\", \"branch_b\")]" }));
                    ok = false;
                    continue;
                }
                if (declared.Length < min || declared.Length > max)
                {
                    string wanted = max == min ? "exactly " + Invariant(min) + " inputs" : "at least " + Invariant(min) + " inputs";
                    errors.Add(new ShapeError(i, Descriptors.InputCountId, new[] { kind, index, wanted, Invariant(declared.Length),
                        "name the layers to combine, e.g. [" + kind + "(\"branch_a\", \"branch_b\")]" }));
                    ok = false;
                    continue;
                }
            }
            if (declared.Length == 0)
            {
                // The layer declared before, passing over the states a recurrent layer returns.
                int previous = Layers.LayerRegistry.DeclaredBefore(i, k => spec.Layers[k].Kind);
                inputs[i] = new[] { previous };
                chain &= previous == i - 1;
                continue;
            }
            chain = false;
            inputs[i] = new int[declared.Length];
            for (int k = 0; k < declared.Length; k++)
            {
                string name = declared[k] ?? "";
                if (name.StartsWith("\0#", StringComparison.Ordinal) && int.TryParse(name.Substring(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out int at) && at >= -1 && at < n)
                {
                    inputs[i][k] = at;
                    continue;
                }
                if (Array.IndexOf(InputNames, name) >= 0 && !byName.ContainsKey(name)) { inputs[i][k] = -1; continue; }
                if (byName.TryGetValue(name, out int source))
                {
                    if (source == i)
                    {
                        errors.Add(new ShapeError(i, Descriptors.CycleId, new[] { kind, index, names[i], "'" + names[i] + "' -> '" + names[i] + "'" }));
                        ok = false;
                    }
                    inputs[i][k] = source;
                    continue;
                }
                errors.Add(new ShapeError(i, Descriptors.UnknownInputId, new[] { kind, index, name, SuggestState(spec, name, byName) ?? Suggest(name, names, i) }));
                ok = false;
            }
        }
        var outputs = ResolveOutputs(spec, byName, names, errors);
        if (!ok || outputs is null) return null;

        // Kahn's algorithm, taking the first ready layer in declaration order, so a chain keeps its order.
        var pending = new int[n];
        var consumers = new List<int>[n];
        for (int i = 0; i < n; i++) consumers[i] = new List<int>();
        for (int i = 0; i < n; i++)
            foreach (int source in Distinct(inputs[i]))
                if (source >= 0)
                {
                    pending[i]++;
                    consumers[source].Add(i);
                }
        var order = new List<int>(n);
        var done = new bool[n];
        while (order.Count < n)
        {
            int next = -1;
            for (int i = 0; i < n && next < 0; i++)
                if (!done[i] && pending[i] == 0) next = i;
            if (next < 0) break;
            done[next] = true;
            order.Add(next);
            foreach (int c in consumers[next]) pending[c]--;
        }
        if (order.Count < n)
        {
            int first = Array.IndexOf(done, false);
            errors.Add(new ShapeError(first, Descriptors.CycleId, new[] { spec.Layers[first].Kind.ToString(), Invariant(first + 1), names[first], CyclePath(first, inputs, done, names) }));
            return null;
        }

        // A layer no output depends on is never run.
        var live = new bool[n];
        var stack = new Stack<int>();
        foreach (int o in outputs) stack.Push(o);
        while (stack.Count > 0)
        {
            int i = stack.Pop();
            if (i < 0 || live[i]) continue;
            live[i] = true;
            foreach (int source in inputs[i]) stack.Push(source);
        }
        for (int i = 0; i < n; i++)
            if (!live[i] && !Layers.LayerRegistry.IsImplicit(spec.Layers[i].Kind))
                errors.Add(new ShapeError(i, Descriptors.UnusedLayerId, new[] { spec.Layers[i].Kind.ToString(), Invariant(i + 1), names[i],
                    spec.Outputs.Length == 0 ? "the output ('" + names[LastDeclared(spec)] + "', the last layer declared)"
                        : "any output (" + string.Join(", ", Array.ConvertAll(outputs, o => "'" + names[o] + "'")) + ")" }));
        return new Graph(inputs, order.ToArray(), live, chain && spec.Outputs.Length == 0, outputs);
    }

    /// <summary>The declared outputs by index (the last layer when none are declared), or null after NG0208.</summary>
    private static int[]? ResolveOutputs(NetworkSpec spec, Dictionary<string, int> byName, string[] names, List<ShapeError> errors)
    {
        int n = spec.Layers.Length;
        if (spec.Outputs.Length == 0) return new[] { LastDeclared(spec) };
        var outputs = new int[spec.Outputs.Length];
        for (int k = 0; k < outputs.Length; k++)
        {
            string name = spec.Outputs[k] ?? "";
            if (!byName.TryGetValue(name, out outputs[k]))
            {
                errors.Add(new ShapeError(-1, Descriptors.BadOutputId, new[] { name, "no layer of this network has that name", Suggest(name, names, -1) }));
                return null;
            }
            if (Array.IndexOf(outputs, outputs[k], 0, k) >= 0)
            {
                errors.Add(new ShapeError(-1, Descriptors.BadOutputId, new[] { name, "it is listed twice", "list each output layer once" }));
                return null;
            }
            if (Layers.LayerRegistry.Get(spec.Layers[outputs[k]].Kind) is { InputCount.Max: 0 })
            {
                errors.Add(new ShapeError(-1, Descriptors.BadOutputId, new[] { name, "it is an Input layer", "list layers that compute something from the inputs" }));
                return null;
            }
        }
        return outputs;
    }

    /// <summary>The last layer declared (not a state a recurrent layer returns): the output when none are declared.</summary>
    public static int LastDeclared(NetworkSpec spec) => Layers.LayerRegistry.DeclaredBefore(spec.Layers.Length, k => spec.Layers[k].Kind);

    /// <summary>The distinct values, in first-seen order (a layer that reads one tensor twice reads it once here).</summary>
    internal static IEnumerable<int> Distinct(int[] values)
    {
        for (int k = 0; k < values.Length; k++)
            if (Array.IndexOf(values, values[k]) == k) yield return values[k];
    }

    /// <summary>The cycle through <paramref name="start"/>'s inputs, e.g. <c>'a' -> 'b' -> 'a'</c>.</summary>
    private static string CyclePath(int start, int[][] inputs, bool[] done, string[] names)
    {
        // Walk inputs among the layers left over (each has one left over) until a layer repeats.
        var seen = new List<int>();
        int current = start;
        while (seen.IndexOf(current) < 0)
        {
            seen.Add(current);
            int next = -1;
            foreach (int source in inputs[current])
                if (source >= 0 && !done[source]) { next = source; break; }
            if (next < 0) break;
            current = next;
        }
        int from = seen.IndexOf(current);
        if (from < 0) from = 0;
        // The walk follows inputs (backwards); show the data flow, starting at the reported layer when it is on the cycle.
        var cycle = seen.GetRange(from, seen.Count - from);
        cycle.Reverse();
        int at = Math.Max(0, cycle.IndexOf(start));
        var path = new List<string>();
        for (int k = 0; k <= cycle.Count; k++) path.Add("'" + names[cycle[(at + k) % cycle.Count]] + "'");
        return string.Join(" -> ", path);
    }

    /// <summary>For <c>'encoder.state_h'</c>: what the recurrent layer 'encoder' returns and how (null when 'encoder' is no recurrent layer).</summary>
    private static string? SuggestState(NetworkSpec spec, string name, Dictionary<string, int> byName)
    {
        int dot = name.LastIndexOf('.');
        if (dot <= 0 || !byName.TryGetValue(name.Substring(0, dot), out int owner)) return null;
        return Layers.RecurrentStateRule.Suggest(spec.Layers[owner].Kind, name.Substring(0, dot), name.Substring(dot));
    }

    /// <summary>An index reference's layer (see <see cref="IndexReference"/>), or null for a name.</summary>
    public static int? ParseIndexReference(string name) =>
        name.StartsWith("\0#", StringComparison.Ordinal) && int.TryParse(name.Substring(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out int at) ? at : null;

    /// <summary>"did you mean 'conv2d_1'?" for the closest name, or how to name the input.</summary>
    private static string Suggest(string name, string[] names, int self)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        for (int i = 0; i < names.Length; i++)
        {
            if (i == self) continue;
            int d = Distance(name, names[i]);
            if (d < bestDistance) { bestDistance = d; best = names[i]; }
        }
        int dInput = Distance(name, "input");
        if (dInput < bestDistance) { bestDistance = dInput; best = "input"; }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 3)
            ? "did you mean '" + best + "'?"
            : "use the Name of a layer of this network, or \"input\" for the network's input";
    }

    /// <summary>Levenshtein distance, case-insensitive.</summary>
    internal static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
}
