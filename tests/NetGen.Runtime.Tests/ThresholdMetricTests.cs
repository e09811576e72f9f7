using Xunit;

namespace NetGen.Tests;

[Network(6)]
[Dense(8, Activation = Activation.Tanh)]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class BinaryScorer;

[Network(4)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ThreeClasses;

/// <summary>
/// Keras's Precision, Recall and AUC metrics in Fit and Evaluate: the values Keras's documented examples give, a
/// brute-force reference in double computed from Predict's outputs, and the exact curves of <see cref="Curves"/>.
/// </summary>
public sealed class ThresholdMetricTests
{
    private static (Tensor X, Tensor Y) Data(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 6];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < 6; j++)
            {
                x[i * 6 + j] = (float)(rng.NextDouble() * 2 - 1);
                s += x[i * 6 + j] * (j % 2 == 0 ? 1 : -0.5);
            }
            y[i] = s + 0.6 * (rng.NextDouble() - 0.5) > 0 ? 1 : 0; // a noisy linear rule: AUC high but below 1
        }
        return (new Tensor(x, n, 6), new Tensor(y, n, 1));
    }

    /// <summary>Keras's formulas, written out naively: counts at each threshold by a scan over every prediction.</summary>
    private static (double Tp, double Fp, double Fn, double Tn) Count(float[] p, float[] y, float threshold)
    {
        double tp = 0, fp = 0, fn = 0, tn = 0;
        for (int i = 0; i < p.Length; i++)
        {
            bool predicted = p[i] > threshold, positive = y[i] != 0;
            if (predicted && positive) tp++;
            else if (predicted) fp++;
            else if (positive) fn++;
            else tn++;
        }
        return (tp, fp, fn, tn);
    }

    private static float[] KerasThresholds(int n) =>
        [-1e-7f, .. Enumerable.Range(1, n - 2).Select(i => (float)(i / (double)(n - 1))), 1 + 1e-7f];

    private static double ReferenceRocAuc(float[] p, float[] y)
    {
        var t = KerasThresholds(200);
        double sum = 0;
        for (int j = 0; j + 1 < t.Length; j++)
        {
            var a = Count(p, y, t[j]);
            var b = Count(p, y, t[j + 1]);
            double fprA = a.Fp / (a.Fp + a.Tn), fprB = b.Fp / (b.Fp + b.Tn);
            double tprA = a.Tp / (a.Tp + a.Fn), tprB = b.Tp / (b.Tp + b.Fn);
            sum += (fprA - fprB) * (tprA + tprB) / 2;
        }
        return sum;
    }

    [Fact]
    public void AucOfKerasDocumentedExampleWithThreeThresholds()
    {
        // Keras's AUC tests: predictions [0, 0.5, 0.3, 0.9], labels [0, 0, 1, 1], 3 thresholds (-ε, 0.5, 1+ε).
        // tp = [2, 1, 0], fp = [2, 0, 0]: ROC points (1, 1), (0, 0.5), (0, 0) give 0.75.
        float[] p = [0f, 0.5f, 0.3f, 0.9f], y = [0, 0, 1, 1];
        var counts = ThresholdCounts.ForAuc(3);
        counts.Add(p, y, "auc", "out");
        Assert.Equal(0.75, counts.RocAuc(), 12);
        // PR interpolation: P = tp + fp = [4, 1, 0]; slopes dTP/dP = [1/3, 1]; intercepts tp - slope·P = [2/3, 0];
        // increments slope·(dTP + intercept·ln(P_j / P_j+1)) / positives, with the ratio 1 where P_j+1 = 0.
        double want = (1 / 3.0 * (1 + 2 / 3.0 * Math.Log(4)) + 1 * (1 + 0)) / 2;
        Assert.Equal(want, counts.PrAuc(), 12);
    }

    [Fact]
    public void PrecisionAndRecallCountAboveOneHalf()
    {
        // Keras's Precision example: [0, 1, 1, 1] against predictions [1, 0, 1, 1] gives 2/3; Recall [0, 1, 1, 1] 2/3.
        var counts = ThresholdCounts.AtHalf();
        counts.Add([1f, 0f, 1f, 1f], [0, 1, 1, 1], "precision", "out");
        Assert.Equal(2 / 3.0, counts.Precision(), 12);
        Assert.Equal(2 / 3.0, counts.Recall(), 12);
        var none = ThresholdCounts.AtHalf();
        none.Add([0.5f, 0.2f], [0, 0], "precision", "out"); // 0.5 is not above 0.5: nothing predicted positive
        Assert.Equal(0, none.Precision());
        Assert.Equal(0, none.Recall());
    }

    [Fact]
    public void AucWithSpreadPredictionsEqualsTheExactArea()
    {
        // One prediction per threshold bucket: each step of the 200-threshold curve moves one point, so the trapezoids
        // are the exact ROC area that scikit-learn gives (Curves.RocAuc).
        var rng = new Random(7);
        var p = Enumerable.Range(0, 150).Select(i => (float)((i + 0.5) / 199.0 + 0.001)).OrderBy(_ => rng.Next()).ToArray();
        var y = p.Select(s => rng.NextDouble() < s ? 1f : 0f).ToArray();
        var counts = ThresholdCounts.ForAuc();
        counts.Add(p, y, "auc", "out");
        Assert.Equal(Curves.RocAuc(p, y), counts.RocAuc(), 10);
        Assert.Equal(ReferenceRocAuc(p, y), counts.RocAuc(), 10);
    }

    [Fact]
    public void FitAndEvaluateReportKerasMetricsComputedFromTheOutputs()
    {
        var (x, y) = Data(400, 1);
        var (vx, vy) = Data(200, 2);
        using var model = new BinaryScorer { Seed = 3 };
        model.Compile(new Adam(0.01f), Loss.BinaryCrossEntropy, Metric.Accuracy, Metric.Precision, Metric.Recall, Metric.Auc, Metric.PrAuc);
        var history = model.Fit(x, y, batchSize: 32, epochs: 4, validationData: (vx, vy), verbose: 0);
        foreach (var key in new[] { "accuracy", "precision", "recall", "auc", "pr_auc", "val_accuracy", "val_precision", "val_recall", "val_auc", "val_pr_auc" })
            Assert.True(history[key].Count == 4, key);
        Assert.True(history["val_auc"][^1] > 0.9, $"val_auc {history["val_auc"][^1]}");

        // Evaluate's metrics against a reference computed in double from Predict's outputs.
        var logs = model.Evaluate(new[] { vx }, new[] { vy }, batchSize: 64);
        var p = model.Predict(vx).Data;
        var labels = vy.Data;
        var half = Count(p, labels, 0.5f);
        Assert.Equal(half.Tp / (half.Tp + half.Fp), logs["precision"], 9);
        Assert.Equal(half.Tp / (half.Tp + half.Fn), logs["recall"], 9);
        Assert.Equal((half.Tp + half.Tn) / p.Length, logs["accuracy"], 6);
        Assert.Equal(ReferenceRocAuc(p, labels), logs["auc"], 9);
        Assert.Equal(Curves.RocAuc(p, labels), logs["auc"], 2); // 200 thresholds: close to the exact area
        Assert.Equal(Curves.PrAuc(p, labels), logs["pr_auc"], 1);
        Assert.Equal(history["val_auc"][^1], logs["auc"], 9); // the same weights, the same counts
        Assert.Equal(logs["accuracy"], model.Evaluate(vx, vy).Accuracy, 9); // the first metric
    }

    [Fact]
    public void AucOnSoftmaxOutputsCountsEveryOneHotValue()
    {
        var rng = new Random(4);
        var x = new Tensor(Enumerable.Range(0, 200).Select(_ => (float)rng.NextDouble()).ToArray(), 50, 4);
        var classes = Enumerable.Range(0, 50).Select(i => (float)(i % 3)).ToArray();
        var y = Utils.ToCategorical(new Tensor(classes, 50), 3);
        using var model = new ThreeClasses();
        model.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy, Metric.Auc);
        var logs = model.Evaluate(new[] { x }, new[] { y });
        Assert.Equal(ReferenceRocAuc(model.Predict(x).Data, y.Data), logs["auc"], 9); // Keras flattens the outputs
        Assert.Equal(logs["auc"], model.Evaluate(x, y).Accuracy, 12);

        var sparse = new Tensor(classes, 50, 1);
        model.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy, Metric.Auc);
        var e = Assert.Throws<ArgumentException>(() => model.Evaluate(x, sparse));
        Assert.Contains("one-hot", e.Message);
    }

    [Fact]
    public void BadMetricListsAndOutputsOutsideZeroOneAreErrors()
    {
        using var model = new BinaryScorer();
        Assert.Throws<ArgumentException>(() => model.Compile(new SGD(), Loss.BinaryCrossEntropy, Metric.Auc, Metric.Auc));
        Assert.Throws<ArgumentException>(() => model.Compile(new SGD(), Loss.BinaryCrossEntropy, Metric.Accuracy, Metric.BinaryAccuracy));
        var counts = ThresholdCounts.ForAuc();
        var e = Assert.Throws<InvalidOperationException>(() => counts.Add([0.2f, 1.5f], [0, 1], "auc", "dense_1"));
        Assert.Contains("'dense_1' gave 1.5", e.Message);
        Assert.Throws<InvalidOperationException>(() => counts.Add([float.NaN], [0], "auc", "dense_1"));
    }
}
