using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// Two residual blocks whose Adds run, in inference, in the epilogue of the convolution before them: a Conv2D with its
/// batch norm folded in (Winograd on the CPU) plus the stem, then the later of two plain convolutions (a 1x1 shortcut,
/// gathered im2col) plus the other, each with the activation after the Add.
/// </summary>
[Network(10, 10, 3)]
[Conv2D(16, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(16, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn_a")]
[Add("stem", "bn_a")]
[ReLU(Name = "block1")]
[Conv2D(32, 3, Strides = 2, Padding = Padding.Same, Name = "main")]
[Conv2D(32, 1, Strides = 2, Input = "block1", Name = "shortcut")]
[Add("main", "shortcut")]
[LeakyReLU(0.1)]
[GlobalAveragePooling2D]
[Dense(4, Activation = Activation.Softmax)]
public partial class ResidualFusedNet;

/// <summary><see cref="ResidualFusedNet"/> with a Dropout(0) before each Add's convolution input: the same parameters, no Add fused.</summary>
[Network(10, 10, 3)]
[Conv2D(16, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(16, 3, Padding = Padding.Same)]
[BatchNormalization]
[Dropout(0, Name = "bn_a")]
[Add("stem", "bn_a")]
[ReLU(Name = "block1")]
[Conv2D(32, 3, Strides = 2, Padding = Padding.Same)]
[Dropout(0, Name = "main")]
[Conv2D(32, 1, Strides = 2, Input = "block1")]
[Dropout(0, Name = "shortcut")]
[Add("main", "shortcut")]
[LeakyReLU(0.1)]
[GlobalAveragePooling2D]
[Dense(4, Activation = Activation.Softmax)]
public partial class ResidualApartNet;

/// <summary>A convolution whose own input is the residual it adds (x and the residual the same tensor): y = conv(x) + x.</summary>
[Network(6, 6, 16)]
[Conv2D(16, 3, Padding = Padding.Same, Name = "c")]
[Add("c", "input")]
[ReLU(Name = "sum")]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class ResidualOfInputNet;

/// <summary><see cref="ResidualOfInputNet"/> with the Add kept apart by a Dropout(0).</summary>
[Network(6, 6, 16)]
[Conv2D(16, 3, Padding = Padding.Same)]
[Dropout(0, Name = "c")]
[Add("c", "input")]
[ReLU(Name = "sum")]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class ResidualOfInputApartNet;

/// <summary>A residual MLP: Dense + BatchNormalization + Add + ReLU, twice (the Adds in the Dense layers' epilogues).</summary>
[Network(12)]
[Dense(16, Activation = Activation.Relu, Name = "d0")]
[Dense(16)]
[BatchNormalization(Name = "bn1")]
[Add("d0", "bn1")]
[ReLU(Name = "block1")]
[Dense(16, Name = "d2")]
[Add("block1", "d2", Name = "sum2")]
[LeakyReLU(0.1)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ResidualMlpNet;

/// <summary><see cref="ResidualMlpNet"/> with the Adds kept apart by Dropout(0) layers.</summary>
[Network(12)]
[Dense(16, Activation = Activation.Relu, Name = "d0")]
[Dense(16)]
[BatchNormalization]
[Dropout(0, Name = "bn1")]
[Add("d0", "bn1")]
[ReLU(Name = "block1")]
[Dense(16, Name = "d2_raw")]
[Dropout(0, Name = "d2")]
[Add("block1", "d2", Name = "sum2")]
[LeakyReLU(0.1)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ResidualMlpApartNet;

/// <summary>
/// The fused Adds give the same inference outputs as the network with nothing fused (the same bits on the CPU, whose
/// epilogue adds in the Add's order; within 1e-5 on ILGPU), after training has moved the batch norms' statistics and
/// after new weights; PredictLayers, which runs the layers as declared, agrees; training is untouched.
/// </summary>
public class ResidualFusionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void Adds_fused_into_convolutions_predict_what_the_declared_network_does(string backend)
    {
        using var fused = new ResidualFusedNet { Seed = 5 };
        using var apart = new ResidualApartNet();
        Prepare(backend, fused, apart);
        Assert.Equal(ResidualApartNet.ParameterCount, ResidualFusedNet.ParameterCount);
        apart.SetWeights(fused.GetWeights());
        const int n = 5;
        var x = new Tensor(Num.Uniform(n * 300, 31, -1, 2), n, 10, 10, 3);
        var y = new float[n * 4];
        for (int i = 0; i < n; i++) y[i * 4 + i % 4] = 1;
        var labels = new Tensor(y, n, 4);
        for (int step = 0; step < 3; step++)
            Assert.Equal(apart.TrainOnBatch(x, labels), fused.TrainOnBatch(x, labels)); // training runs the layers as declared
        Assert.Equal(apart.GetWeights(), fused.GetWeights());

        Same(backend, "after 3 steps", fused.Predict(x, n).Data, apart.Predict(x, n).Data);
        Same(backend, "batch of 2", fused.Predict(x, 2).Data, apart.Predict(x, 2).Data);
        var changed = fused.GetWeights();
        for (int i = 0; i < changed.Length; i++) changed[i] *= i % 3 == 0 ? 1.25f : 0.9f; // positive: moving variances stay variances
        fused.SetWeights(changed);
        apart.SetWeights(changed);
        Same(backend, "after SetWeights", fused.Predict(x, n).Data, apart.Predict(x, n).Data);

        // PredictLayers runs every layer as declared: the Adds' outputs, activated, are what inference computed.
        var layers = fused.PredictLayers(x, ["block1", "leaky_re_lu", "dense"], n);
        var declared = apart.PredictLayers(x, ["block1", "leaky_re_lu", "dense"], n);
        for (int k = 0; k < layers.Length; k++)
            Same(backend, "PredictLayers " + k, layers[k].Data, declared[k].Data);
        Same(backend, "PredictLayers against Predict", layers[2].Data, fused.Predict(x, n).Data);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void A_convolution_adding_its_own_input_predicts_what_the_declared_network_does(string backend)
    {
        using var fused = new ResidualOfInputNet { Seed = 9 };
        using var apart = new ResidualOfInputApartNet();
        Prepare(backend, fused, apart);
        apart.SetWeights(fused.GetWeights());
        var x = new Tensor(Num.Uniform(4 * 576, 41, -1, 1), 4, 6, 6, 16);
        Same(backend, "x as its own residual", fused.Predict(x, 4).Data, apart.Predict(x, 4).Data);
        Same(backend, "PredictLayers", fused.PredictLayers(x, ["sum"], 4)[0].Data, apart.PredictLayers(x, ["sum"], 4)[0].Data);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void Adds_fused_into_dense_layers_predict_what_the_declared_network_does(string backend)
    {
        using var fused = new ResidualMlpNet { Seed = 12 };
        using var apart = new ResidualMlpApartNet();
        Prepare(backend, fused, apart);
        apart.SetWeights(fused.GetWeights());
        var x = new Tensor(Num.Uniform(7 * 12, 51, -1, 1), 7, 12);
        var y = new float[7 * 3];
        for (int i = 0; i < 7; i++) y[i * 3 + i % 3] = 1;
        for (int step = 0; step < 3; step++)
            Assert.Equal(apart.TrainOnBatch(x, new Tensor(y, 7, 3)), fused.TrainOnBatch(x, new Tensor(y, 7, 3)));
        Same(backend, "residual MLP", fused.Predict(x, 7).Data, apart.Predict(x, 7).Data);
        Same(backend, "residual MLP, one sample a batch", fused.Predict(x, 1).Data, apart.Predict(x, 1).Data);
    }

    /// <summary>Puts each model on the backend (a new one each) and compiles it for training.</summary>
    private static void Prepare(string backend, params Model[] models)
    {
        foreach (var m in models)
        {
            m.UseBackend(backend == "cpu" ? new CpuBackend() : IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
            m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        }
    }

    private void Same(string backend, string when, float[] a, float[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        output.WriteLine($"{backend}, {when}: max |fused - declared| = {worst:E2}");
        if (backend == "cpu" && !when.StartsWith("PredictLayers against", StringComparison.Ordinal))
            Assert.Equal(b, a);
        else
            Assert.True(worst < 1e-5, $"{when}: {worst}");
    }
}
