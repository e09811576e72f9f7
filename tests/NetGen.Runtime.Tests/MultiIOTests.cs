using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

// Two inputs and three outputs: 'features' is an output that the heads also read (its gradient is its own loss's
// plus the heads'), 'class' ends in softmax (cross-entropy from the logits), 'score' in sigmoid (binary cross-entropy).
[Network(6, Outputs = new[] { "class", "score", "features" })]
[Dense(5, Activation = Activation.Tanh, Name = "features")]
[Input(3, Name = "meta")]
[Dense(4, Activation = Activation.Sigmoid, Name = "meta_dense")]
[Concatenate("features", "meta_dense", Name = "joined")]
[Dense(3, Activation = Activation.Softmax, Name = "class")]
[Dense(1, Activation = Activation.Sigmoid, Name = "score", Input = "joined")]
public partial class MultiIONet;

// An auxiliary softmax output in the middle (GoogLeNet's pattern): the main head reads its probabilities, so its loss
// cannot use the logits, and its softmax derivative takes both gradients.
[Network(4, Outputs = new[] { "main", "aux" })]
[Dense(3, Activation = Activation.Softmax, Name = "aux")]
[Dense(2, Activation = Activation.Softmax, Name = "main")]
public partial class AuxOutputNet;

// A learnable two-input, two-output task for Fit.
[Network(8, Outputs = new[] { "digit", "flag" })]
[Dense(16, Activation = Activation.Tanh, Name = "x_features")]
[Input(4, Name = "meta")]
[Dense(8, Activation = Activation.Tanh, Name = "meta_features")]
[Concatenate("x_features", "meta_features")]
[Dense(16, Activation = Activation.Tanh, Name = "shared")]
[Dense(4, Activation = Activation.Softmax, Name = "digit")]
[Dense(1, Activation = Activation.Sigmoid, Name = "flag", Input = "shared")]
public partial class TwoTaskNet;

public sealed class MultiIOTests(ITestOutputHelper output)
{
    private static Tensor Uniform(int n, int seed, params int[] sample)
    {
        int size = 1;
        foreach (int d in sample) size *= d;
        return new Tensor(Num.Uniform(n * size, seed), [n, .. sample]);
    }

    private static Tensor OneHot(int n, int classes, int seed)
    {
        var rng = new Random(seed);
        var y = new float[n * classes];
        for (int r = 0; r < n; r++) y[r * classes + rng.Next(classes)] = 1;
        return new Tensor(y, [n, classes]);
    }

    private static Tensor Bits(int n, int seed)
    {
        var rng = new Random(seed);
        return new Tensor(Enumerable.Range(0, n).Select(_ => (float)rng.Next(2)).ToArray(), [n, 1]);
    }

    [Fact]
    public void InfoListsInputsAndOutputsInOrder()
    {
        using var m = new MultiIONet();
        var info = (ModelInfo)typeof(Model).GetProperty("Info", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(m)!;
        Assert.Equal(["input_1", "meta"], info.Inputs.Select(i => i.Name));
        Assert.Equal(["class", "score", "features"], info.Outputs.Select(o => o.Name));
        Assert.Equal(3 + 1 + 5, m.Memory.LabelFloatsPerSample);
        Assert.Contains("meta (InputLayer)               [(None, 3)]", m.Summary());
        Assert.Empty(m.GetLayer("meta").InboundLayers);
    }

    [Fact]
    public void GradientsMatchCentralDifferencesWithLossWeights()
    {
        using var m = new MultiIONet { Seed = 5 };
        m.Compile(new SGD(), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy, Loss.MeanSquaredError], [1f, 0.5f, 0.3f]);
        Tensor[] x = [Uniform(5, 1, 6), Uniform(5, 2, 3)];
        Tensor[] y = [OneHot(5, 3, 3), Bits(5, 4), Uniform(5, 5, 5)];
        CheckGradients(m, x, y);
    }

    [Fact]
    public void AnOutputReadByAnotherLayerAddsBothGradients()
    {
        using var m = new AuxOutputNet { Seed = 6 };
        m.Compile(new SGD(), [Loss.CategoricalCrossEntropy, Loss.CategoricalCrossEntropy], [1f, 0.4f]);
        CheckGradients(m, [Uniform(6, 7, 4)], [OneHot(6, 2, 8), OneHot(6, 3, 9)]);
    }

    private void CheckGradients(Model m, Tensor[] x, Tensor[] y) => CheckGradients(m, x, y, output);

    /// <summary>Central differences over every parameter of a network with several inputs or outputs.</summary>
    internal static void CheckGradients(Model m, Tensor[] x, Tensor[] y, ITestOutputHelper output)
    {
        const float h = 1e-3f;
        var w = m.GetWeights();
        var (loss, analytic) = m.ComputeGradients(x, y);
        Assert.True(float.IsFinite(loss));
        var probe = (float[])w.Clone();
        var numeric = new double[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            probe[i] = w[i] + h;
            double up = probe[i];
            m.SetWeights(probe);
            double lp = m.ComputeGradients(x, y).Loss;
            probe[i] = w[i] - h;
            double down = probe[i];
            m.SetWeights(probe);
            double lm = m.ComputeGradients(x, y).Loss;
            probe[i] = w[i];
            numeric[i] = (lp - lm) / (up - down);
        }
        m.SetWeights(w);
        double dot = 0, na = 0, nn = 0, maxErr = 0, maxAbs = numeric.Max(Math.Abs);
        for (int i = 0; i < w.Length; i++)
        {
            dot += analytic[i] * numeric[i];
            na += (double)analytic[i] * analytic[i];
            nn += numeric[i] * numeric[i];
            maxErr = Math.Max(maxErr, Math.Abs(analytic[i] - numeric[i]) - 0.02 * Math.Abs(numeric[i]) - 0.002 * maxAbs);
        }
        double cosine = dot / Math.Sqrt(na * nn);
        output.WriteLine($"{m.Name}: {w.Length} parameters, loss {loss}, cosine {cosine:F6}, worst excess {maxErr:E2}");
        Assert.True(cosine > 0.999, $"cosine {cosine}");
        Assert.True(maxErr <= 0, $"a component is off by {maxErr} beyond the tolerance");
        Assert.True(analytic.Max(Math.Abs) > 1e-3);
    }

    [Fact]
    public void EvaluateIsTheWeightedSumOfEachOutputsLossComputedInDouble()
    {
        using var m = new MultiIONet { Seed = 9 };
        float[] weights = [0.7f, 2f, 0.25f];
        m.Compile(new SGD(), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy, Loss.MeanSquaredError], weights, Metric.Accuracy);
        int n = 11;
        Tensor[] x = [Uniform(n, 10, 6), Uniform(n, 11, 3)];
        Tensor[] y = [OneHot(n, 3, 12), Bits(n, 13), Uniform(n, 14, 5)];
        var p = m.Predict(x, batchSize: 4);
        Assert.Equal(3, p.Length);
        Assert.Equal([n, 3], p[0].Shape);
        Assert.Equal([n, 1], p[1].Shape);
        // The 'features' output is the layer's own output.
        Assert.Equal(m.PredictLayers(x, ["features"])[0].Data, p[2].Data);
        double cce = 0, bce = 0, mse = 0;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < 3; c++) cce -= y[0].Data[i * 3 + c] * Math.Log(p[0].Data[i * 3 + c]);
            double q = p[1].Data[i], t = y[1].Data[i];
            bce -= t * Math.Log(q) + (1 - t) * Math.Log(1 - q);
            for (int c = 0; c < 5; c++) mse += Math.Pow(p[2].Data[i * 5 + c] - y[2].Data[i * 5 + c], 2) / 5;
        }
        cce /= n; bce /= n; mse /= n;
        var logs = m.Evaluate(x, y, batchSize: 4);
        output.WriteLine(string.Join(", ", logs.Select(e => $"{e.Key} {e.Value:F6}")));
        Assert.Equal(cce, logs["class_loss"], 4);
        Assert.Equal(bce, logs["score_loss"], 4);
        Assert.Equal(mse, logs["features_loss"], 4);
        Assert.Equal(weights[0] * cce + weights[1] * bce + weights[2] * mse, logs["loss"], 4);
        Assert.Contains("class_accuracy", logs.Keys);
        Assert.Contains("score_accuracy", logs.Keys);
    }

    /// <summary>Labels a network can learn: the digit is the argmax of four sums of x, the flag whether meta sums above 0.</summary>
    private static (Tensor[] X, Tensor[] Y) TwoTaskData(int n, int seed)
    {
        var x = Uniform(n, seed, 8);
        var meta = Uniform(n, seed + 1, 4);
        var digit = new float[n * 4];
        var flag = new float[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < 4; c++)
                if (x.Data[i * 8 + 2 * c] + x.Data[i * 8 + 2 * c + 1] > x.Data[i * 8 + 2 * best] + x.Data[i * 8 + 2 * best + 1]) best = c;
            digit[i * 4 + best] = 1;
            flag[i] = meta.Data.AsSpan(i * 4, 4).ToArray().Sum() > 0 ? 1 : 0;
        }
        return ([x, meta], [new Tensor(digit, [n, 4]), new Tensor(flag, [n, 1])]);
    }

    [Fact]
    public void FitLearnsBothTasksAndLogsEachOutputAsKeras()
    {
        var (x, y) = TwoTaskData(1200, 20);
        var (vx, vy) = TwoTaskData(300, 30);
        using var m = new TwoTaskNet { Seed = 3 };
        m.Compile(new Adam(0.01f), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy], [1f, 0.5f], Metric.Accuracy);
        var history = m.Fit(x, y, epochs: 12, batchSize: 32, validationData: (vx, vy), verbose: 0);
        Assert.Equal(["loss", "digit_loss", "flag_loss", "digit_accuracy", "flag_accuracy",
            "val_loss", "val_digit_loss", "val_flag_loss", "val_digit_accuracy", "val_flag_accuracy"], history.Values.Keys);
        var logs = m.Evaluate(vx, vy);
        output.WriteLine(string.Join(", ", logs.Select(e => $"{e.Key} {e.Value:F4}")));
        Assert.True(logs["digit_accuracy"] > 0.85, $"digit accuracy {logs["digit_accuracy"]}");
        Assert.True(logs["flag_accuracy"] > 0.9, $"flag accuracy {logs["flag_accuracy"]}");
        Assert.True(history["loss"][^1] < history["loss"][0] / 2);
        // The epoch's loss is the weighted sum of the outputs' (as averages over the same batches).
        Assert.Equal(history["digit_loss"][^1] + 0.5 * history["flag_loss"][^1], history["loss"][^1], 3);
    }

    [Fact]
    public void FitIsReproducibleAndMatchesTrainOnBatch()
    {
        var (x, y) = TwoTaskData(64, 40);
        using var a = new TwoTaskNet { Seed = 8 };
        using var b = new TwoTaskNet { Seed = 8 };
        a.Compile(new SGD(0.1f), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy]);
        b.Compile(new SGD(0.1f), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy]);
        a.Fit(x, y, epochs: 1, batchSize: 64, shuffle: false, verbose: 0);
        b.TrainOnBatch(x, y);
        Assert.Equal(a.GetWeights(), b.GetWeights());
    }

    [Fact]
    public void ValidationSplitSlicesEveryInputAndLabel()
    {
        var (x, y) = TwoTaskData(100, 50);
        using var m = new TwoTaskNet();
        m.Compile(new SGD(), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy]);
        var h = m.Fit(x, y, epochs: 1, validationSplit: 0.2f, verbose: 0);
        Assert.True(double.IsFinite(h["val_flag_loss"][0]));
    }

    [Fact]
    public void WrongCountsAndShapesNameTheTensorAndTheFix()
    {
        var (x, y) = TwoTaskData(10, 60);
        using var m = new TwoTaskNet();
        m.Compile(new SGD(), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy]);
        var e = Assert.Throws<ArgumentException>(() => m.Fit(x[0], y[0], verbose: 0));
        Assert.Contains("has 2 inputs ('input_1', 'meta')", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit(x, [y[0]], verbose: 0));
        Assert.Contains("has 1 tensors but TwoTaskNet has 2 outputs ('digit', 'flag')", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit([x[0], x[0]], y, verbose: 0));
        Assert.Contains("x[1] has shape (10, 8) but TwoTaskNet expects (None, 4) for input 'meta'", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit([x[0], x[1].Slice(0, 5)], y, verbose: 0));
        Assert.Contains("x[1] has 5 samples", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Fit(x, [y[1], y[1]], verbose: 0));
        Assert.Contains("y[0] has shape (10, 1) but output 'digit' of TwoTaskNet", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Compile(new SGD(), [Loss.MeanSquaredError, Loss.MeanSquaredError, Loss.MeanSquaredError]));
        Assert.Contains("3 losses but TwoTaskNet has 2 outputs", e.Message);
        Assert.Throws<ArgumentException>(() => m.Compile(new SGD(), [Loss.MeanSquaredError], [1f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Compile(new SGD(), [Loss.MeanSquaredError], [1f, float.NaN]));
        var p = Assert.Throws<InvalidOperationException>(() => new AuxOutputNet().Predict(Uniform(2, 1, 4)));
        Assert.Contains("use Predict(new[] { x })", p.Message);
    }

    [Fact]
    public void OneLossIsUsedForEveryOutput()
    {
        using var m = new AuxOutputNet { Seed = 2 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var logs = m.Evaluate([Uniform(4, 1, 4)], [OneHot(4, 2, 2), OneHot(4, 3, 3)]);
        Assert.Equal(logs["main_loss"] + logs["aux_loss"], logs["loss"], 5);
    }

    [Fact]
    public void IlgpuCpuMatchesTheManagedBackend()
    {
        var (x, y) = TwoTaskData(16, 70);
        using var cpu = new TwoTaskNet { Seed = 4 };
        using var gpu = new TwoTaskNet { Seed = 4 };
        gpu.UseBackend(NetGen.Backends.IlgpuBackend.TryCreate(ILGPU.Runtime.AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, gpu })
        {
            m.Compile(new SGD(0.05f), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy], [1f, 0.5f]);
            m.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0);
        }
        var a = cpu.Predict(x);
        var b = gpu.Predict(x);
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < a[k].Data.Length; i++)
                Assert.Equal(a[k].Data[i], b[k].Data[i], 4);
    }
}
