using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

// Seed 001's stacked LSTMs, small: two LSTMs returning sequences, one returning its last step, a softmax.
[Network(5, 3)]
[LSTM(4, ReturnSequences = true, Name = "first")]
[LSTM(3, ReturnSequences = true, RecurrentActivation = Activation.HardSigmoid, Name = "second")]
[LSTM(4, UseBias = false, Name = "last")]
[Dense(3, Activation = Activation.Softmax)]
public partial class StackedLstm;

[Network(28, 28)]
[LSTM(16, Name = "lstm")]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowLstm;

public partial class GradientCheckTests
{
    [Fact]
    public void StackedLstmsThroughTime()
    {
        using var m = new StackedLstm { Seed = 71 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 72, 5, 3), OneHot(3, 3, 73));
    }
}

public sealed class LstmTests
{
    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>Keras's LSTM in double, for one sample: every step's h.</summary>
    private static double[][] Reference(float[] x, int steps, int features, float[] kernel, float[] recurrent, float[]? bias, int u,
        Func<double, double> gate)
    {
        var h = new double[u];
        var c = new double[u];
        var outputs = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var z = new double[4 * u];
            for (int j = 0; j < 4 * u; j++)
            {
                double sum = bias?[j] ?? 0;
                for (int f = 0; f < features; f++) sum += x[t * features + f] * (double)kernel[f * 4 * u + j];
                for (int k = 0; k < u; k++) sum += h[k] * recurrent[k * 4 * u + j];
                z[j] = sum;
            }
            for (int j = 0; j < u; j++)
            {
                double i = gate(z[j]), fg = gate(z[u + j]), g = Math.Tanh(z[2 * u + j]), o = gate(z[3 * u + j]);
                c[j] = fg * c[j] + i * g;
                h[j] = o * Math.Tanh(c[j]);
            }
            outputs[t] = (double[])h.Clone();
        }
        return outputs;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardMatchesADoubleReferenceWithSequencesAndWithout(bool cellsOnThreads)
    {
        // Inference runs step by step (LstmMath.Infer); its cell math may be split over the worker pool's threads.
        int saved = StepCells.ParallelFloats;
        if (cellsOnThreads) StepCells.ParallelFloats = 0;
        try { CheckForward(); }
        finally { StepCells.ParallelFloats = saved; }
    }

    private static void CheckForward()
    {
        using var m = new StackedLstm { Seed = 5 };
        var x = new Tensor(Num.Uniform(2 * 15, 6), 2, 5, 3);
        var outs = m.PredictLayers(x, ["first", "second", "last"]);
        Assert.Equal([2, 5, 4], outs[0].Shape.ToArray());
        Assert.Equal([2, 4], outs[2].Shape.ToArray());
        double HardSigmoid(double v) => Math.Clamp(0.2 * v + 0.5, 0, 1);
        for (int s = 0; s < 2; s++)
        {
            var w1 = m.GetLayer("first").GetWeights();
            var r1 = Reference(x.Data.AsSpan(s * 15, 15).ToArray(), 5, 3, w1[0], w1[1], w1[2], 4, Sigmoid);
            for (int t = 0; t < 5; t++)
                for (int j = 0; j < 4; j++) Assert.True(Math.Abs(r1[t][j] - outs[0].Data[s * 20 + t * 4 + j]) < 2e-6);
            var w2 = m.GetLayer("second").GetWeights();
            var r2 = Reference(outs[0].Data.AsSpan(s * 20, 20).ToArray(), 5, 4, w2[0], w2[1], w2[2], 3, HardSigmoid);
            for (int t = 0; t < 5; t++)
                for (int j = 0; j < 3; j++) Assert.True(Math.Abs(r2[t][j] - outs[1].Data[s * 15 + t * 3 + j]) < 2e-6);
            var w3 = m.GetLayer("last").GetWeights();
            Assert.Equal(2, w3.Length); // no bias
            var r3 = Reference(outs[1].Data.AsSpan(s * 15, 15).ToArray(), 5, 3, w3[0], w3[1], null, 4, Sigmoid);
            for (int j = 0; j < 4; j++) Assert.True(Math.Abs(r3[4][j] - outs[2].Data[s * 4 + j]) < 2e-6);
        }
    }

    [Theory]
    [InlineData(false, false, ActivationFunction.Sigmoid)]
    [InlineData(true, false, ActivationFunction.Sigmoid)]
    [InlineData(true, true, ActivationFunction.Sigmoid)]
    [InlineData(false, true, ActivationFunction.HardSigmoid)]
    public unsafe void InferenceSplitOverTheBatchGivesEverySampleTheSameBits(bool returnSequences, bool reverse, ActivationFunction gate)
    {
        // Infer gives each thread a range of samples for the whole sequence; a sample's outputs and last states must
        // not depend on the range it falls in (its rows' GEMM tiles: 12, 8 or 4 rows) or on the number of ranges.
        const int batch = 37, steps = 6, features = 5, u = 20; // 20 units: a 16-wide block and a scalar tail in the cell
        var g = new LstmGeometry(steps, features, u, returnSequences, ActivationFunction.Tanh, gate, reverse);
        float[] x = Num.Uniform(batch * steps * features, 81), kernel = Num.Uniform(features * 4 * u, 82),
            recurrent = Num.Uniform(u * 4 * u, 83), bias = Num.Uniform(4 * u, 84), h0 = Num.Uniform(batch * u, 85), c0 = Num.Uniform(batch * u, 86);
        (float[] Y, float[] H, float[] C) Run(int parts)
        {
            var y = new float[batch * g.OutputPerSample];
            var scratch = new float[LstmMath.InferScratch(g, batch)];
            float[] hT = new float[batch * u], cT = new float[batch * u];
            BatchSplit.Parts = parts;
            try
            {
                fixed (float* px = x, pk = kernel, pr = recurrent, pb = bias, ph0 = h0, pc0 = c0, ps = scratch, py = y, phT = hT, pcT = cT)
                    LstmMath.Infer(g, batch, px, pk, pr, pb, ps, py, ph0, pc0, phT, pcT);
            }
            finally { BatchSplit.Parts = 0; }
            return (y, hT, cT);
        }
        var whole = Run(1);
        foreach (int parts in new[] { 2, 3, 5 })
        {
            var split = Run(parts);
            Assert.Equal(whole.Y.Select(BitConverter.SingleToInt32Bits), split.Y.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(whole.H.Select(BitConverter.SingleToInt32Bits), split.H.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(whole.C.Select(BitConverter.SingleToInt32Bits), split.C.Select(BitConverter.SingleToInt32Bits));
        }
        // And the same values as the training pass's forward (up to the GEMMs' rounding of x·W over all steps at once).
        var cache = new float[batch * g.CachePerSample];
        var yTrain = new float[batch * g.OutputPerSample];
        fixed (float* px = x, pk = kernel, pr = recurrent, pb = bias, ph0 = h0, pc0 = c0, pc = cache, py = yTrain)
            LstmMath.Forward(g, batch, px, pk, pr, pb, pc, py, h0: ph0, c0: pc0);
        for (int i = 0; i < yTrain.Length; i++) Assert.True(Math.Abs(yTrain[i] - whole.Y[i]) <= 1e-5f, $"y[{i}]: {whole.Y[i]} against {yTrain[i]}");
    }

    [Theory]
    [InlineData(RnnCell.Gru, false, false)]
    [InlineData(RnnCell.Gru, true, true)]
    [InlineData(RnnCell.SimpleRnn, true, false)]
    public unsafe void GruAndSimpleRnnInferenceSplitOverTheBatchGivesEverySampleTheSameBits(RnnCell cell, bool returnSequences, bool reverse)
    {
        const int batch = 29, steps = 5, features = 4, u = 18;
        var g = new RnnGeometry(cell, steps, features, u, returnSequences, ActivationFunction.Tanh, ActivationFunction.Sigmoid, reverse);
        int G = g.Gates * u;
        float[] x = Num.Uniform(batch * steps * features, 91), kernel = Num.Uniform(features * G, 92),
            recurrent = Num.Uniform(u * G, 93), bias = Num.Uniform(2 * G, 94), h0 = Num.Uniform(batch * u, 95);
        (float[] Y, float[] H) Run(int parts)
        {
            var y = new float[batch * g.OutputPerSample];
            var scratch = new float[RnnMath.InferScratch(g, batch)];
            var hT = new float[batch * u];
            BatchSplit.Parts = parts;
            try
            {
                fixed (float* px = x, pk = kernel, pr = recurrent, pb = bias, ph0 = h0, ps = scratch, py = y, phT = hT)
                    RnnMath.Infer(g, batch, px, pk, pr, pb, ps, py, ph0, phT);
            }
            finally { BatchSplit.Parts = 0; }
            return (y, hT);
        }
        var whole = Run(1);
        foreach (int parts in new[] { 2, 3, 4 })
        {
            var split = Run(parts);
            Assert.Equal(whole.Y.Select(BitConverter.SingleToInt32Bits), split.Y.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(whole.H.Select(BitConverter.SingleToInt32Bits), split.H.Select(BitConverter.SingleToInt32Bits));
        }
        // The training pass's forward gives the same values (up to the GEMMs' rounding of x·W over all steps at once).
        var cache = new float[batch * g.CachePerSample];
        var yTrain = new float[batch * g.OutputPerSample];
        var trainScratch = new float[g.ScratchFloats(batch)];
        fixed (float* px = x, pk = kernel, pr = recurrent, pb = bias, ph0 = h0, pc = cache, py = yTrain, ps = trainScratch)
            RnnMath.Forward(g, batch, px, pk, pr, pb, pc, py, ps, h0: ph0);
        for (int i = 0; i < yTrain.Length; i++) Assert.True(Math.Abs(yTrain[i] - whole.Y[i]) <= 1e-5f, $"y[{i}]: {whole.Y[i]} against {yTrain[i]}");
    }

    [Fact]
    public void WeightsAreKerasShapedAndInitialised()
    {
        using var m = new RowLstm();
        var layer = m.GetLayer("lstm");
        Assert.Equal(["kernel", "recurrent_kernel", "bias"], layer.WeightNames);
        Assert.Equal(4 * (16 * (28 + 16) + 16), layer.CountParams());
        var w = layer.GetWeights();
        // The recurrent kernel (16, 64) has orthonormal rows, as Keras's Orthogonal.
        for (int a = 0; a < 16; a++)
            for (int b = 0; b < 16; b++)
            {
                double dot = 0;
                for (int j = 0; j < 64; j++) dot += (double)w[1][a * 64 + j] * w[1][b * 64 + j];
                Assert.True(Math.Abs(dot - (a == b ? 1 : 0)) < 1e-5, $"row {a}·row {b} = {dot}");
            }
        // unit_forget_bias: the forget gate's bias (the second quarter) is 1, the others 0.
        for (int j = 0; j < 64; j++) Assert.Equal(j is >= 16 and < 32 ? 1f : 0f, w[2][j]);
    }

    [Fact]
    public void TheIlgpuBackendTrainsAsTheManagedOne()
    {
        var x = new Tensor(Num.Uniform(8 * 15, 9), 8, 5, 3);
        var y = new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray(), 8);
        using var cpu = new StackedLstm { Seed = 4 };
        using var ilgpu = new StackedLstm { Seed = 4 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"weight {i}: {a[i]} vs {b[i]}");
    }

    /// <summary>
    /// Inference (step by step in a small working set, its cells split over threads or not) against the training
    /// forward pass (the input projection of every step at once, and the cache), with and without a bias, reversed,
    /// from initial states and to final states, returning sequences or the last step.
    /// </summary>
    [Theory]
    [InlineData(37, true, true, false, false, true)]
    [InlineData(37, false, false, true, true, false)]
    [InlineData(32, true, true, true, false, false)]
    [InlineData(5, true, false, false, true, true)]
    [InlineData(5, false, true, true, true, true)]
    public void InferenceMatchesTheTrainingForwardPass(int units, bool cellsOnThreads, bool useBias, bool reverse, bool states, bool sequences)
    {
        const int batch = 3, T = 4, F = 6;
        var g = new LstmGeometry(T, F, units, sequences, ActivationFunction.Tanh, ActivationFunction.Sigmoid, reverse);
        int u4 = 4 * units;
        using var ws = new KernelWorkspace(1 << 16);
        int px = ws.Put(Num.Uniform(batch * T * F, 1)), pk = ws.Put(Num.Uniform(F * u4, 2, -0.5, 0.5));
        int pr = ws.Put(Num.Uniform(units * u4, 3, -0.5, 0.5)), pb = useBias ? ws.Put(Num.Uniform(u4, 4)) : -1;
        int h0 = states ? ws.Put(Num.Uniform(batch * units, 5)) : -1, c0 = states ? ws.Put(Num.Uniform(batch * units, 6)) : -1;
        int outs = batch * (sequences ? T : 1) * units;
        int cache = ws.Alloc(batch * g.CachePerSample), yTrain = ws.Alloc(outs), yInfer = ws.Alloc(outs);
        int hT = ws.Alloc(batch * units), cT = ws.Alloc(batch * units), hTi = ws.Alloc(batch * units), cTi = ws.Alloc(batch * units);
        ws.Backend.LstmForward(g, batch, px, pk, pr, pb, cache, yTrain, 0, h0, c0, hT, cT);
        int saved = StepCells.ParallelFloats;
        if (cellsOnThreads) StepCells.ParallelFloats = 0;
        try { ws.Backend.LstmForward(g, batch, px, pk, pr, pb, -1, yInfer, 0, h0, c0, hTi, cTi); }
        finally { StepCells.ParallelFloats = saved; }
        Num.Close(Array.ConvertAll(ws.Get(yTrain, outs), v => (double)v), ws.Get(yInfer, outs), 1e-6, 1e-5, "y");
        Num.Close(Array.ConvertAll(ws.Get(hT, batch * units), v => (double)v), ws.Get(hTi, batch * units), 1e-6, 1e-5, "hT");
        Num.Close(Array.ConvertAll(ws.Get(cT, batch * units), v => (double)v), ws.Get(cTi, batch * units), 1e-6, 1e-5, "cT");
    }
}

// SimpleRNN and GRU stacked, with sequences, without bias, and with another activation.
[Network(5, 3)]
[GRU(4, ReturnSequences = true, Name = "gru")]
[SimpleRNN(3, ReturnSequences = true, Name = "rnn")]
[GRU(3, UseBias = false, RecurrentActivation = Activation.HardSigmoid, Name = "gru_last")]
[Dense(3, Activation = Activation.Softmax)]
public partial class GruStack;

[Network(4, 2)]
[SimpleRNN(3, Activation = Activation.Relu, Name = "relu_rnn")]
[Dense(1)]
public partial class ReluRnn;

public partial class GradientCheckTests
{
    [Fact]
    public void GruAndSimpleRnnThroughTime()
    {
        using var m = new GruStack { Seed = 91 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 92, 5, 3), OneHot(3, 3, 93));
    }
}

public sealed class GruTests
{
    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>TF 2 Keras's GRU (reset_after) in double for one sample: every step's h.</summary>
    private static double[][] Gru(float[] x, int steps, int features, float[] kernel, float[] recurrent, float[]? bias, int u, Func<double, double> gate)
    {
        var h = new double[u];
        var outputs = new double[steps][];
        int g = 3 * u;
        for (int t = 0; t < steps; t++)
        {
            var xw = new double[g];
            var hu = new double[g];
            for (int j = 0; j < g; j++)
            {
                double a = bias?[j] ?? 0, b = bias?[g + j] ?? 0;
                for (int f = 0; f < features; f++) a += x[t * features + f] * (double)kernel[f * g + j];
                for (int k = 0; k < u; k++) b += h[k] * recurrent[k * g + j];
                xw[j] = a;
                hu[j] = b;
            }
            var next = new double[u];
            for (int j = 0; j < u; j++)
            {
                double z = gate(xw[j] + hu[j]), r = gate(xw[u + j] + hu[u + j]);
                double hh = Math.Tanh(xw[2 * u + j] + r * hu[2 * u + j]);
                next[j] = z * h[j] + (1 - z) * hh;
            }
            h = next;
            outputs[t] = (double[])h.Clone();
        }
        return outputs;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GruAndSimpleRnnMatchDoubleReferences(bool cellsOnThreads)
    {
        // Inference runs step by step (RnnMath.Infer); its cell math may be split over the worker pool's threads.
        int saved = StepCells.ParallelFloats;
        if (cellsOnThreads) StepCells.ParallelFloats = 0;
        try { CheckReferences(); }
        finally { StepCells.ParallelFloats = saved; }
    }

    private static void CheckReferences()
    {
        using var m = new GruStack { Seed = 6 };
        var x = new Tensor(Num.Uniform(2 * 15, 7), 2, 5, 3);
        var outs = m.PredictLayers(x, ["gru", "rnn", "gru_last"]);
        var w = m.GetLayer("gru").GetWeights();
        Assert.Equal([2, 12], m.GetLayer("gru").Info.Weights[2].Shape);
        Assert.Equal(3 * 4 * (3 + 4) + 2 * 12, m.GetLayer("gru").CountParams());
        var wr = m.GetLayer("rnn").GetWeights();
        Assert.Equal(3 * (4 + 3) + 3, m.GetLayer("rnn").CountParams());
        var wl = m.GetLayer("gru_last").GetWeights();
        for (int s = 0; s < 2; s++)
        {
            var r1 = Gru(x.Data.AsSpan(s * 15, 15).ToArray(), 5, 3, w[0], w[1], w[2], 4, Sigmoid);
            for (int t = 0; t < 5; t++)
                for (int j = 0; j < 4; j++) Assert.True(Math.Abs(r1[t][j] - outs[0].Data[s * 20 + t * 4 + j]) < 2e-6, $"gru {t} {j}");
            // SimpleRNN: h = tanh(x·W + h·U + b)
            var h = new double[3];
            for (int t = 0; t < 5; t++)
            {
                var next = new double[3];
                for (int j = 0; j < 3; j++)
                {
                    double v = wr[2][j];
                    for (int f = 0; f < 4; f++) v += outs[0].Data[s * 20 + t * 4 + f] * (double)wr[0][f * 3 + j];
                    for (int k = 0; k < 3; k++) v += h[k] * wr[1][k * 3 + j];
                    next[j] = Math.Tanh(v);
                }
                h = next;
                for (int j = 0; j < 3; j++) Assert.True(Math.Abs(h[j] - outs[1].Data[s * 15 + t * 3 + j]) < 2e-6, $"rnn {t} {j}");
            }
            var r3 = Gru(outs[1].Data.AsSpan(s * 15, 15).ToArray(), 5, 3, wl[0], wl[1], null, 3, v => Math.Clamp(0.2 * v + 0.5, 0, 1));
            for (int j = 0; j < 3; j++) Assert.True(Math.Abs(r3[4][j] - outs[2].Data[s * 3 + j]) < 2e-6, $"gru_last {j}");
        }
    }

    [Fact]
    public void AReluSimpleRnnHasItsGradient()
    {
        using var m = new ReluRnn { Seed = 3 };
        m.Compile(new SGD(0.01f), Loss.MeanSquaredError);
        var x = new Tensor(Num.Uniform(16 * 8, 4), 16, 4, 2);
        var y = new Tensor(Num.Uniform(16, 5), 16, 1);
        double first = m.Evaluate(x, y).Loss;
        m.Fit(x, y, epochs: 20, batchSize: 8, verbose: 0);
        Assert.True(m.Evaluate(x, y).Loss < first);
    }

    [Fact]
    public void TheIlgpuBackendTrainsAsTheManagedOne()
    {
        var x = new Tensor(Num.Uniform(8 * 15, 9), 8, 5, 3);
        var y = new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray(), 8);
        using var cpu = new GruStack { Seed = 4 };
        using var ilgpu = new GruStack { Seed = 4 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"weight {i}: {a[i]} vs {b[i]}");
    }
}

// An LSTM autoencoder: encode the sequence into the last state, repeat it, decode a sequence.
[Network(6, 2)]
[LSTM(4, Name = "encoder")]
[RepeatVector(6, Name = "repeat")]
[LSTM(3, ReturnSequences = true)]
[Dense(2)]
public partial class LstmAutoencoder;

public partial class GradientCheckTests
{
    [Fact]
    public void RepeatVectorBetweenAnEncoderAndADecoder()
    {
        using var m = new LstmAutoencoder { Seed = 111 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Inputs(3, 112, 6, 2);
        Check(m, x, x);
    }
}

public sealed class RepeatVectorTests
{
    [Fact]
    public void EachStepIsTheVector()
    {
        using var m = new LstmAutoencoder { Seed = 2 };
        var x = new Tensor(Num.Uniform(2 * 12, 3), 2, 6, 2);
        var outs = m.PredictLayers(x, ["encoder", "repeat"]);
        Assert.Equal([2, 6, 4], outs[1].Shape.ToArray());
        for (int s = 0; s < 2; s++)
            for (int t = 0; t < 6; t++)
                Assert.Equal(outs[0].Data.AsSpan(s * 4, 4).ToArray(), outs[1].Data.AsSpan(s * 24 + t * 4, 4).ToArray());
    }
}

// Bidirectional LSTMs: concatenated sequences into averaged, summed and multiplied last states.
[Network(5, 3)]
[LSTM(3, ReturnSequences = true, Bidirectional = BidirectionalMerge.Concat, Name = "bi")]
[LSTM(2, Bidirectional = BidirectionalMerge.Average, Name = "ave", Input = "bi")]
[LSTM(2, Bidirectional = BidirectionalMerge.Sum, Name = "sum", Input = "bi")]
[LSTM(2, Bidirectional = BidirectionalMerge.Multiply, UseBias = false, Name = "mul", Input = "bi")]
[Concatenate("ave", "sum", "mul")]
[Dense(3, Activation = Activation.Softmax)]
public partial class BidirectionalNet;

public partial class GradientCheckTests
{
    [Fact]
    public void BidirectionalLstmsWithEveryMergeMode()
    {
        using var m = new BidirectionalNet { Seed = 131 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 132, 5, 3), OneHot(3, 3, 133));
    }
}

public sealed class BidirectionalTests
{
    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>An LSTM in double over the steps in the given order; returns h by step index.</summary>
    private static double[][] Run(float[] x, int steps, int features, float[] kernel, float[] recurrent, float[]? bias, int u, bool reverse)
    {
        var h = new double[u];
        var c = new double[u];
        var outputs = new double[steps][];
        for (int k = 0; k < steps; k++)
        {
            int t = reverse ? steps - 1 - k : k;
            var z = new double[4 * u];
            for (int j = 0; j < 4 * u; j++)
            {
                double sum = bias?[j] ?? 0;
                for (int f = 0; f < features; f++) sum += x[t * features + f] * (double)kernel[f * 4 * u + j];
                for (int q = 0; q < u; q++) sum += h[q] * recurrent[q * 4 * u + j];
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
    public void TheBackwardDirectionReadsTheStepsInReverseAndItsOutputsStayAtTheirSteps()
    {
        using var m = new BidirectionalNet { Seed = 8 };
        Assert.Equal(["forward_kernel", "forward_recurrent_kernel", "forward_bias", "backward_kernel", "backward_recurrent_kernel", "backward_bias"],
            m.GetLayer("bi").WeightNames);
        Assert.Equal(2 * 4 * (3 * (3 + 3) + 3), m.GetLayer("bi").CountParams());
        var x = new Tensor(Num.Uniform(2 * 15, 9), 2, 5, 3);
        var outs = m.PredictLayers(x, ["bi", "ave", "sum", "mul"]);
        Assert.Equal([2, 5, 6], outs[0].Shape.ToArray());
        var w = m.GetLayer("bi").GetWeights();
        for (int s = 0; s < 2; s++)
        {
            var sample = x.Data.AsSpan(s * 15, 15).ToArray();
            var fwd = Run(sample, 5, 3, w[0], w[1], w[2], 3, reverse: false);
            var bwd = Run(sample, 5, 3, w[3], w[4], w[5], 3, reverse: true);
            for (int t = 0; t < 5; t++)
                for (int j = 0; j < 3; j++)
                {
                    Assert.True(Math.Abs(fwd[t][j] - outs[0].Data[s * 30 + t * 6 + j]) < 2e-6, $"forward {t} {j}");
                    Assert.True(Math.Abs(bwd[t][j] - outs[0].Data[s * 30 + t * 6 + 3 + j]) < 2e-6, $"backward {t} {j}");
                }
            // The last-state merges: forward's last step (t = 4), backward's last processed step (t = 0).
            var seq = outs[0].Data.AsSpan(s * 30, 30).ToArray();
            foreach (var (name, k, merge) in new (string, int, Func<double, double, double>)[] { ("ave", 1, (a, b) => (a + b) / 2), ("sum", 2, (a, b) => a + b), ("mul", 3, (a, b) => a * b) })
            {
                var wk = m.GetLayer(name).GetWeights();
                bool bias = wk.Length == 6;
                var f2 = Run(seq, 5, 6, wk[0], wk[1], bias ? wk[2] : null, 2, reverse: false);
                var b2 = Run(seq, 5, 6, wk[bias ? 3 : 2], wk[bias ? 4 : 3], bias ? wk[5] : null, 2, reverse: true);
                for (int j = 0; j < 2; j++)
                    Assert.True(Math.Abs(merge(f2[4][j], b2[0][j]) - outs[k].Data[s * 2 + j]) < 2e-6, $"{name} {j}");
            }
        }
    }
}

public sealed class BidirectionalIlgpuTests
{
    [Fact]
    public void TheIlgpuBackendTrainsAsTheManagedOne()
    {
        var x = new Tensor(Num.Uniform(6 * 15, 19), 6, 5, 3);
        var y = new Tensor(Enumerable.Range(0, 6).Select(i => (float)(i % 3)).ToArray(), 6);
        using var cpu = new BidirectionalNet { Seed = 4 };
        using var ilgpu = new BidirectionalNet { Seed = 4 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
            m.Fit(x, y, epochs: 2, batchSize: 3, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"weight {i}: {a[i]} vs {b[i]}");
    }
}

// Bidirectional GRU and SimpleRNN.
[Network(5, 3)]
[GRU(3, ReturnSequences = true, Bidirectional = BidirectionalMerge.Concat, Name = "bigru")]
[SimpleRNN(2, Bidirectional = BidirectionalMerge.Sum, Name = "birnn")]
[Dense(3, Activation = Activation.Softmax)]
public partial class BidirectionalGruNet;

public partial class GradientCheckTests
{
    [Fact]
    public void BidirectionalGruAndSimpleRnn()
    {
        using var m = new BidirectionalGruNet { Seed = 141 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 142, 5, 3), OneHot(3, 3, 143));
    }
}

public sealed class BidirectionalGruTests
{
    [Fact]
    public void TheBackwardGruOfAReversedSequenceIsTheForwardGruReversed()
    {
        // With the backward weights copied into a one-direction GRU, running it on the reversed sequence and reversing
        // its outputs gives the bidirectional layer's second half.
        using var bi = new BidirectionalGruNet { Seed = 6 };
        using var one = new OneGru { Seed = 6 };
        var w = bi.GetLayer("bigru").GetWeights();
        one.GetLayer("gru").SetWeights(w[3], w[4], w[5]);
        var x = new Tensor(Num.Uniform(2 * 15, 7), 2, 5, 3);
        var reversed = new Tensor(new float[30], 2, 5, 3);
        for (int s = 0; s < 2; s++)
            for (int t = 0; t < 5; t++)
                x.Data.AsSpan(s * 15 + (4 - t) * 3, 3).CopyTo(reversed.Data.AsSpan(s * 15 + t * 3, 3));
        var both = bi.PredictLayers(x, ["bigru"])[0].Data;
        var back = one.PredictLayers(reversed, ["gru"])[0].Data;
        for (int s = 0; s < 2; s++)
            for (int t = 0; t < 5; t++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(back[s * 15 + (4 - t) * 3 + j], both[s * 30 + t * 6 + 3 + j], 5);
    }
}

[Network(5, 3)]
[GRU(3, ReturnSequences = true, Name = "gru")]
[Dense(1)]
public partial class OneGru;
