using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// Parity of <see cref="IlgpuBackend"/> on ILGPU's CPU accelerator with <see cref="CpuBackend"/> for DepthwiseConv2D and
/// Conv2DTranspose (op by op at small odd sizes, forward and backward) and for generated networks built from the
/// depthwise, separable and transposed layers. Tolerances as <see cref="IlgpuBackendTests"/>: convolutions
/// 1e-5 + 1e-4 relative, element-wise results 1e-6 + 1e-5 relative.
/// </summary>
public sealed class IlgpuConvLayerTests(IlgpuCpuFixture fixture, ITestOutputHelper output) : IClassFixture<IlgpuCpuFixture>
{
    private const double GemmAbs = 1e-5, GemmRel = 1e-4;

    /// <summary>The same workspace on both backends.</summary>
    private sealed class Twin : IDisposable
    {
        private int _top = 3;

        public Twin(IlgpuCpuFixture fixture, int floats = 1 << 17)
        {
            Gpu = new IlgpuBackend(fixture.Accelerator);
            Cpu.EnsureCapacity(floats, 0);
            Gpu.EnsureCapacity(floats, 0);
        }

        public CpuBackend Cpu { get; } = new();

        public IlgpuBackend Gpu { get; }

        public int Put(float[] data)
        {
            int offset = Reserve(data.Length);
            Cpu.Upload(data, offset);
            Gpu.Upload(data, offset);
            return offset;
        }

        public int Alloc(int count)
        {
            int offset = Reserve(count);
            Cpu.Fill(offset, count, float.NaN);
            Gpu.Fill(offset, count, float.NaN);
            return offset;
        }

        public void Run(Action<IBackend> op)
        {
            op(Cpu);
            op(Gpu);
        }

        public void Close(int offset, int count, double abs, double rel, string what)
        {
            var c = new float[count];
            var g = new float[count];
            Cpu.Download(offset, c);
            Gpu.Download(offset, g);
            for (int i = 0; i < count; i++)
            {
                double err = Math.Abs((double)g[i] - c[i]);
                if (!(err <= abs + rel * Math.Abs(c[i])))
                    Assert.Fail($"{what}: element {i} is {g[i]:R} on ILGPU, {c[i]:R} on the CPU backend (error {err:E3}).");
            }
        }

        private int Reserve(int count)
        {
            int offset = _top;
            _top += count + 5;
            if (_top > Cpu.Capacity) throw new InvalidOperationException("Test workspace too small.");
            return offset;
        }

        public void Dispose()
        {
            Cpu.Dispose();
            Gpu.Dispose();
        }
    }

    public static TheoryData<int, int, int, int, int, int, int, bool> DepthwiseCases() => new()
    {
        // inH, inW, C, dm, kernel, stride, dilation, same
        { 7, 5, 3, 1, 3, 1, 1, true },
        { 7, 5, 3, 2, 3, 2, 1, true },
        { 7, 5, 3, 2, 2, 2, 1, false },
        { 7, 6, 2, 1, 3, 1, 2, true },
        { 7, 6, 3, 2, 3, 1, 2, false },
        { 5, 5, 4, 3, 1, 1, 1, false },
    };

    [Theory]
    [MemberData(nameof(DepthwiseCases))]
    public void Ilgpu_DepthwiseMatchesCpu(int inH, int inW, int c, int dm, int k, int stride, int dilation, bool same)
    {
        var g = DepthwiseTransposeReference.Depthwise(inH, inW, c, dm, k, k, stride, dilation, same);
        const int batch = 3;
        int kernelFloats = k * k * g.OutC, outCount = batch * g.OutSize, inCount = batch * g.InSize;
        using var t = new Twin(fixture);
        int x = t.Put(Num.Uniform(inCount, 1)), w = t.Put(Num.Uniform(kernelFloats, 2)), b = t.Put(Num.Uniform(g.OutC, 3));
        int pre = t.Alloc(outCount), y = t.Alloc(outCount);
        t.Run(be => be.DepthwiseConv2DForward(g, batch, new Epilogue(ActivationFunction.Relu, 0f, pre), x, w, b, y));
        t.Close(pre, outCount, GemmAbs, GemmRel, "depthwise pre-activation");
        t.Close(y, outCount, GemmAbs, GemmRel, "depthwise y");

        int dy = t.Put(Num.Uniform(outCount, 4)), dx = t.Alloc(inCount), dk = t.Alloc(kernelFloats), db = t.Alloc(g.OutC);
        t.Run(be => be.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Relu, 0f, pre), false, x, w, y, dy, dx, dk, db));
        t.Close(dy, outCount, 1e-6, 1e-5, "depthwise dz");
        t.Close(dx, inCount, GemmAbs, GemmRel, "depthwise dx");
        t.Close(dk, kernelFloats, GemmAbs, GemmRel, "depthwise dKernel");
        t.Close(db, g.OutC, GemmAbs, GemmRel, "depthwise dBias");

        // Tanh without bias and the pre-activation not stored; only the kernel gradient.
        int y2 = t.Alloc(outCount), dk2 = t.Alloc(kernelFloats);
        t.Run(be => be.DepthwiseConv2DForward(g, batch, new Epilogue(ActivationFunction.Tanh), x, w, -1, y2));
        t.Close(y2, outCount, GemmAbs, GemmRel, "depthwise tanh y");
        t.Run(be => be.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Tanh), true, x, w, y2, dy, -1, dk2, -1));
        t.Close(dk2, kernelFloats, GemmAbs, GemmRel, "depthwise dKernel (dz given)");
    }

    public static TheoryData<int, int, int, int, int, int, int, bool> TransposeCases() => new()
    {
        // inH, inW, C, filters, kernelH, kernelW, stride, same
        { 7, 5, 3, 4, 3, 3, 1, true },
        { 7, 5, 3, 4, 3, 3, 2, true },
        { 5, 4, 3, 5, 3, 2, 2, false },
        { 5, 4, 2, 3, 2, 2, 3, false },
        { 4, 5, 3, 4, 4, 4, 2, true },
        { 5, 5, 4, 6, 1, 1, 1, false },
    };

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void Ilgpu_TransposeMatchesCpu(int inH, int inW, int c, int filters, int kh, int kw, int stride, bool same)
    {
        var g = DepthwiseTransposeReference.Transpose(inH, inW, c, filters, kh, kw, stride, same);
        const int batch = 3;
        int kernelFloats = g.Patch * g.OutC, inCount = batch * g.OutSize, outCount = batch * g.InSize;
        using var t = new Twin(fixture);
        int x = t.Put(Num.Uniform(inCount, 5)), w = t.Put(Num.Uniform(kernelFloats, 6)), b = t.Put(Num.Uniform(filters, 7));
        int pre = t.Alloc(outCount), y = t.Alloc(outCount);
        t.Run(be => be.Conv2DTransposeForward(g, batch, new Epilogue(ActivationFunction.Sigmoid, 0f, pre), x, w, b, y));
        t.Close(pre, outCount, GemmAbs, GemmRel, "transpose pre-activation");
        t.Close(y, outCount, GemmAbs, GemmRel, "transpose y");

        int dy = t.Put(Num.Uniform(outCount, 8)), dx = t.Alloc(inCount), dk = t.Alloc(kernelFloats), db = t.Alloc(filters);
        t.Run(be => be.Conv2DTransposeBackward(g, batch, new Epilogue(ActivationFunction.Sigmoid, 0f, pre), false, x, w, y, dy, dx, dk, db));
        t.Close(dy, outCount, 1e-6, 1e-5, "transpose dz");
        t.Close(dx, inCount, GemmAbs, GemmRel, "transpose dx");
        t.Close(dk, kernelFloats, GemmAbs, GemmRel, "transpose dKernel");
        t.Close(db, filters, GemmAbs, GemmRel, "transpose dBias");

        // The kernel gradient split along k (as on a GPU with few output tiles).
        t.Gpu.ForcedSplits = 2;
        try
        {
            int dk2 = t.Alloc(kernelFloats);
            t.Run(be => be.Conv2DTransposeBackward(g, batch, new Epilogue(ActivationFunction.Sigmoid, 0f, pre), true, x, w, y, dy, -1, dk2, -1));
            t.Close(dk2, kernelFloats, GemmAbs, GemmRel, "transpose dKernel, split");
        }
        finally
        {
            t.Gpu.ForcedSplits = 0;
        }
    }

    private void TrainsLikeCpu<TNet>(Func<TNet> create, Tensor x, Tensor y, Loss loss) where TNet : Model
    {
        using var cpu = create();
        using var gpu = create();
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        cpu.Compile(new Adam(0.01f), loss);
        gpu.Compile(new Adam(0.01f), loss);
        Assert.Equal(cpu.GetWeights(), gpu.GetWeights());
        for (int step = 0; step < 3; step++)
        {
            float lc = cpu.TrainOnBatch(x, y), lg = gpu.TrainOnBatch(x, y);
            output.WriteLine($"{cpu.Name} step {step}: loss cpu {lc:R}, ilgpu {lg:R}");
            Assert.True(Math.Abs(lc - lg) <= 1e-5 * Math.Abs(lc) + 1e-6, $"{cpu.Name} step {step}: loss {lg} on ILGPU, {lc} on the CPU backend");
        }
        var wc = cpu.GetWeights();
        var wg = gpu.GetWeights();
        for (int i = 0; i < wc.Length; i++)
            Assert.True(Math.Abs(wc[i] - wg[i]) <= 1e-5 + 1e-4 * Math.Abs(wc[i]), $"{cpu.Name} weight {i}: {wg[i]} on ILGPU, {wc[i]} on the CPU backend");
        var pc = cpu.Predict(x).Data;
        var pg = gpu.Predict(x).Data;
        for (int i = 0; i < pc.Length; i++)
            Assert.True(Math.Abs(pc[i] - pg[i]) <= 1e-5 + 1e-4 * Math.Abs(pc[i]), $"{cpu.Name} prediction {i}: {pg[i]} on ILGPU, {pc[i]} on the CPU backend");
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
    public void Ilgpu_DepthwiseNetworkTrainsLikeCpu() =>
        TrainsLikeCpu(() => new GradDepthwiseNet { Seed = 1 }, new Tensor(Num.Uniform(3 * 105, 1), 3, 7, 5, 3), OneHot(3, 3, 2), Loss.CategoricalCrossEntropy);

    [Fact]
    public void Ilgpu_SeparableNetworksTrainLikeCpu()
    {
        TrainsLikeCpu(() => new GradSeparableNet { Seed = 3 }, new Tensor(Num.Uniform(3 * 105, 4), 3, 7, 5, 3), OneHot(3, 3, 5), Loss.CategoricalCrossEntropy);
        TrainsLikeCpu(() => new GradSeparableOutputNet { Seed = 6 }, new Tensor(Num.Uniform(3 * 126, 7), 3, 7, 6, 3), OneHot(3, 4, 8, 2, 2),
            Loss.CategoricalCrossEntropy);
    }

    [Fact]
    public void Ilgpu_TransposeNetworksTrainLikeCpu()
    {
        TrainsLikeCpu(() => new GradTransposeNet { Seed = 9 }, new Tensor(Num.Uniform(3 * 40, 10), 3, 5, 4, 2), OneHot(3, 3, 11), Loss.CategoricalCrossEntropy);
        var y = new Tensor(Array.ConvertAll(Num.Uniform(3 * 32, 12, 0, 1), v => v > 0.5f ? 1f : 0f), 3, 4, 4, 2);
        TrainsLikeCpu(() => new GradTransposeOutputNet { Seed = 13 }, new Tensor(Num.Uniform(3 * 18, 14), 3, 3, 3, 2), y, Loss.BinaryCrossEntropy);
    }
}
