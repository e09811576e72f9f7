using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// Every loss through <see cref="CpuBackend.Loss"/>: the returned value is the sum over rows of the Keras 2
/// per-row loss, and the gradient is d(that sum)/d(prediction)·gradientScale. The references below follow the
/// Keras backend functions operation by operation, including where clipping zeroes a gradient.
/// </summary>
public class LossTests
{
    private const double Eps = 1e-7f;            // Keras's backend epsilon, as float32
    private const double OneMinusEps = 1f - 1e-7f; // 1 − ε in float32, as Keras clips
    private const float Scale = 0.37f;

    private readonly record struct Result(double Sum, double[] Gradient);

    // ---- references ---------------------------------------------------------------------------------------

    /// <summary>backend.categorical_crossentropy(from_logits=False): ŷ ← ŷ/Σŷ, clip to [ε, 1−ε], −Σ y·log ŷ.</summary>
    private static Result CategoricalProbabilities(float[] p, float[] y, int rows, int cols)
    {
        double sum = 0;
        var g = new double[p.Length];
        for (int r = 0; r < rows; r++)
        {
            double total = 0;
            for (int c = 0; c < cols; c++) total += p[r * cols + c];
            // L = −Σ_c y_c·log clip(p_c/S); dL/dp_j = −y_j·[j unclipped]/p_j + Σ_c y_c·[c unclipped] / S.
            double unclippedLabelMass = 0;
            for (int c = 0; c < cols; c++)
            {
                double q = p[r * cols + c] / total;
                bool clipped = q < Eps || q > OneMinusEps;
                sum -= y[r * cols + c] * Math.Log(Math.Clamp(q, Eps, OneMinusEps));
                if (!clipped) unclippedLabelMass += y[r * cols + c];
            }
            for (int c = 0; c < cols; c++)
            {
                double q = p[r * cols + c] / total;
                bool clipped = q < Eps || q > OneMinusEps;
                g[r * cols + c] = ((clipped ? 0 : -y[r * cols + c] / p[r * cols + c]) + unclippedLabelMass / total) * Scale;
            }
        }
        return new Result(sum, g);
    }

    /// <summary>
    /// backend.sparse_categorical_crossentropy(from_logits=False): clip ŷ to [ε, 1−ε], take the log, then
    /// sparse_softmax_cross_entropy_with_logits, i.e. −log(clip(ŷ_y) / Σ clip(ŷ)).
    /// </summary>
    private static Result SparseProbabilities(float[] p, float[] labels, int rows, int cols)
    {
        double sum = 0;
        var g = new double[p.Length];
        for (int r = 0; r < rows; r++)
        {
            int label = (int)labels[r];
            double total = 0;
            for (int c = 0; c < cols; c++) total += Math.Clamp((double)p[r * cols + c], Eps, OneMinusEps);
            sum -= Math.Log(Math.Clamp((double)p[r * cols + label], Eps, OneMinusEps) / total);
            for (int c = 0; c < cols; c++)
            {
                double v = p[r * cols + c];
                bool clipped = v < Eps || v > OneMinusEps;
                g[r * cols + c] = clipped ? 0 : ((c == label ? -1 / v : 0) + 1 / total) * Scale;
            }
        }
        return new Result(sum, g);
    }

    /// <summary>softmax_cross_entropy_with_logits: −Σ y·log softmax(z); gradient softmax(z)·Σy − y.</summary>
    private static Result CategoricalLogits(float[] z, float[] y, int rows, int cols)
    {
        double sum = 0;
        var g = new double[z.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < cols; c++) max = Math.Max(max, z[r * cols + c]);
            double se = 0;
            for (int c = 0; c < cols; c++) se += Math.Exp(z[r * cols + c] - max);
            double lse = max + Math.Log(se), ysum = 0;
            for (int c = 0; c < cols; c++) ysum += y[r * cols + c];
            for (int c = 0; c < cols; c++)
            {
                sum -= y[r * cols + c] * (z[r * cols + c] - lse);
                g[r * cols + c] = (Math.Exp(z[r * cols + c] - lse) * ysum - y[r * cols + c]) * Scale;
            }
        }
        return new Result(sum, g);
    }

    /// <summary>backend.binary_crossentropy: clip ŷ to [ε, 1−ε], −[y·log(ŷ+ε) + (1−y)·log(1−ŷ+ε)], mean over the last axis.</summary>
    private static Result BinaryProbabilities(float[] p, float[] y, int rows, int cols)
    {
        double sum = 0;
        var g = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double v = p[i], q = Math.Clamp(v, Eps, OneMinusEps);
            sum -= (y[i] * Math.Log(q + Eps) + (1 - y[i]) * Math.Log(1 - q + Eps)) / cols;
            bool clipped = v < Eps || v > OneMinusEps;
            g[i] = clipped ? 0 : (-y[i] / (q + Eps) + (1 - y[i]) / (1 - q + Eps)) / cols * Scale;
        }
        return new Result(sum, g);
    }

    /// <summary>sigmoid_cross_entropy_with_logits: max(z,0) − z·y + log(1 + e^−|z|); gradient σ(z) − y.</summary>
    private static Result BinaryLogits(float[] z, float[] y, int rows, int cols)
    {
        double sum = 0;
        var g = new double[z.Length];
        for (int i = 0; i < z.Length; i++)
        {
            double v = z[i];
            sum += (Math.Max(v, 0) - v * y[i] + Math.Log(1 + Math.Exp(-Math.Abs(v)))) / cols;
            g[i] = (Num.Sigmoid(v) - y[i]) / cols * Scale;
        }
        return new Result(sum, g);
    }

    private static Result Mean(float[] p, float[] y, int cols, bool squared)
    {
        double sum = 0;
        var g = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double d = (double)p[i] - y[i];
            sum += (squared ? d * d : Math.Abs(d)) / cols;
            g[i] = (squared ? 2 * d : Math.Sign(d)) / cols * Scale;
        }
        return new Result(sum, g);
    }

    // ---- harness ------------------------------------------------------------------------------------------

    private static void Check(Loss loss, LossInput input, float[] prediction, float[] labels, int rows, int cols, Result expected,
        double valueRel = 1e-6, double gradientAbs = 1e-6, double gradientRel = 1e-5)
    {
        using var ws = new KernelWorkspace(4 * (prediction.Length + labels.Length) + 256);
        int pp = ws.Put(prediction), pl = ws.Put(labels), pg = ws.Alloc(prediction.Length);
        double sum = ws.Backend.Loss(loss, input, rows, cols, pp, pl, pg, Scale);
        Num.Close(expected.Sum, sum, 1e-6, valueRel, $"{loss} ({input}) value");
        Num.Close(expected.Gradient, ws.Get(pg, prediction.Length), gradientAbs, gradientRel, $"{loss} ({input}) gradient");
        Assert.Equal(prediction, ws.Get(pp, prediction.Length));

        // Without a gradient buffer (evaluation) the value is the same.
        double valueOnly = ws.Backend.Loss(loss, input, rows, cols, pp, pl, -1, Scale);
        Assert.Equal(sum, valueOnly);
    }

    private static float[] OneHot(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var y = new float[rows * cols];
        for (int r = 0; r < rows; r++) y[r * cols + rng.Next(cols)] = 1;
        return y;
    }

    private static float[] SoftLabels(int rows, int cols, int seed)
    {
        var y = Num.Uniform(rows * cols, seed, 0, 1);
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++) s += y[r * cols + c];
            for (int c = 0; c < cols; c++) y[r * cols + c] = (float)(y[r * cols + c] / s);
        }
        return y;
    }

    /// <summary>Positive predictions whose rows do not sum to one, so Keras's renormalisation matters.</summary>
    private static float[] Unnormalised(int rows, int cols, int seed) => Num.Uniform(rows * cols, seed, 0.02, 1.5);

    // ---- tests --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(5, 7)]
    [InlineData(17, 3)]
    [InlineData(1, 10)]
    public void CategoricalOnProbabilities(int rows, int cols)
    {
        var p = Unnormalised(rows, cols, rows + cols);
        foreach (var y in new[] { OneHot(rows, cols, 1), SoftLabels(rows, cols, 2) })
            Check(Loss.CategoricalCrossEntropy, LossInput.Probabilities, p, y, rows, cols, CategoricalProbabilities(p, y, rows, cols));
    }

    [Fact]
    public void CategoricalOnProbabilitiesClipsLikeKeras()
    {
        // Row 0: the labelled class is below ε after renormalising, so the loss caps at −log(1e-7) and no gradient flows.
        // Row 1: the labelled class is above 1 − ε, so the loss is −log(1 − ε) and again no gradient flows.
        // Row 2: an unlabelled class is below ε (clipped, but its label is 0, so the gradient is unaffected).
        // Row 3: soft labels with one labelled class clipped: only the unclipped label mass enters the Σy/S term.
        const int cols = 4;
        float[] p =
        [
            0.5f, 1e-9f, 0.3f, 0.2f,
            1f, 1e-12f, 1e-12f, 1e-12f,
            0.6f, 1e-10f, 0.3f, 0.4f,
            0.5f, 1e-10f, 0.3f, 0.2f,
        ];
        float[] y =
        [
            0, 1, 0, 0,
            1, 0, 0, 0,
            0, 0, 1, 0,
            0.25f, 0.5f, 0.25f, 0,
        ];
        var expected = CategoricalProbabilities(p, y, 4, cols);
        Num.Close(-Math.Log(Eps) - Math.Log(OneMinusEps) - Math.Log(0.3 / 1.3) - 0.25 * Math.Log(0.5) - 0.5 * Math.Log(Eps) - 0.25 * Math.Log(0.3),
            expected.Sum, 1e-6, 1e-6, "reference sanity");
        Check(Loss.CategoricalCrossEntropy, LossInput.Probabilities, p, y, 4, cols, expected);
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(17, 3)]
    public void CategoricalOnLogits(int rows, int cols)
    {
        var z = Num.Uniform(rows * cols, rows * cols, -6, 6);
        z[0] = 80f; z[1] = -90f; // far outside float's e^x range: the log-sum-exp must stay finite
        foreach (var y in new[] { OneHot(rows, cols, 3), SoftLabels(rows, cols, 4) })
            Check(Loss.CategoricalCrossEntropy, LossInput.Logits, z, y, rows, cols, CategoricalLogits(z, y, rows, cols));
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(13, 2)]
    public void SparseCategorical(int rows, int cols)
    {
        var rng = new Random(rows);
        var labels = new float[rows];
        var oneHot = new float[rows * cols];
        for (int r = 0; r < rows; r++) { labels[r] = rng.Next(cols); oneHot[r * cols + (int)labels[r]] = 1; }

        // On probabilities that sum to one per row (softmax outputs), as the model calls it.
        var z = Num.Uniform(rows * cols, 5, -3, 3);
        var p = RefActivation.Forward(ActivationFunction.Softmax, 0, z, cols);
        var pf = Array.ConvertAll(p, v => (float)v);
        Check(Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities, pf, labels, rows, cols, SparseProbabilities(pf, labels, rows, cols));

        // On logits: identical to the categorical loss on one-hot labels.
        Check(Loss.SparseCategoricalCrossEntropy, LossInput.Logits, z, labels, rows, cols, CategoricalLogits(z, oneHot, rows, cols));
    }

    [Fact]
    public void SparseCategoricalClipsLikeKeras()
    {
        // Row 0: labelled probability below ε. Row 1: labelled probability above 1 − ε. Row 2: an unlabelled one below ε.
        float[] p = [0.7f, 1e-9f, 0.3f, 1f, 1e-12f, 1e-12f, 0.6f, 1e-10f, 0.4f];
        float[] labels = [1, 0, 0];
        Check(Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities, p, labels, 3, 3, SparseProbabilities(p, labels, 3, 3));
    }

    [Fact]
    public void SparseCategoricalRejectsLabelsOutOfRange()
    {
        using var ws = new KernelWorkspace(256);
        int pp = ws.Put([0.2f, 0.3f, 0.5f]), pl = ws.Put([3f]), pg = ws.Alloc(3);
        var e = Assert.Throws<ArgumentException>(() => ws.Backend.Loss(Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities, 1, 3, pp, pl, pg, 1f));
        Assert.Contains("3", e.Message);
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(19, 1)]
    public void BinaryOnProbabilities(int rows, int cols)
    {
        var p = Num.Uniform(rows * cols, rows * 31 + cols, 0.001, 0.999);
        var y = Array.ConvertAll(Num.Uniform(rows * cols, 8, 0, 1), v => v > 0.5f ? 1f : 0f);
        y[^1] = 0.3f; // soft labels are allowed
        Check(Loss.BinaryCrossEntropy, LossInput.Probabilities, p, y, rows, cols, BinaryProbabilities(p, y, rows, cols));
    }

    [Fact]
    public void BinaryOnProbabilitiesUsesTheDoubleEpsilon()
    {
        // p = 0 with y = 1: clip to ε, then log(ε + ε): the loss is −log(2e-7) ≈ 15.42, not −log(1e-7) ≈ 16.12.
        // p = 1 with y = 0: log(1 − (1 − ε) + ε) = log(2ε) as well. Both are clipped, so their gradients are 0.
        float[] p = [0f, 1f, 1e-8f, 0.25f, 0.75f, 1f];
        float[] y = [1f, 0f, 0f, 1f, 0f, 1f];
        var expected = BinaryProbabilities(p, y, 6, 1);
        Num.Close(-Math.Log(2 * Eps), -Math.Log(0 + Eps + Eps), 1e-9, 0, "sanity");
        Check(Loss.BinaryCrossEntropy, LossInput.Probabilities, p, y, 6, 1, expected);
        using var ws = new KernelWorkspace(64);
        int pp = ws.Put([0f]), pl = ws.Put([1f]);
        Num.Close(-Math.Log(2e-7), ws.Backend.Loss(Loss.BinaryCrossEntropy, LossInput.Probabilities, 1, 1, pp, pl, -1, 1f), 1e-5, 1e-6, "−log(2ε)");
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(19, 1)]
    public void BinaryOnLogits(int rows, int cols)
    {
        var z = Num.Uniform(rows * cols, rows + 3 * cols, -8, 8);
        z[0] = 60f; z[^1] = -70f;
        var y = Array.ConvertAll(Num.Uniform(rows * cols, 9, 0, 1), v => v > 0.5f ? 1f : 0f);
        Check(Loss.BinaryCrossEntropy, LossInput.Logits, z, y, rows, cols, BinaryLogits(z, y, rows, cols));
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(3, 1)]
    [InlineData(17, 13)]
    public void MeanSquaredAndAbsoluteError(int rows, int cols)
    {
        var p = Num.Uniform(rows * cols, rows, -2, 2);
        var y = Num.Uniform(rows * cols, cols + 100, -2, 2);
        y[1] = p[1]; // MAE's gradient at zero error is sign(0) = 0
        Check(Loss.MeanSquaredError, LossInput.Probabilities, p, y, rows, cols, Mean(p, y, cols, squared: true));
        Check(Loss.MeanAbsoluteError, LossInput.Probabilities, p, y, rows, cols, Mean(p, y, cols, squared: false));
    }

    [Fact]
    public void GradientIsTheDerivativeOfTheReturnedSum()
    {
        // Independent of the references above: central differences of the backend's own value.
        const int rows = 3, cols = 5;
        var rng = new Random(3);
        foreach (var (loss, input) in new[]
        {
            (Loss.CategoricalCrossEntropy, LossInput.Probabilities), (Loss.CategoricalCrossEntropy, LossInput.Logits),
            (Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities), (Loss.BinaryCrossEntropy, LossInput.Probabilities),
            (Loss.BinaryCrossEntropy, LossInput.Logits), (Loss.MeanSquaredError, LossInput.Probabilities),
            (Loss.MeanAbsoluteError, LossInput.Probabilities),
        })
        {
            bool sparse = loss == Loss.SparseCategoricalCrossEntropy;
            var p = Num.Uniform(rows * cols, (int)loss * 7 + (int)input, 0.1, 0.9);
            float[] y = sparse ? [1f, 4f, 0f] : loss == Loss.CategoricalCrossEntropy ? SoftLabels(rows, cols, 6)
                : loss == Loss.BinaryCrossEntropy ? Array.ConvertAll(Num.Uniform(rows * cols, 2, 0, 1), v => v > 0.5f ? 1f : 0f)
                : Num.Uniform(rows * cols, 4, 0, 1);
            using var ws = new KernelWorkspace(512);
            int pp = ws.Put(p), pl = ws.Put(y), pg = ws.Alloc(p.Length);
            ws.Backend.Loss(loss, input, rows, cols, pp, pl, pg, 1f);
            var g = ws.Get(pg, p.Length);
            const float h = 1e-3f;
            for (int i = 0; i < p.Length; i++)
            {
                var plus = (float[])p.Clone(); plus[i] += h;
                var minus = (float[])p.Clone(); minus[i] -= h;
                ws.Backend.Upload(plus, pp);
                double lp = ws.Backend.Loss(loss, input, rows, cols, pp, pl, -1, 1f);
                ws.Backend.Upload(minus, pp);
                double lm = ws.Backend.Loss(loss, input, rows, cols, pp, pl, -1, 1f);
                double numeric = (lp - lm) / ((double)plus[i] - minus[i]);
                Num.Close(numeric, g[i], 2e-3, 2e-3, $"{loss} ({input}) d/dp[{i}]");
            }
        }
    }
}
