using NetGen.Generator.Layers;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>The graph planner without Roslyn: running order, liveness of the inference arena, gradient buffers, fusion across branches.</summary>
public class GraphPlanTests
{
    private static LayerSpec Dense(int units, string name, params string[] inputs) =>
        Specs.Dense(units, name: name) with { Inputs = new EquatableArray<string>(inputs) };

    private static LayerSpec Merge(LayerKind kind, string name, params string[] inputs) =>
        new(kind, name, new MergeArgs(-1), Inputs: new EquatableArray<string>(inputs));

    private static LayerSpec Activation(ActivationKind activation, string name, params string[] inputs) =>
        Specs.Activation(activation, name) with { Inputs = new EquatableArray<string>(inputs) };

    private static ResolvedNetwork Plan(int input, params LayerSpec[] layers)
    {
        var (network, errors) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>([input]), layers.ToEquatableArray()));
        Assert.DoesNotContain(errors, e => !ShapeInference.IsWarning(e.Id));
        return network!;
    }

    [Fact]
    public void Layers_run_in_topological_order_even_when_declared_before_their_input()
    {
        var net = Plan(4,
            Dense(3, "late", "mid"),
            Dense(5, "mid", "input"),
            Merge(LayerKind.Add, "out", "late", "late"));
        Assert.Equal([1, 0, 2], net.Order.AsSpan().ToArray());
        Assert.True(net.IsGraph);
    }

    [Fact]
    public void A_chain_keeps_two_inference_blocks_and_a_ladder_of_skips_three()
    {
        // Chain: two slots of the largest tensor, whatever the depth.
        var chain = new List<LayerSpec>();
        for (int i = 0; i < 10; i++) chain.Add(Dense(64, "d" + i));
        var c = Plan(16, chain.ToArray());
        Assert.Equal(2 * 64, c.InferArenaPerSample);
        Assert.Equal(2, c.GradientBufferCount);

        // Residual ladder: x -> d0 -> add(x', d0) ... each sum is read by the next block and its Add: three slots at most.
        var ladder = new List<LayerSpec> { Dense(32, "x", "input") };
        string previous = "x";
        for (int i = 0; i < 8; i++)
        {
            ladder.Add(Dense(32, "d" + i, previous));
            ladder.Add(Merge(LayerKind.Add, "s" + i, previous, "d" + i));
            previous = "s" + i;
        }
        var r = Plan(16, ladder.ToArray());
        int sum = 16;
        foreach (var l in r.Layers) sum += l.OutputSize;
        // Liveness: three 32-float tensors live at most; the 16-float input's block is too small to reuse.
        Assert.Equal(16 + 3 * 32, r.InferArenaPerSample);
        Assert.True(r.InferArenaPerSample * 4 < sum, $"arena {r.InferArenaPerSample} vs {sum} floats of tensors");
        Assert.Equal(3, r.GradientBufferCount);
        // Every Add hands dy to one input and writes the other's gradient; the shortcut's second reader adds to it.
        int accumulations = 0;
        foreach (var l in r.Layers)
            for (int k = 0; k < l.GradientAccumulate.Length; k++) accumulations += l.GradientAccumulate[k];
        Assert.Equal(8, accumulations);
    }

    /// <summary>
    /// A batch norm's output that only an Add reads is read by no backward pass (the batch norm's, linear, reads its
    /// input; Add's reads neither input): training keeps it only until the Add has run, so the next such tensor reuses
    /// its slot, and PredictLayers gets a slot of its own for it. Everything else keeps its own slot.
    /// </summary>
    [Fact]
    public void Tensors_no_backward_pass_reads_share_training_slots()
    {
        LayerSpec Bn(string name, string input) => Specs.BatchNorm() with { Name = name, Inputs = new EquatableArray<string>([input]) };
        var net = Plan(8,
            Dense(16, "x", "input"),
            Dense(16, "d0", "x"), Bn("bn0", "d0"), Merge(LayerKind.Add, "s0", "x", "bn0"),
            Dense(16, "d1", "s0"), Bn("bn1", "d1"), Merge(LayerKind.Add, "s1", "s0", "bn1"),
            Dense(16, "d2", "s1"), Bn("bn2", "d2"), Merge(LayerKind.Multiply, "s2", "s1", "bn2"), // Multiply reads its inputs
            Dense(2, "out", "s2"));
        ResolvedLayer L(string name) => net.Layers.AsSpan().ToArray().Single(l => l.Name == name);
        Assert.Equal(L("bn0").TrainOutput, L("bn1").TrainOutput); // bn0 is dead once s0 has run
        Assert.True(L("bn0").InspectOutput >= net.TrainArenaPerSample);
        Assert.NotEqual(L("bn0").InspectOutput, L("bn1").InspectOutput);
        Assert.Equal(-1, L("bn2").InspectOutput);
        foreach (var name in new[] { "x", "d0", "s0", "d1", "s1", "d2", "bn2", "s2", "out" }) Assert.Equal(-1, L(name).InspectOutput);
        // Kept tensors never overlap each other or the shared slot.
        var kept = net.Layers.AsSpan().ToArray().Where(l => l.InspectOutput < 0).Select(l => (Name: l.Name, TrainOutput: l.TrainOutput, OutputSize: l.OutputSize))
            .Append((Name: "shared", TrainOutput: L("bn0").TrainOutput, OutputSize: 16)).ToList();
        for (int i = 0; i < kept.Count; i++)
            for (int j = i + 1; j < kept.Count; j++)
                Assert.False(kept[i].TrainOutput < kept[j].TrainOutput + kept[j].OutputSize && kept[j].TrainOutput < kept[i].TrainOutput + kept[i].OutputSize,
                    $"{kept[i].Name} overlaps {kept[j].Name}");
        // The input, the kept tensors (eight of 16 floats, and out) and the shared slot.
        Assert.Equal(8 + 16 * 8 + 2 + 16, net.TrainArenaPerSample);
    }

    [Fact]
    public void No_two_live_tensors_share_an_inference_slot()
    {
        // Three branches of the input, merged pairwise in an order that keeps several alive at once.
        var net = Plan(8,
            Dense(8, "a", "input"), Dense(8, "b", "input"), Dense(8, "c", "input"),
            Merge(LayerKind.Multiply, "ab", "a", "b"),
            Merge(LayerKind.Concatenate, "abc", "ab", "c", "a"),
            Dense(2, "out", "abc"));
        var layers = net.Layers;
        var order = net.Order.AsSpan().ToArray();
        // Replay the order: a tensor (-1: the input) lives from its producer until its last reader has run.
        var lastRead = new Dictionary<int, int>();
        for (int o = 0; o < order.Length; o++)
            foreach (int s in layers[order[o]].Inputs.AsSpan())
                lastRead[s] = o;
        for (int o = 0; o < order.Length; o++)
        {
            var writer = layers[order[o]];
            foreach (var (tensor, last) in lastRead)
            {
                int produced = tensor < 0 ? -1 : Array.IndexOf(order, tensor);
                if (produced >= o || last < o) continue; // not yet written, or dead before this layer writes
                int slot = tensor < 0 ? 0 : layers[tensor].InferOutput;
                Assert.True(slot != writer.InferOutput, $"{writer.Name} writes slot {slot} while tensor {tensor} in it is read at position {last}");
            }
        }
        Assert.True(net.InferArenaPerSample < 8 + 4 * 8 + 24 + 2, "some slot is reused");
    }

    [Fact]
    public void An_activation_read_by_two_layers_is_not_fused_into_its_producer()
    {
        var net = Plan(4,
            Dense(6, "d", "input"),
            Activation(ActivationKind.Tanh, "t"),
            Dense(3, "left", "t"),
            Dense(3, "right", "d"),
            Merge(LayerKind.Add, "out", "left", "right"));
        // d is read by t and by right: t cannot run inside d's kernel (right needs the pre-activation).
        Assert.Equal(-1, net.Layers[0].FusedWith);
        Assert.Equal(-1, net.Layers[1].FusedInto);
    }

    [Fact]
    public void A_layer_the_output_does_not_read_is_reported_and_never_planned()
    {
        var (network, errors) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>([4]),
            new[] { Dense(3, "a", "input"), Dense(2, "probe", "a"), Dense(1, "out", "a") }.ToEquatableArray()));
        Assert.Equal("NG0203", Assert.Single(errors).Id);
        Assert.NotNull(network);
        Assert.False(network!.Layers[1].Live);
        Assert.Equal([0, 2], network.Order.AsSpan().ToArray());
        Assert.Equal(-1, network.Layers[1].GradientOut);
    }
}
