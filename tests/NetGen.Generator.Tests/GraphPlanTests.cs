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
        // Its gradients need no more than the two ping-pong blocks above the kept tensors had.
        Assert.True(c.TrainArenaPerSample <= c.KeptArenaPerSample + 2 * 64, $"training arena {c.TrainArenaPerSample}, kept {c.KeptArenaPerSample}");

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
        // Liveness: in inference each Add but the last (an output) runs in its Dense layer's epilogue, so two 32-float
        // tensors are live at a time (the shortcut and the Dense layer's output, the Add's too), the input's 16 floats
        // reused, plus the output's block: 3 x 32 (16 + 3 x 32 with the Adds as passes of their own).
        Assert.Equal(3 * 32, r.InferArenaPerSample);
        Assert.True(r.InferArenaPerSample * 4 < sum, $"arena {r.InferArenaPerSample} vs {sum} floats of tensors");
        Assert.True(r.TrainArenaPerSample <= r.KeptArenaPerSample + 3 * 32, $"training arena {r.TrainArenaPerSample}, kept {r.KeptArenaPerSample}");
        // Every Add hands dy to one input and writes the other's gradient; the shortcut's second reader adds to it.
        int accumulations = 0;
        foreach (var l in r.Layers)
            for (int k = 0; k < l.GradientAccumulate.Length; k++) accumulations += l.GradientAccumulate[k];
        Assert.Equal(8, accumulations);
    }

    private static LayerSpec Bn(string name, string input) => Specs.BatchNorm() with { Name = name, Inputs = new EquatableArray<string>([input]) };

    /// <summary>
    /// An Add hands dy's buffer to every input whose backward only reads it (a linear batch norm, convolution or dense
    /// layer that the Add alone reads) and that is done before anything writes there as the other input's gradient: no
    /// copy. The identity block (the shortcut is read again by the block's first layer, which adds its gradient later),
    /// the projection block (both inputs batch norms) and a three-input Add all share; where the shortcut's other
    /// reader runs its backward before the batch norm (x's gradient written while bn's still lives there), or the
    /// input's backward writes dy (a ReLU fused in), the Add writes a buffer of its own.
    /// </summary>
    [Fact]
    public void An_Add_shares_dy_with_inputs_that_only_read_it_and_copies_otherwise()
    {
        ResolvedLayer L(ResolvedNetwork n, string name) => n.Layers.AsSpan().ToArray().Single(l => l.Name == name);
        var identity = Plan(8,
            Dense(16, "x", "input"),
            Dense(16, "d0", "x"), Bn("bn0", "d0"), Merge(LayerKind.Add, "s0", "x", "bn0"),
            Dense(4, "out", "s0"));
        Assert.Equal([L(identity, "s0").GradientOut, L(identity, "s0").GradientOut], L(identity, "s0").GradientIn.AsSpan().ToArray());
        Assert.Equal(L(identity, "s0").GradientOut, L(identity, "bn0").GradientOut);
        AssertNoGradientIsOverwrittenWhileLive(identity);

        var projection = Plan(8,
            Dense(16, "x", "input"),
            Dense(16, "d0", "x"), Bn("bn0", "d0"),
            Dense(16, "p", "x"), Bn("pbn", "p"),
            Merge(LayerKind.Add, "s0", "pbn", "bn0"),
            Merge(LayerKind.Add, "s1", "s0", "x", "pbn2"),
            Bn("pbn2", "p2"), Dense(16, "p2", "x"),
            Dense(4, "out", "s1"));
        Assert.Equal(L(projection, "pbn").GradientOut, L(projection, "bn0").GradientOut);
        Assert.Equal(L(projection, "s1").GradientOut, L(projection, "pbn2").GradientOut);
        AssertNoGradientIsOverwrittenWhileLive(projection);

        // x's other reader r runs its backward between the Add's and bn0's; bn1 has a ReLU fused in (its backward masks dy).
        var copies = Plan(8,
            Dense(16, "x", "input"),
            Dense(16, "d0", "input"), Bn("bn0", "d0"),
            Dense(16, "r", "x"),
            Merge(LayerKind.Add, "s0", "x", "bn0"),
            Dense(16, "d1", "s0"), Bn("bn1", "d1"), Activation(ActivationKind.Relu, "relu1", "bn1"),
            Merge(LayerKind.Add, "s1", "s0", "relu1", "r"),
            Dense(4, "out", "s1"));
        AssertNoGradientIsOverwrittenWhileLive(copies);
        Assert.NotEqual(L(copies, "s0").GradientOut, L(copies, "bn0").GradientOut);
        Assert.Equal(L(copies, "relu1").FusedInto, L(copies, "bn1").Index);
        Assert.NotEqual(L(copies, "s1").GradientOut, L(copies, "bn1").GradientOut);
    }

    [Fact]
    public void The_ladder_and_the_branching_plans_never_overwrite_a_live_gradient()
    {
        var ladder = new List<LayerSpec> { Dense(32, "x", "input") };
        string previous = "x";
        for (int i = 0; i < 6; i++)
        {
            ladder.Add(Dense(32, "d" + i, previous));
            ladder.Add(Bn("bn" + i, "d" + i));
            ladder.Add(Merge(LayerKind.Add, "s" + i, i % 2 == 0 ? previous : "bn" + i, i % 2 == 0 ? "bn" + i : previous));
            ladder.Add(Activation(i % 3 == 0 ? ActivationKind.Relu : ActivationKind.Linear, "a" + i, "s" + i));
            previous = "a" + i;
        }
        AssertNoGradientIsOverwrittenWhileLive(Plan(16, ladder.ToArray()));
        AssertNoGradientIsOverwrittenWhileLive(Plan(8,
            Dense(8, "a", "input"), Dense(8, "b", "input"), Dense(8, "c", "input"),
            Merge(LayerKind.Add, "ab", "a", "b"), Bn("n", "c"),
            Merge(LayerKind.Add, "abc", "ab", "n", "a"),
            Merge(LayerKind.Multiply, "m", "abc", "c"),
            Dense(2, "out", "m")));
    }

    /// <summary>
    /// Random branching graphs of 8-wide tensors (linear and tanh Dense layers, batch norms, activations, Adds of two or
    /// three tensors, repeats allowed, Multiplies), every sink summed into the output: no plan overwrites a live
    /// gradient, and some Adds share dy with several inputs (the test reaches that path).
    /// </summary>
    [Fact]
    public void Random_graphs_never_overwrite_a_live_gradient()
    {
        var rng = new Random(2026);
        int shared = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var names = new List<string> { "input" };
            var read = new HashSet<string>();
            var specs = new List<LayerSpec>();
            string Pick()
            {
                string n = names[rng.Next(names.Count)];
                read.Add(n);
                return n;
            }
            int count = 3 + rng.Next(12);
            for (int i = 0; i < count; i++)
            {
                string name = "l" + i;
                specs.Add(rng.Next(6) switch
                {
                    0 => Dense(8, name, Pick()),
                    1 => Specs.Dense(8, ActivationKind.Tanh, name: name) with { Inputs = new EquatableArray<string>([Pick()]) },
                    2 => Bn(name, Pick()),
                    3 => Activation(rng.Next(2) == 0 ? ActivationKind.Relu : ActivationKind.Tanh, name, Pick()),
                    4 => rng.Next(2) == 0 ? Merge(LayerKind.Add, name, Pick(), Pick()) : Merge(LayerKind.Add, name, Pick(), Pick(), Pick()),
                    _ => Merge(LayerKind.Multiply, name, Pick(), Pick()),
                });
                names.Add(name);
            }
            var sinks = names.Where(n => n != "input" && !read.Contains(n)).ToArray();
            specs.Add(sinks.Length > 1 ? Merge(LayerKind.Add, "sum", sinks) : Dense(8, "sum", sinks));
            specs.Add(Dense(2, "out", "sum"));
            var net = Plan(8, specs.ToArray());
            AssertNoGradientIsOverwrittenWhileLive(net);
            foreach (var l in net.Layers.AsSpan())
                if (l.Spec.Kind == LayerKind.Add && l.GradientIn.AsSpan().ToArray().Count(b => b == l.GradientOut) > 1) shared++;
        }
        Assert.True(shared > 20, $"only {shared} Adds shared dy with several inputs");
    }

    /// <summary>
    /// Replays the backward plan in running order: a tensor's gradient lives in its buffer from the first reader that
    /// writes it (or the loss) until its producer's backward has run; no layer may write a buffer (dx, a temporary, dy
    /// in place, or adding into a gradient) while another tensor's gradient lives there.
    /// </summary>
    private static void AssertNoGradientIsOverwrittenWhileLive(ResolvedNetwork net)
    {
        var layers = net.Layers.AsSpan().ToArray();
        var live = new Dictionary<int, int>(); // tensor (layer index) -> buffer
        foreach (var output in net.Outputs.AsSpan()) live[output.Layer] = layers[output.Layer].GradientOut;
        var order = net.Order.AsSpan().ToArray();
        for (int o = order.Length - 1; o >= 0; o--)
        {
            var l = layers[order[o]];
            if (l.GradientIn.Length == 0) continue;
            var rule = LayerRegistry.Of(l.Spec.Kind);
            var style = GradientPlanner.Style(l);
            var writes = new List<(int Buffer, int Owner)>();
            bool mergeMasks = style == BackwardStyle.Merge && l.FusedWith >= 0;
            if (style != BackwardStyle.PassThrough && style != BackwardStyle.Merge && !rule.BackwardKeepsOutputGradient(l) || mergeMasks)
                writes.Add((l.GradientOut, l.Index));
            if (l.GradientTemp >= 0) writes.Add((l.GradientTemp, -1));
            for (int k = 0; k < l.GradientIn.Length; k++)
            {
                int gin = l.GradientIn[k];
                if (gin < 0) continue;
                bool handedOn = gin == l.GradientOut && l.GradientAccumulate[k] == 0 &&
                    (style == BackwardStyle.PassThrough || rule.PassesGradientThrough);
                if (!handedOn) writes.Add((gin, l.Inputs[k]));
            }
            foreach (var (buffer, owner) in writes)
                foreach (var (tensor, at) in live)
                    Assert.False(at == buffer && tensor != owner && tensor != l.Index,
                        $"{l.Name} writes gradient buffer {buffer} while {layers[tensor].Name}'s gradient lives there");
            live.Remove(l.Index);
            for (int k = 0; k < l.GradientIn.Length; k++)
                if (l.GradientIn[k] >= 0) live[l.Inputs[k]] = l.GradientIn[k];
        }
    }

    /// <summary>
    /// A batch norm's output that only an Add reads is read by no backward pass (the batch norm's, linear, reads its
    /// input; Add's reads neither input): training keeps it only until the Add has run, so the next such tensor reuses
    /// its slot, and PredictLayers gets a slot of its own for it. Everything else keeps its own slot.
    /// </summary>
    [Fact]
    public void Tensors_no_backward_pass_reads_share_training_slots()
    {
        var net = Plan(8,
            Dense(16, "x", "input"),
            Dense(16, "d0", "x"), Bn("bn0", "d0"), Merge(LayerKind.Add, "s0", "x", "bn0"),
            Dense(16, "d1", "s0"), Bn("bn1", "d1"), Merge(LayerKind.Add, "s1", "s0", "bn1"),
            Dense(16, "d2", "s1"), Bn("bn2", "d2"), Merge(LayerKind.Multiply, "s2", "s1", "bn2"), // Multiply reads its inputs
            Dense(2, "out", "s2"));
        ResolvedLayer L(string name) => net.Layers.AsSpan().ToArray().Single(l => l.Name == name);
        Assert.Equal(L("bn0").TrainOutput, L("bn1").TrainOutput); // bn0 is dead once s0 has run
        Assert.True(L("bn0").InspectOutput >= net.KeptArenaPerSample);
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
        Assert.Equal(8 + 16 * 8 + 2 + 16, net.KeptArenaPerSample);
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
