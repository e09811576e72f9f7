using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

[Network(6)]
[Dense(7, Activation = Activation.Tanh)]
[Dense(5, Activation = Activation.Sigmoid)]
[Dense(4, Activation = Activation.Elu)]
[Dense(3)]
public partial class GradSmoothNet;

[Network(5)]
[Dense(6, Activation = Activation.Gelu)]
[Dense(6, Activation = Activation.Swish)]
[Dense(5, Activation = Activation.Softplus)]
[Dense(4, Activation = Activation.Softmax)]
public partial class GradGeluNet;

// A Dense on a rank-3 input, LeakyReLU and Activation layers, Flatten, a Dense without bias, Reshape, and a
// sigmoid output fused with binary cross-entropy on a (2, 2) output.
[Network(4, 3)]
[Dense(5)]
[LeakyReLU(0.2)]
[Activation(Activation.Tanh)]
[Flatten]
[Dense(6, UseBias = false)]
[Activation(Activation.Selu)]
[Reshape(2, 3)]
[Dense(2, Activation = Activation.Sigmoid)]
public partial class GradShapesNet;

[Network(8)]
[Dense(9, Activation = Activation.Tanh)]
[Dropout(0.3)]
[Dense(6, Activation = Activation.Softsign)]
[Dropout(0.5)]
[Dense(4, Activation = Activation.Softmax)]
public partial class GradDropoutNet;

[Network(5)]
[Dense(6, Activation = Activation.Tanh)]
[Dense(3)]
public partial class GradMaeNet;

// Softmax as a separate Activation layer (the logits are the Dense output), on a rank-3 input.
[Network(3, 5)]
[Dense(4, Activation = Activation.Tanh)]
[Dense(3)]
[Activation(Activation.Softmax)]
public partial class GradActivationSoftmaxNet;

// Kinks (relu, hard sigmoid), e^x, and sigmoid outputs with categorical cross-entropy (the unfused probability path).
[Network(6)]
[Dense(8, Activation = Activation.Relu)]
[Dense(6, Activation = Activation.HardSigmoid)]
[Dense(5, Activation = Activation.Exponential)]
[Dense(3, Activation = Activation.Sigmoid)]
public partial class GradKinkNet;

[Network(6)]
[Dense(5, Activation = Activation.Softsign, UseBias = false)]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class GradBinaryNet;

[Network(12, 10, 3)]
[Conv2D(8, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Elu)]
[Conv2D(8, 3, Strides = 2)]
[Activation(Activation.Tanh)]
[AveragePooling2D(2)]
[Flatten]
[Dense(16, UseBias = false)]
[BatchNormalization]
[Dense(8)]
[Activation(Activation.Softplus)]
[Dense(4, Activation = Activation.Softmax)]
public partial class GradFusedCnn;

// Dropouts fused into batch norm: after sigmoid (act' recomputed from z, since y holds the masked output), with no
// activation, and after tanh on a 2-D batch norm.
[Network(7, 6, 2)]
[Conv2D(5, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Sigmoid)]
[Dropout(0.3)]
[Conv2D(4, 3, Strides = 2)]
[BatchNormalization]
[Dropout(0.4)]
[Flatten]
[Dense(8)]
[BatchNormalization]
[Activation(Activation.Tanh)]
[Dropout(0.5)]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradBnDropoutNet;

/// <summary>
/// Central-difference checks of whole generated networks: the analytic gradient of
/// <see cref="Model.ComputeGradients"/> against (L(w + h·eᵢ) − L(w − h·eᵢ)) / 2h for every parameter.
/// </summary>
public partial class GradientCheckTests(ITestOutputHelper output)
{
    /// <summary>How an analytic gradient compares with the numeric one.</summary>
    /// <param name="Cosine">Cosine similarity of the two vectors.</param>
    /// <param name="RelativeError">‖analytic − numeric‖ / ‖numeric‖.</param>
    /// <param name="WorstComponent">max over components of |analytic − numeric| / (2e-2·|numeric| + 2e-3·max|numeric|); above 1 fails.</param>
    private readonly record struct Comparison(double Cosine, double RelativeError, double WorstComponent)
    {
        public bool Passes => Cosine > 0.999 && RelativeError < 1e-2 && WorstComponent < 1;
        public override string ToString() => $"cosine {Cosine:F7}, relative error {RelativeError:E2}, worst component {WorstComponent:F3} of its tolerance";
    }

    private static Comparison Compare(float[] analytic, double[] numeric)
    {
        double dot = 0, na = 0, nn = 0, diff = 0, scale = 0;
        for (int i = 0; i < numeric.Length; i++)
        {
            dot += analytic[i] * numeric[i];
            na += (double)analytic[i] * analytic[i];
            nn += numeric[i] * numeric[i];
            diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
            scale = Math.Max(scale, Math.Abs(numeric[i]));
        }
        double worst = 0;
        for (int i = 0; i < numeric.Length; i++)
            worst = Math.Max(worst, Math.Abs(analytic[i] - numeric[i]) / (2e-2 * Math.Abs(numeric[i]) + 2e-3 * scale));
        return new Comparison(dot / Math.Sqrt(na * nn), Math.Sqrt(diff / nn), worst);
    }

    private static double[] Numeric(Model model, Tensor x, Tensor y, float h)
    {
        var w = model.GetWeights();
        var numeric = new double[w.Length];
        var probe = (float[])w.Clone();
        for (int i = 0; i < w.Length; i++)
        {
            probe[i] = w[i] + h;
            double up = probe[i];
            model.SetWeights(probe);
            double lp = model.ComputeGradients(x, y).Loss;
            probe[i] = w[i] - h;
            double down = probe[i];
            model.SetWeights(probe);
            double lm = model.ComputeGradients(x, y).Loss;
            probe[i] = w[i];
            numeric[i] = (lp - lm) / (up - down);
        }
        model.SetWeights(w);
        return numeric;
    }

    /// <summary>
    /// Cosine similarity above 0.999, relative norm error below 1e-2, and every component within 2% of itself plus
    /// 0.2% of the largest: a wrong sign, a missing factor or a missing term in any layer fails at least one.
    /// h = 1e-3 keeps the float32 loss's rounding (≈1e-8 here) well below the signal while staying inside the
    /// smooth region around the kinks of relu, leaky relu, selu, hard sigmoid and MAE for these seeds.
    /// </summary>
    private void Check(Model model, Tensor x, Tensor y, float h = 1e-3f, int trainable = -1)
    {
        var w = model.GetWeights();
        var (loss, analytic) = model.ComputeGradients(x, y);
        Assert.True(float.IsFinite(loss));
        // ComputeGradients updates no trainable parameter (a training pass does move batch norms' moving statistics).
        if (trainable < 0) trainable = w.Length;
        Assert.Equal(w[..trainable], model.GetWeights()[..trainable]);
        var numeric = Numeric(model, x, y, h);
        var c = Compare(analytic, numeric);
        output.WriteLine($"{model.Name}: {analytic.Length} parameters, loss {loss}, {c}");
        Assert.True(c.Passes, $"{model.Name}: {c}");
        // The check is not vacuous: the gradient is far from zero.
        Assert.True(analytic.Max(v => Math.Abs(v)) > 1e-3, $"{model.Name}: gradient is nearly zero");
        // Repeating gives the same gradient (no state leaks between passes).
        Assert.Equal(analytic, model.ComputeGradients(x, y).Gradients);
    }

    private static Tensor Inputs(int n, int seed, params int[] sample)
    {
        int size = 1;
        foreach (int d in sample) size *= d;
        return new Tensor(Num.Uniform(n * size, seed), [n, .. sample]);
    }

    private static Tensor OneHot(int n, int classes, int seed, params int[] leading)
    {
        var rng = new Random(seed);
        int rows = n;
        foreach (int d in leading) rows *= d;
        var y = new float[rows * classes];
        for (int r = 0; r < rows; r++) y[r * classes + rng.Next(classes)] = 1;
        return new Tensor(y, [n, .. leading, classes]);
    }

    [Fact]
    public void TanhSigmoidEluWithMse()
    {
        using var m = new GradSmoothNet { Seed = 1 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(6, 1, 6), new Tensor(Num.Uniform(6 * 3, 2), 6, 3));
    }

    [Fact]
    public void GeluSwishSoftplusWithFusedSoftmaxCrossEntropy()
    {
        using var m = new GradGeluNet { Seed = 2 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(7, 3, 5), OneHot(7, 4, 4));
    }

    [Fact]
    public void SparseCategoricalFusedWithSoftmax()
    {
        using var m = new GradGeluNet { Seed = 3 };
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        Check(m, Inputs(7, 5, 5), new Tensor([0, 3, 1, 2, 3, 0, 1], 7));
    }

    [Fact]
    public void SoftmaxWithMseIsNotFused()
    {
        using var m = new GradGeluNet { Seed = 4 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(5, 6, 5), new Tensor(Num.Uniform(5 * 4, 7, 0, 1), 5, 4));
    }

    [Fact]
    public void RankThreeDenseLeakyReluFlattenReshapeNoBiasAndFusedSigmoidBce()
    {
        using var m = new GradShapesNet { Seed = 5 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        var y = new Tensor(Array.ConvertAll(Num.Uniform(6 * 4, 8, 0, 1), v => v > 0.5f ? 1f : 0f), 6, 2, 2);
        Check(m, Inputs(6, 9, 4, 3), y);
    }

    [Fact]
    public void RankThreeNetworkWithMse()
    {
        using var m = new GradShapesNet { Seed = 6 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(5, 10, 4, 3), new Tensor(Num.Uniform(5 * 4, 11, 0, 1), 5, 2, 2));
    }

    [Fact]
    public void DropoutMasksAreFixedWithinAnIteration()
    {
        using var m = new GradDropoutNet { Seed = 7 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(8, 12, 8), OneHot(8, 4, 13));
    }

    [Fact]
    public void MeanAbsoluteError()
    {
        using var m = new GradMaeNet { Seed = 8 };
        m.Compile(new SGD(), Loss.MeanAbsoluteError);
        Check(m, Inputs(6, 14, 5), new Tensor(Num.Uniform(6 * 3, 15, -2, 2), 6, 3));
    }

    [Fact]
    public void SoftmaxActivationLayerIsFusedWithCrossEntropy()
    {
        using var m = new GradActivationSoftmaxNet { Seed = 9 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(5, 16, 3, 5), OneHot(5, 3, 17, 3));
    }

    [Fact]
    public void SoftmaxActivationLayerWithMse()
    {
        using var m = new GradActivationSoftmaxNet { Seed = 10 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(5, 18, 3, 5), new Tensor(Num.Uniform(5 * 3 * 3, 19, 0, 1), 5, 3, 3));
    }

    [Fact]
    public void ReluHardSigmoidExponentialAndUnfusedCrossEntropy()
    {
        using var m = new GradKinkNet { Seed = 11 };
#pragma warning disable NG0110 // on purpose: cross-entropy on sigmoid outputs exercises the unfused loss gradient
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
#pragma warning restore NG0110
        Check(m, Inputs(6, 20, 6), OneHot(6, 3, 21));
    }

    [Fact]
    public void SoftsignWithoutBiasAndFusedBinaryCrossEntropy()
    {
        using var m = new GradBinaryNet { Seed = 12 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        Check(m, Inputs(9, 22, 6), new Tensor([1, 0, 0, 1, 1, 0, 1, 0, 1], 9, 1));
    }

    [Fact]
    public void SigmoidOutputWithMse()
    {
        using var m = new GradBinaryNet { Seed = 13 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(9, 23, 6), new Tensor(Num.Uniform(9, 24, 0, 1), 9, 1));
    }

    [Fact]
    public void FusedConvBatchNormActivationAndDenseBatchNorm()
    {
        // FusedCnnNet's fusions with smooth activations (relu, leaky relu and max pooling put kinks within h of the
        // batch-normalised values): Conv2D + BN + ELU (fused into the BN), Conv2D + Activation(tanh) (fused into the
        // conv), Dense + BN, Dense + Activation(softplus) (fused, keeps the pre-activation), softmax + CE.
        using var m = new GradFusedCnn { Seed = 5 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(6, 3, 12, 10, 3), OneHot(6, 4, 4), trainable: GradFusedCnn.TrainableParameterCount);
    }

    [Fact]
    public void DropoutsFusedIntoBatchNorm()
    {
        using var m = new GradBnDropoutNet { Seed = 17 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(7, 25, 7, 6, 2), OneHot(7, 3, 26), trainable: GradBnDropoutNet.TrainableParameterCount);
    }

    [Fact]
    public void TolerancesCatchAWrongSignOrAMissingTerm()
    {
        using var m = new GradSmoothNet { Seed = 1 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Inputs(6, 1, 6);
        var y = new Tensor(Num.Uniform(6 * 3, 2), 6, 3);
        var (_, g) = m.ComputeGradients(x, y);
        var numeric = Numeric(m, x, y, 1e-3f);
        // The last layer's bias (3 values at the end): a flipped sign, and a dropped term.
        var flipped = (float[])g.Clone();
        for (int i = g.Length - 3; i < g.Length; i++) flipped[i] = -flipped[i];
        var dropped = (float[])g.Clone();
        for (int i = g.Length - 3; i < g.Length; i++) dropped[i] = 0;
        // A missing activation derivative in the first layer: scale its kernel gradient.
        var scaled = (float[])g.Clone();
        for (int i = 0; i < 6 * 7; i++) scaled[i] *= 1.2f;
        Assert.True(Compare(g, numeric).Passes, $"the true gradient fails: {Compare(g, numeric)}");
        foreach (var bad in new[] { flipped, dropped, scaled })
        {
            var c = Compare(bad, numeric);
            output.WriteLine($"corrupted: {c}");
            Assert.False(c.Passes, $"a corrupted gradient passed: {c}");
        }
    }
}
