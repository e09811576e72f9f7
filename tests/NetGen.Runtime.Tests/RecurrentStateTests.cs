using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

// Keras's seq2seq training model: the encoder's output is dropped, its last states start the decoder, which reads the
// target sequence shifted by one (teacher forcing) and predicts every step.
[Network(5, 3, Outputs = new[] { "next" })]
[LSTM(4, ReturnState = true, Name = "encoder")]
[Input(4, 2, Name = "decoder_input")]
[LSTM(4, ReturnSequences = true, Input = "decoder_input", InitialState = new[] { "encoder.state_h", "encoder.state_c" }, Name = "decoder")]
[Dense(3, Activation = Activation.Softmax, Name = "next")]
public partial class Seq2SeqLstm;

// The GRU's output and its returned state both read on: the state by the decoder (its initial state) and by the head,
// so the state's gradient has two parts; the SimpleRNN reads the GRU's sequence.
[Network(5, 3)]
[GRU(4, ReturnState = true, ReturnSequences = true, Name = "enc")]
[SimpleRNN(4, InitialState = new[] { "enc.state_h" }, Name = "dec")]
[Concatenate("dec", "enc.state_h")]
[Dense(2, Activation = Activation.Softmax, Name = "out")]
public partial class GruStateNet;

// States given as inputs, every state returned: the forward pass against a double reference.
[Network(5, 3, Outputs = new[] { "lstm", "lstm.state_h", "lstm.state_c" })]
[Input(4, Name = "h0")]
[Input(4, Name = "c0")]
[LSTM(4, Input = "input", InitialState = new[] { "h0", "c0" }, ReturnState = true, ReturnSequences = true, Name = "lstm")]
public partial class LstmWithStates;

[Network(5, 3, Outputs = new[] { "gru", "gru.state_h" })]
[Input(4, Name = "h0")]
[GRU(4, Input = "input", InitialState = new[] { "h0" }, ReturnState = true, Name = "gru")]
public partial class GruWithState;

public sealed class RecurrentStateTests(ITestOutputHelper output)
{
    private static Tensor Uniform(int n, int seed, params int[] sample)
    {
        int size = 1;
        foreach (int d in sample) size *= d;
        return new Tensor(Num.Uniform(n * size, seed), [n, .. sample]);
    }

    private static Tensor OneHot(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        int classes = shape[^1], rows = shape.Aggregate(1, (a, b) => a * b) / classes;
        var y = new float[rows * classes];
        for (int r = 0; r < rows; r++) y[r * classes + rng.Next(classes)] = 1;
        return new Tensor(y, shape);
    }

    [Fact]
    public void TheSeq2SeqEncoderGetsItsGradientThroughTheDecodersInitialStates()
    {
        using var m = new Seq2SeqLstm { Seed = 3 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        // Nothing reads the encoder's output: its whole gradient comes through state_h and state_c.
        Assert.Equal(["encoder", "encoder.state_h", "encoder.state_c", "decoder_input", "decoder", "next"], m.Layers.Select(l => l.Name).ToArray());
        var (_, g) = m.ComputeGradients([Uniform(4, 1, 5, 3), Uniform(4, 2, 4, 2)], [OneHot(5, 4, 4, 3)]);
        var encoder = m.GetLayer("encoder");
        Assert.True(g.Skip(0).Take(encoder.CountParams()).Max(Math.Abs) > 1e-4, "the encoder's weights get a gradient");
        MultiIOTests.CheckGradients(m, [Uniform(4, 1, 5, 3), Uniform(4, 2, 4, 2)], [OneHot(5, 4, 4, 3)], output);
    }

    [Fact]
    public void AStateReadTwiceAddsBothGradients()
    {
        using var m = new GruStateNet { Seed = 8 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        MultiIOTests.CheckGradients(m, [Uniform(5, 9, 5, 3)], [OneHot(10, 5, 2)], output);
    }

    [Fact]
    public void ALossOnAReturnedStateReachesTheWeights()
    {
        // The states are outputs with losses of their own: dL/dh_T and dL/dc_T come from the loss, not from a layer.
        using var lstm = new LstmWithStates { Seed = 6 };
        lstm.Compile(new SGD(), [Loss.MeanSquaredError, Loss.MeanSquaredError, Loss.MeanSquaredError], [0f, 1f, 1f]);
        MultiIOTests.CheckGradients(lstm, [Uniform(3, 41, 5, 3), Uniform(3, 42, 4), Uniform(3, 43, 4)],
            [Uniform(3, 44, 5, 4), Uniform(3, 45, 4), Uniform(3, 46, 4)], output);
        using var gru = new GruWithState { Seed = 6 };
        gru.Compile(new SGD(), [Loss.MeanSquaredError, Loss.MeanSquaredError], [0f, 1f]);
        MultiIOTests.CheckGradients(gru, [Uniform(3, 47, 5, 3), Uniform(3, 48, 4)], [Uniform(3, 49, 4), Uniform(3, 50, 4)], output);
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    [Fact]
    public void AnLstmStartsFromItsInitialStatesAndReturnsItsLastOnes()
    {
        using var m = new LstmWithStates { Seed = 12 };
        int n = 3, T = 5, F = 3, u = 4;
        Tensor[] x = [Uniform(n, 13, T, F), Uniform(n, 14, u), Uniform(n, 15, u)];
        var outs = m.Predict(x, batchSize: 2);
        Assert.Equal([n, T, u], outs[0].Shape);
        Assert.Equal([n, u], outs[1].Shape);
        Assert.Equal([n, u], outs[2].Shape);
        var w = m.GetLayer("lstm").GetWeights();
        for (int s = 0; s < n; s++)
        {
            // Keras's LSTM in double from h0, c0.
            var h = x[1].Data.Skip(s * u).Take(u).Select(v => (double)v).ToArray();
            var c = x[2].Data.Skip(s * u).Take(u).Select(v => (double)v).ToArray();
            for (int t = 0; t < T; t++)
            {
                var z = new double[4 * u];
                for (int j = 0; j < 4 * u; j++)
                {
                    double sum = w[2][j];
                    for (int f = 0; f < F; f++) sum += x[0].Data[(s * T + t) * F + f] * (double)w[0][f * 4 * u + j];
                    for (int k = 0; k < u; k++) sum += h[k] * w[1][k * 4 * u + j];
                    z[j] = sum;
                }
                for (int j = 0; j < u; j++)
                {
                    c[j] = Sigmoid(z[u + j]) * c[j] + Sigmoid(z[j]) * Math.Tanh(z[2 * u + j]);
                    h[j] = Sigmoid(z[3 * u + j]) * Math.Tanh(c[j]);
                    Assert.True(Math.Abs(h[j] - outs[0].Data[(s * T + t) * u + j]) < 2e-6, $"sample {s} step {t} unit {j}");
                }
            }
            for (int j = 0; j < u; j++)
            {
                Assert.Equal(outs[0].Data[(s * T + T - 1) * u + j], outs[1].Data[s * u + j]); // state_h is the last step's output
                Assert.True(Math.Abs(c[j] - outs[2].Data[s * u + j]) < 2e-6, $"sample {s} c unit {j}");
            }
        }
        // Zero initial states give what the same LSTM gives without any.
        var zeros = m.Predict([x[0], new Tensor(new float[n * u], n, u), new Tensor(new float[n * u], n, u)]);
        using var plain = new StatelessLstm();
        plain.GetLayer("lstm").SetWeights(w);
        Assert.Equal(plain.Predict(x[0]).Data, zeros[0].Data);
    }

    [Fact]
    public void TrainingAndInferenceGiveTheSameStates()
    {
        // The training forward pass (every step kept) and inference (one step's working set) are different code: a loss
        // on every output, the states included, is the same from both (ComputeGradients trains, Evaluate infers).
        var cases = new (Model Model, int Inputs, int[][] Outputs)[]
        {
            (new LstmWithStates { Seed = 2 }, 3, [[5, 4], [4], [4]]),
            (new GruWithState { Seed = 2 }, 2, [[4], [4]]),
        };
        foreach (var (m, inputs, outputs) in cases)
            using (m)
            {
                m.Compile(new SGD(), outputs.Select(_ => Loss.MeanSquaredError).ToArray());
                Tensor[] x = [Uniform(4, 21, 5, 3), .. Enumerable.Range(0, inputs - 1).Select(k => Uniform(4, 22 + k, 4))];
                Tensor[] y = outputs.Select((shape, k) => Uniform(4, 30 + k, shape)).ToArray();
                double training = m.ComputeGradients(x, y).Loss;
                double inference = m.Evaluate(x, y, batchSize: 4)["loss"];
                output.WriteLine($"{m.Name}: training {training}, inference {inference}");
                Assert.True(Math.Abs(training - inference) < 1e-6 * Math.Max(1, Math.Abs(training)), $"{m.Name}: {training} vs {inference}");
            }
    }

    [Fact]
    public void OnnxExportSaysWhatItCannotWrite()
    {
        string path = Path.Combine(Path.GetTempPath(), "netgen-seq2seq-" + Guid.NewGuid().ToString("N") + ".onnx");
        using var seq2seq = new Seq2SeqLstm();
        var e = Assert.Throws<NotSupportedException>(() => seq2seq.ExportOnnx(path));
        Assert.Contains("'encoder.state_h' (RecurrentState)", e.Message);
        using var states = new GruWithState();
        e = Assert.Throws<NotSupportedException>(() => states.ExportOnnx(path));
        Assert.Contains("'gru' (GRU) starts from initial states", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void TheIlgpuBackendTrainsAsTheManagedOne()
    {
        Tensor[] x = [Uniform(8, 31, 5, 3), Uniform(8, 32, 4, 2)];
        Tensor[] y = [OneHot(33, 8, 4, 3)];
        using var cpu = new Seq2SeqLstm { Seed = 4 };
        using var ilgpu = new Seq2SeqLstm { Seed = 4 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"weight {i}: {a[i]} vs {b[i]}");
    }
}

[Network(5, 3)]
[LSTM(4, ReturnSequences = true, Name = "lstm")]
public partial class StatelessLstm;
