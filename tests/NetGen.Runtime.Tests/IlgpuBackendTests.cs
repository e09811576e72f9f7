using System.Diagnostics;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using NetGen.Backends;
using NetGen.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

[Network(7)]
[Dense(5, Activation = Activation.Tanh)]
[Dropout(0.3)]
[Dense(3, Activation = Activation.Softmax)]
public partial class IlgpuParityNet;

/// <summary>
/// One ILGPU context with a CPU accelerator for the whole class: 4 threads per warp, 1 warp, 1 multiprocessor,
/// so explicitly grouped kernels get groups of up to 4 threads (the GEMM's 2×2 tile, the reduction's 4 threads)
/// and element-wise kernels run with groups of 1 (no barrier cost). Parallel mode: Sequential is ~50× slower.
/// </summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    public IlgpuCpuFixture()
    {
        Context = Context.Create(b => b.CPU(new CPUDevice(4, 1, 1)));
        Accelerator = Context.GetCPUDevice(0).CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel);
    }

    public Context Context { get; }

    public Accelerator Accelerator { get; }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>
/// Parity of <see cref="IlgpuBackend"/> (on ILGPU's CPU accelerator, which runs the same kernels a GPU would)
/// with <see cref="CpuBackend"/>, op by op at small odd sizes, for a whole generated network, plus a PTX
/// compile check of every kernel for sm_90. Tolerances (|a − c| ≤ abs + rel·|c|, c the CPU value):
/// element-wise ops 1e-6 + 1e-5 relative; GEMM, dense and convolution 1e-5 + 1e-4 relative; losses 1e-6
/// relative; optimizer steps 1e-6 + 1e-5 relative; dropout masks, accuracy counts, pooling and bias-gradient
/// column sums exactly.
/// </summary>
public sealed class IlgpuBackendTests(IlgpuCpuFixture fixture, ITestOutputHelper output) : IClassFixture<IlgpuCpuFixture>
{
    private const double ElementAbs = 1e-6, ElementRel = 1e-5;
    private const double GemmAbs = 1e-5, GemmRel = 1e-4;

    // ---- Helpers --------------------------------------------------------------------------------------------

    /// <summary>The same workspace on both backends: every region is written to both and compared after an op.</summary>
    private sealed class Twin : IDisposable
    {
        private int _top = 3;

        public Twin(Accelerator accelerator, int floats = 1 << 16)
        {
            Gpu = new IlgpuBackend(accelerator);
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

        public int Alloc(int count, float value = float.NaN)
        {
            int offset = Reserve(count);
            Cpu.Fill(offset, count, value);
            Gpu.Fill(offset, count, value);
            return offset;
        }

        public void Run(Action<IBackend> op)
        {
            op(Cpu);
            op(Gpu);
        }

        public (float[] Cpu, float[] Gpu) Get(int offset, int count)
        {
            var c = new float[count];
            var g = new float[count];
            Cpu.Download(offset, c);
            Gpu.Download(offset, g);
            return (c, g);
        }

        public void Close(int offset, int count, double abs, double rel, string what)
        {
            var (c, g) = Get(offset, count);
            AssertClose(c, g, abs, rel, what);
        }

        public void Same(int offset, int count, string what)
        {
            var (c, g) = Get(offset, count);
            for (int i = 0; i < count; i++)
                if (BitConverter.SingleToInt32Bits(c[i]) != BitConverter.SingleToInt32Bits(g[i]) && !(float.IsNaN(c[i]) && float.IsNaN(g[i])))
                    Assert.Fail($"{what}: element {i} is {g[i]:R} on ILGPU, {c[i]:R} on the CPU backend (bit-identical expected).");
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

    private static void AssertClose(float[] expected, float[] actual, double abs, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            double err = Math.Abs(a - e);
            if (!(err <= abs + rel * Math.Abs(e)))
                Assert.Fail($"{what}: element {i} is {a:R} on ILGPU, {e:R} on the CPU backend (error {err:E3}).");
        }
    }

    private static float[] Rand(int count, int seed, double lo = -1, double hi = 1)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return x;
    }

    private Twin NewTwin(int floats = 1 << 16) => new(fixture.Accelerator, floats);

    /// <summary>Keras's valid/same geometry (the odd extra padding goes bottom/right).</summary>
    private static class Geometry
    {
        private static (int Out, int Pad) Axis(int input, int kernel, int stride, int dilation, bool same)
        {
            int span = (kernel - 1) * dilation + 1;
            int output = same ? (input + stride - 1) / stride : (input - span) / stride + 1;
            int total = same ? Math.Max(0, (output - 1) * stride + span - input) : 0;
            return (output, total / 2);
        }

        public static Conv2DGeometry Conv(int inH, int inW, int inC, int outC, int kh, int kw, int sh, int sw, int dh, int dw, bool same)
        {
            var (oh, pt) = Axis(inH, kh, sh, dh, same);
            var (ow, pl) = Axis(inW, kw, sw, dw, same);
            return new Conv2DGeometry(inH, inW, inC, oh, ow, outC, kh, kw, sh, sw, dh, dw, pt, pl);
        }

        public static Pool2DGeometry Pool(int inH, int inW, int c, int ph, int pw, int sh, int sw, bool same)
        {
            var (oh, pt) = Axis(inH, ph, sh, 1, same);
            var (ow, pl) = Axis(inW, pw, sw, 1, same);
            return new Pool2DGeometry(inH, inW, c, oh, ow, ph, pw, sh, sw, pt, pl);
        }
    }

    // ---- Basics ---------------------------------------------------------------------------------------------

    [Fact]
    public void Ilgpu_CopyMovesARangeWithinTheWorkspace()
    {
        using var t = NewTwin();
        int src = t.Put(Rand(37, 31)), dst = t.Alloc(37), after = t.Put(Rand(5, 32));
        t.Run(be => be.Copy(src, dst, 37));
        t.Run(be => be.Copy(src, dst, 0)); // nothing
        t.Same(dst, 37, "copy");
        t.Same(after, 5, "past the copy");
        Assert.Equal(t.Get(src, 37).Cpu, t.Get(dst, 37).Gpu);
    }

    [Fact]
    public void Ilgpu_WorkspaceGrowsKeepsPrefixAndZeroesTheRest()
    {
        using var b = new IlgpuBackend(fixture.Accelerator);
        var r = Workspaces.GrowFrom10To100KeepingSix(b);
        b.Fill(50, 20, 2.5f);
        b.Download(0, r);
        Assert.All(r[50..70], v => Assert.Equal(2.5f, v));
        Assert.Equal(0f, r[49]);
        Assert.Equal(0f, r[70]);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Upload(new float[10], 95));
        Assert.StartsWith("ilgpu CPU", b.Name);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Ilgpu_GemmMatchesCpu(bool transA, bool transB)
    {
        using var t = NewTwin();
        foreach (var (m, n, k) in new[] { (13, 17, 19), (1, 9, 33), (8, 8, 8), (21, 3, 1) })
            foreach (var (alpha, beta) in new[] { (1f, 0f), (0.7f, 0.5f) })
            {
                int lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
                int a = t.Put(Rand((transA ? k : m) * lda, m * 7 + k));
                int b = t.Put(Rand((transB ? n : k) * ldb, n * 5 + k));
                int c = t.Put(Rand(m * ldc, m + n));
                t.Run(be => be.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
                t.Close(c, m * ldc, GemmAbs, GemmRel, $"gemm {m}x{n}x{k} tA={transA} tB={transB} alpha={alpha} beta={beta}");
            }
    }

    [Fact]
    public void Ilgpu_GemmSplitAlongKAndDegenerateShapes()
    {
        using var t = NewTwin();
        int m = 9, n = 11, k = 37;
        int a = t.Put(Rand(m * k, 1)), b = t.Put(Rand(k * n, 2)), c = t.Put(Rand(m * n, 3));
        t.Gpu.ForcedSplits = 3;
        try
        {
            t.Run(be => be.Gemm(false, false, m, n, k, 1.5f, a, k, b, n, 0.25f, c, n));
            t.Close(c, m * n, GemmAbs, GemmRel, "split-k gemm");
        }
        finally
        {
            t.Gpu.ForcedSplits = 0;
        }
        // k = 0 and alpha = 0 scale C by beta (beta 0 writes zeros over NaN).
        int d = t.Alloc(m * n);
        t.Run(be => be.Gemm(false, false, m, n, 0, 1f, a, k, b, n, 0f, d, n));
        t.Same(d, m * n, "k = 0, beta = 0");
        int e = t.Put(Rand(m * n, 4));
        t.Run(be => be.Gemm(false, false, m, n, k, 0f, a, k, b, n, 2f, e, n));
        t.Same(e, m * n, "alpha = 0");
    }

    /// <summary>
    /// The GPU's GEMM tiles (16×16 threads, k slices of 16; and 8×8) and the 256-thread reduction, run on a CPU
    /// accelerator with 256 threads per group (one OS thread each, so only tiny sizes), against the CPU backend.
    /// </summary>
    [Fact]
    public void Ilgpu_GpuTileGemmAndReductionRunCorrectlyOnBigGroups()
    {
        var sw = Stopwatch.StartNew();
        using var context = Context.Create(b => b.CPU(new CPUDevice(16, 16, 1)));
        using var acc = context.GetCPUDevice(0).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel);
        var gemm16 = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, StridedOperand, StridedOperand>(
            DenseKernels.Gemm<GemmTile16, StridedOperand, StridedOperand>);
        var gemm8 = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, StridedOperand, StridedOperand>(
            DenseKernels.Gemm<GemmTile8, StridedOperand, StridedOperand>);
        using var cpu = new CpuBackend();
        cpu.EnsureCapacity(1 << 16, 0);
        foreach (var (transA, transB) in new[] { (false, false), (true, true), (true, false) })
        {
            int m = 70, n = 37, k = 35;
            int lda = transA ? m : k, ldb = transB ? k : n;
            var a = Rand(m * k, 1);
            var b = Rand(k * n, 2);
            var c0 = Rand(m * n, 3);
            cpu.Upload(a, 0);
            cpu.Upload(b, 10_000);
            cpu.Upload(c0, 20_000);
            cpu.Gemm(transA, transB, m, n, k, 0.5f, 0, lda, 10_000, ldb, 2f, 20_000, n);
            var expected = new float[m * n];
            cpu.Download(20_000, expected);
            foreach (var (kernel, t) in new[] { (gemm16, 16), (gemm8, 8) })
            {
                using var da = acc.Allocate1D(a);
                using var db = acc.Allocate1D(b);
                using var dc = acc.Allocate1D(c0);
                int block = 4 * t;
                kernel(new KernelConfig(new Index3D((n + block - 1) / block, (m + block - 1) / block, 1), new Index3D(t, t, 1)),
                    da.View, db.View, dc.View, new GemmShape(m, n, k, n, 0.5f, 2f, k, 0),
                    new StridedOperand(lda, transA), new StridedOperand(ldb, !transB));
                AssertClose(expected, dc.GetAsArray1D(), GemmAbs, GemmRel, $"GEMM tile {t}, tA={transA}, tB={transB}");
            }
        }

        // The wide kernel (128×128 blocks, 8×8 a thread): several blocks each way with ragged edges, k not a multiple of
        // its slices, and split along k into three slices (partial products summed here).
        var wide = acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, StridedOperand, StridedOperand>(
            DenseKernels.GemmWide<StridedOperand, StridedOperand>);
        foreach (var (transA, transB, m, n, k) in new[] { (false, false, 150, 140, 21), (true, true, 131, 259, 9), (true, false, 70, 37, 35) })
        {
            int lda = transA ? m : k, ldb = transB ? k : n;
            var a = Rand(m * k, 5);
            var b = Rand(k * n, 6);
            var c0 = Rand(m * n, 7);
            cpu.EnsureCapacity(3 * 40_000 + m * n, 0);
            cpu.Upload(a, 0);
            cpu.Upload(b, 40_000);
            cpu.Upload(c0, 80_000);
            cpu.Gemm(transA, transB, m, n, k, 0.5f, 0, lda, 40_000, ldb, 2f, 80_000, n);
            var expected = new float[m * n];
            cpu.Download(80_000, expected);
            int gx = (n + 127) / 128, gy = (m + 127) / 128;
            using var da = acc.Allocate1D(a);
            using var db = acc.Allocate1D(b);
            using var dc = acc.Allocate1D(c0);
            wide(new KernelConfig(new Index3D(gx, gy, 1), new Index3D(16, 16, 1)), da.View, db.View, dc.View,
                new GemmShape(m, n, k, n, 0.5f, 2f, k, 0), new StridedOperand(lda, transA), new StridedOperand(ldb, !transB));
            AssertClose(expected, dc.GetAsArray1D(), GemmAbs, GemmRel, $"wide GEMM {m}x{n}x{k}, tA={transA}, tB={transB}");

            using var partial = acc.Allocate1D<float>(3 * m * n);
            int chunk = (k + 2) / 3;
            chunk = (chunk + DenseKernels.WideDepth - 1) / DenseKernels.WideDepth * DenseKernels.WideDepth;
            int splits = (k + chunk - 1) / chunk;
            wide(new KernelConfig(new Index3D(gx, gy, splits), new Index3D(16, 16, 1)), da.View, db.View, partial.View,
                new GemmShape(m, n, k, n, 1f, 0f, chunk, m * n), new StridedOperand(lda, transA), new StridedOperand(ldb, !transB));
            var parts = partial.GetAsArray1D();
            var summed = new float[m * n];
            for (int i = 0; i < m * n; i++)
            {
                float sum = 0f;
                for (int z = 0; z < splits; z++) sum += parts[z * m * n + i];
                summed[i] = 0.5f * sum + 2f * c0[i];
            }
            AssertClose(expected, summed, GemmAbs, GemmRel, $"wide GEMM {m}x{n}x{k} split in {splits}");
        }

        var reduce = acc.LoadStreamKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, ReduceParams>(LossKernels.Reduce);
        var values = Enumerable.Range(0, 1000).Select(i => (double)(i % 17) - 3.25).ToArray();
        var flags = new double[1000];
        flags[613] = 1;
        flags[900] = 1;
        using var dv = acc.Allocate1D(values);
        using var df = acc.Allocate1D(flags);
        using var dr = acc.Allocate1D<double>(2);
        reduce(new KernelConfig(1, 256), dv.View, df.View, dr.View, new ReduceParams(1000, true));
        var r = dr.GetAsArray1D();
        Assert.Equal(values.Sum(), r[0], 9);
        Assert.Equal(613, r[1]);
        output.WriteLine($"256-thread groups on the CPU accelerator: {sw.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// The backend's GEMM calls through the wide kernel (as a GPU with 256-thread groups makes them when C has 128 rows
    /// and columns or more), on a CPU accelerator with 256-thread groups, against the CPU backend: Dense forward and
    /// backward, a 1×1 convolution whose three GEMMs are all wide, and a 3×3 one, also split along k.
    /// </summary>
    [Fact]
    public void Ilgpu_WideGemmRunsDenseAndConvolutionsLikeTheCpu()
    {
        var sw = Stopwatch.StartNew();
        using var context = Context.Create(b => b.CPU(new CPUDevice(16, 16, 1)));
        using var acc = context.GetCPUDevice(0).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel);
        IlgpuBackend.KernelSet.WideOnCpuForTests = true;
        try { Assert.True(IlgpuBackend.KernelSet.For(acc).UsesWideGemm); }
        finally { IlgpuBackend.KernelSet.WideOnCpuForTests = false; }
        using var t = new Twin(acc, 1 << 19);

        int rows = 130, inputs = 140, units = 129;
        int x = t.Put(Rand(rows * inputs, 1)), w = t.Put(Rand(inputs * units, 2)), bias = t.Put(Rand(units, 3));
        int pre = t.Alloc(rows * units), y = t.Alloc(rows * units);
        t.Run(be => be.DenseForward(rows, inputs, units, new Epilogue(ActivationFunction.Relu, 0f, pre), x, w, bias, y));
        t.Close(y, rows * units, GemmAbs, GemmRel, "wide Dense y");
        int dy = t.Put(Rand(rows * units, 4));
        int dx = t.Alloc(rows * inputs), dw = t.Alloc(inputs * units), db = t.Alloc(units);
        t.Run(be => be.DenseBackward(rows, inputs, units, new Epilogue(ActivationFunction.Relu, 0f, pre), false, x, w, y, dy, dx, dw, db));
        t.Close(dx, rows * inputs, GemmAbs, GemmRel, "wide Dense dx");
        t.Close(dw, inputs * units, GemmAbs, GemmRel, "wide Dense dKernel");

        foreach (var (inC, outC, k) in new[] { (128, 128, 1), (16, 128, 3) })
        {
            var g = Geometry.Conv(12, 12, inC, outC, k, k, 1, 1, 1, 1, true);
            int cx = t.Put(Rand(g.InSize, 5)), ck = t.Put(Rand(g.Patch * outC, 6)), cy = t.Alloc(g.OutSize);
            t.Run(be => be.Conv2DForward(g, 1, new Epilogue(ActivationFunction.Linear), cx, ck, -1, cy));
            t.Close(cy, g.OutSize, GemmAbs, GemmRel, $"wide conv {k}x{k} y");
            int cdy = t.Put(Rand(g.OutSize, 7)), cdx = t.Alloc(g.InSize), cdk = t.Alloc(g.Patch * outC);
            t.Run(be => be.Conv2DBackward(g, 1, new Epilogue(ActivationFunction.Linear), true, cx, ck, cy, cdy, cdx, cdk, -1));
            t.Close(cdx, g.InSize, GemmAbs, GemmRel, $"wide conv {k}x{k} dx");
            t.Close(cdk, g.Patch * outC, GemmAbs, GemmRel, $"wide conv {k}x{k} dKernel");
            t.Gpu.ForcedSplits = 3;
            try
            {
                t.Run(be => be.Conv2DForward(g, 1, new Epilogue(ActivationFunction.Linear), cx, ck, -1, cy));
                t.Close(cy, g.OutSize, GemmAbs, GemmRel, $"wide conv {k}x{k} y, split");
            }
            finally { t.Gpu.ForcedSplits = 0; }
        }
        output.WriteLine($"wide GEMMs through the backend on 256-thread CPU groups: {sw.ElapsedMilliseconds} ms");
    }

    // ---- Dense and activations -------------------------------------------------------------------------------

    [Theory]
    [InlineData(ActivationFunction.Relu, true, true)]
    [InlineData(ActivationFunction.Tanh, true, false)]
    [InlineData(ActivationFunction.Softmax, true, true)]
    [InlineData(ActivationFunction.LeakyRelu, false, true)]
    [InlineData(ActivationFunction.Linear, true, false)]
    [InlineData(ActivationFunction.Gelu, true, true)]
    public void Ilgpu_DenseForwardBackwardMatchCpu(ActivationFunction f, bool withBias, bool storePre)
    {
        using var t = NewTwin();
        int rows = 6, inputs = 11, units = 7;
        float alpha = 0.2f;
        int x = t.Put(Rand(rows * inputs, 1, -2, 2));
        int w = t.Put(Rand(inputs * units, 2));
        int bias = withBias ? t.Put(Rand(units, 3)) : -1;
        int pre = storePre ? t.Alloc(rows * units) : -1;
        int y = t.Alloc(rows * units);
        t.Run(be => be.DenseForward(rows, inputs, units, new Epilogue(f, alpha, pre), x, w, bias, y));
        t.Close(y, rows * units, GemmAbs, GemmRel, $"dense {f} y");
        if (storePre) t.Close(pre, rows * units, GemmAbs, GemmRel, $"dense {f} pre-activation");

        int dy = t.Put(Rand(rows * units, 4));
        int dx = t.Alloc(rows * inputs), dk = t.Alloc(inputs * units), db = withBias ? t.Alloc(units) : -1;
        t.Run(be => be.DenseBackward(rows, inputs, units, new Epilogue(f, alpha, pre), false, x, w, y, dy, dx, dk, db));
        t.Close(dy, rows * units, 1e-5, 1e-4, $"dense {f} dz");
        t.Close(dx, rows * inputs, GemmAbs, GemmRel, $"dense {f} dx");
        t.Close(dk, inputs * units, GemmAbs, GemmRel, $"dense {f} dKernel");
        if (withBias) t.Close(db, units, GemmAbs, GemmRel, $"dense {f} dBias");

        // accumulateDx: dx added to what the buffer holds (another reader's gradient).
        int dz0 = t.Put(Rand(rows * units, 6)), dxAdd = t.Put(Rand(rows * inputs, 7)), dk0 = t.Alloc(inputs * units);
        t.Run(be => be.DenseBackward(rows, inputs, units, new Epilogue(f, alpha, pre), true, x, w, y, dz0, dxAdd, dk0, -1, accumulateDx: true));
        t.Close(dxAdd, rows * inputs, GemmAbs, GemmRel, $"dense {f} dx added");

        // dBias from the same dz is summed in the CPU backend's order: bit-identical.
        if (withBias)
        {
            int dz = t.Put(Rand(rows * units, 5));
            int db2 = t.Alloc(units), dk2 = t.Alloc(inputs * units);
            t.Run(be => be.DenseBackward(rows, inputs, units, new Epilogue(f, alpha, pre), true, x, w, y, dz, -1, dk2, db2));
            t.Same(db2, units, "dense bias gradient");
        }
    }

    public static TheoryData<ActivationFunction> AllActivations()
    {
        var data = new TheoryData<ActivationFunction>();
        foreach (var f in Enum.GetValues<ActivationFunction>()) data.Add(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllActivations))]
    public void Ilgpu_ActivationForwardBackwardMatchCpu(ActivationFunction f)
    {
        using var t = NewTwin();
        int rows = 5, cols = 13, n = rows * cols;
        var xs = Rand(n, 17, -4, 4);
        float[] tails = [-30f, 25f, -9f, 12f, 21f, 0f, -0f, 1e-4f, -3e-3f, 0.3f, -0.49f, 0.51f];
        if (f != ActivationFunction.Exponential) Array.Copy(tails, xs, tails.Length);
        int x = t.Put(xs), y = t.Alloc(n);
        t.Run(be => be.ActivationForward(f, 0.3f, rows, cols, x, y));
        t.Close(y, n, ElementAbs, ElementRel, $"{f} forward");

        int dy = t.Put(Rand(n, 18)), dx = t.Alloc(n);
        t.Run(be => be.ActivationBackward(f, 0.3f, rows, cols, x, y, dy, dx));
        t.Close(dx, n, ElementAbs, ElementRel, $"{f} backward");
        t.Run(be => be.ActivationBackward(f, 0.3f, rows, cols, -1, y, dy, dx));
        t.Close(dx, n, ElementAbs, ElementRel, $"{f} backward without x");
        t.Run(be => be.ActivationBackward(f, 0.3f, rows, cols, x, y, dy, dy));
        t.Close(dy, n, ElementAbs, ElementRel, $"{f} backward in place");
        t.Run(be => be.ActivationForward(f, 0.3f, rows, cols, x, x));
        t.Close(x, n, ElementAbs, ElementRel, $"{f} forward in place");
    }

    [Fact]
    public void Ilgpu_DropoutMasksAreBitIdentical()
    {
        using var t = NewTwin();
        foreach (var rate in new[] { 0.3f, 0.5f, 0.05f })
        {
            int n = 1037;
            ulong key = CounterRng.Key(42, 3, (ulong)(rate * 100));
            int x = t.Put(Rand(n, 5)), y = t.Alloc(n);
            t.Run(be => be.DropoutForward(n, rate, key, x, y));
            t.Same(y, n, $"dropout {rate} forward");
            var (_, g) = t.Get(y, n);
            double kept = g.Count(v => v != 0) / (double)n;
            Assert.InRange(kept, 1 - rate - 0.06, 1 - rate + 0.06);
            int dy = t.Put(Rand(n, 6)), dx = t.Alloc(n);
            t.Run(be => be.DropoutBackward(n, rate, key, dy, dx));
            t.Same(dx, n, $"dropout {rate} backward");
            t.Run(be => be.DropoutForward(n, rate, key, x, x));
            t.Same(x, n, $"dropout {rate} in place");
        }
    }

    // ---- Loss, metrics, optimizers ---------------------------------------------------------------------------

    public static TheoryData<Loss, LossInput> LossCases()
    {
        var data = new TheoryData<Loss, LossInput>();
        foreach (var loss in Enum.GetValues<Loss>())
            foreach (var input in Enum.GetValues<LossInput>())
                if (input == LossInput.Probabilities || loss is Loss.CategoricalCrossEntropy or Loss.SparseCategoricalCrossEntropy or Loss.BinaryCrossEntropy)
                    data.Add(loss, input);
        return data;
    }

    [Theory]
    [MemberData(nameof(LossCases))]
    public void Ilgpu_LossAndGradientMatchCpu(Loss loss, LossInput input)
    {
        using var t = NewTwin();
        int rows = 9, cols = 4, n = rows * cols;
        var rng = new Random((int)loss * 10 + (int)input);
        float[] pred, labels;
        if (input == LossInput.Logits) pred = Rand(n, 3, -3, 3);
        else if (loss is Loss.CategoricalCrossEntropy or Loss.SparseCategoricalCrossEntropy)
        {
            pred = new float[n];
            for (int r = 0; r < rows; r++)
            {
                var row = Rand(cols, 30 + r, 0.01, 1);
                float s = row.Sum();
                for (int c = 0; c < cols; c++) pred[r * cols + c] = row[c] / s;
            }
            pred[0] = 0f; // a clipped entry
            pred[5] = 1f;
        }
        else pred = Rand(n, 3, 0.001, 0.999);
        if (loss == Loss.SparseCategoricalCrossEntropy) labels = Enumerable.Range(0, rows).Select(_ => (float)rng.Next(cols)).ToArray();
        else if (loss == Loss.CategoricalCrossEntropy)
        {
            labels = new float[n];
            for (int r = 0; r < rows; r++) labels[r * cols + rng.Next(cols)] = 1f;
            labels[cols + 1] = 0.5f; // soft labels
        }
        else if (loss == Loss.BinaryCrossEntropy) labels = Enumerable.Range(0, n).Select(_ => (float)rng.Next(2)).ToArray();
        else labels = Rand(n, 8);

        int p = t.Put(pred), l = t.Put(labels), g = t.Alloc(n);
        double cpu = t.Cpu.Loss(loss, input, rows, cols, p, l, g, 1f / rows);
        double gpu = t.Gpu.Loss(loss, input, rows, cols, p, l, g, 1f / rows);
        Assert.True(Math.Abs(cpu - gpu) <= 1e-6 * Math.Abs(cpu) + 1e-9, $"{loss}/{input}: loss {gpu:R} on ILGPU, {cpu:R} on the CPU backend.");
        t.Close(g, n, ElementAbs, ElementRel, $"{loss}/{input} gradient");

        // Without a gradient: same loss, nothing written.
        int g2 = t.Alloc(n, 7f);
        Assert.Equal(gpu, t.Gpu.Loss(loss, input, rows, cols, p, l, -1, 1f / rows));
        Assert.All(t.Get(g2, n).Gpu, v => Assert.Equal(7f, v));
    }

    [Fact]
    public void Ilgpu_SparseLossRejectsBadLabelsLikeCpu()
    {
        using var t = NewTwin();
        int p = t.Put(Rand(12, 1, 0.1, 0.9)), l = t.Put([0f, 2f, 3f, 1f]);
        var cpu = Assert.Throws<ArgumentException>(() => t.Cpu.Loss(Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities, 4, 3, p, l, -1, 1f));
        var gpu = Assert.Throws<ArgumentException>(() => t.Gpu.Loss(Loss.SparseCategoricalCrossEntropy, LossInput.Probabilities, 4, 3, p, l, -1, 1f));
        Assert.Equal(cpu.Message, gpu.Message);
    }

    [Fact]
    public void Ilgpu_CountCorrectMatchesCpu()
    {
        using var t = NewTwin();
        int rows = 23, cols = 5, n = rows * cols;
        var rng = new Random(4);
        int p = t.Put(Rand(n, 9, 0, 1));
        int onehot = t.Put(Enumerable.Range(0, n).Select(i => rng.Next(cols) == 0 ? 1f : 0f).ToArray());
        int sparse = t.Put(Enumerable.Range(0, rows).Select(_ => (float)rng.Next(cols)).ToArray());
        foreach (var metric in Enum.GetValues<Metric>())
        {
            int labels = metric == Metric.SparseCategoricalAccuracy ? sparse : onehot;
            Assert.Equal(t.Cpu.CountCorrect(metric, rows, cols, p, labels), t.Gpu.CountCorrect(metric, rows, cols, p, labels));
        }
    }

    public static TheoryData<string> OptimizerCases() =>
        ["sgd", "sgd-momentum", "sgd-nesterov", "adam", "amsgrad", "rmsprop", "rmsprop-momentum", "rmsprop-centered",
            "rmsprop-centered-momentum", "adagrad"];

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void Ilgpu_OptimizerStepsMatchCpu(string name)
    {
        Optimizer opt = name switch
        {
            "sgd" => new SGD(0.1f),
            "sgd-momentum" => new SGD(0.1f, 0.9f),
            "sgd-nesterov" => new SGD(0.1f, 0.9f, nesterov: true),
            "adam" => new Adam(0.01f),
            "amsgrad" => new Adam(0.01f, amsgrad: true),
            "rmsprop" => new RMSprop(0.01f),
            "rmsprop-momentum" => new RMSprop(0.01f, momentum: 0.5f),
            "rmsprop-centered" => new RMSprop(0.01f, centered: true),
            "rmsprop-centered-momentum" => new RMSprop(0.01f, momentum: 0.5f, centered: true),
            _ => new Adagrad(0.1f),
        };
        using var t = NewTwin();
        int count = 37, stride = (count + 15) / 16 * 16;
        int w = t.Put(Rand(count, 1));
        int state = t.Alloc(Math.Max(1, opt.StateSlots) * stride, opt.InitialState);
        for (int step = 0; step < 3; step++)
        {
            int g = t.Put(Rand(count, 10 + step));
            var u = opt.UpdateFor(step);
            t.Run(be => be.OptimizerStep(u, w, g, state, count));
        }
        t.Close(w, count, ElementAbs, ElementRel, $"{name} parameters");
        for (int s = 0; s < opt.StateSlots; s++) t.Close(state + s * stride, count, ElementAbs, ElementRel, $"{name} state slot {s}");
    }

    // ---- Convolution, pooling, batch norm ------------------------------------------------------------------

    public static TheoryData<int, int, int, int, int, int, int, int, bool> ConvCases() => new()
    {
        // inH, inW, inC, outC, kernel, stride, dilation, batch, same
        { 7, 6, 3, 4, 3, 1, 1, 2, false },
        { 7, 6, 3, 5, 3, 1, 1, 2, true },
        { 9, 8, 2, 3, 3, 2, 1, 2, true },
        { 8, 9, 2, 3, 2, 2, 1, 1, false },
        { 9, 9, 2, 2, 3, 1, 2, 2, true },
        { 5, 5, 4, 6, 1, 1, 1, 3, false },
    };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Ilgpu_Conv2DMatchesCpu(int inH, int inW, int inC, int outC, int k, int stride, int dilation, int batch, bool same)
    {
        var g = Geometry.Conv(inH, inW, inC, outC, k, k, stride, stride, dilation, dilation, same);
        using var t = NewTwin();
        int x = t.Put(Rand(batch * g.InSize, 1));
        int w = t.Put(Rand(g.Patch * outC, 2));
        int b = t.Put(Rand(outC, 3));
        int pre = t.Alloc(batch * g.OutSize), y = t.Alloc(batch * g.OutSize);
        t.Run(be => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu, 0f, pre), x, w, b, y));
        t.Close(pre, batch * g.OutSize, GemmAbs, GemmRel, "conv pre-activation");
        t.Close(y, batch * g.OutSize, GemmAbs, GemmRel, "conv y");

        int dy = t.Put(Rand(batch * g.OutSize, 4));
        int dx = t.Alloc(batch * g.InSize), dk = t.Alloc(g.Patch * outC), db = t.Alloc(outC);
        t.Run(be => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Relu, 0f, pre), false, x, w, y, dy, dx, dk, db));
        t.Close(dy, batch * g.OutSize, ElementAbs, ElementRel, "conv dz");
        t.Close(dx, batch * g.InSize, GemmAbs, GemmRel, "conv dx");
        t.Close(dk, g.Patch * outC, GemmAbs, GemmRel, "conv dKernel");
        t.Close(db, outC, GemmAbs, GemmRel, "conv dBias");

        // accumulateDx: the input gradient added to what dx holds (another reader's gradient).
        int dxSum = t.Put(Rand(batch * g.InSize, 5));
        t.Run(be => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Relu, 0f, pre), true, x, w, y, dy, dxSum, -1, -1, accumulateDx: true));
        t.Close(dxSum, batch * g.InSize, GemmAbs, GemmRel, "conv dx added");

        // The kernel gradient split along k (as on a GPU with few output tiles), and a tanh epilogue without bias.
        t.Gpu.ForcedSplits = 2;
        try
        {
            int y2 = t.Alloc(batch * g.OutSize);
            t.Run(be => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Tanh), x, w, -1, y2));
            t.Close(y2, batch * g.OutSize, GemmAbs, GemmRel, "conv tanh, split");
            t.Run(be => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Tanh), true, x, w, y2, dy, -1, dk, -1));
            t.Close(dk, g.Patch * outC, GemmAbs, GemmRel, "conv dKernel, split");
        }
        finally
        {
            t.Gpu.ForcedSplits = 0;
        }
    }

    [Theory]
    [InlineData(6, 7, 3, 2, 2, 2, false)]
    [InlineData(7, 7, 2, 3, 3, 2, true)]
    [InlineData(5, 6, 2, 3, 3, 1, true)]
    [InlineData(8, 8, 1, 2, 2, 3, false)]
    public void Ilgpu_PoolingMatchesCpu(int inH, int inW, int c, int pool, int poolW, int stride, bool same)
    {
        var g = Geometry.Pool(inH, inW, c, pool, poolW, stride, stride, same);
        using var t = NewTwin();
        int batch = 2;
        var xs = Rand(batch * g.InSize, 1);
        for (int i = 0; i < xs.Length; i += 7) xs[i] = 0.5f; // ties: the first maximum wins
        int x = t.Put(xs);
        int y = t.Alloc(batch * g.OutSize), dy = t.Put(Rand(batch * g.OutSize, 2)), dx = t.Alloc(batch * g.InSize);
        t.Run(be => be.MaxPool2DForward(g, batch, x, y));
        t.Same(y, batch * g.OutSize, "max pool forward");
        t.Run(be => be.MaxPool2DBackward(g, batch, x, y, dy, dx));
        t.Same(dx, batch * g.InSize, "max pool backward");
        t.Run(be => be.AvgPool2DForward(g, batch, x, y));
        t.Close(y, batch * g.OutSize, 0, 1e-6, "avg pool forward");
        t.Run(be => be.AvgPool2DBackward(g, batch, dy, dx));
        t.Same(dx, batch * g.InSize, "avg pool backward");
        // Added to what dx holds, in the same order on both.
        t.Run(be => be.MaxPool2DBackward(g, batch, x, y, dy, dx, accumulateDx: true));
        t.Same(dx, batch * g.InSize, "max pool backward, added");
        t.Run(be => be.AvgPool2DBackward(g, batch, dy, dx, accumulateDx: true));
        t.Same(dx, batch * g.InSize, "avg pool backward, added");
    }

    [Theory]
    [InlineData(ActivationFunction.Relu, true, true)]
    [InlineData(ActivationFunction.Linear, false, false)]
    [InlineData(ActivationFunction.Sigmoid, true, true)]
    public void Ilgpu_BatchNormMatchesCpu(ActivationFunction f, bool affine, bool storePre)
    {
        using var t = NewTwin();
        int rows = 150, channels = 5, n = rows * channels; // 3 blocks of 64 rows
        int x = t.Put(Rand(n, 1, 2, 5));
        int gamma = affine ? t.Put(Rand(channels, 2, 0.5, 1.5)) : -1, beta = affine ? t.Put(Rand(channels, 3)) : -1;
        int mm = t.Put(Rand(channels, 4)), mv = t.Put(Rand(channels, 5, 0.5, 2));
        int sm = t.Alloc(channels), si = t.Alloc(channels);
        int pre = storePre ? t.Alloc(n) : -1, y = t.Alloc(n);
        t.Run(be => be.BatchNormForward(rows, new BatchNormArguments(channels, gamma, beta, mm, mv, sm, si, 0.99f, 1e-3f, true), true, new Epilogue(f, 0f, pre), x, y));
        t.Close(sm, channels, ElementAbs, ElementRel, "bn saved mean");
        t.Close(si, channels, ElementAbs, ElementRel, "bn saved 1/std");
        t.Close(mm, channels, ElementAbs, ElementRel, "bn moving mean");
        t.Close(mv, channels, ElementAbs, ElementRel, "bn moving variance");
        t.Close(y, n, 1e-5, 1e-5, "bn training y");
        if (storePre) t.Close(pre, n, 1e-5, 1e-5, "bn pre-activation");

        int dy = t.Put(Rand(n, 6)), dx = t.Alloc(n), dg = affine ? t.Alloc(channels) : -1, db = affine ? t.Alloc(channels) : -1;
        t.Run(be => be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: gamma, savedMean: sm, savedInvStd: si), new Epilogue(f, 0f, pre), x, y, dy, dx, dg, db));
        t.Close(dx, n, 1e-5, 1e-4, "bn dx");
        int dx2 = t.Put(Rand(n, 7));
        t.Run(be => be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: gamma, savedMean: sm, savedInvStd: si), new Epilogue(ActivationFunction.Linear),
            x, y, dy, dx2, -1, -1, accumulateDx: true));
        t.Close(dx2, n, 1e-5, 1e-4, "bn dx added");
        if (affine)
        {
            t.Close(dg, channels, 1e-5, 1e-4, "bn dGamma");
            t.Close(db, channels, 1e-5, 1e-4, "bn dBeta");
        }

        int y2 = t.Alloc(n);
        t.Run(be => be.BatchNormForward(rows, new BatchNormArguments(channels, gamma, beta, mm, mv, -1, -1, 0.99f, 1e-3f, true), false, new Epilogue(f), x, y2));
        t.Close(y2, n, 1e-5, 1e-5, "bn inference y");
    }

    [Theory]
    [InlineData(ActivationFunction.LeakyRelu)]
    [InlineData(ActivationFunction.Linear)]
    [InlineData(ActivationFunction.Tanh)]
    public void Ilgpu_BatchNormWithFusedDropoutMatchesCpu(ActivationFunction f)
    {
        const float rate = 0.4f;
        const ulong key = 0xD0D0_1234UL;
        using var t = NewTwin();
        int rows = 150, channels = 5, n = rows * channels;
        int x = t.Put(Rand(n, 11, -2, 3)), gamma = t.Put(Rand(channels, 12, 0.5, 1.5)), beta = t.Put(Rand(channels, 13));
        int mm = t.Put(Rand(channels, 14)), mv = t.Put(Rand(channels, 15, 0.5, 2));
        int sm = t.Alloc(channels), si = t.Alloc(channels);
        int pre = f == ActivationFunction.Linear ? -1 : t.Alloc(n), y = t.Alloc(n);
        t.Run(be => be.BatchNormForward(rows, new BatchNormArguments(channels, gamma, beta, mm, mv, sm, si, 0.99f, 1e-3f, true), true, new Epilogue(f, 0.2f, pre, rate, key), x, y));
        var (cpuY, gpuY) = t.Get(y, n);
        for (int i = 0; i < n; i++) Assert.Equal(cpuY[i] == 0f, gpuY[i] == 0f); // the same elements dropped
        Assert.InRange(cpuY.Count(v => v == 0f), n / 4, n / 2);
        t.Close(y, n, 1e-5, 1e-5, "bn + dropout y");

        int dy = t.Put(Rand(n, 16)), dx = t.Alloc(n), dg = t.Alloc(channels), db = t.Alloc(channels);
        t.Run(be => be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: gamma, savedMean: sm, savedInvStd: si), new Epilogue(f, 0.2f, pre, rate, key), x, y, dy, dx, dg, db));
        t.Close(dy, n, 1e-6, 1e-5, "bn + dropout dz");
        t.Close(dx, n, 1e-5, 1e-4, "bn + dropout dx");
        t.Close(dg, channels, 1e-5, 1e-4, "bn + dropout dGamma");
        t.Close(db, channels, 1e-5, 1e-4, "bn + dropout dBeta");

        // Inference ignores the dropout.
        int y2 = t.Alloc(n);
        t.Run(be => be.BatchNormForward(rows, new BatchNormArguments(channels, gamma, beta, mm, mv, -1, -1, 0.99f, 1e-3f, true), false, new Epilogue(f, 0.2f, -1, rate, key), x, y2));
        Assert.DoesNotContain(0f, t.Get(y2, n).Cpu);
        Assert.DoesNotContain(0f, t.Get(y2, n).Gpu);
        t.Close(y2, n, 1e-5, 1e-5, "bn + dropout inference y");
    }

    // ---- A whole network -------------------------------------------------------------------------------------

    [Fact]
    public void Ilgpu_GeneratedNetworkTrainsLikeCpu()
    {
        int batch = 6;
        var x = new Tensor(Rand(batch * 7, 21, -2, 2), batch, 7);
        var y = new Tensor([0f, 1f, 2f, 1f, 0f, 2f], batch);
        using var cpu = new IlgpuParityNet();
        using var gpu = new IlgpuParityNet();
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        cpu.Compile(new Adam(0.05f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        gpu.Compile(new Adam(0.05f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        Assert.Equal(cpu.GetWeights(), gpu.GetWeights());
        for (int step = 0; step < 4; step++)
        {
            float lc = cpu.TrainOnBatch(x, y), lg = gpu.TrainOnBatch(x, y);
            output.WriteLine($"step {step}: loss cpu {lc:R}, ilgpu {lg:R}");
            Assert.True(Math.Abs(lc - lg) <= 1e-5 * Math.Abs(lc) + 1e-6, $"step {step}: loss {lg} on ILGPU, {lc} on the CPU backend");
        }
        AssertClose(cpu.GetWeights(), gpu.GetWeights(), 1e-5, 1e-4, "weights after 4 steps");
        var (lossC, accC) = cpu.Evaluate(x, y);
        var (lossG, accG) = gpu.Evaluate(x, y);
        Assert.Equal(accC, accG);
        Assert.True(Math.Abs(lossC - lossG) <= 1e-5 * Math.Abs(lossC), $"evaluate: {lossG} vs {lossC}");
        AssertClose(cpu.Predict(x).Data, gpu.Predict(x).Data, 1e-5, 1e-4, "predict");
    }

    [Fact]
    public void Ilgpu_TrainOnBatchLoadsNoKernelAfterWarmUp()
    {
        using var net = new IlgpuParityNet();
        var backend = new IlgpuBackend(fixture.Accelerator);
        net.UseBackend(backend);
        net.Compile(new RMSprop(0.01f, momentum: 0.5f, centered: true), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var x = new Tensor(Rand(5 * 7, 3), 5, 7);
        var y = new Tensor(Rand(5 * 3, 4, 0, 1), 5, 3);
        for (int i = 0; i < 3; i++) net.TrainOnBatch(x, y);
        var set = IlgpuBackend.KernelSet.For(fixture.Accelerator);
        int loaded = set.Loaded.Count;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) net.TrainOnBatch(x, y);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{allocated / 20} bytes allocated per step on the calling thread (CPU accelerator launches included)");
        Assert.Equal(loaded, set.Loaded.Count);
    }

    // ---- Kernel compilation for the GPU --------------------------------------------------------------------

    /// <summary>Every kernel a GPU backend loads: the CPU accelerator's set with the GEMM tile swapped for the GPU tiles.</summary>
    private List<(MethodInfo Method, bool Grouped)> GpuKernelList()
    {
        var set = IlgpuBackend.KernelSet.For(fixture.Accelerator);
        set.LoadAll();
        var list = new List<(MethodInfo, bool)>();
        foreach (var (method, grouped) in set.Loaded)
        {
            if (method.IsGenericMethod && method.GetGenericArguments()[0].GetInterfaces().Contains(typeof(IGemmTile)))
            {
                var args = method.GetGenericArguments();
                foreach (var tile in new[] { typeof(GemmTile16), typeof(GemmTile8) })
                {
                    args[0] = tile;
                    list.Add((method.GetGenericMethodDefinition().MakeGenericMethod(args), grouped));
                }
                // A GPU with 256-thread groups also loads the wide kernel for the same operands.
                var wide = typeof(DenseKernels).GetMethod(nameof(DenseKernels.GemmWide), BindingFlags.Static | BindingFlags.NonPublic)!;
                list.Add((wide.MakeGenericMethod(args[1], args[2]), grouped));
            }
            else list.Add((method, grouped));
        }
        return list.DistinctBy(e => e.Item1).ToList();
    }

    [Fact]
    public void Ilgpu_EveryKernelMethodIsLoaded()
    {
        var loaded = GpuKernelList().Select(e => e.Method.IsGenericMethod ? e.Method.GetGenericMethodDefinition() : e.Method).ToHashSet();
        var declared = typeof(IlgpuBackend).Assembly.GetTypes()
            .Where(ty => ty.Namespace == "NetGen.Kernels" && ty.Name.EndsWith("Kernels", StringComparison.Ordinal))
            .SelectMany(ty => ty.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.IsAssembly || m.IsPublic)
            .Where(m => m.ReturnType == typeof(void))
            .ToList();
        Assert.NotEmpty(declared);
        var missing = declared.Where(m => !loaded.Contains(m)).Select(m => $"{m.DeclaringType!.Name}.{m.Name}").ToList();
        Assert.True(missing.Count == 0, "Kernels that no backend loads (so the PTX check misses them): " + string.Join(", ", missing));
    }

    [Fact]
    public void Ilgpu_EveryKernelCompilesToPtxForSm90()
    {
        var kernels = GpuKernelList();
        using var context = Context.Create(b => b.CPU());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_88, null!);
        var failures = new List<string>();
        var sw = Stopwatch.StartNew();
        foreach (var (method, grouped) in kernels)
        {
            string name = method.DeclaringType!.Name + "." + method.Name +
                          (method.IsGenericMethod ? "<" + string.Join(",", method.GetGenericArguments().Select(a => a.Name)) + ">" : "");
            try
            {
                var entry = grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                    : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)ptx.Compile(entry, new KernelSpecialization());
                string text = compiled.PTXAssembly;
                if (text.Contains(".extern .func", StringComparison.Ordinal))
                    failures.Add($"{name}: PTX calls an external function: " +
                                 string.Join(" | ", text.Split('\n').Where(l => l.Contains(".extern", StringComparison.Ordinal)).Take(3)));
                if (text.Contains("tanh.approx", StringComparison.Ordinal))
                    failures.Add($"{name}: uses tanh.approx (abs. error ~1e-5); use DeviceMath.Tanh");
            }
            catch (Exception e)
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.InnerException?.InnerException?.Message ?? e.InnerException?.Message ?? e.Message}");
                context.ClearCache(ClearCacheMode.Everything); // a failed compilation poisons the context
            }
        }
        output.WriteLine($"Compiled {kernels.Count} kernels to PTX (sm_90, ISA 8.8) in {sw.ElapsedMilliseconds} ms; {failures.Count} failed.");
        Assert.True(kernels.Count > 40, $"only {kernels.Count} kernels found");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    // ---- Devices -------------------------------------------------------------------------------------------

    [Fact]
    public void Ilgpu_BackendSelectorHonoursTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(BackendSelector.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, "cpu");
            using (var b = BackendSelector.Default()) Assert.IsType<CpuBackend>(b);
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, "ilgpu-cpu");
            using (var b = BackendSelector.Default())
            {
                Assert.IsType<IlgpuBackend>(b);
                Assert.Equal(AcceleratorType.CPU, ((IlgpuBackend)b).Accelerator.AcceleratorType);
            }
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, "tpu");
            Assert.Throws<InvalidOperationException>(() => BackendSelector.Default());
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, null);
            using (var b = BackendSelector.Default())
            {
                output.WriteLine($"default backend here: {b.Name}");
                if (b is IlgpuBackend ib) Assert.NotEqual(AcceleratorType.CPU, ib.Accelerator.AcceleratorType);
                else Assert.IsType<CpuBackend>(b);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, saved);
        }
    }

    /// <summary>
    /// The automatic choice asks the drivers directly before it starts ILGPU (which a CPU-only process then never loads):
    /// wherever ILGPU finds a CUDA or OpenCL device, that direct probe finds one too, so no GPU is passed over.
    /// </summary>
    [Fact]
    public void Ilgpu_TheDriverProbeSeesEveryDeviceIlgpuFinds()
    {
        using var cuda = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
        using var openCl = IlgpuBackend.TryCreate(AcceleratorType.OpenCL);
        bool present = BackendSelector.GpuPresent();
        output.WriteLine($"ILGPU: CUDA {(cuda is null ? "none" : cuda.Name)}, OpenCL {(openCl is null ? "none" : openCl.Name)}; the driver probe: {(present ? "a device" : "none")}");
        if (cuda is not null || openCl is not null) Assert.True(present, "the probe missed a device ILGPU uses");
        if (present) return; // a GPU machine: the automatic choice goes on to ILGPU (Ilgpu_BackendSelectorHonoursTheEnvironment)
        string? saved = Environment.GetEnvironmentVariable(BackendSelector.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, null);
            using var chosen = BackendSelector.Default();
            Assert.IsType<CpuBackend>(chosen);
        }
        finally
        {
            Environment.SetEnvironmentVariable(BackendSelector.EnvironmentVariable, saved);
        }
    }

    /// <summary>On a machine with CUDA, the same parity on the real GPU; elsewhere it prints why it did nothing.</summary>
    [Fact]
    public void Ilgpu_CudaParity_SkippedWithoutCudaDevice()
    {
        using var cuda = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
        if (cuda is null)
        {
            output.WriteLine("SKIPPED: no CUDA device (ILGPU found none; libcuda.so missing or no GPU). Nothing was checked.");
            return;
        }
        output.WriteLine($"Running on {cuda.Name}");
        using var cpu = new CpuBackend();
        int m = 150, n = 70, k = 300;
        cpu.EnsureCapacity(1 << 20, 0);
        cuda.EnsureCapacity(1 << 20, 0);
        var a = Rand(m * k, 1);
        var b = Rand(k * n, 2);
        foreach (IBackend be in new IBackend[] { cpu, cuda })
        {
            be.Upload(a, 0);
            be.Upload(b, 100_000);
            be.Gemm(false, false, m, n, k, 1f, 0, k, 100_000, n, 0f, 200_000, n);
            be.ActivationForward(ActivationFunction.Tanh, 0f, m, n, 200_000, 300_000);
            be.DropoutForward(m * n, 0.4f, 77, 300_000, 400_000);
        }
        var rc = new float[m * n];
        var rg = new float[m * n];
        cpu.Download(200_000, rc);
        cuda.Download(200_000, rg);
        AssertClose(rc, rg, 1e-4, 1e-4, "cuda gemm");
        cpu.Download(400_000, rc);
        cuda.Download(400_000, rg);
        AssertClose(rc, rg, 1e-5, 1e-5, "cuda tanh + dropout");

        using var net = new IlgpuParityNet();
        using var reference = new IlgpuParityNet();
        net.UseBackend(IlgpuBackend.CreateBest());
        net.Compile(new Adam(0.05f), Loss.SparseCategoricalCrossEntropy);
        reference.Compile(new Adam(0.05f), Loss.SparseCategoricalCrossEntropy);
        var x = new Tensor(Rand(6 * 7, 21, -2, 2), 6, 7);
        var y = new Tensor([0f, 1f, 2f, 1f, 0f, 2f], 6);
        for (int i = 0; i < 4; i++) Assert.Equal(reference.TrainOnBatch(x, y), net.TrainOnBatch(x, y), 1e-4f);
    }
}
