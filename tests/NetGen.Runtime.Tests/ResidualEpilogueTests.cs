using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// A residual added in a convolution's epilogue (<see cref="Epilogue.Residual"/>, the inference form of a residual
/// block's Add + activation) gives the same bits as the convolution followed by the merge it replaces, on every CPU
/// path (direct for few input channels, Winograd, im2col gathered inside the GEMM, written im2col, 1x1 read in place,
/// sample-parallel ranges, a one-pixel output), for the fused activations and one that runs as its own pass; so does
/// Dense's (inside the GEMM, packed or not, one row or many); on ILGPU's CPU accelerator too. Bad arguments throw.
/// </summary>
public sealed class ResidualEpilogueTests(IlgpuCpuFixture fixture) : IClassFixture<IlgpuCpuFixture>
{
    public static TheoryData<string, int, int, int, int, int, int, int, bool> Paths => new()
    {
        // path, h, w, inC, outC, kernel, stride, batch, same
        { "direct (few input channels)", 9, 7, 3, 16, 3, 1, 2, true },
        { "Winograd", 19, 17, 16, 32, 3, 1, 3, true },
        { "im2col gathered in the GEMM", 14, 14, 32, 48, 3, 2, 1, true },
        { "im2col written (input channels not a multiple of 16)", 20, 20, 17, 19, 3, 2, 1, true },
        { "im2col written (more rows than the gather takes)", 40, 40, 16, 32, 3, 2, 1, true },
        { "1x1 read in place", 12, 12, 24, 40, 1, 1, 2, true },
        { "sample-parallel ranges", 24, 24, 32, 64, 3, 2, 4, true },
        { "one output pixel", 3, 3, 16, 32, 3, 1, 1, false },
    };

    private static readonly (ActivationFunction F, float Alpha)[] Activations =
        [(ActivationFunction.Linear, 0f), (ActivationFunction.Relu, 0f), (ActivationFunction.LeakyRelu, 0.2f), (ActivationFunction.Elu, 0f)];

    /// <summary>Runs the convolution with the residual fused in and as convolution then Add; returns both outputs.</summary>
    private static (float[] Fused, float[] Composed) Both(IBackend backend, Conv2DGeometry g, int batch, ActivationFunction f, float alpha,
        bool withBias, int seed)
    {
        int outCount = batch * g.OutSize;
        var x = Num.Uniform(batch * g.InSize, seed);
        var k = Num.Uniform(g.Patch * g.OutC, seed + 1, -0.5, 0.5);
        var b = Num.Uniform(g.OutC, seed + 2);
        var r = Num.Uniform(outCount, seed + 3, -2, 2);
        int top = 3;
        int Put(float[] data)
        {
            int at = top;
            top += data.Length + 5;
            backend.Upload(data, at);
            return at;
        }
        int Alloc(int count)
        {
            int at = top;
            top += count + 5;
            backend.Fill(at, count, float.NaN);
            return at;
        }
        backend.EnsureCapacity(1 << 20, 0);
        int px = Put(x), pk = Put(k), pb = withBias ? Put(b) : -1, pr = Put(r);
        int fused = Alloc(outCount), conv = Alloc(outCount), composed = Alloc(outCount);
        backend.Conv2DForward(g, batch, new Epilogue(f, alpha, residual: pr), px, pk, pb, fused);
        backend.Conv2DForward(g, batch, Epilogue.None, px, pk, pb, conv);
        backend.MergeForward(MergeOperation.Add, outCount, new Epilogue(f, alpha), composed, conv, pr);
        var a = new float[outCount];
        var c = new float[outCount];
        backend.Download(fused, a);
        backend.Download(composed, c);
        Assert.Equal(r, Download(backend, pr, outCount)); // the residual is only read
        return (a, c);
    }

    private static float[] Download(IBackend backend, int at, int count)
    {
        var data = new float[count];
        backend.Download(at, data);
        return data;
    }

    private static Conv2DGeometry Geometry(int h, int w, int inC, int outC, int kernel, int stride, bool same) =>
        KerasGeometry.Conv(h, w, inC, outC, kernel, kernel, stride, stride, same: same);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Cpu_fused_residual_has_the_bits_of_the_convolution_then_the_add(string path, int h, int w, int inC, int outC, int kernel,
        int stride, int batch, bool same)
    {
        var g = Geometry(h, w, inC, outC, kernel, stride, same);
        foreach (var (f, alpha) in Activations)
        foreach (bool withBias in new[] { true, false })
        {
            using var backend = new CpuBackend();
            var (fused, composed) = Both(backend, g, batch, f, alpha, withBias, 10);
            Assert.DoesNotContain(fused, float.IsNaN);
            for (int i = 0; i < fused.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(fused[i]) == BitConverter.SingleToInt32Bits(composed[i]),
                    $"{path}, {f}, bias {withBias}: output {i} is {fused[i]:R} fused, {composed[i]:R} as convolution then Add");
        }
    }

    [Theory]
    [InlineData(9, 7, 3, 16, 3, 1, 2)]
    [InlineData(14, 14, 32, 48, 3, 2, 1)]
    public void Ilgpu_fused_residual_matches_the_convolution_then_the_add(int h, int w, int inC, int outC, int kernel, int stride, int batch)
    {
        var g = Geometry(h, w, inC, outC, kernel, stride, true);
        foreach (var (f, alpha) in Activations)
        {
            using var backend = new IlgpuBackend(fixture.Accelerator);
            var (fused, composed) = Both(backend, g, batch, f, alpha, withBias: true, 20);
            Assert.DoesNotContain(fused, float.IsNaN);
            for (int i = 0; i < fused.Length; i++)
                Assert.True(Math.Abs(fused[i] - composed[i]) <= 1e-6 + 1e-6 * Math.Abs(composed[i]),
                    $"{f}: output {i} is {fused[i]:R} fused, {composed[i]:R} as convolution then Add");
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(7, true)] // the kernel packed once for inference
    [InlineData(40, true)]
    public void Cpu_dense_with_a_fused_residual_has_the_bits_of_the_dense_then_the_add(int rows, bool inference)
    {
        const int inputs = 37, units = 45;
        var x = Num.Uniform(rows * inputs, 1);
        var k = Num.Uniform(inputs * units, 2, -0.5, 0.5);
        var b = Num.Uniform(units, 3);
        var r = Num.Uniform(rows * units, 4, -2, 2);
        foreach (var (f, alpha) in Activations)
        foreach (bool withBias in new[] { true, false })
        {
            using var backend = new CpuBackend { InferenceWeightsVersion = inference ? 1 : -1 };
            backend.EnsureCapacity(1 << 16, 0);
            int px = 3, pk = px + x.Length + 5, pb = pk + k.Length + 5, pr = pb + b.Length + 5, fused = pr + r.Length + 5;
            int dense = fused + r.Length + 5, composed = dense + r.Length + 5;
            backend.Upload(x, px);
            backend.Upload(k, pk);
            backend.Upload(b, pb);
            backend.Upload(r, pr);
            int bias = withBias ? pb : -1;
            backend.DenseForward(rows, inputs, units, new Epilogue(f, alpha, residual: pr), px, pk, bias, fused);
            backend.DenseForward(rows, inputs, units, Epilogue.None, px, pk, bias, dense);
            backend.MergeForward(MergeOperation.Add, rows * units, new Epilogue(f, alpha), composed, dense, pr);
            var a = Download(backend, fused, rows * units);
            var c = Download(backend, composed, rows * units);
            Assert.DoesNotContain(a, float.IsNaN);
            for (int i = 0; i < a.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(c[i]),
                    $"{rows} rows, {f}, bias {withBias}: output {i} is {a[i]:R} fused, {c[i]:R} as Dense then Add");
        }
    }

    [Fact]
    public void Ilgpu_dense_with_a_fused_residual_matches_the_dense_then_the_add()
    {
        const int rows = 5, inputs = 19, units = 21;
        using var gpu = new IlgpuBackend(fixture.Accelerator);
        IBackend backend = gpu;
        backend.EnsureCapacity(1 << 14, 0);
        backend.Upload(Num.Uniform(rows * inputs, 5), 0);
        backend.Upload(Num.Uniform(inputs * units, 6, -0.5, 0.5), 200);
        backend.Upload(Num.Uniform(units, 7), 800);
        backend.Upload(Num.Uniform(rows * units, 8, -2, 2), 900);
        foreach (var (f, alpha) in Activations)
        {
            backend.DenseForward(rows, inputs, units, new Epilogue(f, alpha, residual: 900), 0, 200, 800, 1100);
            backend.DenseForward(rows, inputs, units, Epilogue.None, 0, 200, 800, 1300);
            backend.MergeForward(MergeOperation.Add, rows * units, new Epilogue(f, alpha), 1500, 1300, 900);
            var a = Download(backend, 1100, rows * units);
            var c = Download(backend, 1500, rows * units);
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - c[i]) <= 1e-6 + 1e-6 * Math.Abs(c[i]), $"{f}: output {i} is {a[i]:R} fused, {c[i]:R} as Dense then Add");
        }
    }

    [Fact]
    public void A_residual_overlapping_the_output_throws()
    {
        var g = Geometry(6, 6, 16, 16, 3, 1, true);
        using var backend = new CpuBackend();
        backend.EnsureCapacity(1 << 16, 0);
        var e = Assert.Throws<ArgumentException>(() =>
            backend.Conv2DForward(g, 1, new Epilogue(ActivationFunction.Relu, residual: 5000 + 100), 0, 2000, -1, 5000));
        Assert.Contains("overlaps the output", e.Message);
    }

    [Fact]
    public void Only_the_forward_passes_of_conv2d_and_dense_take_a_residual()
    {
        using var backend = new CpuBackend();
        backend.EnsureCapacity(1 << 12, 0);
        var withResidual = new Epilogue(ActivationFunction.Relu, residual: 1000);
        var e = Assert.Throws<ArgumentException>(() => backend.DenseBackward(2, 3, 4, withResidual, false, 0, 10, 100, 200, 300, 400, -1));
        Assert.Contains("does not add a residual", e.Message);
        e = Assert.Throws<ArgumentException>(() => backend.DenseForward(2, 3, 4, withResidual, 0, 10, -1, 1002));
        Assert.Contains("overlaps the output", e.Message);
        e = Assert.Throws<ArgumentException>(() => backend.MergeForward(MergeOperation.Add, 4, withResidual, 100, 0, 10));
        Assert.Contains("does not add a residual", e.Message);
        var bn = new BatchNormArguments(4, gamma: 200, beta: 210, movingMean: 220, movingVariance: 230, savedMean: 240, savedInvStd: 250);
        foreach (bool training in new[] { false, true })
        {
            e = Assert.Throws<ArgumentException>(() => backend.BatchNormForward(2, bn, training, withResidual, 0, 100));
            Assert.Contains("does not add a residual", e.Message);
        }
        Assert.Throws<ArgumentException>(() => new Epilogue(ActivationFunction.Relu, preActivation: 10, residual: 1000));
        Assert.Throws<ArgumentException>(() => new Epilogue(ActivationFunction.Linear, dropoutRate: 0.5f, residual: 1000));
        Assert.Throws<ArgumentException>(() => new Epilogue(ActivationFunction.Softmax, residual: 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Epilogue(ActivationFunction.Relu, residual: -2));
    }
}
