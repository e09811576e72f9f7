using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// Every activation, forward and backward, through <see cref="CpuBackend"/> against the Keras 2 formulas in
/// double precision (<see cref="RefActivation"/>), on odd sizes so that vector bodies and scalar tails both run.
/// </summary>
public class ActivationTests
{
    private const double ForwardAbs = 3e-6, ForwardRel = 3e-6;
    private const double GradientAbs = 2e-5, GradientRel = 2e-5;

    public static TheoryData<ActivationFunction, float, int, int> Cases()
    {
        var data = new TheoryData<ActivationFunction, float, int, int>();
        foreach (var f in Enum.GetValues<ActivationFunction>())
        {
            float alpha = f == ActivationFunction.LeakyRelu ? 0.3f : f == ActivationFunction.EluAlpha ? 1.7f : 0f;
            data.Add(f, alpha, 7, 13);  // 91 elements: one 64-float vector body run plus a tail
            data.Add(f, alpha, 1, 5);   // tail only
            data.Add(f, alpha, 3, 37);  // rows longer than one vector
        }
        data.Add(ActivationFunction.LeakyRelu, 0.01f, 5, 11);
        data.Add(ActivationFunction.LeakyRelu, 1.7f, 5, 11);
        data.Add(ActivationFunction.EluAlpha, 0.4f, 5, 11);
        data.Add(ActivationFunction.EluAlpha, 1f, 5, 11);
        return data;
    }

    private static float[] Inputs(ActivationFunction f, int count, int seed)
    {
        var x = Num.Uniform(count, seed, -4, 4);
        // A few values in the far tails (softplus's branch at 20, saturated sigmoid and tanh), except for e^x.
        if (f != ActivationFunction.Exponential)
        {
            float[] tails = [-30f, 25f, -9f, 12f, 21f];
            for (int i = 0; i < tails.Length && 2 * i < count; i++) x[2 * i] = tails[i];
        }
        for (int i = 0; i < count; i++) x[i] = RefActivation.AwayFromKinks(f, x[i]);
        return x;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesKerasFormula(ActivationFunction f, float alpha, int rows, int cols)
    {
        int n = rows * cols;
        var x = Inputs(f, n, 11 * rows + cols);
        var expected = RefActivation.Forward(f, alpha, x, cols);
        using var ws = new KernelWorkspace(4 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n);
        ws.Backend.ActivationForward(f, alpha, rows, cols, px, py);
        Num.Close(expected, ws.Get(py, n), ForwardAbs, ForwardRel, $"{f} forward");
        Assert.Equal(x, ws.Get(px, n)); // the input is untouched

        // In place (x == y), as the interface allows.
        ws.Backend.ActivationForward(f, alpha, rows, cols, px, px);
        Num.Close(expected, ws.Get(px, n), ForwardAbs, ForwardRel, $"{f} forward in place");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesAnalyticDerivative(ActivationFunction f, float alpha, int rows, int cols)
    {
        int n = rows * cols;
        var x = Inputs(f, n, 7 * rows + cols);
        var dy = Num.Uniform(n, 99 + n);
        var dyD = Array.ConvertAll(dy, v => (double)v);
        var expected = RefActivation.Backward(f, alpha, x, dyD, cols);
        using var ws = new KernelWorkspace(6 * n + 64);
        int px = ws.Put(x), py = ws.Alloc(n), pdy = ws.Put(dy), pdx = ws.Alloc(n);
        ws.Backend.ActivationForward(f, alpha, rows, cols, px, py);

        ws.Backend.ActivationBackward(f, alpha, rows, cols, px, py, pdy, pdx);
        Num.Close(expected, ws.Get(pdx, n), GradientAbs, GradientRel, $"{f} backward");
        Assert.Equal(dy, ws.Get(pdy, n));

        // In place (dx == dy), as the generated code calls it.
        ws.Backend.ActivationBackward(f, alpha, rows, cols, px, py, pdy, pdy);
        Num.Close(expected, ws.Get(pdy, n), GradientAbs, GradientRel, $"{f} backward in place");

        // Functions differentiable from y alone must work without the input (the generator passes x = -1).
        if (!RefActivation.NeedsInput(f))
        {
            int pdy2 = ws.Put(dy), pdx2 = ws.Alloc(n);
            ws.Backend.ActivationBackward(f, alpha, rows, cols, -1, py, pdy2, pdx2);
            Num.Close(expected, ws.Get(pdx2, n), GradientAbs, GradientRel, $"{f} backward from y only");
        }
    }

    [Fact]
    public void GeluMatchesKerasDocstring()
    {
        float[] x = [-3f, -1f, 0f, 1f, 3f];
        double[] keras = [-0.00404951, -0.15865529, 0, 0.8413447, 2.9959507];
        using var ws = new KernelWorkspace(64);
        int px = ws.Put(x), py = ws.Alloc(5);
        ws.Backend.ActivationForward(ActivationFunction.Gelu, 0, 1, 5, px, py);
        Num.Close(keras, ws.Get(py, 5), 1e-6, 1e-6, "gelu docstring");
        // The double reference agrees with the docstring up to TF's float32 rounding (gelu(-3) is -0.0040496943 exactly).
        Num.Close(keras, Array.ConvertAll(x, v => (float)RefActivation.F(ActivationFunction.Gelu, 0, v)), 3e-7, 1e-7, "reference gelu");
    }

    [Fact]
    public void HardSigmoidIsKeras2Definition()
    {
        // Keras 2: clip(0.2x + 0.5, 0, 1), so 0 at -2.5 and 1 at 2.5 (not PyTorch's relu6(x + 3) / 6).
        float[] x = [-3f, -2.5f, -1f, 0f, 1f, 2.5f, 3f];
        double[] expected = [0, 0, 0.3, 0.5, 0.7, 1, 1];
        using var ws = new KernelWorkspace(64);
        int px = ws.Put(x), py = ws.Alloc(x.Length);
        ws.Backend.ActivationForward(ActivationFunction.HardSigmoid, 0, 1, x.Length, px, py);
        Num.Close(expected, ws.Get(py, x.Length), 1e-7, 1e-7, "hard_sigmoid");
    }

    [Fact]
    public void SeluUsesKerasConstants()
    {
        using var ws = new KernelWorkspace(64);
        int px = ws.Put([-1f, 1f]), py = ws.Alloc(2);
        ws.Backend.ActivationForward(ActivationFunction.Selu, 0, 1, 2, px, py);
        Num.Close([1.05070098 * 1.67326324 * (Math.Exp(-1) - 1), 1.05070098], ws.Get(py, 2), 1e-6, 1e-6, "selu");
    }

    [Fact]
    public void SoftmaxIsStableForLargeLogits()
    {
        // Keras computes exp(x - max) / Σ; logits far beyond e^88 must not overflow to NaN.
        float[] x = [1000f, 999f, -1000f, 0f, 500f, 200f, 201f, 199f, -50f, -60f];
        var expected = RefActivation.Forward(ActivationFunction.Softmax, 0, x, 5);
        using var ws = new KernelWorkspace(64);
        int px = ws.Put(x), py = ws.Alloc(x.Length);
        ws.Backend.ActivationForward(ActivationFunction.Softmax, 0, 2, 5, px, py);
        Num.Close(expected, ws.Get(py, x.Length), 1e-6, 1e-6, "softmax of large logits");
    }

    [Fact]
    public void SoftmaxRowsSumToOne()
    {
        const int rows = 9, cols = 23;
        var x = Num.Uniform(rows * cols, 5, -10, 10);
        using var ws = new KernelWorkspace(4 * rows * cols);
        int px = ws.Put(x);
        ws.Backend.ActivationForward(ActivationFunction.Softmax, 0, rows, cols, px, px);
        var y = ws.Get(px, rows * cols);
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += y[r * cols + c];
            Assert.InRange(sum, 1 - 1e-5, 1 + 1e-5);
        }
    }

    [Fact]
    public void ScalarActivationsAgreeWithBackendKernels()
    {
        // Activations.Forward/Derivative are the scalar forms other backends share; they must agree with the vector kernels.
        const int n = 53;
        foreach (var f in Enum.GetValues<ActivationFunction>())
        {
            if (f == ActivationFunction.Softmax) continue;
            float alpha = f == ActivationFunction.LeakyRelu ? 0.2f : f == ActivationFunction.EluAlpha ? 0.6f : 0f;
            var x = Inputs(f, n, (int)f + 1);
            using var ws = new KernelWorkspace(4 * n + 64);
            int px = ws.Put(x), py = ws.Alloc(n);
            ws.Backend.ActivationForward(f, alpha, 1, n, px, py);
            var y = ws.Get(py, n);
            var scalar = new double[n];
            var derivative = new double[n];
            for (int i = 0; i < n; i++)
            {
                scalar[i] = Activations.Forward(f, alpha, x[i]);
                derivative[i] = Activations.Derivative(f, alpha, x[i], y[i]);
            }
            Num.Close(scalar, y, ForwardAbs, ForwardRel, $"{f} scalar vs kernel");
            Num.Close(Array.ConvertAll(x, v => RefActivation.D(f, alpha, v)), Array.ConvertAll(derivative, v => (float)v),
                GradientAbs, GradientRel, $"{f} scalar derivative");
        }
    }
}
