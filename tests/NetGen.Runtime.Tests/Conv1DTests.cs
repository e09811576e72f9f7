using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

// Every Conv1D option: causal with dilation (tanh), same with strides and no bias, valid, with a ReLU layer fused in.
[Network(11, 3)]
[Conv1D(4, 3, Padding = Padding.Causal, DilationRate = 2, Activation = Activation.Tanh, Name = "causal")]
[Conv1D(5, 2, Strides = 2, Padding = Padding.Same, UseBias = false, Name = "strided")]
[ELU]
[Conv1D(3, 2, Name = "valid")]
[ReLU]
[MaxPooling1D(2, Padding = Padding.Same)]
[AveragePooling1D(2, Strides = 1)]
[GlobalMaxPooling1D]
[Dense(3, Activation = Activation.Softmax)]
public partial class Conv1DZoo;

// Seed 001's Conv1D classifier shape, small: two convolutions, pooling, global average pooling, a sigmoid unit.
[Network(12, 4)]
[Conv1D(6, 3, Activation = Activation.Elu)]
[Conv1D(6, 3, Activation = Activation.Tanh)]
[AveragePooling1D(3)]
[Conv1D(4, 2, Padding = Padding.Same, Activation = Activation.Sigmoid)]
[GlobalAveragePooling1D]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class Conv1DSeed;

public partial class GradientCheckTests
{
    [Fact]
    public void Conv1DCausalStridedSameValidAndThe1DPoolings()
    {
        using var m = new Conv1DZoo { Seed = 61 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 62, 11, 3), OneHot(4, 3, 63));
    }

    [Fact]
    public void Conv1DClassifierWithBinaryCrossEntropy()
    {
        using var m = new Conv1DSeed { Seed = 64 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        var y = new Tensor([1, 0, 1, 1, 0], 5, 1);
        Check(m, Inputs(5, 65, 12, 4), y);
    }
}

public sealed class Conv1DTests
{
    /// <summary>Keras's Conv1D in double: out[t, f] = b[f] + Σ_i Σ_c x[t·s − pad + i·d, c] · k[i, c, f] (zero outside).</summary>
    private static double[] Reference(float[] x, int steps, int channels, float[] kernel, float[]? bias, int k, int filters,
        int strides, int dilation, string padding, out int outSteps)
    {
        int span = dilation * (k - 1) + 1;
        int pad;
        if (padding == "valid") { outSteps = (steps - span) / strides + 1; pad = 0; }
        else if (padding == "causal") { outSteps = (steps + strides - 1) / strides; pad = dilation * (k - 1); }
        else { outSteps = (steps + strides - 1) / strides; pad = Math.Max(0, (outSteps - 1) * strides + span - steps) / 2; }
        var y = new double[outSteps * filters];
        for (int t = 0; t < outSteps; t++)
            for (int f = 0; f < filters; f++)
            {
                double sum = bias?[f] ?? 0;
                for (int i = 0; i < k; i++)
                {
                    int at = t * strides - pad + i * dilation;
                    if (at < 0 || at >= steps) continue;
                    for (int c = 0; c < channels; c++) sum += (double)x[at * channels + c] * kernel[(i * channels + c) * filters + f];
                }
                y[t * filters + f] = sum;
            }
        return y;
    }

    [Fact]
    public void ForwardMatchesADoubleReferenceForEveryPadding()
    {
        using var m = new Conv1DZoo { Seed = 7 };
        var x = new Tensor(Num.Uniform(2 * 11 * 3, 8), 2, 11, 3);
        var outs = m.PredictLayers(x, ["causal", "strided"]);
        for (int s = 0; s < 2; s++)
        {
            var sample = x.Data.AsSpan(s * 33, 33).ToArray();
            var w = m.GetLayer("causal").GetWeights();
            var want = Reference(sample, 11, 3, w[0], w[1], 3, 4, 1, 2, "causal", out int steps);
            Assert.Equal(11, steps);
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(Math.Tanh(want[i]) - outs[0].Data[s * 44 + i]) < 2e-6, $"causal {i}");
            var w2 = m.GetLayer("strided").GetWeights();
            Assert.Single(w2); // no bias
            var second = Reference(outs[0].Data.AsSpan(s * 44, 44).ToArray(), 11, 4, w2[0], null, 2, 5, 2, 1, "same", out int steps2);
            Assert.Equal(6, steps2);
            for (int i = 0; i < second.Length; i++) Assert.True(Math.Abs(second[i] - outs[1].Data[s * 30 + i]) < 2e-6, $"strided {i}");
        }
        Assert.Equal(["kernel", "bias"], m.GetLayer("causal").WeightNames);
        Assert.Equal([3, 3, 4], m.GetLayer("causal").Info.Weights[0].Shape);
        Assert.Equal(3 * 3 * 4 + 4, m.GetLayer("causal").CountParams());
    }

    [Fact]
    public void OutputStepTDependsOnlyOnStepsUpToTWithCausalPadding()
    {
        using var m = new Conv1DZoo { Seed = 9 };
        var a = new Tensor(Num.Uniform(33, 10), 1, 11, 3);
        var b = new Tensor((float[])a.Data.Clone(), 1, 11, 3);
        for (int i = 6 * 3; i < 33; i++) b.Data[i] += 1f; // change steps 6 and after
        var ya = m.PredictLayers(a, ["causal"])[0].Data;
        var yb = m.PredictLayers(b, ["causal"])[0].Data;
        Assert.Equal(ya.AsSpan(0, 6 * 4).ToArray(), yb.AsSpan(0, 6 * 4).ToArray());
        Assert.NotEqual(ya.AsSpan(6 * 4, 4).ToArray(), yb.AsSpan(6 * 4, 4).ToArray());
    }

    [Fact]
    public void IlgpuOnTheCpuAcceleratorTrainsAsTheManagedBackend()
    {
        var x = new Tensor(Num.Uniform(16 * 12 * 4, 11), 16, 12, 4);
        var y = new Tensor(Enumerable.Range(0, 16).Select(i => (float)(i % 2)).ToArray(), 16, 1);
        using var cpu = new Conv1DSeed { Seed = 3 };
        using var ilgpu = new Conv1DSeed { Seed = 3 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.BinaryCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 8, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }
}

// The 1-D resampling layers and SpatialDropout1D around a convolution.
[Network(7, 3)]
[ZeroPadding1D(2, 1)]
[Conv1D(4, 3, Activation = Activation.Tanh)]
[UpSampling1D(2)]
[Cropping1D(1, 2)]
[SpatialDropout1D(0.3)]
[GlobalAveragePooling1D]
[Dense(2, Activation = Activation.Softmax)]
public partial class Resample1DNet;

[Network(4, 2)]
[ZeroPadding1D(1, 2, Name = "pad")]
[UpSampling1D(3, Name = "up")]
[Cropping1D(2, 4, Name = "crop")]
public partial class Move1DNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ZeroPaddingUpSamplingCroppingAndSpatialDropout1D()
    {
        using var m = new Resample1DNet { Seed = 66 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 67, 7, 3), OneHot(4, 2, 68));
    }
}

public sealed class Resample1DTests
{
    [Fact]
    public void PaddingUpSamplingAndCroppingMoveTheStepsAsKeras()
    {
        using var m = new Move1DNet();
        var x = new Tensor([1, 2, 3, 4, 5, 6, 7, 8], 1, 4, 2); // steps (1,2) (3,4) (5,6) (7,8)
        var outs = m.PredictLayers(x, ["pad", "up", "crop"]);
        Assert.Equal([1, 7, 2], outs[0].Shape.ToArray());
        Assert.Equal(new float[] { 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0 }, outs[0].Data);
        Assert.Equal([1, 21, 2], outs[1].Shape.ToArray());
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2 }, outs[1].Data.AsSpan(0, 12).ToArray());
        Assert.Equal([1, 15, 2], outs[2].Shape.ToArray());
        Assert.Equal(outs[1].Data.AsSpan(4, 30).ToArray(), outs[2].Data);
        Assert.Equal(m.Predict(x).Data, outs[2].Data);
    }

    [Fact]
    public void SpatialDropout1DDropsWholeChannels()
    {
        // The probe's kernel gradient for channel c sums that channel over all 6 steps: exactly 0 when the channel is
        // dropped as a whole, and almost never when single values are dropped (0.5⁶ of the time).
        int zeros = 0, total = 0;
        var x = new Tensor(Num.Uniform(6 * 4, 3, 0.5, 1.5), 1, 6, 4);
        var y = new Tensor([0.5f], 1, 1);
        for (ulong seed = 1; seed <= 10; seed++)
        {
            using var m = new SpatialProbe { Seed = seed };
            m.Compile(new SGD(), Loss.MeanSquaredError);
            var (_, g) = m.ComputeGradients(x, y);
            var probe = g.AsSpan(0, 4); // the Conv1D kernel comes first
            foreach (float v in probe) { total++; if (v == 0) zeros++; }
        }
        Assert.InRange(zeros, 8, 32); // about half the channels of ten draws
        Assert.Equal(40, total);
    }
}

[Network(6, 4)]
[SpatialDropout1D(0.5)]
[Conv1D(1, 1, UseBias = false, Name = "probe")]
[Flatten]
[Dense(1)]
public partial class SpatialProbe;
