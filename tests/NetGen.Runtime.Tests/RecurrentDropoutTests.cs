using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

[Network(5, 3)]
[LSTM(4, Dropout = 0.4, RecurrentDropout = 0.3, ReturnSequences = true)]
[LSTM(3, RecurrentDropout = 0.5)]
[Dense(3, Activation = Activation.Softmax)]
public partial class DroppedLstm;

[Network(5, 3)]
[GRU(4, Dropout = 0.3, RecurrentDropout = 0.4, ReturnSequences = true)]
[SimpleRNN(3, Dropout = 0.2, RecurrentDropout = 0.5, Bidirectional = BidirectionalMerge.Concat)]
[Dense(3, Activation = Activation.Softmax)]
public partial class DroppedGruRnn;

[Network(5, 3)]
[LSTM(4, Dropout = 0.4, RecurrentDropout = 0.3, Bidirectional = BidirectionalMerge.Sum)]
[Dense(3, Activation = Activation.Softmax)]
public partial class DroppedBiLstm;

// One sequence read by four recurrent layers: their input gradients are added into one buffer, directly (no input
// dropout) or written apart and added (an input dropout's mask applies to each layer's own part).
[Network(5, 3)]
[Dense(4, Activation = Activation.Tanh, Name = "seq")]
[GRU(3, Name = "plain")]
[LSTM(3, Dropout = 0.3, Name = "dropped", Input = "seq")]
[SimpleRNN(2, Bidirectional = BidirectionalMerge.Concat, Name = "bi", Input = "seq")]
[LSTM(2, Dropout = 0.25, Bidirectional = BidirectionalMerge.Sum, Name = "dropped_bi", Input = "seq")]
[Concatenate("plain", "dropped", "bi", "dropped_bi")]
[Dense(3, Activation = Activation.Softmax)]
public partial class SharedSequenceNet;

public partial class GradientCheckTests
{
    // The masks are fixed within an iteration, so central differences see the same dropped network as the backward pass.
    [Fact]
    public void LstmDropoutAndRecurrentDropout()
    {
        using var m = new DroppedLstm { Seed = 61 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 62, 5, 3), OneHot(4, 3, 63));
    }

    [Fact]
    public void GruAndBidirectionalSimpleRnnDropouts()
    {
        using var m = new DroppedGruRnn { Seed = 64 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 65, 5, 3), OneHot(4, 3, 66));
    }

    [Fact]
    public void RecurrentLayersAddIntoASharedInputsGradient()
    {
        using var m = new SharedSequenceNet { Seed = 70 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 71, 5, 3), OneHot(4, 3, 72));
    }

    [Fact]
    public void BidirectionalLstmDropouts()
    {
        using var m = new DroppedBiLstm { Seed = 67 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 68, 5, 3), OneHot(4, 3, 69));
    }
}

/// <summary>
/// Keras's dropout and recurrent_dropout on the LSTM: the kernel against a double reference that applies the masks as
/// Keras's LSTMCell does (x·m before x·W, h·r before h·U, one mask per sample for every step), masks drawn
/// independently here from the documented rule; no dropout in inference.
/// </summary>
public sealed class RecurrentDropoutTests
{
    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>Keep masks with the dropouts' rule: element i kept (scaled by 1/(1 − rate)) when Uniform(key, i) ≥ rate.</summary>
    private static double[] Mask(ulong key, int count, float rate) =>
        Enumerable.Range(0, count).Select(i => CounterRng.Uniform(key, (ulong)i) >= rate ? 1 / (1 - (double)rate) : 0).ToArray();

    /// <summary>One sample's LSTM in double, with its input mask m (features) and recurrent mask r (units): every step's h.</summary>
    private static double[][] Reference(float[] x, int steps, int features, float[] kernel, float[] recurrent, float[] bias, int u, double[] m, double[] r)
    {
        var h = new double[u];
        var c = new double[u];
        var outputs = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var z = new double[4 * u];
            for (int j = 0; j < 4 * u; j++)
            {
                double sum = bias[j];
                for (int f = 0; f < features; f++) sum += x[t * features + f] * m[f] * kernel[f * 4 * u + j];
                for (int k = 0; k < u; k++) sum += h[k] * r[k] * recurrent[k * 4 * u + j];
                z[j] = sum;
            }
            for (int j = 0; j < u; j++)
            {
                c[j] = Sigmoid(z[u + j]) * c[j] + Sigmoid(z[j]) * Math.Tanh(z[2 * u + j]);
                h[j] = Sigmoid(z[3 * u + j]) * Math.Tanh(c[j]);
            }
            outputs[t] = (double[])h.Clone();
        }
        return outputs;
    }

    [Fact]
    public void TheLstmKernelAppliesKerasMasksInTrainingOnly()
    {
        const int batch = 3, T = 4, F = 5, u = 6;
        var g = new LstmGeometry(T, F, u, true, ActivationFunction.Tanh, ActivationFunction.Sigmoid, Dropout: 0.4f, RecurrentDropout: 0.3f);
        var x = Num.Uniform(batch * T * F, 11);
        var kernel = Num.Uniform(F * 4 * u, 12).Select(v => v * 0.5f).ToArray();
        var recurrent = Num.Uniform(u * 4 * u, 13).Select(v => v * 0.5f).ToArray();
        var bias = Num.Uniform(4 * u, 14);
        const ulong key = 0x9E3779B97F4A7C15;
        var inputMask = Mask(key, batch * F, 0.4f);
        var stateMask = Mask(CounterRng.Key(key, 1, 0), batch * u, 0.3f);
        Assert.Contains(0.0, inputMask); // the case is not vacuous: some features and units are dropped, some kept
        Assert.Contains(0.0, stateMask);
        Assert.Contains(inputMask, v => v > 1);

        using var ws = new KernelWorkspace(1 << 14);
        int px = ws.Put(x), pk = ws.Put(kernel), pr = ws.Put(recurrent), pb = ws.Put(bias);
        int cache = ws.Alloc(batch * g.CachePerSample), py = ws.Alloc(batch * T * u);
        ws.Backend.LstmForward(g, batch, px, pk, pr, pb, cache, py, key);
        var trained = ws.Get(py, batch * T * u);
        ws.Backend.LstmForward(g, batch, px, pk, pr, pb, -1, py, key);
        var inferred = ws.Get(py, batch * T * u);
        var none = Enumerable.Repeat(1.0, Math.Max(F, u)).ToArray();
        for (int s = 0; s < batch; s++)
        {
            var sample = x.AsSpan(s * T * F, T * F).ToArray();
            var want = Reference(sample, T, F, kernel, recurrent, bias, u, inputMask[(s * F)..((s + 1) * F)], stateMask[(s * u)..((s + 1) * u)]);
            var plain = Reference(sample, T, F, kernel, recurrent, bias, u, none, none);
            for (int t = 0; t < T; t++)
                for (int j = 0; j < u; j++)
                {
                    int i = (s * T + t) * u + j;
                    Assert.True(Math.Abs(want[t][j] - trained[i]) < 2e-6, $"training, sample {s} step {t} unit {j}: {trained[i]} vs {want[t][j]}");
                    Assert.True(Math.Abs(plain[t][j] - inferred[i]) < 2e-6, $"inference, sample {s} step {t} unit {j}: {inferred[i]} vs {plain[t][j]}");
                }
        }
    }

    [Fact]
    public void MasksChangeEveryStepAndAreReproducibleFromTheSeed()
    {
        var x = new Tensor(Num.Uniform(8 * 15, 3), 8, 5, 3);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray(), 8), 3);
        using var a = new DroppedLstm { Seed = 5 };
        using var b = new DroppedLstm { Seed = 5 };
        a.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
        b.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
        var first = a.TrainOnBatch(x, y);
        Assert.Equal(first, b.TrainOnBatch(x, y)); // the same seed draws the same masks
        Assert.Equal(a.GetWeights(), b.GetWeights());
        // Inference has no dropout: Predict is a pure function of the weights.
        Assert.Equal(a.Predict(x).Data, a.Predict(x).Data);
        // A second step's masks differ from the first's: the same weights give another training loss.
        using var c = new DroppedLstm { Seed = 5 };
        c.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
        var initial = c.GetWeights();
        float l1 = c.TrainOnBatch(x, y);
        c.SetWeights(initial);
        float l2 = c.TrainOnBatch(x, y);
        Assert.Equal(first, l1);
        Assert.NotEqual(l1, l2);
    }

    public static TheoryData<string> DroppedNets() => new() { "lstm", "bidirectional lstm", "gru and simple rnn" };

    private static Model Create(string name) => name switch
    {
        "lstm" => new DroppedLstm { Seed = 4 },
        "bidirectional lstm" => new DroppedBiLstm { Seed = 4 },
        _ => new DroppedGruRnn { Seed = 4 },
    };

    // The LSTM runs on the ILGPU kernels (RecurrentKernels, on ILGPU's CPU accelerator here), the GRU and SimpleRNN on
    // host copies: both must train as the managed backend does, with the same masks.
    [Theory]
    [MemberData(nameof(DroppedNets))]
    public void TheIlgpuBackendDrawsTheSameMasks(string name)
    {
        var x = new Tensor(Num.Uniform(8 * 15, 9), 8, 5, 3);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray(), 8), 3);
        using var cpu = Create(name);
        using var ilgpu = Create(name);
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false, verbose: 0);
        }
        var wa = cpu.GetWeights();
        var wb = ilgpu.GetWeights();
        for (int i = 0; i < wa.Length; i++) Assert.True(Math.Abs(wa[i] - wb[i]) < 1e-4, $"weight {i}: {wa[i]} vs {wb[i]}");
    }
}

// Activations whose derivative the LSTM and GRU take from their outputs, other than tanh and sigmoid; SimpleRNN keeps
// its pre-activations, so swish works there.
[Network(5, 3)]
[LSTM(3, Activation = Activation.Elu, RecurrentActivation = Activation.Softsign, ReturnSequences = true)]
[GRU(3, Activation = Activation.Selu, RecurrentActivation = Activation.HardSigmoid, ReturnSequences = true)]
[SimpleRNN(2, Activation = Activation.Swish)]
[Dense(3, Activation = Activation.Softmax)]
public partial class OtherRecurrentActivations;

public partial class GradientCheckTests
{
    [Fact]
    public void RecurrentLayersWithOtherActivations()
    {
        using var m = new OtherRecurrentActivations { Seed = 71 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 72, 5, 3), OneHot(3, 3, 73));
    }
}

[Network(5, 3)]
[LSTM(4, ReturnSequences = true)]
[Dense(3, TimeDistributed = true, Activation = Activation.Softmax)]
public partial class PerStepTimeDistributed;

[Network(5, 3)]
[LSTM(4, ReturnSequences = true)]
[Dense(3, Activation = Activation.Softmax)]
public partial class PerStepDense;

public sealed class TimeDistributedTests
{
    [Fact]
    public void TimeDistributedDenseTrainsAsTheDenseItNames()
    {
        var x = new Tensor(Num.Uniform(6 * 15, 5), 6, 5, 3);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 30).Select(i => (float)(i % 3)).ToArray(), 30), 3).Reshape(6, 5, 3);
        using var a = new PerStepTimeDistributed { Seed = 3 };
        using var b = new PerStepDense { Seed = 3 };
        Assert.Equal(b.GetWeights(), a.GetWeights());
        a.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        b.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        a.Fit(x, y, epochs: 2, batchSize: 3, shuffle: false, verbose: 0);
        b.Fit(x, y, epochs: 2, batchSize: 3, shuffle: false, verbose: 0);
        Assert.Equal(b.GetWeights(), a.GetWeights());
        Assert.Equal("time_distributed", a.GetLayer(1).Name);
        Assert.Contains("time_distributed (TimeDist", a.Summary());
    }
}
