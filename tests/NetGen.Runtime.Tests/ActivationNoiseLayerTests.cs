using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

// ELU and a leaky ReLU fused into the Dense before them, the general ReLU (ceiling, leak and threshold), and an ELU and
// a plain ReLU as layers of their own (after the general ReLU, and after a Flatten), on a rank-2 input (the layers act
// on every element of the (5, n) rows).
[Network(5, 3)]
[Dense(6)]
[ELU(1.3)]
[Dense(6)]
[ReLU(MaxValue = 0.6, NegativeSlope = 0.2, Threshold = 0.1)]
[ELU(0.8)]
[Dense(5)]
[ReLU(NegativeSlope = 0.15)]
[Flatten]
[ReLU]
[Dense(3)]
public partial class GradReluEluNet;

// Batch norm fused with ELU(0.5) and with a leaky ReLU, spatial dropout, Gaussian noise and Gaussian dropout between
// convolutions, and a batch norm followed by ReLU(MaxValue) (its own kernels, not fused).
[Network(6, 5, 3)]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization]
[ELU(0.5)]
[SpatialDropout2D(0.4)]
[Conv2D(3, 3)]
[GaussianNoise(0.3)]
[BatchNormalization]
[ReLU(NegativeSlope = 0.1)]
[GaussianDropout(0.3)]
[BatchNormalization]
[ReLU(MaxValue = 1.5)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradNoiseNet;

// Inference is the identity for the three noise layers: Predict must equal the Dense layer alone.
[Network(4, 3, 2)]
[GaussianNoise(0.5)]
[SpatialDropout2D(0.5)]
[GaussianDropout(0.4)]
[Flatten]
[Dense(3)]
public partial class NoiseInferenceNet;

/// <summary>
/// A sample-style network (README): a small CNN regularised with the new layers, Keras-style. ReLU6 after batch norm,
/// spatial dropout between convolutions, ELU, Gaussian input noise and Gaussian dropout.
/// </summary>
[Network(8, 8, 1)]
[GaussianNoise(0.1)]
[Conv2D(8, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(MaxValue = 6)]
[SpatialDropout2D(0.2)]
[Conv2D(8, 3, Strides = 2, Padding = Padding.Same)]
[ELU]
[GaussianDropout(0.2)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class NoisyCnn;

/// <summary>
/// The ELU and ReLU layers and the noise layers (GaussianNoise, GaussianDropout, SpatialDropout2D) on the CPU backend:
/// forward and backward against double references at odd sizes, Keras's documented examples, the statistics of the
/// counter-based normal draws, central differences through generated networks, inference identity, and a
/// sample-style training run.
/// </summary>
public class ActivationNoiseLayerTests(ITestOutputHelper output)
{
    // ---- ReLU ------------------------------------------------------------------------------------------------

    /// <summary>Keras 2's backend.relu, literally: the negative part only for alpha ≠ 0, relu or x·[x &gt; t], clip, subtract.</summary>
    private static double KerasRelu(double x, double maxValue, double slope, double threshold)
    {
        double negative = slope != 0 ? Math.Max(threshold - x, 0) : 0;
        double pos = threshold != 0 ? x * (x > threshold ? 1 : 0) : Math.Max(x, 0);
        if (!double.IsNaN(maxValue)) pos = Math.Clamp(pos, 0, maxValue);
        return slope != 0 ? pos - slope * negative : pos;
    }

    private static double KerasReluDerivative(double x, double maxValue, double slope, double threshold) =>
        x > threshold && (double.IsNaN(maxValue) || x < maxValue) ? 1 : x < threshold ? slope : 0;

    [Theory]
    [InlineData(float.NaN, 0f, 0f, new[] { -3f, -1f, 0f, 2f }, new[] { 0f, 0f, 0f, 2f })]     // ReLU()
    [InlineData(1f, 0f, 0f, new[] { -3f, -1f, 0f, 2f }, new[] { 0f, 0f, 0f, 1f })]            // ReLU(max_value=1.0)
    [InlineData(float.NaN, 1f, 0f, new[] { -3f, -1f, 0f, 2f }, new[] { -3f, -1f, 0f, 2f })]   // ReLU(negative_slope=1.0)
    [InlineData(float.NaN, 0f, 1.5f, new[] { -3f, -1f, 1f, 2f }, new[] { 0f, 0f, 0f, 2f })]   // ReLU(threshold=1.5)
    [InlineData(10f, 0.5f, 0f, new[] { -10f, -5f, 0f, 5f, 10f }, new[] { -5f, -2.5f, 0f, 5f, 10f })]
    public void ReluMatchesKerasDocstrings(float maxValue, float slope, float threshold, float[] x, float[] expected)
    {
        using var ws = new KernelWorkspace(256);
        int px = ws.Put(x), py = ws.Alloc(x.Length);
        ws.Backend.ReluForward(x.Length, float.IsNaN(maxValue) ? float.PositiveInfinity : maxValue, slope, threshold, px, py);
        Assert.Equal(expected, ws.Get(py, x.Length));
    }

    public static TheoryData<float, float, float, int> ReluCases() => new()
    {
        { float.NaN, 0f, 0f, 91 },
        { 6f, 0f, 0f, 91 },
        { 0.7f, 0.2f, 0.3f, 3 * 7 * 5 * 3 },   // batch 3 of 7x5x3
        { float.NaN, 0.25f, 0.5f, 37 },
        { 0.4f, 0f, 1.2f, 53 },                // ceiling below the threshold: max_value above it, slope 0 below
        { 0f, 0.3f, 0f, 29 },                  // max_value 0
        { 2f, 1.5f, 0f, 1000 },                // long enough for several vectors
    };

    [Theory]
    [MemberData(nameof(ReluCases))]
    public void ReluForwardBackwardMatchReference(float maxValue, float slope, float threshold, int n)
    {
        var x = Num.Uniform(n, n + 3, -3, 3);
        // Keep away from the kinks so that the derivative is unambiguous, but put exact hits in the forward check.
        for (int i = 0; i < n; i++)
            foreach (float k in new[] { threshold, maxValue })
                if (Math.Abs(x[i] - k) < 1e-3f) x[i] = k + 2e-3f;
        var dy = Num.Uniform(n, n + 4);
        float max = float.IsNaN(maxValue) ? float.PositiveInfinity : maxValue;
        using var ws = new KernelWorkspace(8 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n), pdy = ws.Put(dy), pdx = ws.Alloc(n);
        ws.Backend.ReluForward(n, max, slope, threshold, px, py);
        Num.Close(x.Select(v => KerasRelu(v, maxValue, slope, threshold)).ToArray(), ws.Get(py, n), 1e-6, 1e-6, "relu forward");
        ws.Backend.ReluBackward(n, max, slope, threshold, px, pdy, pdx);
        Num.Close(x.Select((v, i) => dy[i] * KerasReluDerivative(v, maxValue, slope, threshold)).ToArray(), ws.Get(pdx, n),
            1e-7, 1e-6, "relu backward");
        // In place, as the generated code calls them.
        ws.Backend.ReluBackward(n, max, slope, threshold, px, pdy, pdy);
        Assert.Equal(ws.Get(pdx, n), ws.Get(pdy, n));
        ws.Backend.ReluForward(n, max, slope, threshold, px, px);
        Assert.Equal(ws.Get(py, n), ws.Get(px, n));
    }

    [Fact]
    public void ReluEdgeValuesFollowKeras()
    {
        // At the threshold: 0 (not -0); -inf with slope 0: 0 (Keras skips the negative part); NaN propagates.
        float[] x = [0.5f, float.NegativeInfinity, float.NaN, float.PositiveInfinity, 6f];
        using var ws = new KernelWorkspace(64);
        int px = ws.Put(x), py = ws.Alloc(x.Length);
        ws.Backend.ReluForward(x.Length, 6f, 0f, 0.5f, px, py);
        var y = ws.Get(py, x.Length);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(y[0]));
        Assert.Equal(0f, y[1]);
        Assert.True(float.IsNaN(y[2]));
        Assert.Equal(6f, y[3]);
        Assert.Equal(6f, y[4]);
        ws.Backend.ReluForward(x.Length, float.PositiveInfinity, 0.5f, 0.5f, px, py);
        y = ws.Get(py, x.Length);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(y[0])); // 0 - 0.5·0 = +0, as TensorFlow
        Assert.Equal(float.NegativeInfinity, y[1]);
        Assert.Equal(float.PositiveInfinity, y[3]);
    }

    [Fact]
    public void EluLayerActivationMatchesKerasFormula()
    {
        // Keras 2 backend.elu(x, alpha): tf.nn.elu(x) scaled by alpha where x <= 0.
        var x = Num.Uniform(3 * 7 * 5 * 3, 31, -5, 3);
        foreach (float alpha in new[] { 1f, 0.5f, 2.5f, -0.7f })
        {
            using var ws = new KernelWorkspace(4 * x.Length + 64);
            int px = ws.Put(x), py = ws.Alloc(x.Length), pdy = ws.Put(Num.Uniform(x.Length, 32)), pdx = ws.Alloc(x.Length);
            ws.Backend.ActivationForward(ActivationFunction.EluAlpha, alpha, 3 * 7 * 5, 3, px, py);
            Num.Close(x.Select(v => v > 0 ? v : alpha * (Math.Exp(v) - 1)).ToArray(), ws.Get(py, x.Length), 3e-6, 3e-6, $"elu {alpha}");
            // With the input stored the derivative holds for a negative alpha too.
            ws.Backend.ActivationBackward(ActivationFunction.EluAlpha, alpha, 3 * 7 * 5, 3, px, py, pdy, pdx);
            var dy = ws.Get(pdy, x.Length);
            Num.Close(x.Select((v, i) => dy[i] * (v > 0 ? 1 : alpha * Math.Exp(v))).ToArray(), ws.Get(pdx, x.Length), 3e-6, 3e-6, $"elu' {alpha}");
        }
    }

    // ---- Normal draws --------------------------------------------------------------------------------------

    /// <summary>The same Box-Muller from the same bits in double precision with the BCL's log and cos.</summary>
    private static double ReferenceNormal(ulong key, ulong counter)
    {
        ulong bits = CounterRng.Bits(key, counter);
        double u1 = ((bits >> 40) + 1) / 16777216.0, u2 = ((bits >> 16) & 0xFFFFFF) / 16777216.0;
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static double Phi(double z) => 0.5 * (1 + Num.Erf(z / Math.Sqrt(2)));

    [Fact]
    public void StandardNormalDrawsAreAccurateAndNormal()
    {
        const int n = 1 << 18;
        ulong key = CounterRng.Key(7, 3, 11);
        double sum = 0, sum2 = 0, sum4 = 0, worst = 0;
        int[] below = new int[7];
        double[] cuts = [-3, -2, -1, 0, 1, 2, 3];
        for (int i = 0; i < n; i++)
        {
            float z = CounterRng.StandardNormal(key, (ulong)i);
            worst = Math.Max(worst, Math.Abs(z - ReferenceNormal(key, (ulong)i)));
            sum += z;
            sum2 += (double)z * z;
            sum4 += (double)z * z * z * z;
            for (int c = 0; c < cuts.Length; c++) if (z < cuts[c]) below[c]++;
        }
        double mean = sum / n, variance = sum2 / n - mean * mean, kurtosis = sum4 / n;
        output.WriteLine($"{n} draws: mean {mean:F5}, variance {variance:F5}, E[z^4] {kurtosis:F4}, max |z - double reference| {worst:E2}");
        Assert.True(worst < 3e-6, $"largest error against the double-precision Box-Muller: {worst:E3}");
        Assert.InRange(mean, -0.01, 0.01);        // standard error 0.002
        Assert.InRange(variance, 0.985, 1.015);   // standard error 0.0028
        Assert.InRange(kurtosis, 2.9, 3.1);       // standard error ~0.013
        for (int c = 0; c < cuts.Length; c++)
            Assert.True(Math.Abs(below[c] / (double)n - Phi(cuts[c])) < 0.004, $"P(z < {cuts[c]}) = {below[c] / (double)n}, expected {Phi(cuts[c])}");
        // Different keys and counters give different draws.
        Assert.NotEqual(CounterRng.StandardNormal(key, 5), CounterRng.StandardNormal(key, 6));
        Assert.NotEqual(CounterRng.StandardNormal(key, 5), CounterRng.StandardNormal(key + 1, 5));
    }

    // A model of what a GPU computes: ptxas may contract every multiply followed by an add into one FMA (ILGPU emits
    // plain mul.f32/add.f32). This is DeviceMath.Log, DeviceMath.CosTwoPi and CounterRng.StandardNormal with every
    // such pair fused, to bound how far a GPU's normal draws can move from the CPU backend's.
    private static float FmaLog(float x)
    {
        int bits = BitConverter.SingleToInt32Bits(x);
        int e = (bits >> 23) - 127; // u1 ≥ 2^-24: never subnormal
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }
        float f = m - 1f;
        float s = f / (2f + f);
        float z = s * s;
        float q = 1f / 9f;
        q = MathF.FusedMultiplyAdd(q, z, 1f / 7f);
        q = MathF.FusedMultiplyAdd(q, z, 1f / 5f);
        q = MathF.FusedMultiplyAdd(q, z, 1f / 3f);
        q = MathF.FusedMultiplyAdd(q, z, 1f);
        float ef = e;
        return MathF.FusedMultiplyAdd(ef, 0.693359375f, MathF.FusedMultiplyAdd(2f * s, q, ef * -2.12194440e-4f));
    }

    private static float FmaCosTwoPi(float u)
    {
        float a = u <= 0.5f ? u : 1f - u, sign = 1f;
        if (a > 0.25f)
        {
            a = 0.5f - a;
            sign = -1f;
        }
        bool sine = a > 0.125f;
        float x = (sine ? 0.25f - a : a) * 6.28318548f, z = x * x;
        float[] c = sine ? [-1f / 39916800f, 1f / 362880f, -1f / 5040f, 1f / 120f, -1f / 6f, 1f] : [-1f / 3628800f, 1f / 40320f, -1f / 720f, 1f / 24f, -0.5f, 1f];
        float p = c[0];
        for (int i = 1; i < c.Length; i++) p = MathF.FusedMultiplyAdd(p, z, c[i]);
        return sign * (sine ? p * x : p);
    }

    [Fact]
    public void NormalDrawsStayWithinTheGpuToleranceWhenMultiplyAddsAreFused()
    {
        const int n = 1 << 20;
        ulong key = CounterRng.Key(42, 7, 9);
        double worst = 0;
        int differing = 0;
        for (int i = 0; i < n; i++)
        {
            ulong bits = CounterRng.Bits(key, (ulong)i);
            float u1 = ((int)(bits >> 40) + 1) * (1f / 16777216f), u2 = (int)((bits >> 16) & 0xFFFFFF) * (1f / 16777216f);
            float fused = MathF.Sqrt(-2f * FmaLog(u1)) * FmaCosTwoPi(u2);
            float z = CounterRng.StandardNormal(key, (ulong)i);
            if (fused != z) differing++;
            worst = Math.Max(worst, Math.Abs(fused - z));
        }
        output.WriteLine($"{n} draws: {differing} change when multiply-adds are fused, by at most {worst:E2} (tolerance {IlgpuActivationNoiseTests.NormalAbs:E0})");
        Assert.True(worst <= IlgpuActivationNoiseTests.NormalAbs / 2, $"fused multiply-adds move a normal draw by {worst:E3}");
    }

    [Fact]
    public void CosTwoPiIsAccurateOverTheTurn()
    {
        double worst = 0;
        for (int k = 0; k <= 1 << 16; k++)
        {
            float u = k / 65536f;
            worst = Math.Max(worst, Math.Abs(Kernels.DeviceMath.CosTwoPi(u) - Math.Cos(2 * Math.PI * u)));
        }
        output.WriteLine($"max |CosTwoPi(u) - cos(2πu)| = {worst:E2}");
        Assert.True(worst < 2e-7, $"CosTwoPi error {worst:E3}");
    }

    // ---- Noise layers --------------------------------------------------------------------------------------

    [Fact]
    public void GaussianNoiseAddsScaledDraws()
    {
        const int n = 3 * 7 * 5 * 3;
        const float stddev = 0.35f;
        ulong key = CounterRng.Key(1, 2, 3);
        var x = Num.Uniform(n, 41, -2, 2);
        using var ws = new KernelWorkspace(4 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n);
        ws.Backend.GaussianNoiseForward(n, stddev, key, px, py);
        var y = ws.Get(py, n);
        Num.Close(x.Select((v, i) => v + stddev * ReferenceNormal(key, (ulong)i)).ToArray(), y, 2e-6, 1e-6, "gaussian noise");
        // Bit for bit the shared scalar draw (the ILGPU kernels call it too), and in place the same.
        for (int i = 0; i < n; i++) Assert.Equal(x[i] + stddev * CounterRng.StandardNormal(key, (ulong)i), y[i]);
        ws.Backend.GaussianNoiseForward(n, stddev, key, px, px);
        Assert.Equal(y, ws.Get(px, n));
    }

    [Fact]
    public void GaussianNoiseStatisticsOnALargeThreadedRun()
    {
        const int n = 200_003;
        const float stddev = 0.2f;
        var x = new float[n];
        using var ws = new KernelWorkspace(2 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n);
        ulong key = CounterRng.Key(99, 0, 1);
        ws.Backend.GaussianNoiseForward(n, stddev, key, px, py);
        var y = ws.Get(py, n);
        double mean = y.Average(v => (double)v), std = Math.Sqrt(y.Average(v => (double)v * v) - mean * mean);
        output.WriteLine($"noise mean {mean:F5}, std {std:F5}");
        Assert.InRange(mean, -0.003, 0.003);
        Assert.InRange(std, 0.197, 0.203);
        for (int i = 0; i < n; i += 997) Assert.Equal(stddev * CounterRng.StandardNormal(key, (ulong)i), y[i]);
    }

    [Fact]
    public void GaussianDropoutMultipliesForwardAndBackwardByTheSameNoise()
    {
        const int n = 3 * 7 * 5 * 3;
        const double rate = 0.3;
        float stddev = (float)Math.Sqrt(rate / (1 - rate));
        ulong key = CounterRng.Key(5, 4, 3);
        var x = Num.Uniform(n, 51, -2, 2);
        var dy = Num.Uniform(n, 52);
        using var ws = new KernelWorkspace(6 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n), pdy = ws.Put(dy), pdx = ws.Alloc(n);
        ws.Backend.GaussianDropoutForward(n, stddev, key, px, py);
        ws.Backend.GaussianDropoutBackward(n, stddev, key, pdy, pdx);
        var multiplier = Enumerable.Range(0, n).Select(i => 1 + stddev * ReferenceNormal(key, (ulong)i)).ToArray();
        Num.Close(x.Select((v, i) => v * multiplier[i]).ToArray(), ws.Get(py, n), 1e-5, 1e-6, "gaussian dropout forward");
        Num.Close(dy.Select((v, i) => v * multiplier[i]).ToArray(), ws.Get(pdx, n), 1e-5, 1e-6, "gaussian dropout backward");
        ws.Backend.GaussianDropoutBackward(n, stddev, key, pdy, pdy);
        Assert.Equal(ws.Get(pdx, n), ws.Get(pdy, n));

        // The multiplier is N(1, rate / (1 - rate)).
        const int m = 100_000;
        using var big = new KernelWorkspace(2 * m + 64);
        int pb = big.Alloc(m, 1f);
        big.Backend.GaussianDropoutForward(m, stddev, key, pb, pb);
        var noise = big.Get(pb, m);
        double mean = noise.Average(v => (double)v), sd = Math.Sqrt(noise.Average(v => (double)v * v) - mean * mean);
        output.WriteLine($"multiplier mean {mean:F4}, std {sd:F4} (expected 1, {stddev:F4})");
        Assert.InRange(mean, 0.99, 1.01);
        Assert.InRange(sd, stddev * 0.985, stddev * 1.015);
    }

    [Fact]
    public void SpatialDropoutDropsWholeChannelsPerSample()
    {
        const int batch = 3, h = 7, w = 5, c = 3, pixels = h * w, n = batch * pixels * c;
        const float rate = 0.45f;
        ulong key = CounterRng.Key(3, 2, 1);
        var x = Num.Uniform(n, 61, -2, 2);
        for (int i = 0; i < n; i += 17) x[i] = -x[i] - 1e-3f; // negative values too: a dropped one must be +0
        var dy = Num.Uniform(n, 62);
        using var ws = new KernelWorkspace(6 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n), pdy = ws.Put(dy), pdx = ws.Alloc(n);
        ws.Backend.SpatialDropout2DForward(batch, pixels, c, rate, key, px, py);
        ws.Backend.SpatialDropout2DBackward(batch, pixels, c, rate, key, pdy, pdx);
        var y = ws.Get(py, n);
        var dx = ws.Get(pdx, n);
        float scale = 1f / (1f - rate);
        for (int s = 0; s < batch; s++)
            for (int ch = 0; ch < c; ch++)
            {
                // Keras: noise shape (N, 1, 1, C); one uniform per (sample, channel), kept when ≥ rate.
                bool keep = CounterRng.Uniform(key, (ulong)(s * c + ch)) >= rate;
                for (int p = 0; p < pixels; p++)
                {
                    int i = (s * pixels + p) * c + ch;
                    Assert.Equal(keep ? x[i] * scale : 0f, y[i]);
                    Assert.Equal(keep ? dy[i] * scale : 0f, dx[i]);
                    if (!keep) Assert.Equal(0, BitConverter.SingleToInt32Bits(y[i]));
                }
            }

        // Many channels: the vector path, about 1 - rate of the (sample, channel) pairs kept.
        const int b2 = 4, p2 = 9, c2 = 301, n2 = b2 * p2 * c2;
        using var big = new KernelWorkspace(2 * n2 + 64);
        int pb = big.Alloc(n2, 1f);
        big.Backend.SpatialDropout2DForward(b2, p2, c2, rate, key, pb, pb);
        var masked = big.Get(pb, n2);
        int kept = 0;
        for (int s = 0; s < b2; s++)
            for (int ch = 0; ch < c2; ch++)
            {
                float v = masked[s * p2 * c2 + ch];
                kept += v != 0 ? 1 : 0;
                for (int p = 0; p < p2; p++) Assert.Equal(v, masked[(s * p2 + p) * c2 + ch]);
                Assert.Equal(CounterRng.Uniform(key, (ulong)(s * c2 + ch)) >= rate ? scale : 0f, v);
            }
        double fraction = kept / (double)(b2 * c2);
        output.WriteLine($"kept {fraction:P1} of the channels (expected {1 - rate:P0})");
        Assert.InRange(fraction, 1 - rate - 0.06, 1 - rate + 0.06);
    }

    // ---- Generated networks ----------------------------------------------------------------------------------

    /// <summary>
    /// Central differences over the trainable parameters (batch norm's moving statistics change in every training
    /// forward pass and do not enter the training loss), with the tolerances of <see cref="GradientCheckTests"/>:
    /// cosine &gt; 0.999, relative error &lt; 1e-2, every component within 2% of itself plus 0.2% of the largest.
    /// </summary>
    private void CheckTrainable(Model model, int trainable, Tensor x, Tensor y, float h = 1e-3f)
    {
        var w = model.GetWeights();
        var (loss, analytic) = model.ComputeGradients(x, y);
        Assert.True(float.IsFinite(loss));
        var numeric = new double[trainable];
        var probe = (float[])w.Clone();
        for (int i = 0; i < trainable; i++)
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
        double dot = 0, na = 0, nn = 0, diff = 0, scale = numeric.Max(Math.Abs), worst = 0;
        for (int i = 0; i < trainable; i++)
        {
            dot += analytic[i] * numeric[i];
            na += (double)analytic[i] * analytic[i];
            nn += numeric[i] * numeric[i];
            diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
            double e = Math.Abs(analytic[i] - numeric[i]) / (2e-2 * Math.Abs(numeric[i]) + 2e-3 * scale);
            if (e > 1) output.WriteLine($"parameter {i}: analytic {analytic[i]:R}, central difference {numeric[i]:R}");
            worst = Math.Max(worst, e);
        }
        double cosine = dot / Math.Sqrt(na * nn), relative = Math.Sqrt(diff / nn);
        string summary = $"{model.Name}: {trainable} trainable parameters, loss {loss}, cosine {cosine:F7}, relative error {relative:E2}, worst component {worst:F3} of its tolerance";
        output.WriteLine(summary);
        Assert.True(cosine > 0.999 && relative < 1e-2 && worst < 1, summary);
        Assert.True(analytic.Take(trainable).Max(Math.Abs) > 1e-3, $"{model.Name}: gradient is nearly zero");
        for (int i = trainable; i < analytic.Length; i++) Assert.Equal(0f, analytic[i]);
    }

    private static Tensor Inputs(int n, int seed, params int[] sample)
    {
        int size = sample.Aggregate(1, (a, d) => a * d);
        return new Tensor(Num.Uniform(n * size, seed), [n, .. sample]);
    }

    /// <summary>
    /// Keras's thresholded ReLU jumps by the threshold at x = threshold (x·[x &gt; t]), and ELU(1.3) and the ceiling have
    /// kinks: the seed keeps every pre-activation of this batch more than h away from them (other seeds put one inside
    /// and fail on that parameter alone, by design of the check).
    /// </summary>
    [Fact]
    public void EluAndReluLayersCentralDifferences()
    {
        using var m = new GradReluEluNet { Seed = 26 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        CheckTrainable(m, GradReluEluNet.TrainableParameterCount, Inputs(6, 26, 5, 3), new Tensor(Num.Uniform(6 * 3, 23), 6, 3));
    }

    [Fact]
    public void NoiseLayersAndFusedBatchNormCentralDifferences()
    {
        using var m = new GradNoiseNet { Seed = 31 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var labels = new float[5 * 3];
        for (int i = 0; i < 5; i++) labels[i * 3 + i % 3] = 1;
        CheckTrainable(m, GradNoiseNet.TrainableParameterCount, Inputs(5, 32, 6, 5, 3), new Tensor(labels, 5, 3));
        // The noise is fixed within a step (the gradient is repeatable) and changes with the step.
        var x = Inputs(5, 32, 6, 5, 3);
        var y = new Tensor(labels, 5, 3);
        var first = m.ComputeGradients(x, y);
        Assert.Equal(first.Gradients, m.ComputeGradients(x, y).Gradients);
        m.TrainOnBatch(x, y);
        Assert.NotEqual(m.ComputeGradients(x, y).Loss, m.Evaluate(x, y).Loss, 6);
    }

    [Fact]
    public void NoiseLayersAreTheIdentityInInference()
    {
        using var m = new NoiseInferenceNet { Seed = 5 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Inputs(3, 71, 4, 3, 2);
        var w = m.GetWeights(); // kernel (24, 3), then bias (3)
        var expected = new double[3 * 3];
        for (int s = 0; s < 3; s++)
            for (int u = 0; u < 3; u++)
            {
                double acc = w[24 * 3 + u];
                for (int k = 0; k < 24; k++) acc += (double)x.Data[s * 24 + k] * w[k * 3 + u];
                expected[s * 3 + u] = acc;
            }
        Num.Close(expected, m.Predict(x).Data, 1e-5, 1e-5, "predict");
        // In training the noise is there: the training loss differs from the evaluated one.
        var y = new Tensor(new float[9], 3, 3);
        Assert.NotEqual(m.ComputeGradients(x, y).Loss, (float)m.Evaluate(x, y).Loss);
    }

    [Fact]
    public void SampleStyleNoisyCnnHasKerasParameterCountsAndLearns()
    {
        // Keras 2: conv2d 3·3·1·8 + 8 = 80; batch_normalization 4·8 = 32 (16 non-trainable); conv2d_1 3·3·8·8 + 8 = 584;
        // dense 8·3 + 3 = 27; the ReLU, ELU and noise layers have none.
        using var model = new NoisyCnn { Seed = 42 };
        string summary = model.Summary();
        output.WriteLine(summary);
        Assert.Contains("re_lu (ReLU)                 (None, 8, 8, 8)           0", summary);
        Assert.Contains("spatial_dropout2d (SpatialDr (None, 8, 8, 8)           0", summary);
        Assert.Contains("elu (ELU)                    (None, 4, 4, 8)           0", summary);
        Assert.Contains("gaussian_dropout (GaussianDr (None, 4, 4, 8)           0", summary);
        Assert.Contains("Total params: 723", summary);
        Assert.Contains("Non-trainable params: 16", summary);
        Assert.Equal(723, model.CountParams());

        // Three classes of 8x8 images: a bright row, a bright column, or a bright diagonal, at random places, plus noise.
        var (x, y) = Stripes(240, 1);
        var (xTest, yTest) = Stripes(90, 2);
        model.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        var history = model.Fit(x, y, epochs: 8, batchSize: 16, verbose: 0);
        var (loss, accuracy) = model.Evaluate(xTest, yTest);
        output.WriteLine($"loss per epoch: {string.Join(", ", history["loss"].Select(v => v.ToString("F3")))}; test loss {loss:F3}, accuracy {accuracy:P1}");
        Assert.True(history["loss"][^1] < 0.6 * history["loss"][0], "the training loss did not fall");
        Assert.True(accuracy > 0.85, $"test accuracy {accuracy:P1}");
    }

    private static (Tensor X, Tensor Y) Stripes(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 64];
        var y = new float[n];
        for (int s = 0; s < n; s++)
        {
            int label = s % 3, at = rng.Next(8);
            y[s] = label;
            for (int r = 0; r < 8; r++)
                for (int c = 0; c < 8; c++)
                {
                    bool on = label == 0 ? r == at : label == 1 ? c == at : (r + c + at) % 8 == 0;
                    x[s * 64 + r * 8 + c] = (on ? 1f : 0f) + 0.2f * (float)(rng.NextDouble() - 0.5);
                }
        }
        return (new Tensor(x, n, 8, 8, 1), new Tensor(y, n));
    }
}
