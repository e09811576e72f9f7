using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary><see cref="CpuBackend.DenseForward"/> and <see cref="CpuBackend.DenseBackward"/> against a naive double reference.</summary>
public class DenseNumericsTests
{
    private const double ForwardAbs = 1e-5, ForwardRel = 1e-5;
    private const double GradientAbs = 5e-5, GradientRel = 5e-5;

    public static TheoryData<int, int, int, bool, bool, ActivationFunction> Cases()
    {
        ActivationFunction[] withPre = [ActivationFunction.Gelu, ActivationFunction.Tanh, ActivationFunction.Softmax, ActivationFunction.Swish, ActivationFunction.Linear, ActivationFunction.Softplus];
        ActivationFunction[] withoutPre = [ActivationFunction.Relu, ActivationFunction.Linear, ActivationFunction.Sigmoid, ActivationFunction.Elu, ActivationFunction.Softsign, ActivationFunction.Softmax];
        var data = new TheoryData<int, int, int, bool, bool, ActivationFunction>();
        int k = 0;
        foreach (int rows in new[] { 3, 5, 17 })
            foreach (int inputs in new[] { 7, 13 })
                foreach (int units in new[] { 5, 11 })
                    foreach (bool bias in new[] { true, false })
                        foreach (bool pre in new[] { true, false })
                        {
                            var list = pre ? withPre : withoutPre;
                            data.Add(rows, inputs, units, bias, pre, list[k++ % list.Length]);
                        }
        return data;
    }

    private static double[] Reference(int rows, int inputs, int units, float[] x, float[] kernel, float[]? bias)
    {
        var z = new double[rows * units];
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < units; u++)
            {
                double s = bias is null ? 0 : bias[u];
                for (int i = 0; i < inputs; i++) s += (double)x[r * inputs + i] * kernel[i * units + u];
                z[r * units + u] = s;
            }
        return z;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchReference(int rows, int inputs, int units, bool useBias, bool storePre, ActivationFunction f)
    {
        int seed = rows * 1000 + inputs * 10 + units;
        var x = Num.Uniform(rows * inputs, seed);
        var kernel = Num.Uniform(inputs * units, seed + 1, -0.7, 0.7);
        var bias = useBias ? Num.Uniform(units, seed + 2) : null;
        var dy = Num.Uniform(rows * units, seed + 3);

        // Reference forward, then backward: dz = J_f(z)ᵀ·dy, dK = xᵀ·dz, db = Σ_rows dz, dx = dz·Kᵀ.
        var z = Reference(rows, inputs, units, x, kernel, bias);
        var zf = Array.ConvertAll(z, v => (float)v);
        var y = RefActivation.Forward(f, 0, zf, units);
        var dz = RefActivation.Backward(f, 0, zf, Array.ConvertAll(dy, v => (double)v), units);
        var dK = new double[inputs * units];
        var db = new double[units];
        var dx = new double[rows * inputs];
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < units; u++)
            {
                double d = dz[r * units + u];
                db[u] += d;
                for (int i = 0; i < inputs; i++)
                {
                    dK[i * units + u] += x[r * inputs + i] * d;
                    dx[r * inputs + i] += d * kernel[i * units + u];
                }
            }

        using var ws = new KernelWorkspace(16 * (rows * (inputs + units) + inputs * units) + 256);
        var b = ws.Backend;
        int px = ws.Put(x), pk = ws.Put(kernel), pb = bias is null ? -1 : ws.Put(bias);
        int pz = storePre ? ws.Alloc(rows * units) : -1, py = ws.Alloc(rows * units);
        b.DenseForward(rows, inputs, units, new Epilogue(f, 0f, pz), px, pk, pb, py);
        Num.Close(y, ws.Get(py, rows * units), ForwardAbs, ForwardRel, $"y ({f})");
        if (storePre) Num.Close(z, ws.Get(pz, rows * units), ForwardAbs, ForwardRel, "pre-activation");

        int pdy = ws.Put(dy), pdx = ws.Alloc(rows * inputs), pdK = ws.Alloc(inputs * units), pdb = bias is null ? -1 : ws.Alloc(units);
        b.DenseBackward(rows, inputs, units, new Epilogue(f, 0f, pz), false, px, pk, py, pdy, pdx, pdK, pdb);
        Num.Close(dK, ws.Get(pdK, inputs * units), GradientAbs, GradientRel, "dKernel");
        if (bias is not null) Num.Close(db, ws.Get(pdb, units), GradientAbs, GradientRel, "dBias");
        Num.Close(dx, ws.Get(pdx, rows * inputs), GradientAbs, GradientRel, "dx");
        Assert.Equal(x, ws.Get(px, rows * inputs));
        Assert.Equal(kernel, ws.Get(pk, inputs * units));

        // The first layer skips its input gradient (dx = -1); the parameter gradients are the same.
        int pdy2 = ws.Put(dy), pdK2 = ws.Alloc(inputs * units), pdb2 = bias is null ? -1 : ws.Alloc(units);
        b.DenseBackward(rows, inputs, units, new Epilogue(f, 0f, pz), false, px, pk, py, pdy2, -1, pdK2, pdb2);
        Num.Close(dK, ws.Get(pdK2, inputs * units), GradientAbs, GradientRel, "dKernel without dx");
        if (bias is not null) Num.Close(db, ws.Get(pdb2, units), GradientAbs, GradientRel, "dBias without dx");

        // gradientIsPreActivation: dy already is dz (the loss fused the output activation).
        int pdz = ws.Put(Array.ConvertAll(dz, v => (float)v)), pdx3 = ws.Alloc(rows * inputs), pdK3 = ws.Alloc(inputs * units);
        int pdb3 = bias is null ? -1 : ws.Alloc(units);
        b.DenseBackward(rows, inputs, units, new Epilogue(f, 0f, pz), true, px, pk, py, pdz, pdx3, pdK3, pdb3);
        Num.Close(dK, ws.Get(pdK3, inputs * units), GradientAbs, GradientRel, "dKernel from dz");
        if (bias is not null) Num.Close(db, ws.Get(pdb3, units), GradientAbs, GradientRel, "dBias from dz");
        Num.Close(dx, ws.Get(pdx3, rows * inputs), GradientAbs, GradientRel, "dx from dz");

        // accumulateDx: another reader of x wrote its gradient into dx already; this one is added to it.
        var before = Num.Uniform(rows * inputs, 77);
        int pdx4 = ws.Put(before), pdK4 = ws.Alloc(inputs * units);
        b.DenseBackward(rows, inputs, units, new Epilogue(f, 0f, pz), true, px, pk, py, pdz, pdx4, pdK4, -1, accumulateDx: true);
        Num.Close(dx.Select((v, i) => v + before[i]).ToArray(), ws.Get(pdx4, rows * inputs), GradientAbs, GradientRel, "dx added");
    }

    [Fact]
    public void ForwardOverwritesStaleOutput()
    {
        // beta = 0 semantics: NaN garbage already in y and in the pre-activation must not leak into the result.
        const int rows = 5, inputs = 7, units = 11;
        var x = Num.Uniform(rows * inputs, 1);
        var kernel = Num.Uniform(inputs * units, 2);
        var bias = Num.Uniform(units, 3);
        using var ws = new KernelWorkspace(4096);
        int px = ws.Put(x), pk = ws.Put(kernel), pb = ws.Put(bias), pz = ws.Alloc(rows * units), py = ws.Alloc(rows * units);
        ws.Backend.DenseForward(rows, inputs, units, new Epilogue(ActivationFunction.Tanh, 0f, pz), px, pk, pb, py);
        Assert.All(ws.Get(py, rows * units), v => Assert.True(float.IsFinite(v)));
        Assert.All(ws.Get(pz, rows * units), v => Assert.True(float.IsFinite(v)));
    }
}
