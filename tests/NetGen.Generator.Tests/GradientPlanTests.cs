using NetGen.Generator.Layers;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// The backward pass's gradients live in the training arena, over the blocks of kept tensors once every backward pass
/// that reads them has run (<see cref="GradientPlanner"/>). These tests check every plan from the outside: from the
/// layers' slots alone, which block each backward step may read, and that no gradient in use then lies on it or on
/// another gradient in use.
/// </summary>
public class GradientPlanTests(ITestOutputHelper output)
{
    /// <summary>
    /// What is wrong with a network's gradient plan (empty: nothing). A kept block (a layer's output, pre-activation or
    /// cache) is read by the backward passes of the layers that name it in their own slots or read it as an input; it
    /// is in use from the start of the backward pass until the first of them (in running order) has run. Outputs, the
    /// inputs and activity-regularized tensors stay in use to the end (the metrics read the outputs after the step).
    /// A gradient region is in use from the first step that names it to the last (the loss writes the outputs' before
    /// the first step).
    /// </summary>
    internal static List<string> Problems(ResolvedNetwork net)
    {
        var problems = new List<string>();
        var layers = net.Layers.AsSpan().ToArray();
        var position = new int[layers.Length];
        for (int i = 0; i < position.Length; i++) position[i] = -1;
        for (int o = 0; o < net.Order.Length; o++) position[net.Order[o]] = o;
        const int Forever = -1; // in use at every step
        const int Never = int.MaxValue;

        static bool Overlap(int a, int aSize, int b, int bSize) => a < b + bSize && b < a + aSize;
        var blocks = new List<(string What, int Start, int Size)>();
        int inputSize = 1;
        foreach (int d in net.Spec.InputShape.AsSpan()) inputSize *= d;
        blocks.Add(("the input", 0, inputSize));
        foreach (var l in layers)
        {
            if (!l.Live) continue;
            bool shortLived = l.InspectOutput >= 0; // read by no backward pass: shares a region with others
            if (!l.IsAlias && !shortLived && l.TrainOutput >= 0) blocks.Add((l.Name + " output", l.TrainOutput, l.OutputSize));
            if (l.TrainPreActivation >= 0) blocks.Add((l.Name + " pre-activation", l.TrainPreActivation, l.OutputSize));
            if (l.TrainMiddle >= 0) blocks.Add((l.Name + " cache", l.TrainMiddle, ShapeInference.MiddleSize(l)));
        }
        var outputs = new HashSet<int>();
        foreach (var plan in net.Outputs.AsSpan()) outputs.Add(plan.Layer);

        // The first step (lowest running position) at which a kept block is still read.
        int LastUse(int start, int size)
        {
            int first = Never;
            foreach (var l in layers)
            {
                if (!l.Live) continue;
                bool names = (l.TrainOutput >= 0 && Overlap(start, size, l.TrainOutput, l.OutputSize)) ||
                    (l.TrainPreActivation >= 0 && Overlap(start, size, l.TrainPreActivation, l.OutputSize)) ||
                    (l.TrainMiddle >= 0 && Overlap(start, size, l.TrainMiddle, ShapeInference.MiddleSize(l)));
                bool forever = names && (outputs.Contains(l.Index) || ShapeInference.HasActivityRegularizer(l.Spec) || l.Inputs.Length == 0);
                if (forever) return Forever;
                foreach (int s in l.Inputs.AsSpan())
                    names |= s >= 0 && layers[s].TrainOutput >= 0 && Overlap(start, size, layers[s].TrainOutput, layers[s].OutputSize);
                // A returned state's owner writes it (and reads its gradient).
                if (names && Layers.LayerRegistry.IsImplicit(l.Spec.Kind) && l.Inputs.Length > 0) first = Math.Min(first, position[l.Inputs[0]]);
                if (names) first = Math.Min(first, position[l.Index]);
            }
            return first;
        }

        // Each region's steps: from the highest position that names it down to the lowest.
        var regions = net.GradientRegions.AsSpan().ToArray();
        var high = new int[regions.Length];
        var low = new int[regions.Length];
        for (int r = 0; r < regions.Length; r++) (high[r], low[r]) = (-1, Never);
        void Use(int r, int at)
        {
            if (r < 0) return;
            high[r] = Math.Max(high[r], at);
            low[r] = Math.Min(low[r], at);
        }
        foreach (var l in layers)
        {
            if (!l.Live) continue;
            int at = position[l.Index];
            Use(l.GradientOut, at);
            Use(l.GradientTemp, at);
            for (int k = 0; k < l.GradientIn.Length; k++) Use(l.GradientIn[k], at);
            if (l.GradientOut >= 0 && regions[l.GradientOut].Size < l.OutputSize)
                problems.Add($"{l.Name}'s output gradient ({l.OutputSize} floats) does not fit region {l.GradientOut} ({regions[l.GradientOut].Size})");
            for (int k = 0; k < l.GradientIn.Length; k++)
                if (l.GradientIn[k] >= 0 && l.Inputs[k] >= 0 && regions[l.GradientIn[k]].Size < layers[l.Inputs[k]].OutputSize)
                    problems.Add($"{l.Name}'s input {k} gradient does not fit region {l.GradientIn[k]}");
        }
        foreach (var plan in net.Outputs.AsSpan())
            if (layers[plan.Layer].GradientOut >= 0) high[layers[plan.Layer].GradientOut] = int.MaxValue - 1; // written by the loss

        for (int r = 0; r < regions.Length; r++)
        {
            var g = regions[r];
            if (high[r] < 0) continue; // never named (cannot happen: counted below)
            if (g.Offset < 0 || (long)g.Offset + g.Size > net.TrainArenaPerSample)
                problems.Add($"region {r} [{g.Offset}, {g.Offset + g.Size}) is outside the training arena of {net.TrainArenaPerSample}");
            foreach (var b in blocks)
            {
                int last = LastUse(b.Start, b.Size);
                bool inUse = last == Forever || (last != Never && high[r] >= last);
                if (inUse && Overlap(g.Offset, g.Size, b.Start, b.Size))
                    problems.Add($"region {r} [{g.Offset}, {g.Offset + g.Size}) (steps {low[r]}..{high[r]}) lies on {b.What} [{b.Start}, {b.Start + b.Size}), read until step {last}");
            }
            for (int q = r + 1; q < regions.Length; q++)
            {
                if (high[q] < 0 || high[q] < low[r] || high[r] < low[q]) continue;
                if (Overlap(g.Offset, g.Size, regions[q].Offset, regions[q].Size))
                    problems.Add($"regions {r} (steps {low[r]}..{high[r]}) and {q} (steps {low[q]}..{high[q]}) overlap");
            }
        }
        if (regions.Length > 0 && Array.Exists(high, h => h < 0)) problems.Add("a gradient region no layer uses");
        return problems;
    }

    /// <summary>The resolved network of the class <c>Net</c> in a compilation, as the generator plans it.</summary>
    internal static ResolvedNetwork? Resolve(Compilation compilation) =>
        compilation.GetTypeByMetadataName("Net") is { } symbol ? Resolve(symbol) : null;

    private static ResolvedNetwork? Resolve(INamedTypeSymbol symbol)
    {
        var network = symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "NetGen.NetworkAttribute");
        if (network is null) return null;
        var attributes = NetGenGenerator.LayerAttributesOf(symbol, default);
        if (attributes is null) return null;
        var spec = NetGenGenerator.SpecOf(symbol, network, attributes, default);
        return spec is null ? null : ShapeInference.Run(spec).Network;
    }

    /// <summary>Every sample declaration the other generator tests use (every layer kind, blocks, several inputs and outputs, recurrent stacks).</summary>
    [Fact]
    public void Sample_networks_never_put_a_gradient_on_a_tensor_still_read()
    {
        int count = 0;
        foreach (var field in typeof(Samples).GetFields().Where(f => f.IsLiteral && f.FieldType == typeof(string)))
        {
            var compilation = GeneratorTest.Compilation([(string)field.GetRawConstantValue()!]);
            foreach (var symbol in compilation.GetSymbolsWithName(_ => true, SymbolFilter.Type).OfType<INamedTypeSymbol>())
                if (Resolve(symbol) is { } net)
                {
                    Check(net, field.Name + "." + symbol.Name);
                    count++;
                }
        }
        output.WriteLine($"{count} sample networks' gradient plans checked");
        Assert.True(count >= 10, $"only {count} sample networks resolved");
    }

    private static void Check(ResolvedNetwork net, string what)
    {
        var problems = Problems(net);
        Assert.True(problems.Count == 0, $"{what}: {string.Join("; ", problems.Take(4))}");
    }

    [Fact]
    public void Random_networks_never_put_a_gradient_on_a_tensor_still_read()
    {
        int checkedNets = 0, reusing = 0;
        var sources = new List<string>();
        for (int seed = 1; seed <= 150; seed++)
        {
            sources.Add(GraphFuzzTests.RandomResidualNetwork(seed, flat: false));
            sources.Add(GraphFuzzTests.RandomResidualNetwork(seed, flat: true));
        }
        for (int seed = 1; seed <= 300; seed++) sources.Add(GraphFuzzTests.RandomNetwork(seed));
        for (int seed = 1; seed <= 150; seed++) sources.Add(GraphFuzzTests.RandomSequenceNetwork(seed));
        foreach (var source in sources)
        {
            var compilation = GeneratorTest.Compilation([source]);
            if (Resolve(compilation) is not { } net) continue;
            Check(net, source);
            checkedNets++;
            if (net.TrainArenaPerSample < net.KeptArenaPerSample + 2 * net.Layers.AsSpan().ToArray().Max(l => l.OutputSize)) reusing++;
        }
        output.WriteLine($"{checkedNets} random networks' gradient plans checked; {reusing} need less than two blocks of their largest tensor above the kept ones");
        Assert.True(checkedNets > 400, $"only {checkedNets} networks resolved");
        Assert.True(reusing > 50, $"only {reusing} networks reuse kept blocks for gradients");
    }

    /// <summary>
    /// A chain whose widest tensor comes last: its gradient is the first large one, and the narrow gradients after it go
    /// above it in regions of their own size, then onto the widest tensor's block once its backward pass has read it.
    /// </summary>
    [Fact]
    public void Gradients_take_their_own_size_and_the_blocks_of_tensors_already_done_with()
    {
        var (network, errors) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>([8]), new[]
        {
            Specs.Dense(16, ActivationKind.Relu), Specs.Dense(16, ActivationKind.Relu), Specs.Dense(64, ActivationKind.Relu), Specs.Dense(4),
        }.ToEquatableArray()));
        Assert.DoesNotContain(errors, e => !ShapeInference.IsWarning(e.Id));
        var net = network!;
        Check(net, "widening chain");
        // Kept: the input and four outputs, 8 + 16 + 16 + 64 + 4 = 108. Gradients: the output's (4) and the 64-wide
        // layer's (64) above them, the second layer's (16) above those (the 4 floats freed are too few), and the first
        // layer's (16) on the 64-wide output's block [40, 104), read by no backward pass by then.
        Assert.Equal(108, net.KeptArenaPerSample);
        var regions = net.GradientRegions.AsSpan().ToArray();
        Assert.Equal([(108, 4), (112, 64), (176, 16), (40, 16)], regions.Select(r => (r.Offset, r.Size)).ToArray());
        Assert.Equal(192, net.TrainArenaPerSample); // two blocks of the largest tensor would make it 108 + 128 = 236
    }

    private static ResolvedNetwork Plan(int[] input, params LayerSpec[] layers)
    {
        var (network, errors) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>(input), layers.ToEquatableArray()));
        Assert.DoesNotContain(errors, e => !ShapeInference.IsWarning(e.Id));
        Check(network!, "network");
        return network!;
    }

    private static ResolvedLayer Named(ResolvedNetwork net, string name) => net.Layers.AsSpan().ToArray().Single(l => l.Name == name);

    /// <summary>
    /// A batch norm writes its input's gradient over its output's (one region for both) where that region holds nothing
    /// else and its frozen call does not use dx as scratch: with a ReLU (derivative from the output) or linear, not with a
    /// fused dropout (the pre-activation is kept, and the frozen call computes act' through dx).
    /// </summary>
    [Fact]
    public void A_batch_norm_writes_its_input_gradient_over_its_output_gradient_where_nothing_else_needs_it()
    {
        var relu = Plan([6, 6, 2], Specs.Conv2D(4, 3, same: true) with { Name = "conv" }, Specs.BatchNorm() with { Name = "bn" },
            Specs.Activation(ActivationKind.Relu), Specs.Conv2D(4, 3, same: true), Specs.Flatten(), Specs.Dense(2, ActivationKind.Softmax));
        var bn = Named(relu, "bn");
        Assert.Equal(bn.GradientOut, bn.GradientIn[0]);

        var dropout = Plan([6, 6, 2], Specs.Conv2D(4, 3, same: true), Specs.BatchNorm() with { Name = "bn" },
            Specs.Activation(ActivationKind.Relu), Specs.Dropout(0.3), Specs.Conv2D(4, 3, same: true), Specs.Flatten(), Specs.Dense(2, ActivationKind.Softmax));
        bn = Named(dropout, "bn");
        Assert.True(bn.FusedDropout >= 0 && bn.TrainPreActivation >= 0);
        Assert.NotEqual(bn.GradientOut, bn.GradientIn[0]);
    }

    /// <summary>
    /// A residual block's Add hands its output gradient to both inputs at once (the shortcut and the batch norm, whose
    /// backward only reads it): that batch norm must not write its input's gradient there while the shortcut's is still
    /// to be read.
    /// </summary>
    [Fact]
    public void A_batch_norm_sharing_its_output_gradient_with_a_shortcut_writes_its_input_gradient_elsewhere()
    {
        LayerSpec Dense(int units, string name, string input) => Specs.Dense(units) with { Name = name, Inputs = new EquatableArray<string>([input]) };
        var net = Plan([8],
            Dense(8, "x", "input"),
            Dense(8, "d", "x"), Specs.BatchNorm() with { Name = "bn", Inputs = new EquatableArray<string>(["d"]) },
            new LayerSpec(LayerKind.Add, "sum", new MergeArgs(-1), Inputs: new EquatableArray<string>(["x", "bn"])),
            Dense(2, "out", "sum"));
        var sum = Named(net, "sum");
        var bn = Named(net, "bn");
        Assert.Equal(sum.GradientOut, bn.GradientOut); // the Add hands dy to the batch norm
        Assert.Equal(sum.GradientOut, sum.GradientIn[0]); // and to the shortcut, at the same time
        Assert.NotEqual(bn.GradientOut, bn.GradientIn[0]);
    }

    /// <summary>The checker itself finds a gradient put on a tensor its layer's backward pass still reads.</summary>
    [Fact]
    public void The_check_finds_a_gradient_on_a_tensor_still_read()
    {
        var (network, _) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>([8]), new[]
        {
            Specs.Dense(64, ActivationKind.Relu), Specs.Dense(16, ActivationKind.Relu), Specs.Dense(4),
        }.ToEquatableArray()));
        var net = network!;
        Check(net, "small chain");
        // Move the last layer's input gradient onto its own input (which its backward pass reads for dKernel).
        var last = net.Layers[2];
        var regions = net.GradientRegions.AsSpan().ToArray();
        int r = last.GradientIn[0];
        regions[r] = regions[r] with { Offset = net.Layers[1].TrainOutput };
        var broken = net with { GradientRegions = new EquatableArray<GradientRegion>(regions) };
        Assert.Contains(Problems(broken), p => p.Contains("lies on", StringComparison.Ordinal));
    }
}
