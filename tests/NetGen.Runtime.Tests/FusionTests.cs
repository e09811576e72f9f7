using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>Every compile-time fusion in one network (the generator's FusedCnn snapshot): see <see cref="FusionTests"/>.</summary>
[Network(12, 10, 3)]
[Conv2D(8, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dropout(0.3)]
[Conv2D(8, 3, Strides = 2)]
[Activation(Activation.Relu)]
[Dropout(0.2)]
[Activation(Activation.Tanh)]
[MaxPooling2D(2)]
[Flatten]
[Dense(16, UseBias = false)]
[BatchNormalization]
[Dropout(0.25)]
[Dense(8)]
[LeakyReLU(-0.5)]
[Dense(4, Activation = Activation.Softmax)]
public partial class FusedCnnNet;

/// <summary>Batch norms after a depthwise, a separable and a transposed convolution: folded into them in inference.</summary>
[Network(9, 8, 3)]
[DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[SeparableConv2D(5, 3, Strides = 2, UseBias = false)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Conv2DTranspose(3, 3, Strides = 2, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.2)]
[Flatten]
[Dense(4, Activation = Activation.Softmax)]
public partial class FoldedSeparableNet;

/// <summary><see cref="FoldedSeparableNet"/> with Dropout(0) before each batch norm: the same parameters, nothing folded.</summary>
[Network(9, 8, 3)]
[DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same)]
[Dropout(0)]
[BatchNormalization]
[LeakyReLU(0.1)]
[SeparableConv2D(5, 3, Strides = 2, UseBias = false)]
[Dropout(0)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Conv2DTranspose(3, 3, Strides = 2, Padding = Padding.Same)]
[Dropout(0)]
[BatchNormalization]
[LeakyReLU(0.2)]
[Flatten]
[Dense(4, Activation = Activation.Softmax)]
public partial class UnfoldedSeparableNet;

/// <summary>
/// Dropouts fused into the batch norm before them: after a fused LeakyReLU (4-D), with no activation, and after a
/// fused ELU (2-D). The Dropout(0) layers (identities) sit before each batch norm, so nothing is folded either.
/// </summary>
[Network(9, 8, 3)]
[Conv2D(6, 3, Padding = Padding.Same)]
[Dropout(0)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dropout(0.3)]
[Conv2D(5, 3, Strides = 2)]
[Dropout(0)]
[BatchNormalization]
[Dropout(0.25)]
[Flatten]
[Dense(12)]
[Dropout(0)]
[BatchNormalization]
[ELU(0.5)]
[Dropout(0.5)]
[Dense(4, Activation = Activation.Softmax)]
public partial class FusedDropoutNet;

/// <summary>
/// <see cref="FusedDropoutNet"/> with each Dropout(0) moved between the batch norm (and its activation) and the
/// dropout: the dropouts run as their own layers, at the same layer indices (so with the same masks).
/// </summary>
[Network(9, 8, 3)]
[Conv2D(6, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dropout(0)]
[Dropout(0.3)]
[Conv2D(5, 3, Strides = 2)]
[BatchNormalization]
[Dropout(0)]
[Dropout(0.25)]
[Flatten]
[Dense(12)]
[BatchNormalization]
[ELU(0.5)]
[Dropout(0)]
[Dropout(0.5)]
[Dense(4, Activation = Activation.Softmax)]
public partial class ApartDropoutNet;

/// <summary>
/// The generator's fusions: Conv2D + BatchNormalization + LeakyReLU and Dense + BatchNormalization folded into one
/// kernel in inference (each with a dropout fused into the batch norm in training: see
/// <see cref="FusedDropoutTrainsLikeTheDropoutLayer"/>), an Activation layer fused into the Conv2D before it, and a tanh layer applied after the max
/// pooling that follows it in inference. Inference is checked against a naive
/// double-precision forward pass of the network as declared (moving statistics, separate layers), also after the
/// weights change; training is checked by central differences in <see cref="GradientCheckTests"/>.
/// </summary>
public class FusionTests(ITestOutputHelper output)
{
    // Parameter layout of FusedCnnNet: trainable ones in layer order, then the moving statistics.
    private const int K1 = 0, B1 = K1 + 3 * 3 * 3 * 8, G2 = B1 + 8, Be2 = G2 + 8, K4 = Be2 + 8, B4 = K4 + 3 * 3 * 8 * 8,
        K8 = B4 + 8, G9 = K8 + 32 * 16, Be9 = G9 + 16, K10 = Be9 + 16, B10 = K10 + 16 * 8, K12 = B10 + 8, B12 = K12 + 8 * 4,
        Trainable = B12 + 4, S2 = Trainable, S9 = S2 + 16, Total = S9 + 32;

    private static readonly Conv2DGeometry Conv1 = KerasGeometry.Conv(12, 10, 3, 8, 3, 3, same: true);
    private static readonly Conv2DGeometry Conv4 = KerasGeometry.Conv(12, 10, 8, 8, 3, 3, 2, 2);

    private static float[] Slice(float[] w, int offset, int count) => w.AsSpan(offset, count).ToArray();

    private static void BatchNorm(double[] v, float[] w, int gamma, int beta, int stats, int channels)
    {
        for (int i = 0; i < v.Length; i++)
        {
            int c = i % channels;
            v[i] = (v[i] - w[stats + c]) / Math.Sqrt(w[stats + channels + c] + 1e-3) * w[gamma + c] + w[beta + c];
        }
    }

    private static float[] Floats(double[] v) => v.Select(d => (float)d).ToArray();

    /// <summary>The declared network in inference, layer by layer in double precision.</summary>
    private static double[] Reference(float[] w, float[] x, int n)
    {
        var a = ConvReference.Forward(Conv1, n, x, Slice(w, K1, 216), Slice(w, B1, 8));
        BatchNorm(a, w, G2, Be2, S2, 8);
        for (int i = 0; i < a.Length; i++) a[i] = a[i] > 0 ? a[i] : 0.1 * a[i];
        var c = ConvReference.Forward(Conv4, n, Floats(a), Slice(w, K4, 576), Slice(w, B4, 8)); // (n, 5, 4, 8)
        for (int i = 0; i < c.Length; i++) c[i] = Math.Tanh(Math.Max(0, c[i])); // relu, dropout (identity), tanh
        var pooled = new double[n * 2 * 2 * 8]; // 2x2 valid max pooling: (5, 4) -> (2, 2)
        for (int s = 0; s < n; s++)
            for (int oh = 0; oh < 2; oh++)
                for (int ow = 0; ow < 2; ow++)
                    for (int ch = 0; ch < 8; ch++)
                    {
                        double m = double.NegativeInfinity;
                        for (int dh = 0; dh < 2; dh++)
                            for (int dw = 0; dw < 2; dw++)
                                m = Math.Max(m, c[((s * 5 + oh * 2 + dh) * 4 + ow * 2 + dw) * 8 + ch]);
                        pooled[((s * 2 + oh) * 2 + ow) * 8 + ch] = m;
                    }
        var d = Dense(pooled, n, 32, 16, w, K8, -1);
        BatchNorm(d, w, G9, Be9, S9, 16);
        var e = Dense(d, n, 16, 8, w, K10, B10);
        for (int i = 0; i < e.Length; i++) e[i] = e[i] > 0 ? e[i] : -0.5 * e[i];
        var z = Dense(e, n, 8, 4, w, K12, B12);
        for (int s = 0; s < n; s++)
        {
            double max = z.Skip(s * 4).Take(4).Max(), sum = 0;
            for (int j = 0; j < 4; j++) sum += z[s * 4 + j] = Math.Exp(z[s * 4 + j] - max);
            for (int j = 0; j < 4; j++) z[s * 4 + j] /= sum;
        }
        return z;
    }

    private static double[] Dense(double[] x, int n, int inputs, int units, float[] w, int kernel, int bias)
    {
        var y = new double[n * units];
        for (int s = 0; s < n; s++)
            for (int u = 0; u < units; u++)
            {
                double acc = bias >= 0 ? w[bias + u] : 0;
                for (int i = 0; i < inputs; i++) acc += x[s * inputs + i] * w[kernel + i * units + u];
                y[s * units + u] = acc;
            }
        return y;
    }

    private void AssertMatches(FusedCnnNet model, Tensor x, string when)
    {
        var w = model.GetWeights();
        Assert.Equal(Total, w.Length);
        var expected = Reference(w, x.Data, x.Count);
        var actual = model.Predict(x, batchSize: 5).Data;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
        output.WriteLine($"{model.Backend.Name}, {when}: max |predicted - reference| = {worst:E2}");
        Assert.True(worst < 2e-5, $"{when}: {worst}");
    }

    private static (Tensor X, Tensor Y) Data(int n)
    {
        var x = new Tensor(Num.Uniform(n * 360, 11, -1.5f, 2.5f), n, 12, 10, 3);
        var y = new float[n * 4];
        for (int i = 0; i < n; i++) y[i * 4 + i % 4] = 1;
        return (x, new Tensor(y, n, 4));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void FoldedInferenceMatchesTheDeclaredNetwork(string backend)
    {
        using var model = new FusedCnnNet { Seed = 3 };
        if (backend == "ilgpu-cpu") model.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        else model.UseBackend(new CpuBackend());
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        var (x, y) = Data(7);
        for (int i = 0; i < 3; i++) model.TrainOnBatch(x, y);
        // Moving statistics have left their initial (0, 1), so a wrong fold shows.
        var w = model.GetWeights();
        Assert.Contains(w.AsSpan(S2, 32).ToArray(), v => Math.Abs(v) > 1e-3 && Math.Abs(v - 1) > 1e-3);
        AssertMatches(model, x, "after 3 steps");

        // New weights through SetWeights must refresh the folded copy.
        var changed = (float[])w.Clone();
        for (int i = 0; i < Trainable; i++) changed[i] *= 1.5f;
        for (int c = 0; c < 8; c++) changed[S2 + 8 + c] += 0.7f; // moving variance
        model.SetWeights(changed);
        AssertMatches(model, x, "after SetWeights");

        // So must a training step.
        model.TrainOnBatch(x, y);
        AssertMatches(model, x, "after one more step");
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 3)]  // a transposed convolution's [kh, kw, filters, C] kernel: runs of C weights per filter
    [InlineData(false, 5)]
    public void FoldBatchNormMatchesDoubleReference(bool withBias, int inner)
    {
        const int fanIn = 13, channels = 7;
        int count = fanIn * channels * inner;
        var kernel = Num.Uniform(count, 1);
        var bias = Num.Uniform(channels, 2);
        var gamma = Num.Uniform(channels, 3, 0.5f, 2f);
        var beta = Num.Uniform(channels, 4);
        var mean = Num.Uniform(channels, 5);
        var variance = Num.Uniform(channels, 6, 0.01f, 3f);
        using var cpu = new CpuBackend();
        using var ilgpu = IlgpuBackend.TryCreate(AcceleratorType.CPU)!;
        foreach (IBackend be in new IBackend[] { cpu, ilgpu })
        {
            be.EnsureCapacity(2000, 0);
            be.Upload(kernel, 0);
            be.Upload(bias, 500);
            be.Upload(gamma, 600);
            be.Upload(beta, 700);
            be.Upload(mean, 800);
            be.Upload(variance, 900);
            be.FoldBatchNorm(fanIn, channels, inner, 1e-3f, 0, withBias ? 500 : -1, 600, 700, 800, 900, 1000, 1000 + count);
            var folded = new float[count + channels];
            be.Download(1000, folded);
            for (int c = 0; c < channels; c++)
            {
                double s = gamma[c] / Math.Sqrt(variance[c] + 1e-3);
                for (int r = 0; r < fanIn; r++)
                    for (int j = 0; j < inner; j++)
                    {
                        int at = (r * channels + c) * inner + j;
                        Assert.Equal(kernel[at] * s, folded[at], 1e-5 * (1 + Math.Abs(kernel[at] * s)));
                    }
                double b = ((withBias ? bias[c] : 0) - mean[c]) * s + beta[c];
                Assert.Equal(b, folded[count + c], 1e-5 * (1 + Math.Abs(b)));
            }
        }
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void BatchNormsFoldedIntoDepthwiseSeparableAndTransposedMatchTheUnfoldedNetwork(string backend)
    {
        using var folded = new FoldedSeparableNet { Seed = 8 };
        using var unfolded = new UnfoldedSeparableNet();
        foreach (var m in new Model[] { folded, unfolded })
            m.UseBackend(backend == "cpu" ? new CpuBackend() : IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        folded.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        unfolded.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        Assert.Equal(FoldedSeparableNet.ParameterCount, UnfoldedSeparableNet.ParameterCount);
        var x = new Tensor(Num.Uniform(5 * 9 * 8 * 3, 12, -1, 2), 5, 9, 8, 3);
        var y = new float[5 * 4];
        for (int i = 0; i < 5; i++) y[i * 4 + i % 4] = 1;
        for (int i = 0; i < 3; i++) folded.TrainOnBatch(x, new Tensor(y, 5, 4));
        unfolded.SetWeights(folded.GetWeights());
        var a = folded.Predict(x, 5).Data;
        var b = unfolded.Predict(x, 5).Data;
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        output.WriteLine($"{backend}: max |folded - unfolded| = {worst:E2}");
        Assert.True(worst < 1e-5, $"{worst}");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void FusedDropoutTrainsLikeTheDropoutLayer(string backend)
    {
        // Same seed, weights, batches and layer indices: the same masks, so training must be the same computation.
        using var fused = new FusedDropoutNet { Seed = 21 };
        using var apart = new ApartDropoutNet { Seed = 21 };
        foreach (var m in new Model[] { fused, apart })
        {
            m.UseBackend(backend == "cpu" ? new CpuBackend() : IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
            m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        }
        apart.SetWeights(fused.GetWeights());
        var x = new Tensor(Num.Uniform(6 * 9 * 8 * 3, 14, -1, 2), 6, 9, 8, 3);
        var y = new float[6 * 4];
        for (int i = 0; i < 6; i++) y[i * 4 + i % 4] = 1;
        var labels = new Tensor(y, 6, 4);
        for (int step = 0; step < 4; step++)
        {
            float a = fused.TrainOnBatch(x, labels), b = apart.TrainOnBatch(x, labels);
            output.WriteLine($"{backend}, step {step + 1}: loss {a:R} fused, {b:R} apart");
            Assert.Equal(b, a);
        }
        Assert.Equal(apart.GetWeights(), fused.GetWeights());

        // Inference ignores both dropouts (the apart network's batch norms are folded into the layers before them).
        var p = fused.Predict(x, 6).Data;
        var q = apart.Predict(x, 6).Data;
        double worst = 0;
        for (int i = 0; i < p.Length; i++) worst = Math.Max(worst, Math.Abs(p[i] - q[i]));
        output.WriteLine($"{backend}: max |fused - apart| in inference = {worst:E2}");
        Assert.True(worst < 1e-5, $"{worst}");
        // (Which tensors each keeps for the backward pass: FusionPlanTests. Their training arenas also hold the gradients,
        // placed over kept tensors the backward pass is done with, so they differ by more than the kept tensors.)
    }
}
