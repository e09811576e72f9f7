using NetGen.Generator.Layers;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using static NetGen.Generator.Tests.Specs;

namespace NetGen.Generator.Tests;

/// <summary>
/// The pure shape rules, with no Roslyn involved: output shapes and parameter counts laid out like Keras's tables,
/// then the invariants of the parameter layout and of the activation arena plan.
/// </summary>
public class ShapeInferenceTests
{
    private static ResolvedNetwork Resolve(NetworkSpec spec)
    {
        var (network, errors) = ShapeInference.Run(spec);
        Assert.Empty(errors);
        return network!;
    }

    private static ResolvedLayer Single(int[] input, LayerSpec layer) => Resolve(Network(input, layer)).Layers[0];

    // Keras: Dense acts on the last axis; kernel (in, units), bias (units,).
    [Theory]
    //          input          units  output          params
    [InlineData(new[] { 784 }, 512, new[] { 512 }, 401_920)]
    [InlineData(new[] { 29 }, 40, new[] { 40 }, 1_200)]
    [InlineData(new[] { 40 }, 29, new[] { 29 }, 1_189)]
    [InlineData(new[] { 1 }, 1, new[] { 1 }, 2)]
    [InlineData(new[] { 4, 6, 5 }, 8, new[] { 4, 6, 8 }, 48)]      // rank 3: 5 x 8 + 8, applied to 24 rows
    [InlineData(new[] { 10, 3 }, 7, new[] { 10, 7 }, 28)]
    [InlineData(new[] { 2, 3, 4, 5 }, 6, new[] { 2, 3, 4, 6 }, 36)]
    public void Dense_acts_on_the_last_axis(int[] input, int units, int[] output, int parameters)
    {
        var layer = Single(input, Dense(units));

        Assert.Equal(output, layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(parameters, layer.ParamCount);
        Assert.Equal(new[] { "kernel", "bias" }, layer.RuleWeights.AsSpan().ToArray().Select(w => w.Name));
        Assert.Equal(new[] { input[^1], units }, layer.RuleWeights[0].Shape.AsSpan().ToArray());
        Assert.Equal(new[] { units }, layer.RuleWeights[1].Shape.AsSpan().ToArray());
    }

    [Theory]
    [InlineData(new[] { 784 }, 10, 7_840)]
    [InlineData(new[] { 4, 6, 5 }, 8, 40)]
    public void Dense_without_bias_has_only_a_kernel(int[] input, int units, int parameters)
    {
        var layer = Single(input, Dense(units, useBias: false));

        Assert.Equal(parameters, layer.ParamCount);
        Assert.Equal("kernel", Assert.Single(layer.RuleWeights.AsSpan().ToArray()).Name);
    }

    [Theory]
    [InlineData(new[] { 28, 28, 1 }, 784)]
    [InlineData(new[] { 4, 6, 5 }, 120)]
    [InlineData(new[] { 10 }, 10)]
    public void Flatten_gives_one_axis_and_aliases_its_input(int[] input, int size)
    {
        var layer = Single(input, Flatten());

        Assert.Equal([size], layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(0, layer.ParamCount);
        Assert.Equal(layer.TrainInput, layer.TrainOutput);
        Assert.Equal(layer.InferInput, layer.InferOutput);
    }

    [Theory]
    [InlineData(new[] { 784 }, new[] { 28, 28, 1 }, new[] { 28, 28, 1 })]
    [InlineData(new[] { 784 }, new[] { -1, 28 }, new[] { 28, 28 })]
    [InlineData(new[] { 784 }, new[] { 28, -1, 1 }, new[] { 28, 28, 1 })]
    [InlineData(new[] { 4, 6, 8 }, new[] { -1, 16 }, new[] { 12, 16 })]
    [InlineData(new[] { 12, 16 }, new[] { -1 }, new[] { 192 })]
    [InlineData(new[] { 6 }, new[] { 6, -1 }, new[] { 6, 1 })]
    public void Reshape_infers_the_minus_one_dimension(int[] input, int[] target, int[] output)
    {
        var layer = Single(input, Reshape(target));

        Assert.Equal(output, layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(layer.TrainInput, layer.TrainOutput);
    }

    [Theory]
    [InlineData(new[] { 784 }, new[] { 27, 28 }, "NG0101")]
    [InlineData(new[] { 784 }, new[] { -1, 5 }, "NG0101")]
    [InlineData(new[] { 784 }, new[] { -1, -1 }, "NG0102")]
    [InlineData(new[] { 784 }, new[] { 0, 784 }, "NG0015")]
    [InlineData(new[] { 784 }, new int[0], "NG0015")]
    [InlineData(new[] { 784 }, new[] { 65536, 65536, 65536, 65536 }, "NG0101")]       // 2^64 known elements
    [InlineData(new[] { 784 }, new[] { -1, 65536, 65536, 65536, 65536 }, "NG0101")]
    public void Reshape_errors(int[] input, int[] target, string id)
    {
        var (network, errors) = ShapeInference.Run(Network(input, Reshape(target)));

        Assert.Null(network);
        var error = Assert.Single(errors);
        Assert.Equal(id, error.Id);
        Assert.Equal(0, error.LayerIndex);
    }

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(0.2, false)]
    public void Dropout_keeps_the_shape_and_aliases_only_at_rate_zero(double rate, bool alias)
    {
        var net = Resolve(Network([10], Dense(6), Dropout(rate), Dense(2)));
        var dropout = net.Layers[1];

        Assert.Equal([6], dropout.OutputShape.AsSpan().ToArray());
        Assert.Equal(alias, dropout.TrainOutput == dropout.TrainInput);
        Assert.Equal(dropout.InferInput, dropout.InferOutput); // the identity in inference
    }

    [Fact]
    public void Keras_default_names_count_per_kind()
    {
        var net = Resolve(Network([8], Dense(4), Dropout(0.1), Dense(4), LeakyReLU(), Activation(ActivationKind.Relu),
            Dense(2, name: "head"), Activation(ActivationKind.Softmax)));

        Assert.Equal(["dense", "dropout", "dense_1", "leaky_re_lu", "activation", "head", "activation_1"],
            net.Layers.Select(l => l.Name));
    }

    private static readonly Dictionary<string, NetworkSpec> s_networks = new()
    {
        { "FashionMlp", Network([784], Dense(512, ActivationKind.Relu), Dropout(0.2), Dense(512, ActivationKind.Relu), Dropout(0.2),
            Dense(10, ActivationKind.Softmax)) },
        { "Autoencoder", Network([29], Dense(40, ActivationKind.Relu), Dense(29)) },
        { "DeepAutoencoder", Network([29], Dense(80, ActivationKind.Relu), Dense(40, ActivationKind.Relu), Dense(80, ActivationKind.Relu), Dense(29)) },
        { "EveryLayer", Network([4, 6, 5], Dense(8, ActivationKind.Gelu), LeakyReLU(0.1), Activation(ActivationKind.Elu), Dropout(0.25),
            Reshape(-1, 16), Dense(10, ActivationKind.Tanh, useBias: false), Activation(ActivationKind.Swish), Flatten(), Dropout(0),
            Dense(6), Activation(ActivationKind.Softmax)) },
        { "FlattenFirst", Network([28, 28, 1], Flatten(), Dense(128, ActivationKind.Swish), Dense(10, ActivationKind.Sigmoid)) },
        { "NoParameters", Network([10], Activation(ActivationKind.Tanh), Flatten(), Activation(ActivationKind.Softmax)) },
        { "Widening", Network([3], Dense(100, ActivationKind.Softplus), Dropout(0.5), Dense(1000), LeakyReLU(), Dense(5, ActivationKind.Softmax)) },
    };

    public static TheoryData<string> Networks() => new(s_networks.Keys);

    [Theory]
    [MemberData(nameof(Networks))]
    public void Parameter_offsets_are_contiguous(string name)
    {
        var spec = s_networks[name];
        var net = Resolve(spec);

        int offset = 0;
        foreach (var l in net.Layers)
        {
            Assert.True(l.KernelOffset == offset, $"{name}: {l.Name} kernel at {l.KernelOffset}, expected {offset}");
            // A layer's weights lie one after the other from its KernelOffset (RuleWeights).
            Assert.Equal(l.RuleWeights.AsSpan().ToArray().Sum(w => w.Count), l.KernelCount);
            offset = l.KernelOffset + l.KernelCount;
            if (l.Spec.Kind == LayerKind.Dense) Assert.Equal(l.LastInput * l.LastOutput, l.RuleWeights[0].Count);
            else Assert.Equal(0, l.ParamCount);
        }
        Assert.Equal(offset, net.ParameterCount);
        Assert.Equal(net.Layers.Sum(l => l.ParamCount), net.ParameterCount);
    }

    /// <summary>
    /// Training keeps every tensor the backward pass reads: the input, each computed output and each stored
    /// pre-activation get their own slot, no two of them overlap, and all fit in the arena.
    /// </summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void Training_slots_do_not_overlap(string name)
    {
        var spec = s_networks[name];
        var net = Resolve(spec);
        int inputSize = ShapeMath.Product(spec.InputShape.AsSpan());

        var slots = new List<(string Tensor, int Start, int Size)> { ("input", 0, inputSize) };
        int current = 0;
        foreach (var l in net.Layers)
        {
            Assert.Equal(current, l.TrainInput); // each layer reads where the previous one wrote
            bool alias = l.IsAlias || (l.Spec.Args is DropoutArgs { Rate: 0 });
            if (alias) Assert.Equal(l.TrainInput, l.TrainOutput);
            else slots.Add((l.Name + " output", l.TrainOutput, l.OutputSize));
            if (l.TrainPreActivation >= 0) slots.Add((l.Name + " pre-activation", l.TrainPreActivation, l.OutputSize));
            current = l.TrainOutput;
        }

        foreach (var s in slots)
            Assert.True(s.Start >= 0 && s.Start + s.Size <= net.KeptArenaPerSample, $"{name}: {s.Tensor} [{s.Start}, {s.Start + s.Size}) is outside the kept tensors' {net.KeptArenaPerSample}");
        for (int i = 0; i < slots.Count; i++)
        for (int j = i + 1; j < slots.Count; j++)
        {
            var (a, b) = (slots[i], slots[j]);
            Assert.False(a.Start < b.Start + b.Size && b.Start < a.Start + a.Size,
                $"{name}: {a.Tensor} [{a.Start}, {a.Start + a.Size}) overlaps {b.Tensor} [{b.Start}, {b.Start + b.Size})");
        }
        Assert.Equal(slots.Sum(s => s.Size), net.KeptArenaPerSample); // and nothing is wasted
    }

    /// <summary>The pre-activation is kept exactly where the backward pass or the fused loss needs it.</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void Pre_activations_are_kept_for_gelu_swish_softplus_and_the_logits(string name)
    {
        var spec = s_networks[name];
        var net = Resolve(spec);

        for (int i = 0; i < net.Layers.Length; i++)
        {
            var l = net.Layers[i];
            bool last = i == net.Layers.Length - 1;
            bool needed = l.Spec.Kind == LayerKind.Dense &&
                (l.Activation is ActivationKind.Gelu or ActivationKind.Swish or ActivationKind.Softplus ||
                 (last && l.Activation is ActivationKind.Softmax or ActivationKind.Sigmoid));
            Assert.True(needed == l.TrainPreActivation >= 0, $"{name}: {l.Name} pre-activation slot {l.TrainPreActivation}");
        }
        var output = net.Layers[^1];
        if (output.Spec.Kind == LayerKind.Dense && output.Activation is ActivationKind.Softmax or ActivationKind.Sigmoid)
            Assert.Equal(output.TrainPreActivation, net.LogitsSlot);
        else if (output.Spec.Kind == LayerKind.Activation && output.Activation is ActivationKind.Softmax or ActivationKind.Sigmoid)
            Assert.Equal(output.TrainInput, net.LogitsSlot);
        else
            Assert.Equal(-1, net.LogitsSlot);
    }

    /// <summary>Inference ping-pongs: a computing layer never writes over its own input, and both slots fit.</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void Inference_slots_never_overwrite_their_input(string name)
    {
        var spec = s_networks[name];
        var net = Resolve(spec);
        int half = net.Layers.Max(l => Math.Max(l.InputSize, l.OutputSize)); // each ping-pong slot holds the largest tensor
        int logits = net.Layers[^1].Spec.Kind == LayerKind.Dense && net.InferLogitsSlot >= 0 ? net.Layers[^1].OutputSize : 0;
        Assert.Equal(2 * half + logits, net.InferArenaPerSample);

        int current = 0;
        foreach (var l in net.Layers)
        {
            Assert.Equal(current, l.InferInput);
            Assert.True(l.InferOutput == 0 || l.InferOutput == half, $"{name}: {l.Name} inference slot {l.InferOutput}");
            Assert.True(l.OutputSize <= half && l.InputSize <= half, $"{name}: {l.Name} does not fit a slot of {half}");
            bool computes = !l.IsAlias && l.Spec.Kind != LayerKind.Dropout;
            Assert.Equal(computes, l.InferOutput != l.InferInput);
            current = l.InferOutput;
        }
    }

    [Theory]
    [InlineData(new[] { 784 }, "(784,)", "(None, 784)")]
    [InlineData(new[] { 28, 28, 1 }, "(28, 28, 1)", "(None, 28, 28, 1)")]
    public void ShapeMath_prints_shapes_as_Python_does(int[] shape, string tuple, string keras)
    {
        Assert.Equal(tuple, ShapeMath.Tuple(shape));
        Assert.Equal(keras, ShapeMath.Keras(shape));
    }

    [Theory]
    [InlineData(new[] { 28, 28, 1 }, 784L)]
    [InlineData(new[] { 65536, 65536 }, 4_294_967_296L)]
    public void ShapeMath_products(int[] shape, long product)
    {
        Assert.Equal(product, ShapeMath.LongProduct(shape));
        Assert.Equal((int)Math.Min(product, int.MaxValue), ShapeMath.Product(shape)); // saturates
    }
}
