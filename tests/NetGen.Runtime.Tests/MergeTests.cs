using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

// The FashionMlp chain declared with explicit inputs: the same computation as the Sequential form.
[Network(12)]
[Dense(9, Activation = Activation.Relu, Name = "h1", Input = "input")]
[Dropout(0.2, Name = "d1", Input = "h1")]
[Dense(7, Activation = Activation.Relu, Name = "h2", Input = "d1")]
[Dropout(0.2, Name = "d2", Input = "h2")]
[Dense(4, Activation = Activation.Softmax, Input = "d2")]
public partial class ExplicitChainNet;

[Network(12)]
[Dense(9, Activation = Activation.Relu, Name = "h1")]
[Dropout(0.2, Name = "d1")]
[Dense(7, Activation = Activation.Relu, Name = "h2")]
[Dropout(0.2, Name = "d2")]
[Dense(4, Activation = Activation.Softmax)]
public partial class SequentialChainNet;

/// <summary>
/// The merge operations against a double-precision reference on the CPU backend and against the CPU backend on
/// ILGPU's CPU accelerator, and branching networks end to end: CPU/ILGPU training parity, inference equal to the
/// training pass, and a chain declared with explicit inputs training bit for bit like the Sequential one.
/// </summary>
public sealed class MergeTests(IlgpuCpuFixture fixture, ITestOutputHelper output) : IClassFixture<IlgpuCpuFixture>
{
    private const int Count = 37;

    /// <summary>Three inputs with exact ties between inputs 0/1 and 1/2 at some elements (the first holder wins).</summary>
    private static float[][] Inputs()
    {
        var xs = new[] { Num.Uniform(Count, 1), Num.Uniform(Count, 2), Num.Uniform(Count, 3) };
        for (int i = 0; i < Count; i += 5) xs[1][i] = xs[0][i];
        for (int i = 2; i < Count; i += 7) xs[2][i] = xs[1][i] = Math.Max(xs[1][i], xs[0][i]) + 0.5f;
        return xs;
    }

    private static double[] ReferenceForward(MergeOperation op, float[][] xs) => Enumerable.Range(0, Count).Select(i =>
    {
        var v = xs.Select(x => (double)x[i]).ToArray();
        return op switch
        {
            MergeOperation.Add => v.Sum(),
            MergeOperation.Subtract => v[0] - v[1],
            MergeOperation.Multiply => v.Aggregate(1.0, (a, b) => a * b),
            MergeOperation.Average => v.Average(),
            MergeOperation.Maximum => v.Max(),
            _ => v.Min(),
        };
    }).ToArray();

    private static double[] ReferenceBackward(MergeOperation op, float[][] xs, float[] dy, int index) => Enumerable.Range(0, Count).Select(i =>
    {
        double g = dy[i];
        var v = xs.Select(x => (double)x[i]).ToArray();
        switch (op)
        {
            case MergeOperation.Add: return g;
            case MergeOperation.Subtract: return index == 0 ? g : -g;
            case MergeOperation.Average: return g / v.Length;
            case MergeOperation.Multiply: return g * v.Where((_, k) => k != index).Aggregate(1.0, (a, b) => a * b);
            default:
                double target = op == MergeOperation.Maximum ? v.Max() : v.Min();
                return Array.FindIndex(v, a => a == target) == index ? g : 0;
        }
    }).ToArray();

    private static (int[] X, int Y, int Dy, int Dx) Load(IBackend b, float[][] xs, float[] dy, float[] dx)
    {
        b.EnsureCapacity(16 * Count, 0);
        var offsets = new int[xs.Length];
        for (int k = 0; k < xs.Length; k++)
        {
            offsets[k] = k * Count;
            b.Upload(xs[k], offsets[k]);
        }
        b.Upload(dy, 8 * Count);
        b.Upload(dx, 9 * Count);
        return (offsets, 7 * Count, 8 * Count, 9 * Count);
    }

    public static TheoryData<MergeOperation, int> Cases()
    {
        var data = new TheoryData<MergeOperation, int>();
        foreach (var op in Enum.GetValues<MergeOperation>()) data.Add(op, op == MergeOperation.Subtract ? 2 : 3);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cpu_MergeMatchesTheDoubleReference(MergeOperation op, int n)
    {
        var xs = Inputs().Take(n).ToArray();
        var dy = Num.Uniform(Count, 9);
        var prior = Num.Uniform(Count, 10);
        using var b = new CpuBackend();
        var (x, y, g, d) = Load(b, xs, dy, prior);
        b.MergeForward(op, Count, y, x);
        var result = new float[Count];
        b.Download(y, result);
        Num.Close(ReferenceForward(op, xs), result, 1e-6, 1e-6, $"{op} forward");
        for (int index = 0; index < n; index++)
        {
            var expected = ReferenceBackward(op, xs, dy, index);
            b.Upload(prior, d);
            b.MergeBackward(op, Count, index, y, g, d, accumulate: false, x);
            b.Download(d, result);
            Num.Close(expected, result, 1e-6, 1e-6, $"{op} backward of input {index}");
            b.Upload(prior, d);
            b.MergeBackward(op, Count, index, y, g, d, accumulate: true, x);
            b.Download(d, result);
            Num.Close(expected.Select((e, i) => e + prior[i]).ToArray(), result, 1e-6, 1e-6, $"{op} backward of input {index}, accumulated");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ilgpu_MergeMatchesCpu(MergeOperation op, int n)
    {
        var xs = Inputs().Take(n).ToArray();
        var dy = Num.Uniform(Count, 11);
        var prior = Num.Uniform(Count, 12);
        using var cpu = new CpuBackend();
        using var gpu = new IlgpuBackend(fixture.Accelerator);
        foreach (bool accumulate in new[] { false, true })
        {
            var results = new List<float[]>();
            foreach (IBackend b in new IBackend[] { cpu, gpu })
            {
                var (x, y, g, d) = Load(b, xs, dy, prior);
                b.MergeForward(op, Count, y, x);
                var all = new List<float>();
                var buffer = new float[Count];
                b.Download(y, buffer);
                all.AddRange(buffer);
                for (int index = 0; index < n; index++)
                {
                    b.Upload(prior, d);
                    b.MergeBackward(op, Count, index, y, g, d, accumulate, x);
                    b.Download(d, buffer);
                    all.AddRange(buffer);
                }
                results.Add(all.ToArray());
            }
            Assert.Equal(results[0], results[1]); // the same float operations in the same order
        }
    }

    [Fact]
    public void ConcatenateAndAccumulateOnBothBackends()
    {
        const int rows = 5, width = 3, total = 7, offset = 4;
        var x = Num.Uniform(rows * width, 13);
        var dy = Num.Uniform(rows * total, 14);
        var prior = Num.Uniform(rows * width, 15);
        using var cpu = new CpuBackend();
        using var gpu = new IlgpuBackend(fixture.Accelerator);
        foreach (IBackend b in new IBackend[] { cpu, gpu })
        {
            b.EnsureCapacity(1024, 0);
            b.Fill(0, 1024, -7f);
            b.Upload(x, 0);
            b.ConcatenateForward(rows, width, total, offset, x: 0, y: 100);
            var y = new float[rows * total];
            b.Download(100, y);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < total; c++)
                    Assert.Equal(c >= offset && c < offset + width ? x[r * width + c - offset] : -7f, y[r * total + c]);
            b.Upload(dy, 200);
            b.Upload(prior, 300);
            b.ConcatenateBackward(rows, width, total, offset, dy: 200, dx: 300, accumulate: true);
            var dx = new float[rows * width];
            b.Download(300, dx);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < width; c++)
                    Assert.Equal(prior[r * width + c] + dy[r * total + offset + c], dx[r * width + c]);
            b.ConcatenateBackward(rows, width, total, offset, dy: 200, dx: 300, accumulate: false);
            b.Download(300, dx);
            Assert.Equal(dy[offset + 1], dx[1]);
            b.Accumulate(rows * width, x: 0, y: 300);
            b.Download(300, dx);
            Assert.Equal(dy[total + offset] + x[width], dx[width]);
        }
    }

    public static TheoryData<MergeOperation, ActivationFunction, bool> FusedCases()
    {
        var data = new TheoryData<MergeOperation, ActivationFunction, bool>();
        foreach (var op in new[] { MergeOperation.Add, MergeOperation.Subtract, MergeOperation.Multiply, MergeOperation.Average, MergeOperation.Maximum })
            data.Add(op, ActivationFunction.Relu, false);
        data.Add(MergeOperation.Add, ActivationFunction.Relu, true);       // PredictLayers keeps the sum: the two-pass path
        data.Add(MergeOperation.Add, ActivationFunction.Tanh, false);
        data.Add(MergeOperation.Average, ActivationFunction.LeakyRelu, true);
        return data;
    }

    /// <summary>
    /// A merge with its activation fused (one pass over the tensor on the CPU) gives the bits of the merge followed by
    /// the activation, forward, and backward (dy masked in place, then each input's gradient written or added), on
    /// tensors large enough for several runs and threads, on both backends.
    /// </summary>
    [Theory]
    [MemberData(nameof(FusedCases))]
    public void AMergeWithItsActivationFusedEqualsTheMergeThenTheActivation(MergeOperation op, ActivationFunction act, bool keepSum)
    {
        const int n = 3 * 8192 * 4 + 19;
        int inputs = op == MergeOperation.Subtract ? 2 : 3;
        float alpha = act == ActivationFunction.LeakyRelu ? 0.2f : 0f;
        var xs = Enumerable.Range(0, inputs).Select(k => Num.Uniform(n, 30 + k, -1, 1)).ToArray();
        var dy = Num.Uniform(n, 40);
        var prior = Num.Uniform(n, 41);
        using var cpu = new CpuBackend();
        using var gpu = new IlgpuBackend(fixture.Accelerator);
        foreach (IBackend b in new IBackend[] { cpu, gpu })
        {
            b.EnsureCapacity(12L * n, 0);
            var x = Enumerable.Range(0, inputs).Select(k => k * n).ToArray();
            for (int k = 0; k < inputs; k++) b.Upload(xs[k], x[k]);
            int y = 4 * n, z = 5 * n, g = 6 * n, d = 7 * n, yRef = 8 * n, gRef = 9 * n, dRef = 10 * n;
            var epilogue = new Epilogue(act, alpha, keepSum ? z : -1);
            b.MergeForward(op, n, epilogue, y, x);
            b.MergeForward(op, n, yRef, x);
            if (keepSum) Assert.Equal(Download(b, yRef, n), Download(b, z, n));
            b.ActivationForward(act, alpha, n, 1, yRef, yRef);
            Assert.Equal(Download(b, yRef, n), Download(b, y, n));
            for (int index = 0; index < inputs; index++)
                foreach (bool accumulate in new[] { false, true })
                {
                    b.Upload(dy, g);
                    b.Upload(dy, gRef);
                    b.Upload(prior, d);
                    b.Upload(prior, dRef);
                    b.MergeBackward(op, n, index, new Epilogue(act, alpha, keepSum ? z : -1), y, g, d, accumulate, x);
                    b.ActivationBackward(act, alpha, n, 1, keepSum ? z : -1, y, gRef, gRef);
                    b.MergeBackward(op, n, index, y, gRef, dRef, accumulate, x);
                    string what = $"{b.GetType().Name} {op} + {act}, input {index}, accumulate {accumulate}";
                    Assert.True(Download(b, gRef, n).AsSpan().SequenceEqual(Download(b, g, n)), what + ": dy after the derivative");
                    Assert.True(Download(b, dRef, n).AsSpan().SequenceEqual(Download(b, d, n)), what + ": dx");
                }
        }
    }

    private static float[] Download(IBackend b, int offset, int count)
    {
        var values = new float[count];
        b.Download(offset, values);
        return values;
    }

    [Fact]
    public void BadArgumentsAreRejectedBeforeAnyWork()
    {
        using var b = new CpuBackend();
        b.EnsureCapacity(64, 0);
        Assert.Contains("exactly 2", Assert.Throws<ArgumentException>(() => b.MergeForward(MergeOperation.Subtract, 4, 0, 8, 16, 24)).Message);
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => b.MergeForward(MergeOperation.Add, 4, 0, 8)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.MergeBackward(MergeOperation.Add, 4, 2, 0, 8, 16, false, 24, 32));
        Assert.Contains("do not fit", Assert.Throws<ArgumentOutOfRangeException>(() => b.ConcatenateForward(2, 3, 4, 2, 0, 8)).Message);
        Assert.Contains("softmax", Assert.Throws<ArgumentException>(() => b.MergeForward(MergeOperation.Add, 4, new Epilogue(ActivationFunction.Softmax), 0, 8, 16)).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentException>(() =>
            b.MergeBackward(MergeOperation.Add, 4, 1, new Epilogue(ActivationFunction.Relu, dropoutRate: 0.5f), 0, 8, 16, false, 24, 32)).Message);
    }

    // ---- Networks ---------------------------------------------------------------------------------------------

    [Fact]
    public void ExplicitInputsTrainBitForBitLikeTheSequentialChain()
    {
        var x = new Tensor(Num.Uniform(10 * 12, 20), 10, 12);
        var y = new Tensor([0f, 1f, 2f, 3f, 0f, 1f, 2f, 3f, 0f, 1f], 10);
        using var chain = new SequentialChainNet { Seed = 5 };
        using var graph = new ExplicitChainNet { Seed = 5 };
        chain.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        graph.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        for (int step = 0; step < 5; step++) Assert.Equal(chain.TrainOnBatch(x, y), graph.TrainOnBatch(x, y));
        Assert.Equal(chain.GetWeights(), graph.GetWeights());
        Assert.Equal(chain.Predict(x).Data, graph.Predict(x).Data);
        Assert.Contains("Connected to", graph.Summary()); // declared with inputs: Keras's functional table
        Assert.DoesNotContain("Connected to", chain.Summary());
    }

    [Fact]
    public void GraphInferenceReadsWhatTrainingComputed()
    {
        // No batch norm or dropout: the inference pass (liveness-planned slots) must give the training pass's loss.
        using var zoo = new GradMergeZooNet { Seed = 3 };
        zoo.Compile(new SGD(), Loss.MeanSquaredError);
        var x = new Tensor(Num.Uniform(6 * 5, 21), 6, 5);
        var y = new Tensor(Num.Uniform(6 * 3, 22), 6, 3);
        Num.Close(zoo.ComputeGradients(x, y).Loss, zoo.Evaluate(x, y).Loss, 1e-7, 1e-6, "merge zoo: Evaluate vs training loss");

        using var inception = new GradInceptionNet { Seed = 4 };
        inception.Compile(new SGD(), Loss.MeanSquaredError);
        var xi = new Tensor(Num.Uniform(3 * 75, 23), 3, 5, 5, 3);
        var yi = new Tensor(Num.Uniform(3 * 4, 24, 0, 1), 3, 4);
        Num.Close(inception.ComputeGradients(xi, yi).Loss, inception.Evaluate(xi, yi).Loss, 1e-7, 1e-6, "inception: Evaluate vs training loss");
        // Predict in batches of 1 and of 3 agrees (slots scale with the batch).
        var whole = inception.Predict(xi, batchSize: 3).Data;
        var single = inception.Predict(xi, batchSize: 1).Data;
        Num.Close(whole.Select(v => (double)v).ToArray(), single, 1e-6, 1e-5, "predict batch 1 vs 3");
    }

    [Fact]
    public void AnActivationFusedIntoAnAddRunsInPlaceAndPredictLayersStillSeesTheSum()
    {
        using var m = new GradResidualNet { Seed = 12 };
        // The generated comment says the ELU layer runs inside the Add.
        Assert.Contains("add (Add)", m.Summary());
        var x = new Tensor(Num.Uniform(3 * 72, 40), 3, 6, 6, 2);
        var outs = m.PredictLayers(x, ["stem_relu", "bn", "add", "activation"]);
        var sum = outs[0].Data.Zip(outs[1].Data, (a, b) => (double)a + b).ToArray();
        Num.Close(sum, outs[2].Data, 1e-6, 1e-6, "add's own output");
        Num.Close(sum.Select(v => v > 0 ? v : Math.Exp(v) - 1).ToArray(), outs[3].Data, 1e-6, 1e-5, "elu of the sum");
        Assert.Contains(outs[2].Data, v => v < 0); // the ELU changed something
        Num.Close(m.Predict(x).Data.Select(v => (double)v).ToArray(), m.PredictLayers(x, ["dense"])[0].Data, 1e-6, 1e-5, "Predict (batch norm folded) vs PredictLayers");
    }

    [Fact]
    public void Ilgpu_ResidualAndInceptionNetworksTrainLikeCpu()
    {
        void Run<T>(Func<T> create, Tensor x, Tensor y) where T : Model
        {
            using var cpu = create();
            using var gpu = create();
            gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
            // SGD, not Adam: a convolution bias before batch norm has a zero gradient up to rounding noise, which Adam
            // would scale up to full steps that differ between backends.
            cpu.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
            gpu.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
            for (int step = 0; step < 3; step++)
            {
                float lc = cpu.TrainOnBatch(x, y), lg = gpu.TrainOnBatch(x, y);
                output.WriteLine($"{cpu.Name} step {step}: loss cpu {lc:R}, ilgpu {lg:R}");
                Assert.True(Math.Abs(lc - lg) <= 1e-5 * Math.Abs(lc) + 1e-6, $"{cpu.Name} step {step}: {lg} vs {lc}");
            }
            var wc = cpu.GetWeights();
            var wg = gpu.GetWeights();
            for (int i = 0; i < wc.Length; i++)
                Assert.True(Math.Abs(wc[i] - wg[i]) <= 1e-4 * Math.Abs(wc[i]) + 1e-5, $"{cpu.Name} weight {i}: {wg[i]} vs {wc[i]}");
            var pc = cpu.Predict(x).Data;
            var pg = gpu.Predict(x).Data;
            for (int i = 0; i < pc.Length; i++) Assert.True(Math.Abs(pc[i] - pg[i]) <= 1e-5, $"{cpu.Name} prediction {i}: {pg[i]} vs {pc[i]}");
        }

        Run(() => new GradResidualNet { Seed = 8 }, new Tensor(Num.Uniform(4 * 72, 30), 4, 6, 6, 2), OneHot(4, 3));
        Run(() => new GradInceptionNet { Seed = 9 }, new Tensor(Num.Uniform(3 * 75, 31), 3, 5, 5, 3), OneHot(3, 4));
    }

    private static Tensor OneHot(int n, int classes)
    {
        var y = new float[n * classes];
        for (int r = 0; r < n; r++) y[r * classes + r % classes] = 1;
        return new Tensor(y, n, classes);
    }
}
