using NetGen.Generator.Layers;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>Which layers the planner fuses, folds or reorders (the emitted code is in the FusedCnn snapshot).</summary>
public class FusionPlanTests
{
    private static LayerSpec Layer(LayerKind kind, int units = 0, ActivationKind activation = ActivationKind.Linear, double value = 0,
        int kernel = 0) => Specs.Layer(kind, units, activation, value, kernel);

    private static ResolvedNetwork Plan(params LayerSpec[] layers)
    {
        var (network, errors) = ShapeInference.Run(new NetworkSpec(null, "Net", "net", new EquatableArray<int>([8, 8, 3]), layers.ToEquatableArray()));
        Assert.Empty(errors);
        return network!;
    }

    /// <summary>Conv2D (3x3, linear) -> Dropout -> the activation under test -> MaxPooling2D(2) -> Flatten -> Dense(2).</summary>
    private static ResolvedNetwork ActivationBeforePool(LayerSpec activation) => Plan(
        Layer(LayerKind.Conv2D, 4, kernel: 3), Layer(LayerKind.Dropout, value: 0.5), activation,
        Layer(LayerKind.MaxPooling2D, kernel: 2), Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));

    [Theory]
    [InlineData((int)ActivationKind.Relu)]
    [InlineData((int)ActivationKind.Tanh)]
    [InlineData((int)ActivationKind.Sigmoid)]
    [InlineData((int)ActivationKind.Elu)]
    public void A_non_decreasing_activation_before_max_pooling_runs_on_the_pooled_values_in_inference(int kind)
    {
        var net = ActivationBeforePool(Layer(LayerKind.Activation, activation: (ActivationKind)kind));
        Assert.Equal(3, net.Layers[2].PooledBy);
        Assert.Equal(2, net.Layers[3].PoolsActivationOf);
        Assert.Equal([new Fusion(FusionKind.PoolFirst, 2, 3)], net.Fusions.AsSpan().ToArray());
        Assert.Equal(net.Layers[2].InferInput, net.Layers[2].InferOutput); // no pass of its own in inference
        Assert.NotEqual(net.Layers[2].TrainInput, net.Layers[2].TrainOutput); // training keeps it
    }

    [Theory]
    [InlineData((int)ActivationKind.Swish)]
    [InlineData((int)ActivationKind.Gelu)]
    public void A_non_monotonic_activation_keeps_its_place(int kind)
    {
        var net = ActivationBeforePool(Layer(LayerKind.Activation, activation: (ActivationKind)kind));
        Assert.Equal(-1, net.Layers[2].PooledBy);
        Assert.Equal(-1, net.Layers[3].PoolsActivationOf);
    }

    [Fact]
    public void A_leaky_relu_moves_only_with_a_non_negative_slope()
    {
        Assert.Equal(3, ActivationBeforePool(Layer(LayerKind.LeakyReLU, value: 0.2)).Layers[2].PooledBy);
        Assert.Equal(-1, ActivationBeforePool(Layer(LayerKind.LeakyReLU, value: -0.5)).Layers[2].PooledBy);
    }

    [Fact]
    public void An_activation_right_after_a_conv_is_fused_into_it_and_batch_norm_after_a_linear_conv_is_folded()
    {
        var fused = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), Layer(LayerKind.Activation, activation: ActivationKind.Relu),
            Layer(LayerKind.MaxPooling2D, kernel: 2), Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(ActivationKind.Relu, fused.Layers[0].Activation);
        Assert.Equal(1, fused.Layers[0].FusedWith);
        Assert.Equal(-1, fused.Layers[1].PooledBy); // fused already: nothing left to move
        Assert.Equal([new Fusion(FusionKind.Activation, 0, 1)], fused.Fusions.AsSpan().ToArray());

        var folded = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), Specs.BatchNorm(),
            Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(1, folded.Layers[0].FoldsBatchNorm);
        Assert.Equal(0, folded.Layers[1].FoldedInto);
        Assert.True(folded.Layers[0].FoldOffset >= folded.ParameterCount); // scratch after the parameters
        Assert.Equal(folded.Layers[0].InferOutput, folded.Layers[1].InferOutput);
        Assert.Equal([new Fusion(FusionKind.BatchNormFold, 0, 1, folded.Layers[0].FoldOffset)], folded.Fusions.AsSpan().ToArray());
    }

    private static LayerSpec BatchNorm() => Specs.BatchNorm();

    [Fact]
    public void A_batch_norm_is_not_folded_into_a_kernel_larger_than_the_limit()
    {
        // 8x8x3 = 192 inputs: 21,845 units make 4,194,240 floats (at most 4M: folded), 21,846 make 4,194,432 (not).
        var at = Plan(Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 21845), BatchNorm(), Layer(LayerKind.Dense, 2));
        Assert.Equal(2, at.Layers[1].FoldsBatchNorm);
        Assert.True(at.BufferCount - at.ParameterCount >= 192 * 21845 + 21845); // the folded kernel and bias

        var over = Plan(Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 21846), BatchNorm(), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, over.Layers[1].FoldsBatchNorm);
        Assert.Equal(-1, over.Layers[2].FoldedInto);
        Assert.DoesNotContain(over.Fusions.AsSpan().ToArray(), f => f.Kind == FusionKind.BatchNormFold);
        Assert.True(over.BufferCount - over.ParameterCount < 192 * 21846);      // no copy of the kernel
        Assert.NotEqual(over.Layers[1].InferOutput, over.Layers[2].InferOutput);        // the batch norm's own pass
    }

    [Fact]
    public void A_dropout_after_batch_norm_and_its_activation_is_fused_into_the_batch_norm()
    {
        var net = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.LeakyReLU, value: 0.1),
            Layer(LayerKind.Dropout, value: 0.3), Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(2, net.Layers[1].FusedWith);
        Assert.Equal(3, net.Layers[1].FusedDropout);
        Assert.Equal(1, net.Layers[3].FusedInto);
        Assert.Equal(net.Layers[1].TrainOutput, net.Layers[3].TrainOutput); // the dropout has no tensor of its own
        Assert.True(net.Layers[1].TrainPreActivation >= 0);                  // the backward's act' reads z
        // The planner's records, in the order it decided them: the activation first (the dropout follows the fused pair),
        // then the fold, whose layer is linear (the activation went into the batch norm, not the conv).
        Assert.Equal([new Fusion(FusionKind.Activation, 1, 2), new Fusion(FusionKind.Dropout, 1, 3), new Fusion(FusionKind.BatchNormFold, 0, 1, net.Layers[0].FoldOffset)],
            net.Fusions.AsSpan().ToArray());

        var plain = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.Dropout, value: 0.3),
            Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(2, plain.Layers[1].FusedDropout);
        Assert.Equal(1, plain.Layers[2].FusedInto);
        Assert.Equal(-1, plain.Layers[1].TrainPreActivation); // linear: nothing to keep

        // Fewer floats per sample in training than the same network with its dropout kept apart by a Dropout(0).
        var apart = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.Dropout), Layer(LayerKind.Dropout, value: 0.3),
            Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, apart.Layers[1].FusedDropout);
        Assert.Equal(-1, apart.Layers[3].FusedInto);
        Assert.Equal(apart.KeptArenaPerSample - plain.Layers[1].OutputSize, plain.KeptArenaPerSample);
    }

    [Fact]
    public void Only_a_dropout_layer_with_a_rate_that_is_not_the_output_fuses_into_batch_norm()
    {
        var tail = Plan(Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 4), BatchNorm(), Layer(LayerKind.Dropout, value: 0.5));
        Assert.Equal(-1, tail.Layers[2].FusedDropout); // the output layer keeps its own tensor

        var spatial = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.SpatialDropout2D, value: 0.5),
            Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, spatial.Layers[1].FusedDropout); // channel masks: its own kernel

        var afterUnfused = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.Activation, activation: ActivationKind.Softmax),
            Layer(LayerKind.Dropout, value: 0.5), Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, afterUnfused.Layers[1].FusedDropout); // softmax is not fused, so the dropout does not follow the batch norm's kernel

        var almostOne = Plan(Layer(LayerKind.Conv2D, 4, kernel: 3), BatchNorm(), Layer(LayerKind.Dropout, value: 0.99999999),
            Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, almostOne.Layers[1].FusedDropout); // 1f as a float: the kernels take rates below 1 only

        var dense = Plan(Layer(LayerKind.Flatten), Layer(LayerKind.Dense, 4, ActivationKind.Relu), Layer(LayerKind.Dropout, value: 0.5), Layer(LayerKind.Dense, 2));
        Assert.Equal(-1, dense.Layers[2].FusedInto); // only batch norm takes a dropout
    }

    [Fact]
    public void A_fused_dropout_is_visible_in_the_generated_code()
    {
        var run = GeneratorTest.Run("""
            using NetGen;

            [Network(6, 5, 3)]
            [Conv2D(4, 3)]
            [BatchNormalization]
            [Activation(Activation.Sigmoid)]
            [Dropout(0.25)]
            [Flatten]
            [Dense(3, Activation = Activation.Softmax)]
            public partial class Net;
            """);
        Assert.Empty(run.Diagnostics);
        string code = run.GeneratedTrees.Single().ToString();
        Assert.Contains("(BatchNormalization, fused sigmoid + dropout [4])", code);
        Assert.Equal(3, code.Split("dropoutRate: 0.25f, dropoutKey: DropoutKey(3)), // dropout: [4] dropout, in training").Length - 1); // forward, backward, and the frozen backward
        Assert.Contains("// Fused into [2]: its kernel applies this mask in training; its output is this layer's output.", code);
        Assert.Contains("// Fused into [2], whose backward applies this mask first.", code);
        // The dropout runs on its own only when the batch norm is frozen at run time (inference-mode batch norm).
        Assert.Single(code.Split('\n'), line => line.Contains("b.DropoutForward", StringComparison.Ordinal));
        Assert.Contains("if (training && !LayerTrainable(1)) b.DropoutForward(", code);
        Assert.DoesNotContain("b.DropoutBackward", code);
    }

    [Fact]
    public void Activation_layers_fuse_into_depthwise_separable_and_transposed_convolutions()
    {
        var run = GeneratorTest.Run("""
            using NetGen;

            [Network(7, 6, 3)]
            [DepthwiseConv2D(3, Padding = Padding.Same, DepthMultiplier = 2)]
            [LeakyReLU(0.2)]
            [SeparableConv2D(4, 3, Strides = 2)]
            [Activation(Activation.Tanh)]
            [Conv2DTranspose(3, 2, Strides = 2)]
            [ELU(0.5)]
            [Flatten]
            [Dense(3, Activation = Activation.Softmax)]
            public partial class Net;
            """);
        Assert.Empty(run.Diagnostics);
        string code = run.GeneratedTrees.Single().ToString();
        Assert.Contains("b.DepthwiseConv2DForward(G1, batch, new(global::NetGen.Backends.ActivationFunction.LeakyRelu, alpha: 0.2f", code);
        Assert.Contains("b.Conv2DForward(GP3, batch, new(global::NetGen.Backends.ActivationFunction.Tanh", code);
        Assert.Contains("b.Conv2DTransposeForward(G5, batch, new(global::NetGen.Backends.ActivationFunction.Elu", code);
        Assert.Equal(2 * 3, code.Split("// Fused into [").Length - 1); // three activation layers, in Forward and in Backward
    }

    [Fact]
    public void Batch_norms_fold_into_depthwise_separable_and_transposed_convolutions()
    {
        var run = GeneratorTest.Run("""
            using NetGen;

            [Network(9, 8, 3)]
            [DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same)]
            [BatchNormalization]
            [SeparableConv2D(5, 3, Strides = 2)]
            [BatchNormalization]
            [Conv2DTranspose(4, 3, Strides = 2)]
            [BatchNormalization]
            [Flatten]
            [Dense(4, Activation = Activation.Softmax)]
            public partial class Net;
            """);
        Assert.Empty(run.Diagnostics);
        string code = run.GeneratedTrees.Single().ToString();
        Assert.Contains("b.FoldBatchNorm(9, 6, inner: 1, epsilon: 0.001f,", code);           // depthwise [3, 3, 3, 2]
        Assert.Contains("kernel: p + P1_Kernel, bias: p + P1_Bias, gamma: p + P2_Gamma", code);
        Assert.Contains("b.FoldBatchNorm(6, 5, inner: 1, epsilon: 0.001f,", code);           // pointwise [1, 1, 6, 5]
        Assert.Contains("kernel: p + P3_Pointwise, bias: p + P3_Bias, gamma: p + P4_Gamma", code);
        Assert.Contains("b.FoldBatchNorm(9, 4, inner: 5, epsilon: 0.001f,", code);           // transposed [3, 3, 4, 5]
        Assert.Contains("kernel: p + P5_Kernel, bias: p + P5_Bias, gamma: p + P6_Gamma", code);
        Assert.Contains("b.Conv2DTransposeForward(G5, batch, new(global::NetGen.Backends.ActivationFunction.Linear),\n" +
            "                x: Slot(false, T4, I4, batch), kernel: p + F5, bias: p + F5 + 180,", code.ReplaceLineEndings("\n"));
    }
    private static LayerSpec Named(LayerSpec spec, string name, params string[] inputs) =>
        spec with { Name = name, Inputs = inputs.Length == 0 ? default : new EquatableArray<string>(inputs) };

    private static LayerSpec Add(string name, params string[] inputs) =>
        new(LayerKind.Add, name, new MergeArgs(-1), Inputs: new EquatableArray<string>(inputs));

    /// <summary>Index of the layer called <paramref name="name"/>.</summary>
    private static int At(ResolvedNetwork net, string name) => net.Layers.AsSpan().ToArray().Single(l => l.Name == name).Index;

    /// <summary>
    /// A residual block: stem (conv + ReLU), then conv a + its batch norm and a projection conv p + its batch norm, added,
    /// then a ReLU; then a head.
    /// </summary>
    private static ResolvedNetwork ProjectionBlock(LayerSpec? betweenBnAndAdd = null)
    {
        var layers = new List<LayerSpec>
        {
            Named(Specs.Conv2D(8, 3, same: true, activation: ActivationKind.Relu), "stem"),
            Named(Specs.Conv2D(16, 3, strides: 2, same: true), "a", "stem"), Named(BatchNorm(), "a_bn", "a"),
            Named(Specs.Conv2D(16, 1, strides: 2), "p", "stem"), Named(BatchNorm(), "p_bn", "p"),
        };
        if (betweenBnAndAdd is not null) layers.Add(Named(betweenBnAndAdd, "p_extra", "p_bn"));
        layers.Add(Add("sum", "a_bn", betweenBnAndAdd is null ? "p_bn" : "p_extra"));
        layers.Add(Named(Specs.Activation(ActivationKind.Relu), "out", "sum"));
        layers.Add(Named(Layer(LayerKind.Flatten), "flat", "out"));
        layers.Add(Named(Layer(LayerKind.Dense, 2), "head", "flat"));
        return Plan(layers.ToArray());
    }

    [Fact]
    public void A_residual_add_runs_in_the_epilogue_of_the_later_convolution_with_its_batch_norm_folded()
    {
        var net = ProjectionBlock();
        int p = At(net, "p"), sum = At(net, "sum"), aBn = At(net, "a_bn");
        Assert.Equal(sum, net.Layers[p].ResidualAdd);
        Assert.Equal(p, net.Layers[sum].AddedInto);
        Assert.Equal(-1, net.Layers[At(net, "a")].ResidualAdd);
        Assert.Contains(new Fusion(FusionKind.ResidualAdd, p, sum), net.Fusions.AsSpan().ToArray());
        Assert.Equal(ActivationKind.Relu, net.Layers[sum].Activation); // the ReLU after it is fused into the Add, and so runs in the epilogue
        // The Add writes nothing of its own in inference; the residual (a_bn) lies apart from what the convolution writes.
        Assert.Equal(net.Layers[p].InferOutput, net.Layers[sum].InferOutput);
        int size = net.Layers[p].OutputSize, r = net.Layers[aBn].InferOutput, y = net.Layers[p].InferOutput;
        Assert.True(r + size <= y || y + size <= r, $"residual [{r}, {r + size}) overlaps the output [{y}, {y + size})");
        // Training keeps every tensor as declared.
        Assert.NotEqual(net.Layers[p].TrainOutput, net.Layers[sum].TrainOutput);
    }

    [Fact]
    public void A_plain_convolution_takes_the_add_and_so_does_the_input_as_a_residual()
    {
        var net = Plan(
            Named(Specs.Conv2D(3, 3, same: true), "c"),
            Add("sum", "c", "input"),
            Named(Layer(LayerKind.Flatten), "flat", "sum"), Named(Layer(LayerKind.Dense, 2), "head", "flat"));
        Assert.Equal(At(net, "sum"), net.Layers[At(net, "c")].ResidualAdd);
        Assert.Equal(ActivationKind.Linear, net.Layers[At(net, "sum")].Activation);
    }

    [Fact]
    public void A_dense_layer_with_its_batch_norm_takes_the_add_too()
    {
        var net = Plan(
            Named(Layer(LayerKind.Flatten), "flat"), Named(Specs.Dense(16, ActivationKind.Relu), "d0", "flat"),
            Named(Specs.Dense(16), "d1", "d0"), Named(BatchNorm(), "bn", "d1"), Add("sum", "d0", "bn"),
            Named(Specs.Activation(ActivationKind.Relu), "out", "sum"), Named(Layer(LayerKind.Dense, 2), "head", "out"));
        int d1 = At(net, "d1"), sum = At(net, "sum");
        Assert.Equal(sum, net.Layers[d1].ResidualAdd);
        Assert.Equal(d1, net.Layers[sum].AddedInto);
        Assert.Equal(net.Layers[d1].InferOutput, net.Layers[sum].InferOutput);
    }

    [Theory]
    [InlineData("an activation between", (int)LayerKind.ELU)]
    [InlineData("a dropout between", (int)LayerKind.Dropout)]
    public void A_layer_between_the_batch_norm_and_the_add_keeps_the_add_apart(string why, int kind)
    {
        var net = ProjectionBlock(Layer((LayerKind)kind, value: 0.5));
        Assert.True(net.Layers[At(net, "sum")].AddedInto < 0, why);
        Assert.DoesNotContain(net.Fusions.AsSpan().ToArray(), f => f.Kind == FusionKind.ResidualAdd);
    }

    [Fact]
    public void No_residual_add_where_the_convolution_is_read_twice_is_activated_or_the_other_input_comes_later()
    {
        // The convolution's output is read by the Add and by the head as well.
        var twice = Plan(
            Named(Specs.Conv2D(3, 3, same: true), "c"), Add("sum", "c", "input"), Add("both", "sum", "c"),
            Named(Layer(LayerKind.Flatten), "flat", "both"), Named(Layer(LayerKind.Dense, 2), "head", "flat"));
        Assert.Equal(-1, twice.Layers[At(twice, "c")].ResidualAdd);
        // Its own activation runs before the Add.
        var activated = Plan(
            Named(Specs.Conv2D(3, 3, same: true, activation: ActivationKind.Relu), "c"), Add("sum", "c", "input"),
            Named(Layer(LayerKind.Flatten), "flat", "sum"), Named(Layer(LayerKind.Dense, 2), "head", "flat"));
        Assert.Equal(-1, activated.Layers[At(activated, "c")].ResidualAdd);
        // The other input (not a convolution's) is computed after the convolution: not ready when it runs.
        var later = Plan(
            Named(Specs.Conv2D(3, 1), "c"), Named(Specs.Activation(ActivationKind.Tanh), "t", "input"),
            Add("sum", "c", "t"), Named(Layer(LayerKind.Flatten), "flat", "sum"), Named(Layer(LayerKind.Dense, 2), "head", "flat"));
        Assert.True(later.Order.AsSpan().IndexOf(At(later, "t")) > later.Order.AsSpan().IndexOf(At(later, "c")));
        Assert.DoesNotContain(later.Fusions.AsSpan().ToArray(), f => f.Kind == FusionKind.ResidualAdd);
        // Behind a Flatten (an alias, not the convolution itself) neither.
        var flattened = Plan(
            Named(Specs.Conv2D(3, 1), "c"), Named(Layer(LayerKind.Flatten), "cf", "c"), Named(Layer(LayerKind.Flatten), "xf", "input"),
            Add("sum", "cf", "xf"), Named(Layer(LayerKind.Dense, 2), "head", "sum"));
        Assert.DoesNotContain(flattened.Fusions.AsSpan().ToArray(), f => f.Kind == FusionKind.ResidualAdd);
    }
}
