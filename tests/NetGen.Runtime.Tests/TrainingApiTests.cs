using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

[Network(29, Name = "sequential")]
[Dense(40, Activation = Activation.Relu)]
[Dense(29)]
public partial class Seed004Autoencoder;

[Network(29)]
[Dense(80, Activation = Activation.Relu)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(29)]
public partial class Seed004DeepAutoencoder;

[Network(20)]
[Dense(32, Activation = Activation.Relu)]
[Dropout(0.25)]
[Dense(16, Activation = Activation.Relu)]
[Dropout(0.1)]
[Dense(4, Activation = Activation.Softmax)]
public partial class ApiMlp;

[Network(10)]
[Dense(16, Activation = Activation.Relu)]
[Dense(3, Activation = Activation.Softmax)]
public partial class BlobNet;

[Network(7)]
[Dense(5, Activation = Activation.Tanh)]
[Dense(3, Activation = Activation.Softmax)]
public partial class TinyNet;

// Four million parameters (16 MB): initialising them must not leave a managed copy behind.
[Network(2000)]
[Dense(2000)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FourMillionWeights;

// One wide layer: its inference arena (two ping-pong slots of 300) is larger than its training arena (300 + 4).
[Network(300)]
[Dense(4)]
public partial class ShallowWideNet;

/// <summary>The Keras-style training API of generated models: summaries, allocation, reproducibility, errors, learning.</summary>
[Collection(NonParallelCollection.Name)] // allocation counts must not see other tests' first-use work
public class TrainingApiTests
{
    private static (Tensor X, Tensor Y) Blobs(int n, int seed)
    {
        // Three well-separated Gaussian blobs in 10 dimensions; the centres are fixed, the samples depend on the seed.
        var centres = Num.Uniform(3 * 10, 12345, -2, 2);
        var rng = new Random(seed);
        var x = new float[n * 10];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(3);
            y[i] = c;
            for (int d = 0; d < 10; d++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                x[i * 10 + d] = (float)(centres[c * 10 + d] + 0.5 * g);
            }
        }
        return (new Tensor(x, n, 10), Utils.ToCategorical(new Tensor(y, n), 3));
    }

    private static (Tensor X, Tensor Y) MlpBatch(int n, int seed)
    {
        var labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = (i * 7 + seed) % 4;
        return (new Tensor(Num.Uniform(n * 20, seed), n, 20), Utils.ToCategorical(new Tensor(labels, n), 4));
    }

    private static bool BitIdentical(float[] a, float[] b) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(a).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(b));

    // ---- summary and parameter counts ---------------------------------------------------------------------

    [Fact]
    public void AutoencoderSummaryMatchesKeras()
    {
        using var m = new Seed004Autoencoder();
        Assert.Equal(2389, m.CountParams());
        Assert.Equal(2389, Seed004Autoencoder.ParameterCount);
        static string Row(string a, string b, string c) => a.PadRight(29) + b.PadRight(26) + c.PadRight(10);
        string expected = string.Join("\n",
            "Model: \"sequential\"",
            new string('_', 65),
            Row("Layer (type)", "Output Shape", "Param #"),
            new string('=', 65),
            Row("dense (Dense)", "(None, 40)", "1200"),
            new string('_', 65),
            Row("dense_1 (Dense)", "(None, 29)", "1189"),
            new string('=', 65),
            "Total params: 2,389",
            "Trainable params: 2,389",
            "Non-trainable params: 0",
            new string('_', 65));
        Assert.Equal(expected, m.Summary());
    }

    [Fact]
    public void DeepAutoencoderParameterCount()
    {
        using var m = new Seed004DeepAutoencoder();
        Assert.Equal(11269, m.CountParams());
        Assert.Contains("Total params: 11,269", m.Summary());
        Assert.Contains("Trainable params: 11,269", m.Summary());
        Assert.Equal(11269, m.GetWeights().Length);
        Assert.Equal(new[] { 29 }, m.InputShape);
        Assert.Equal(new[] { 29 }, m.OutputShape);
    }

    // ---- allocation ---------------------------------------------------------------------------------------

    [Fact]
    public void TrainOnBatchAllocatesNothingAfterWarmUp()
    {
        using var m = new ApiMlp { Seed = 5 };
        m.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var (x, y) = MlpBatch(64, 1);
        for (int i = 0; i < 3; i++) m.TrainOnBatch(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) m.TrainOnBatch(x, y);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
    }

    [Fact]
    public void TrainOnBatchAllocatesNothingWithOtherOptimizersAndLosses()
    {
        var (x, y) = MlpBatch(33, 2);
        var sparse = new Tensor(Enumerable.Range(0, 33).Select(i => (float)(i % 4)).ToArray(), 33);
        foreach (var (optimizer, loss) in new (Optimizer, Loss)[]
        {
            (new SGD(0.01f, momentum: 0.9f, nesterov: true), Loss.CategoricalCrossEntropy),
            (new RMSprop(centered: true, momentum: 0.5f), Loss.SparseCategoricalCrossEntropy),
            (new Adagrad(), Loss.MeanSquaredError),
            (new Adam(amsgrad: true, decay: 0.01f), Loss.BinaryCrossEntropy),
        })
        {
            using var m = new ApiMlp { Seed = 6 };
            m.Compile(optimizer, loss);
            var labels = loss == Loss.SparseCategoricalCrossEntropy ? sparse : y;
            for (int i = 0; i < 3; i++) m.TrainOnBatch(x, labels);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) m.TrainOnBatch(x, labels);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() == before, $"{optimizer.GetType().Name} with {loss} allocated");
        }
    }

    /// <summary>
    /// The CPU backend initialises the parameters in its workspace: a copy on the managed heap (the Fashion CNN's was
    /// 108 MB) stays resident until a full collection.
    /// </summary>
    [Fact]
    public void CompilingOnTheCpuInitialisesTheParametersInPlace()
    {
        using var m = new FourMillionWeights { Seed = 3 };
        m.UseBackend(new CpuBackend());
        long before = GC.GetAllocatedBytesForCurrentThread();
        m.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4L * m.CountParams() / 8, $"compiling allocated {allocated:N0} managed bytes for {m.CountParams():N0} parameters");
        var w = m.GetWeights();
        Assert.Equal(4_022_010, w.Length);
        Assert.Contains(w, v => v != 0);
    }

    /// <summary>Predict into a tensor the caller keeps: Predict's values, no allocation per call, a wrong shape named.</summary>
    [Fact]
    public void PredictIntoAKeptTensorGivesPredictsValuesAndAllocatesNothing()
    {
        using var m = new ApiMlp { Seed = 8 };
        m.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy);
        var (x, y) = MlpBatch(7, 4);
        m.TrainOnBatch(x, y);
        var expected = m.Predict(x, 3);
        var output = Tensor.Zeros(7, 4);
        m.Predict(x, output, 3);
        Assert.True(BitIdentical(expected.Data, output.Data));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) m.Predict(x, output, 3);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(BitIdentical(expected.Data, output.Data));

        var wide = Assert.Throws<ArgumentException>(() => m.Predict(x, Tensor.Zeros(7, 5)));
        Assert.Contains("(7, 5)", wide.Message);
        Assert.Contains("7 samples of (None, 4)", wide.Message);
        Assert.Throws<ArgumentException>(() => m.Predict(x, Tensor.Zeros(6, 4)));
        Assert.Throws<ArgumentException>(() => m.Predict(Tensor.Zeros(7, 21), output));
        Assert.Throws<ArgumentNullException>(() => m.Predict(x, (Tensor)null!));
        Assert.True(BitIdentical(expected.Data, output.Data)); // a refused call leaves the output as it was
    }

    // ---- reproducibility ----------------------------------------------------------------------------------

    private static float[] TrainedWeights(ulong seed)
    {
        using var m = new ApiMlp { Seed = seed };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var (x, y) = MlpBatch(40, 3);
        for (int i = 0; i < 3; i++) m.TrainOnBatch(x, y);
        m.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0); // shuffled, with dropout
        return m.GetWeights();
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeights()
    {
        using (var a = new ApiMlp { Seed = 42 })
        using (var b = new ApiMlp { Seed = 42 })
        using (var c = new ApiMlp { Seed = 43 })
        {
            Assert.True(BitIdentical(a.GetWeights(), b.GetWeights()));
            Assert.False(BitIdentical(a.GetWeights(), c.GetWeights()));
        }
        var w1 = TrainedWeights(42);
        var w2 = TrainedWeights(42);
        var w3 = TrainedWeights(43);
        Assert.True(BitIdentical(w1, w2), "two runs with seed 42 differ");
        Assert.False(BitIdentical(w1, w3), "seeds 42 and 43 gave the same weights");
    }

    [Fact]
    public void DropoutMasksChangeEveryIterationButNotWithinOne()
    {
        using var m = new ApiMlp { Seed = 9 };
        m.Compile(new SGD(1e-9f), Loss.CategoricalCrossEntropy);
        var (x, y) = MlpBatch(16, 4);
        var g1 = m.ComputeGradients(x, y).Gradients;
        Assert.Equal(g1, m.ComputeGradients(x, y).Gradients);
        m.TrainOnBatch(x, y); // a tiny step; the next iteration draws new masks
        var g2 = m.ComputeGradients(x, y).Gradients;
        double diff = 0;
        for (int i = 0; i < g1.Length; i++) diff = Math.Max(diff, Math.Abs(g1[i] - g2[i]));
        Assert.True(diff > 1e-4, "the dropout mask did not change between iterations");
    }

    [Theory]
    [InlineData(0.3f, 100_003)]
    [InlineData(0.1f, 40_007)]
    [InlineData(0.5f, 40_001)]
    [InlineData(0.9f, 40_009)]
    [InlineData(0.25f, 15)] // tail only
    public void DropoutMaskKeepsOneMinusRateAndVectorMatchesScalar(float rate, int count)
    {
        ulong key = CounterRng.Key(77, 3, 11);
        var x = Num.Uniform(count, count, 0.5, 2); // never zero, so a zero output means dropped
        using var ws = new KernelWorkspace(4 * count + 64);
        int px = ws.Put(x), py = ws.Alloc(count);
        ws.Backend.DropoutForward(count, rate, key, px, py);
        var y = ws.Get(py, count);
        float scale = 1f / (1f - rate);
        ulong threshold = CounterRng.DropThreshold(rate);
        int kept = 0;
        for (int i = 0; i < count; i++)
        {
            bool keep = (CounterRng.Bits(key, (ulong)i) >> 40) >= threshold;
            Assert.Equal(keep, CounterRng.Uniform(key, (ulong)i) >= rate); // the integer test is u ≥ rate
            float expected = keep ? x[i] * scale : 0f;
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(y[i]))
                Assert.Fail($"element {i} of {count}: {y[i]:R}, the scalar rule gives {expected:R}");
            kept += keep ? 1 : 0;
        }
        if (count > 1000)
        {
            double fraction = (double)kept / count, sigma = Math.Sqrt(rate * (1 - rate) / count);
            Assert.InRange(fraction, 1 - rate - 5 * sigma, 1 - rate + 5 * sigma);
        }

        // The backward pass regenerates the same mask; in place, as the generated code calls it.
        var dy = Num.Uniform(count, count + 1, 0.5, 2);
        int pdy = ws.Put(dy);
        ws.Backend.DropoutBackward(count, rate, key, pdy, pdy);
        var dx = ws.Get(pdy, count);
        for (int i = 0; i < count; i++)
            Assert.Equal(y[i] == 0, dx[i] == 0);

        // Another key gives another mask.
        if (count > 1000)
        {
            int pz = ws.Alloc(count);
            ws.Backend.DropoutForward(count, rate, CounterRng.Key(77, 3, 12), px, pz);
            var z = ws.Get(pz, count);
            int same = 0;
            for (int i = 0; i < count; i++) same += (y[i] == 0) == (z[i] == 0) ? 1 : 0;
            Assert.True(same < count, "two keys gave the same mask");
        }
    }

    [Fact]
    public void CounterRngUniformIsUniform()
    {
        ulong key = CounterRng.Key(1, 2, 3);
        const int n = 200_000;
        var bins = new int[10];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float u = CounterRng.Uniform(key, (ulong)i);
            Assert.InRange(u, 0f, 1f - 1e-8f);
            bins[(int)(u * 10)]++;
            sum += u;
        }
        Assert.InRange(sum / n, 0.5 - 0.003, 0.5 + 0.003);
        Assert.All(bins, b => Assert.InRange(b, n / 10 - 700, n / 10 + 700));
        Assert.NotEqual(CounterRng.Key(1, 2, 3), CounterRng.Key(1, 2, 4));
        Assert.NotEqual(CounterRng.Key(1, 2, 3), CounterRng.Key(1, 3, 3));
        Assert.NotEqual(CounterRng.Key(1, 2, 3), CounterRng.Key(2, 2, 3));
    }

    // ---- bad inputs ---------------------------------------------------------------------------------------

    [Fact]
    public void WrongInputShapeNamesBothShapes()
    {
        using var m = new TinyNet();
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var y = Utils.ToCategorical(new Tensor([0, 1, 2, 0], 4), 3);
        var e = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(Tensor.Zeros(4, 8), y));
        Assert.Contains("(4, 8)", e.Message);
        Assert.Contains("(None, 7)", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => m.Fit(Tensor.Zeros(4, 7, 1), y, verbose: 0));
        Assert.Contains("(4, 7, 1)", e2.Message);
        Assert.Contains("(None, 7)", e2.Message);
        Assert.Contains("Reshape", e2.Message); // same element count: the message suggests the reshape
        var e3 = Assert.Throws<ArgumentException>(() => m.Predict(Tensor.Zeros(2, 6)));
        Assert.Contains("(2, 6)", e3.Message);
        Assert.Contains("(None, 7)", e3.Message);
        Assert.Throws<ArgumentException>(() => m.Evaluate(Tensor.Zeros(4, 9), y));
    }

    [Fact]
    public void WrongLabelShapeNamesBothShapes()
    {
        using var m = new TinyNet();
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = Tensor.Zeros(4, 7);
        var e = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(x, Tensor.Zeros(4, 2)));
        Assert.Contains("(4, 2)", e.Message);
        Assert.Contains("(None, 3)", e.Message);
        // Class indices given to categorical cross-entropy: the message suggests the fix.
        var e2 = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(x, Tensor.Zeros(4)));
        Assert.Contains("(4,)", e2.Message);
        Assert.Contains("(None, 3)", e2.Message);
        Assert.Contains("SparseCategoricalCrossEntropy", e2.Message);
        // Different sample counts.
        var e3 = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(x, Tensor.Zeros(5, 3)));
        Assert.Contains("5", e3.Message);
        Assert.Contains("4", e3.Message);
        // One-hot labels given to the sparse loss.
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        var e4 = Assert.Throws<ArgumentException>(() => m.TrainOnBatch(x, Tensor.Zeros(4, 3)));
        Assert.Contains("(4, 3)", e4.Message);
    }

    [Fact]
    public void TrainingBeforeCompileIsAnError()
    {
        using var m = new TinyNet();
        Assert.Throws<InvalidOperationException>(() => m.TrainOnBatch(Tensor.Zeros(2, 7), Tensor.Zeros(2, 3)));
        Assert.Throws<InvalidOperationException>(() => m.ComputeGradients(Tensor.Zeros(2, 7), Tensor.Zeros(2, 3)));
        Assert.Equal(new[] { 2, 3 }, m.Predict(Tensor.Zeros(2, 7)).Shape.ToArray()); // Predict needs no compile
    }

    [Fact]
    public void NaNLossThrowsAndLeavesTheModelUnchanged()
    {
        var (x, y) = MlpBatch(8, 5);
        var bad = new Tensor((float[])x.Data.Clone(), 8, 20);
        bad[3 * 20 + 7] = float.NaN;

        using var a = new ApiMlp { Seed = 11 };
        using var b = new ApiMlp { Seed = 11 };
        a.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        b.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        a.TrainOnBatch(x, y);
        b.TrainOnBatch(x, y);
        var before = b.GetWeights();
        var e = Assert.Throws<TrainingDivergedException>(() => b.TrainOnBatch(bad, y));
        Assert.Contains("NaN", e.Message);
        Assert.True(BitIdentical(before, b.GetWeights()), "weights changed on a diverged batch");
        Assert.Equal(1, b.Iterations);
        // Nothing else moved either (optimizer state, iteration, dropout keys): b continues exactly like a.
        a.TrainOnBatch(x, y);
        b.TrainOnBatch(x, y);
        Assert.True(BitIdentical(a.GetWeights(), b.GetWeights()));

        // Fit stops the same way.
        var w = b.GetWeights();
        Assert.Throws<TrainingDivergedException>(() => b.Fit(bad, y, batchSize: 8, verbose: 0));
        Assert.True(BitIdentical(w, b.GetWeights()));
    }

    [Fact]
    public void InfiniteLossThrowsTrainingDiverged()
    {
        // relu passes +∞ on, and the linear output layer turns it into ±∞ or NaN: the MSE is not finite.
        // (A tanh or sigmoid network would saturate instead, and rightly train on.)
        using var m = new Seed004Autoencoder();
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Tensor.Zeros(2, 29);
        for (int i = 0; i < 29; i++) x[i] = float.PositiveInfinity;
        var before = m.GetWeights();
        Assert.Throws<TrainingDivergedException>(() => m.TrainOnBatch(x, Tensor.Zeros(2, 29)));
        Assert.True(BitIdentical(before, m.GetWeights()));
        Assert.Equal(0, m.Iterations);
    }

    // ---- learning and the Keras API -----------------------------------------------------------------------

    [Fact]
    public void LearnsSeparableBlobs()
    {
        var (x, y) = Blobs(600, 1);
        var (xTest, yTest) = Blobs(300, 2);
        using var m = new BlobNet { Seed = 1 };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var history = m.Fit(x, y, epochs: 8, batchSize: 32, verbose: 0);
        Assert.Equal(8, history.Epochs);
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {history["loss"][0]} → {history["loss"][^1]}");
        Assert.True(history["accuracy"][^1] > 0.95, $"training accuracy {history["accuracy"][^1]}");
        var (loss, accuracy) = m.Evaluate(xTest, yTest);
        Assert.True(accuracy > 0.95, $"test accuracy {accuracy}, loss {loss}");
        Assert.True(loss < 0.3, $"test loss {loss}");
    }

    [Fact]
    public void FitWithValidationSplitReportsValidationMetrics()
    {
        var (x, y) = Blobs(100, 3);
        using var m = new BlobNet { Seed = 2 };
        m.Compile(new RMSprop(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var h = m.Fit(x, y, epochs: 3, batchSize: 16, validationSplit: 0.2f, verbose: 0);
        Assert.Equal(3, h.Epochs);
        foreach (string key in new[] { "loss", "accuracy", "val_loss", "val_accuracy" })
        {
            Assert.True(h.Values.ContainsKey(key), $"history has no {key}");
            Assert.Equal(3, h[key].Count);
            Assert.All(h[key], v => Assert.True(double.IsFinite(v) && v >= 0));
        }
        // Keras validates on the last 20% of the data (before shuffling), in inference mode.
        var (valLoss, valAccuracy) = m.Evaluate(x.Slice(80, 20), y.Slice(80, 20));
        Assert.Equal(valLoss, h["val_loss"][^1], 6);
        Assert.Equal(valAccuracy, h["val_accuracy"][^1], 6);
        Assert.Equal(3 * 5, m.Iterations); // 80 training samples in batches of 16

        // Without validation there is no val_loss.
        var h2 = m.Fit(x, y, epochs: 1, batchSize: 50, verbose: 0);
        Assert.False(h2.Values.ContainsKey("val_loss"));
    }

    [Fact]
    public void PredictMatchesAHandWrittenForwardPass()
    {
        using var m = new TinyNet { Seed = 21 };
        const int n = 37; // not a multiple of the batch size
        var x = new Tensor(Num.Uniform(n * 7, 22, -2, 2), n, 7);
        var p = m.Predict(x, batchSize: 16);
        Assert.Equal(new[] { n, 3 }, p.Shape.ToArray());
        var w = m.GetWeights();
        // Layout: dense kernel [7, 5] row-major, bias [5], dense_1 kernel [5, 3], bias [3].
        for (int s = 0; s < n; s++)
        {
            var h = new double[5];
            for (int u = 0; u < 5; u++)
            {
                double z = w[35 + u];
                for (int i = 0; i < 7; i++) z += x[s * 7 + i] * (double)w[i * 5 + u];
                h[u] = Math.Tanh(z);
            }
            var logits = new float[3];
            for (int u = 0; u < 3; u++)
            {
                double z = w[40 + 15 + u];
                for (int i = 0; i < 5; i++) z += h[i] * w[40 + i * 3 + u];
                logits[u] = (float)z;
            }
            var expected = RefActivation.Forward(ActivationFunction.Softmax, 0, logits, 3);
            Num.Close(expected, p.Data.AsSpan(s * 3, 3).ToArray(), 1e-5, 1e-5, $"sample {s}");
        }
    }

    [Fact]
    public void EvaluateIsTheMeanKerasLossOfPredict()
    {
        using var m = new TinyNet { Seed = 23 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        const int n = 29;
        var x = new Tensor(Num.Uniform(n * 7, 24, -2, 2), n, 7);
        var labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = (i * 5) % 3;
        var y = Utils.ToCategorical(new Tensor(labels, n), 3);
        var p = m.Predict(x);
        double loss = 0;
        int correct = 0;
        for (int s = 0; s < n; s++)
        {
            var row = p.Data.AsSpan(s * 3, 3);
            double total = row[0] + (double)row[1] + row[2];
            loss -= Math.Log(Math.Clamp(row[(int)labels[s]] / total, 1e-7, 1 - 1e-7));
            correct += System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) == (int)labels[s] ? 1 : 0;
        }
        var (eLoss, eAccuracy) = m.Evaluate(x, y, batchSize: 8);
        Assert.Equal(loss / n, eLoss, 5);
        Assert.Equal((double)correct / n, eAccuracy, 10);

        // Evaluate and Predict run in inference mode: dropout is off, so repeated calls agree and iterations stay put.
        using var d = new ApiMlp { Seed = 4 };
        d.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var (dx, dy) = MlpBatch(10, 6);
        Assert.Equal(d.Predict(dx).Data, d.Predict(dx).Data);
        Assert.Equal(d.Evaluate(dx, dy), d.Evaluate(dx, dy));
        Assert.Equal(0, d.Iterations);
    }

    [Fact]
    public void InferenceBetweenTrainingStepsChangesNothing()
    {
        // Inference reuses the training arena and the gradient buffers (ShallowWideNet's inference arena reaches into
        // them); interleaving Evaluate and Predict with training must leave the trajectory bit for bit the same.
        var x = new Tensor(Num.Uniform(12 * 300, 31), 12, 300);
        var y = new Tensor(Num.Uniform(12 * 4, 32), 12, 4);
        using var a = new ShallowWideNet { Seed = 8 };
        using var b = new ShallowWideNet { Seed = 8 };
        a.Compile(new Adam(0.01f), Loss.MeanSquaredError);
        b.Compile(new Adam(0.01f), Loss.MeanSquaredError);
        for (int i = 0; i < 3; i++)
        {
            a.TrainOnBatch(x, y);
            b.TrainOnBatch(x, y);
            b.Evaluate(x, y, batchSize: 5);
            b.Predict(x, batchSize: 12);
        }
        Assert.True(BitIdentical(a.GetWeights(), b.GetWeights()));
        Assert.Equal(a.ComputeGradients(x, y).Gradients, b.ComputeGradients(x, y).Gradients);
    }

    [Fact]
    public void ToCategoricalOneHotEncodes()
    {
        var one = Utils.ToCategorical(new Tensor([0, 2, 1, 2], 4), 3);
        Assert.Equal(new[] { 4, 3 }, one.Shape.ToArray());
        Assert.Equal(new[] { 1f, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1 }, one.Data);
        var column = Utils.ToCategorical(new Tensor([1, 0], 2, 1), 2); // (N, 1) drops the trailing 1 as Keras does
        Assert.Equal(new[] { 2, 2 }, column.Shape.ToArray());
        Assert.Equal(new[] { 0f, 1, 1, 0 }, column.Data);
        Assert.Throws<ArgumentException>(() => Utils.ToCategorical(new Tensor([3], 1), 3));
        Assert.Throws<ArgumentException>(() => Utils.ToCategorical(new Tensor([-1], 1), 3));
        Assert.Throws<ArgumentException>(() => Utils.ToCategorical(new Tensor([0.5f], 1), 3));
    }

    // ---- memory plan --------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void MaxBatchSizeIsTheLargestBatchThatFits(int slots)
    {
        foreach (var plan in new[] { ApiMlp.Plan, Seed004DeepAutoencoder.Plan, ShallowWideNet.Plan })
        {
            Assert.Equal(4L * plan.Parameters, plan.ParameterBytes);
            foreach (long budget in new long[] { 0, 1000, 50_000, 123_457, 1_000_000, 64L << 20, 3L << 30 })
            {
                int n = plan.MaxBatchSize(budget, slots);
                if (n > 0) Assert.True(plan.TrainingBytes(n, slots) <= budget, $"{n} samples need {plan.TrainingBytes(n, slots)} > {budget}");
                Assert.True(plan.TrainingBytes(n + 1, slots) > budget, $"{n + 1} samples also fit in {budget}");
            }
        }
        Assert.Equal(ApiMlp.Plan.TrainingBytes(32, 2), ApiMlp.Plan.TrainingBytes(32)); // Adam's two slots by default
    }

    [Fact]
    public void PlanCoversTheWorkspaceTrainingUses()
    {
        // The backend's workspace after training at a batch size is what the plan promises, up to alignment padding
        // (each region is rounded up to 16 floats).
        // GradNoiseNet's batch norms keep their batch statistics after the parameters, and fold into its convolutions'
        // copied kernels for inference: scratch the plan counts too.
        foreach (Model m in new Model[] { new ApiMlp(), new Seed004DeepAutoencoder(), new ShallowWideNet(), new GradNoiseNet() })
        {
            using (m)
            {
                var optimizer = new Adam();
                m.Compile(optimizer, Loss.MeanSquaredError);
                const int batch = 50;
                int outSize = m.OutputShape.Aggregate(1, (a, d) => a * d);
                m.TrainOnBatch(Tensor.Zeros([batch, .. m.InputShape]), Tensor.Zeros(batch, outSize));
                long used = 4 * m.Backend.Capacity;
                long planned = m.Memory.TrainingBytes(batch, optimizer.StateSlots);
                Assert.True(used <= planned + 6 * 16 * 4, $"{m.Name}: the workspace holds {used:N0} bytes but the plan says {planned:N0}");
            }
        }
    }
}

/// <summary>Tests that measure allocations run alone: concurrent tests share the GEMM worker pool and its first-use buffers.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NonParallelCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "Non-parallel";
}
