using System.Collections.Generic;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>How a layer's backward pass hands the gradient to its input.</summary>
internal enum BackwardStyle
{
    /// <summary>The input's gradient is the output's (Flatten, Reshape, a fused layer, a rate-0 dropout): nothing runs.</summary>
    PassThrough,
    /// <summary>dx may be written over dy (activations, dropout, noise).</summary>
    InPlace,
    /// <summary>dx goes to its own buffer (layers with weights, pooling, padding).</summary>
    Separate,
    /// <summary>A SeparableConv2D: the pointwise gradient goes through a temporary buffer, dx may be written over dy.</summary>
    Separable,
    /// <summary>A merge layer: one call per input, which can add into a gradient that is already there.</summary>
    Merge,
}

/// <summary>
/// Plans the gradient buffers of the backward pass, in reverse running order: each tensor's gradient lives in one
/// buffer (of the largest tensor's size) from the first reader that writes it until its producer has used it; a
/// gradient that several readers contribute to is added into that buffer, never copied first. A chain alternates
/// between two buffers, with activations and dropout working in place. An Add's inputs may all hold their gradients
/// in its dy buffer at once (each is dy): the planner counts a buffer's holders and frees it when the last is done.
/// </summary>
internal static class GradientPlanner
{
    public static BackwardStyle Style(ResolvedLayer l) =>
        l.FusedInto >= 0 ? BackwardStyle.PassThrough : Layers.LayerRegistry.Of(l.Spec.Kind).StyleOf(l.Spec);

    /// <summary>
    /// Whether the layer's backward runs: it has parameters, or something before it has (otherwise no gradient is
    /// needed there). Indexed by declaration index.
    /// </summary>
    public static bool[] NeedsBackward(List<ResolvedLayer> layers, Graph graph)
    {
        var needs = new bool[layers.Count];
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            bool n = l.ParamCount > 0;
            foreach (int s in l.Inputs.AsSpan()) n |= s >= 0 && needs[s];
            needs[i] = n;
        }
        return needs;
    }

    /// <summary>Fills each layer's gradient slots; returns the number of gradient buffers (at least two).</summary>
    public static int Plan(List<ResolvedLayer> layers, Graph graph, int[] outputs)
    {
        var needs = NeedsBackward(layers, graph);
        var slotOf = new int[layers.Count];
        for (int i = 0; i < slotOf.Length; i++) slotOf[i] = -1;
        var position = new int[layers.Count];
        for (int o = 0; o < graph.Order.Length; o++) position[graph.Order[o]] = o;
        var readers = new List<int>[layers.Count];
        for (int i = 0; i < readers.Length; i++) readers[i] = new List<int>();
        foreach (int j in graph.Order)
            if (layers[j].Live)
                foreach (int s in layers[j].Inputs.AsSpan())
                    if (s >= 0) readers[s].Add(j);
        var free = new SortedSet<int>();
        // How many tensors' pending gradients each buffer holds: an Add's inputs may share one (see CanShareDy).
        var holders = new List<int>();
        int count = 0;
        int Take()
        {
            if (free.Count == 0)
            {
                holders.Add(0);
                return count++;
            }
            int s = free.Min;
            free.Remove(s);
            return s;
        }
        void Hold(int tensor, int slot)
        {
            slotOf[tensor] = slot;
            holders[slot]++;
        }
        void Release(int slot)
        {
            if (--holders[slot] == 0) free.Add(slot);
        }

        // Whether input s of Add i may read its gradient from dy's buffer while input x (which got that buffer) still
        // holds its own there: s's backward only reads dy, nothing else will add into s's gradient (i alone reads s), and
        // s's backward runs before anything writes into the buffer as x's gradient (x's other readers adding theirs, x's
        // producer working in place or passing it on).
        bool CanShareDy(int i, int s, int x)
        {
            var rule = Layers.LayerRegistry.Of(layers[s].Spec.Kind);
            if (Style(layers[s]) != BackwardStyle.Separate || !rule.BackwardKeepsOutputGradient(layers[s])) return false;
            if (readers[s].Count != 1 || System.Array.IndexOf(outputs, s) >= 0) return false;
            foreach (int r in readers[x])
                if (r != i && position[r] >= position[s]) return false;
            var producer = Layers.LayerRegistry.Of(layers[x].Spec.Kind);
            return position[x] < position[s] || (Style(layers[x]) == BackwardStyle.Separate && producer.BackwardKeepsOutputGradient(layers[x]));
        }

        // The loss writes dL/d(output k) into buffer k; a layer that also reads an output adds its gradient there.
        foreach (int o in outputs)
            if (needs[o]) Hold(o, Take());
        for (int o = graph.Order.Length - 1; o >= 0; o--)
        {
            int i = graph.Order[o];
            var l = layers[i];
            if (!l.Live || !needs[i]) continue;
            if (Layers.LayerRegistry.IsImplicit(l.Spec.Kind))
            {
                // A returned state: its owner's backward pass reads its gradient, which stays in its buffer until then.
                if (slotOf[i] >= 0)
                    layers[i] = l with { GradientOut = slotOf[i], GradientIn = new EquatableArray<int>(new[] { -1 }), GradientAccumulate = new EquatableArray<int>(new[] { 0 }) };
                continue;
            }
            // The states this layer returns, whose gradients its backward pass reads (and then frees).
            var states = new List<int>();
            foreach (var s in Layers.RecurrentStateRule.StatesOf(layers, i))
                if (slotOf[s.Index] >= 0) states.Add(slotOf[s.Index]);
            if (slotOf[i] < 0 && states.Count == 0) continue;
            int dy = slotOf[i]; // -1: only the returned states have a gradient
            var style = Style(l);
            bool passes = Layers.LayerRegistry.Of(l.Spec.Kind).PassesGradientThrough;
            var gin = new int[l.Inputs.Length];
            var acc = new int[l.Inputs.Length];
            int temp = -1;
            if (style == BackwardStyle.Separable) temp = Take(); // the depthwise output's gradient
            // An Add hands dy's buffer to the input that shares it with the most others (the first on a tie).
            int dyTo = -1, sharers = -1;
            if (passes && dy >= 0)
                for (int k = 0; k < l.Inputs.Length; k++)
                {
                    if (!Shares(k)) continue;
                    int n = 0;
                    for (int j = 0; j < l.Inputs.Length; j++)
                        if (j != k && Shares(j) && CanShareDy(i, l.Inputs[j], l.Inputs[k])) n++;
                    if (n > sharers) (dyTo, sharers) = (k, n);
                }
            bool dyGiven = false;
            for (int k = 0; k < l.Inputs.Length; k++)
            {
                int s = l.Inputs[k];
                if (s < 0 || !needs[s])
                {
                    gin[k] = -1;
                    continue;
                }
                if (slotOf[s] >= 0)
                {
                    // Another reader wrote this gradient already: add to it.
                    gin[k] = slotOf[s];
                    acc[k] = 1;
                    // The first input's dx is written apart and added; a recurrent layer adds its initial states' itself.
                    if (style == BackwardStyle.Separate && temp < 0 && k == 0) temp = Take();
                    continue;
                }
                if (passes)
                {
                    if (k == dyTo || (dyTo >= 0 && Shares(k) && CanShareDy(i, s, l.Inputs[dyTo]))) Hold(s, dy);
                    else Hold(s, Take());
                }
                else if (style is BackwardStyle.PassThrough or BackwardStyle.InPlace or BackwardStyle.Separable && !dyGiven && dy >= 0)
                {
                    Hold(s, dy);
                    dyGiven = true;
                }
                else Hold(s, Take());
                gin[k] = slotOf[s];
            }
            if (temp >= 0) free.Add(temp);
            if (dy >= 0) Release(dy);
            foreach (int s in states) Release(s);
            layers[i] = l with
            {
                GradientOut = dy,
                GradientIn = new EquatableArray<int>(gin),
                GradientAccumulate = new EquatableArray<int>(acc),
                GradientTemp = temp,
            };

            // An input an Add may hand dy to: one that needs a gradient no other reader wrote yet, read once by the Add.
            bool Shares(int k)
            {
                int s = l.Inputs[k];
                if (s < 0 || !needs[s] || slotOf[s] >= 0) return false;
                for (int j = 0; j < l.Inputs.Length; j++)
                    if (j != k && l.Inputs[j] == s) return false;
                return true;
            }
        }
        return count < 2 ? 2 : count;
    }
}
