using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

[Network(8, 7, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class AugmentNet;

/// <summary>
/// ImageDataGenerator against Keras 2's formulas (keras_preprocessing affine_transformations.py and
/// image_data_generator.py), with a naive double-precision reference of apply_affine_transform written from them.
/// </summary>
// Run alone: these compare two trainings bit for bit, and in 2 of about 20 full parallel runs such a comparison
// differed while other tests loaded the machine (a timing-dependent nondeterminism in the CPU backend, not yet found).
[Collection(NonParallelCollection.Name)]
public class AugmentationTests
{
    /// <summary>
    /// Keras: M = R(θ)·T(tx, ty)·Sh(shear)·Z(zx, zy) as 3x3 matrices, centred with o = (h/2 + 0.5, w/2 + 0.5), then
    /// scipy.ndimage.affine_transform(order=1, mode='nearest'): out[i, j] = bilinear(in, M·(i, j, 1)), indices clamped.
    /// </summary>
    private static double[] Reference(float[] image, int h, int w, int c, ImageTransform t, double? cval = null)
    {
        static double[,] Mul(double[,] a, double[,] b)
        {
            var r = new double[3, 3];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 3; k++) r[i, j] += a[i, k] * b[k, j];
            return r;
        }
        double th = t.Theta * Math.PI / 180, sh = t.Shear * Math.PI / 180;
        var m = Mul(Mul(Mul(new double[,] { { Math.Cos(th), -Math.Sin(th), 0 }, { Math.Sin(th), Math.Cos(th), 0 }, { 0, 0, 1 } },
                new double[,] { { 1, 0, t.Tx }, { 0, 1, t.Ty }, { 0, 0, 1 } }),
                new double[,] { { 1, -Math.Sin(sh), 0 }, { 0, Math.Cos(sh), 0 }, { 0, 0, 1 } }),
            new double[,] { { t.Zx, 0, 0 }, { 0, t.Zy, 0 }, { 0, 0, 1 } });
        double ox = h / 2.0 + 0.5, oy = w / 2.0 + 0.5;
        m = Mul(Mul(new double[,] { { 1, 0, ox }, { 0, 1, oy }, { 0, 0, 1 } }, m), new double[,] { { 1, 0, -ox }, { 0, 1, -oy }, { 0, 0, 1 } });
        double At(int r, int q, int ch) => image[(Math.Clamp(r, 0, h - 1) * w + Math.Clamp(q, 0, w - 1)) * c + ch];
        var result = new double[h * w * c];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                double r = m[0, 0] * i + m[0, 1] * j + m[0, 2], q = m[1, 0] * i + m[1, 1] * j + m[1, 2];
                if (cval is { } fill && (r < 0 || r > h - 1 || q < 0 || q > w - 1)) // scipy 'constant': outside is cval
                {
                    for (int ch = 0; ch < c; ch++) result[(i * w + j) * c + ch] = fill;
                    continue;
                }
                int r0 = (int)Math.Floor(r), q0 = (int)Math.Floor(q);
                double fr = r - r0, fq = q - q0;
                for (int ch = 0; ch < c; ch++)
                    result[(i * w + j) * c + ch] = (1 - fr) * (1 - fq) * At(r0, q0, ch) + (1 - fr) * fq * At(r0, q0 + 1, ch) +
                                                   fr * (1 - fq) * At(r0 + 1, q0, ch) + fr * fq * At(r0 + 1, q0 + 1, ch);
            }
        if (t.FlipHorizontal)
        {
            var f = new double[result.Length];
            for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) for (int ch = 0; ch < c; ch++) f[(i * w + j) * c + ch] = result[(i * w + w - 1 - j) * c + ch];
            result = f;
        }
        if (t.FlipVertical)
        {
            var f = new double[result.Length];
            for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) for (int ch = 0; ch < c; ch++) f[(i * w + j) * c + ch] = result[((h - 1 - i) * w + j) * c + ch];
            result = f;
        }
        return result;
    }

    public static TheoryData<double, double, double, double, double, double, bool, bool> Transforms() => new()
    {
        { 0, 0, 0, 0, 1, 1, true, false },       // a flip alone
        { 90, 0, 0, 0, 1, 1, false, false },     // a quarter turn
        { 17.5, 0, 0, 0, 1, 1, false, true },
        { 0, 1.5, -2.25, 0, 1, 1, false, false },// fractional shifts
        { 0, 0, 0, 14, 1, 1, false, false },     // shear
        { 0, 0, 0, 0, 0.8, 1.3, true, false },   // zoom in x, out in y
        { -8, 0.7, 1.1, 6, 1.15, 0.9, true, true },
    };

    [Theory]
    [MemberData(nameof(Transforms))]
    public void ApplyTransformMatchesKerasFormulas(double theta, double tx, double ty, double shear, double zx, double zy, bool flipH, bool flipV)
    {
        const int h = 9, w = 7, c = 2;
        var image = Num.Uniform(h * w * c, 3, -1, 1);
        var t = new ImageTransform(theta, tx, ty, shear, zx, zy, flipH, flipV);
        var actual = new float[image.Length];
        new ImageDataGenerator().ApplyTransform(image, actual, h, w, c, t);
        Num.Close(Reference(image, h, w, c, t), actual, 1e-6, 1e-5, $"transform {t}");
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void ConstantFillMatchesScipyConstantMode(double theta, double tx, double ty, double shear, double zx, double zy, bool flipH, bool flipV)
    {
        const int h = 9, w = 7, c = 2;
        var image = Num.Uniform(h * w * c, 4, -1, 1);
        var t = new ImageTransform(theta, tx, ty, shear, zx, zy, flipH, flipV);
        var actual = new float[image.Length];
        new ImageDataGenerator { FillMode = FillMode.Constant, Cval = -3 }.ApplyTransform(image, actual, h, w, c, t);
        Num.Close(Reference(image, h, w, c, t, cval: -3), actual, 1e-6, 1e-5, $"constant {t}");
    }

    [Fact]
    public void WholePixelShiftsMoveTheContentAndRepeatTheEdge()
    {
        // Keras's tx shifts rows: output row i reads input row i + tx; past the edge, 'nearest' repeats the last row.
        const int h = 5, w = 4;
        var image = Enumerable.Range(0, h * w).Select(v => (float)v).ToArray();
        var shifted = new float[image.Length];
        new ImageDataGenerator().ApplyTransform(image, shifted, h, w, 1, new ImageTransform(Tx: 2));
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                Assert.Equal(image[Math.Min(i + 2, h - 1) * w + j], shifted[i * w + j]);
        var constant = new ImageDataGenerator { FillMode = FillMode.Constant, Cval = -7 };
        constant.ApplyTransform(image, shifted, h, w, 1, new ImageTransform(Ty: -1));
        for (int i = 0; i < h; i++) Assert.Equal(-7f, shifted[i * w]); // column 0 reads column -1: outside
        Assert.Equal(image[0], shifted[1]);

        // Half a pixel down (scipy, checked with scipy 1.10): the last row reads row 3.5, outside: cval, not a blend.
        var ramp = Enumerable.Range(0, 16).Select(v => (float)v).ToArray();
        var half = new float[16];
        new ImageDataGenerator { FillMode = FillMode.Constant, Cval = -1 }.ApplyTransform(ramp, half, 4, 4, 1, new ImageTransform(Tx: 0.5));
        Assert.Equal([2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, -1f, -1f, -1f, -1f], half);
    }

    [Fact]
    public void RandomTransformsStayInTheirRangesAndFlipHalfTheTime()
    {
        var g = new ImageDataGenerator
        {
            RotationRange = 10, WidthShiftRange = 0.25, HeightShiftRange = 3, ShearRange = 15, ZoomRange = 0.2, HorizontalFlip = true,
        };
        int flips = 0;
        double minTheta = 0, maxTheta = 0;
        for (ulong k = 0; k < 2000; k++)
        {
            var t = g.RandomTransform(20, 12, CounterRng.Key(5, k, 0));
            Assert.InRange(t.Theta, -10, 10);
            Assert.InRange(t.Ty, -0.25 * 12, 0.25 * 12); // a fraction of the width (below 1)
            Assert.InRange(t.Tx, -3, 3);                 // pixels (1 or more)
            Assert.InRange(t.Shear, -15, 15);
            Assert.InRange(t.Zx, 0.8, 1.2);
            Assert.InRange(t.Zy, 0.8, 1.2);
            Assert.False(t.FlipVertical);
            flips += t.FlipHorizontal ? 1 : 0;
            minTheta = Math.Min(minTheta, t.Theta);
            maxTheta = Math.Max(maxTheta, t.Theta);
        }
        Assert.InRange(flips, 900, 1100);
        Assert.True(minTheta < -9 && maxTheta > 9, "the draws cover the range");
        Assert.Equal(ImageTransform.Identity, new ImageDataGenerator().RandomTransform(20, 12, 1)); // nothing asked, nothing drawn
    }

    [Fact]
    public void StandardizeRescalesThenCentresAndScalesEachSample()
    {
        var g = new ImageDataGenerator { Rescale = 1f / 255, SamplewiseCenter = true, SamplewiseStdNormalization = true };
        var x = new Tensor(Num.Uniform(3 * 16, 8, 0, 255), 3, 4, 4, 1);
        var s = g.Standardize(x);
        for (int n = 0; n < 3; n++)
        {
            var v = s.Data.AsSpan(n * 16, 16).ToArray().Select(f => (double)f).ToArray();
            double mean = v.Average(), std = Math.Sqrt(v.Select(a => (a - mean) * (a - mean)).Average());
            Assert.Equal(0, mean, 1e-6);
            Assert.Equal(1, std, 1e-4); // x/(std + 1e-6), std of values near 0.3
            var raw = x.Data.AsSpan(n * 16, 16).ToArray().Select(f => f / 255.0).ToArray();
            double rawMean = raw.Average(), rawStd = Math.Sqrt(raw.Select(a => (a - rawMean) * (a - rawMean)).Average());
            Assert.Equal((raw[5] - rawMean) / (rawStd + 1e-6), v[5], 1e-5);
        }
        Assert.NotSame(x.Data, s.Data);

        // samplewise_std_normalization alone centres too, as Keras forces samplewise_center with it.
        var alone = new ImageDataGenerator { SamplewiseStdNormalization = true }.Standardize(new Tensor([1f, 2f, 3f, 4f], 1, 2, 2, 1));
        Assert.Equal(0, alone.Data.Sum(), 1e-6);
        Assert.Equal(-1.5 / (Math.Sqrt(1.25) + 1e-6), alone.Data[0], 1e-6);
    }

    private static (Tensor X, Tensor Y) Images(int n)
    {
        var x = Num.Uniform(n * 8 * 7 * 2, 11, 0, 1);
        var y = new float[n * 3];
        for (int i = 0; i < n; i++) y[i * 3 + i % 3] = 1;
        return (new Tensor(x, n, 8, 7, 2), new Tensor(y, n, 3));
    }

    [Fact]
    public void AFlowWithoutTransformsTrainsExactlyLikeFit()
    {
        var (x, y) = Images(20);
        using var plain = new AugmentNet { Seed = 6 };
        using var flowed = new AugmentNet { Seed = 6 };
        plain.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        flowed.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        plain.Fit(x, y, epochs: 3, batchSize: 6, verbose: 0);
        flowed.Fit(new ImageDataGenerator().Flow(x, y, batchSize: 6), epochs: 3, verbose: 0);
        Assert.Equal(plain.GetWeights(), flowed.GetWeights());
    }

    [Fact]
    public void AugmentedTrainingIsReproducibleAndDiffersFromPlainTraining()
    {
        var (x, y) = Images(20);
        var g = new ImageDataGenerator { RotationRange = 20, ZoomRange = 0.2, HorizontalFlip = true, SamplewiseCenter = true };
        float[] Train(ulong flowSeed, int stepsPerEpoch)
        {
            using var m = new AugmentNet { Seed = 6 };
            m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
            var h = m.Fit(g.Flow(x, y, batchSize: 6, seed: flowSeed), epochs: 2, stepsPerEpoch: stepsPerEpoch, verbose: 0);
            Assert.Equal(2, h.Epochs);
            Assert.All(h["loss"], l => Assert.True(double.IsFinite(l)));
            return m.GetWeights();
        }
        Assert.Equal(Train(1000, 0), Train(1000, 0));
        Assert.NotEqual(Train(1000, 0), Train(1001, 0));
        using var plain = new AugmentNet { Seed = 6 };
        plain.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        plain.Fit(x, y, epochs: 2, batchSize: 6, verbose: 0);
        Assert.NotEqual(plain.GetWeights(), Train(1000, 0));
    }

    [Fact]
    public void PassesContinueAcrossEpochsWhateverTheValidation()
    {
        // 20 samples in batches of 6: 4 batches a pass. Epochs of 3 batches cut the passes anywhere; the batches are
        // still those of one long run (each pass shuffled on its own), and validating between epochs changes nothing.
        var (x, y) = Images(20);
        var g = new ImageDataGenerator { RotationRange = 15, HorizontalFlip = true };
        float[] Train(int epochs, int steps, bool validate)
        {
            using var m = new AugmentNet { Seed = 6 };
            m.Compile(new SGD(0.05f), Loss.CategoricalCrossEntropy);
            m.Fit(g.Flow(x, y, batchSize: 6, seed: 3), epochs: epochs, stepsPerEpoch: steps, verbose: 0,
                validationData: validate ? (x.Slice(0, 13), y.Slice(0, 13)) : null);
            return m.GetWeights();
        }
        var oneRun = Train(1, 9, false);
        Assert.Equal(oneRun, Train(3, 3, false));
        Assert.Equal(oneRun, Train(3, 3, true));
        Assert.NotEqual(oneRun, Train(1, 8, false)); // it did train on the 9th batch
    }

    [Fact]
    public void FlowRejectsWhatItCannotAugment()
    {
        var g = new ImageDataGenerator();
        var flat = new Tensor(new float[4 * 10], 4, 10);
        Assert.Contains("Reshape", Assert.Throws<ArgumentException>(() => g.Flow(flat, new Tensor(new float[4], 4, 1))).Message);
        var (x, y) = Images(4);
        Assert.Throws<ArgumentException>(() => g.Flow(x, y.Slice(0, 3)));
        using var m = new AugmentNet();
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(g.Flow(x, y), stepsPerEpoch: -1, verbose: 0));
        var wrong = new Tensor(new float[4 * 9 * 7 * 2], 4, 9, 7, 2);
        Assert.Contains("flow.X", Assert.Throws<ArgumentException>(() => m.Fit(g.Flow(wrong, y), verbose: 0)).Message);
    }
}
