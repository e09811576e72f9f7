using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// A <see cref="CpuBackend"/> workspace for kernel tests: regions are packed one after another with an odd gap,
/// so no kernel can rely on 64-byte alignment of its arguments.
/// </summary>
internal sealed class KernelWorkspace : IDisposable
{
    private int _top = 3;

    public KernelWorkspace(int floats)
    {
        Backend.EnsureCapacity(floats, 0);
    }

    public CpuBackend Backend { get; } = new();

    /// <summary>Copies <paramref name="data"/> into a new region and returns its offset.</summary>
    public int Put(float[] data)
    {
        int offset = Reserve(data.Length);
        Backend.Upload(data, offset);
        return offset;
    }

    /// <summary>A new region of <paramref name="count"/> floats filled with <paramref name="value"/> (NaN by default, to catch reads of unwritten memory).</summary>
    public int Alloc(int count, float value = float.NaN)
    {
        int offset = Reserve(count);
        Backend.Fill(offset, count, value);
        return offset;
    }

    public float[] Get(int offset, int count)
    {
        var r = new float[count];
        Backend.Download(offset, r);
        return r;
    }

    private int Reserve(int count)
    {
        int offset = _top;
        _top += count + 5;
        if (_top > Backend.Capacity) throw new InvalidOperationException("Test workspace too small.");
        return offset;
    }

    public void Dispose() => Backend.Dispose();
}

/// <summary>Checks shared by the backends' workspace tests.</summary>
internal static class Workspaces
{
    /// <summary>
    /// Grows a fresh workspace from 10 floats (1..10) to 100 keeping the first 6: asserts the capacity, that those 6
    /// stay and that the rest reads 0, and returns the 100 floats read back.
    /// </summary>
    public static float[] GrowFrom10To100KeepingSix(IBackend b)
    {
        b.EnsureCapacity(10, 0);
        b.Upload([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f], 0);
        b.EnsureCapacity(100, 6);
        Assert.Equal(100, b.Capacity);
        var r = new float[100];
        b.Download(0, r);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], r[..6]);
        Assert.All(r[6..], v => Assert.Equal(0f, v));
        return r;
    }
}

/// <summary>Deterministic test data and comparisons against double-precision references.</summary>
internal static class Num
{
    public static float[] Uniform(int count, int seed, double lo = -1, double hi = 1)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return x;
    }

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise, naming the first element that fails.</summary>
    public static void Close(double[] expected, float[] actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double err = Math.Abs(a - e);
            if (!(err <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}: element {i} is {a:R}, expected {e:R} (error {err:E3}, tolerance {atol + rtol * Math.Abs(e):E3}).");
        }
    }

    public static void Close(double expected, double actual, double atol, double rtol, string what)
    {
        double err = Math.Abs(actual - expected);
        if (!(err <= atol + rtol * Math.Abs(expected)))
            Assert.Fail($"{what}: {actual:R}, expected {expected:R} (error {err:E3}).");
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>
    /// erf in double to ~1e-15: erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), a series of positive terms
    /// (no cancellation); |x| ≥ 6 gives ±1 to double precision.
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax >= 6) return Math.Sign(x);
        double term = ax, sum = ax;
        for (int n = 0; n < 500 && term > 1e-18 * sum; n++)
        {
            term *= 2 * ax * ax / (2 * n + 3);
            sum += term;
        }
        double r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-ax * ax) * sum;
        return x < 0 ? -r : r;
    }
}

/// <summary>Keras 2 activations and their derivatives, in double precision, straight from the formulas.</summary>
internal static class RefActivation
{
    public const double SeluAlpha = 1.67326324, SeluScale = 1.05070098;

    public static double F(ActivationFunction f, double alpha, double x) => f switch
    {
        ActivationFunction.Linear => x,
        ActivationFunction.Relu => Math.Max(x, 0),
        ActivationFunction.Sigmoid => Num.Sigmoid(x),
        ActivationFunction.Tanh => Math.Tanh(x),
        ActivationFunction.Elu => x > 0 ? x : Math.Exp(x) - 1,
        ActivationFunction.Selu => SeluScale * (x > 0 ? x : SeluAlpha * (Math.Exp(x) - 1)),
        ActivationFunction.Softplus => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x))),
        ActivationFunction.Softsign => x / (Math.Abs(x) + 1),
        ActivationFunction.HardSigmoid => Math.Clamp(0.2 * x + 0.5, 0, 1),
        ActivationFunction.Swish => x * Num.Sigmoid(x),
        ActivationFunction.Gelu => 0.5 * x * (1 + Num.Erf(x / Math.Sqrt(2))),
        ActivationFunction.Exponential => Math.Exp(x),
        ActivationFunction.LeakyRelu => x > 0 ? x : alpha * x,
        ActivationFunction.EluAlpha => x > 0 ? x : alpha * (Math.Exp(x) - 1),
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    public static double D(ActivationFunction f, double alpha, double x) => f switch
    {
        ActivationFunction.Linear => 1,
        ActivationFunction.Relu => x > 0 ? 1 : 0,
        ActivationFunction.Sigmoid => Num.Sigmoid(x) * (1 - Num.Sigmoid(x)),
        ActivationFunction.Tanh => 1 - Math.Tanh(x) * Math.Tanh(x),
        ActivationFunction.Elu => x > 0 ? 1 : Math.Exp(x),
        ActivationFunction.Selu => SeluScale * (x > 0 ? 1 : SeluAlpha * Math.Exp(x)),
        ActivationFunction.Softplus => Num.Sigmoid(x),
        ActivationFunction.Softsign => 1 / ((1 + Math.Abs(x)) * (1 + Math.Abs(x))),
        ActivationFunction.HardSigmoid => x > -2.5 && x < 2.5 ? 0.2 : 0,
        ActivationFunction.Swish => Num.Sigmoid(x) + x * Num.Sigmoid(x) * (1 - Num.Sigmoid(x)),
        ActivationFunction.Gelu => 0.5 * (1 + Num.Erf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI),
        ActivationFunction.Exponential => Math.Exp(x),
        ActivationFunction.LeakyRelu => x > 0 ? 1 : alpha,
        ActivationFunction.EluAlpha => x > 0 ? 1 : alpha * Math.Exp(x),
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    /// <summary>y = f(x) row by row (softmax over each row of <paramref name="cols"/>).</summary>
    public static double[] Forward(ActivationFunction f, double alpha, float[] x, int cols)
    {
        var y = new double[x.Length];
        if (f == ActivationFunction.Softmax)
        {
            for (int r = 0; r < x.Length / cols; r++)
            {
                double max = double.NegativeInfinity;
                for (int c = 0; c < cols; c++) max = Math.Max(max, x[r * cols + c]);
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += y[r * cols + c] = Math.Exp(x[r * cols + c] - max);
                for (int c = 0; c < cols; c++) y[r * cols + c] /= sum;
            }
            return y;
        }
        for (int i = 0; i < x.Length; i++) y[i] = F(f, alpha, x[i]);
        return y;
    }

    /// <summary>dx = J_f(x)ᵀ·dy (element-wise, or the softmax Jacobian per row).</summary>
    public static double[] Backward(ActivationFunction f, double alpha, float[] x, double[] dy, int cols)
    {
        var dx = new double[x.Length];
        if (f == ActivationFunction.Softmax)
        {
            var y = Forward(f, alpha, x, cols);
            for (int r = 0; r < x.Length / cols; r++)
            {
                double dot = 0;
                for (int c = 0; c < cols; c++) dot += dy[r * cols + c] * y[r * cols + c];
                for (int c = 0; c < cols; c++) dx[r * cols + c] = y[r * cols + c] * (dy[r * cols + c] - dot);
            }
            return dx;
        }
        for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * D(f, alpha, x[i]);
        return dx;
    }

    /// <summary>Whether the kernels need the stored input x (not only y) to differentiate f.</summary>
    public static bool NeedsInput(ActivationFunction f) =>
        f is ActivationFunction.Gelu or ActivationFunction.Swish or ActivationFunction.Softplus;

    /// <summary>Moves values away from the kinks of f so that a derivative is unambiguous.</summary>
    public static float AwayFromKinks(ActivationFunction f, float x)
    {
        float[] kinks = f switch
        {
            ActivationFunction.Relu or ActivationFunction.LeakyRelu or ActivationFunction.Elu or ActivationFunction.Selu
                or ActivationFunction.EluAlpha => [0f],
            ActivationFunction.HardSigmoid => [-2.5f, 2.5f],
            _ => [],
        };
        foreach (float k in kinks)
            if (Math.Abs(x - k) < 1e-3f) x = k + (x >= k ? 1e-3f : -1e-3f);
        return x;
    }
}
