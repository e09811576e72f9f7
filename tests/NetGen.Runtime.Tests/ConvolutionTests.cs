using NetGen.Backends;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Tests;

/// <summary>Keras 2 shape arithmetic (keras2-semantics §2), written independently of the runtime.</summary>
internal static class KerasGeometry
{
    /// <summary>Output length and top/left padding of one spatial axis.</summary>
    public static (int Out, int PadBefore, int PadAfter) Axis(int input, int kernel, int stride, int dilation, bool same)
    {
        int kEff = kernel + (kernel - 1) * (dilation - 1);
        int output = same ? (input + stride - 1) / stride : (input - kEff) / stride + 1;
        int total = same ? Math.Max(0, (output - 1) * stride + kEff - input) : 0;
        return (output, total / 2, total - total / 2);
    }

    public static Conv2DGeometry Conv(int inH, int inW, int inC, int outC, int kh, int kw, int sh = 1, int sw = 1,
        int dh = 1, int dw = 1, bool same = false)
    {
        var (oh, pt, _) = Axis(inH, kh, sh, dh, same);
        var (ow, pl, _) = Axis(inW, kw, sw, dw, same);
        return new Conv2DGeometry(inH, inW, inC, oh, ow, outC, kh, kw, sh, sw, dh, dw, pt, pl);
    }

    public static Pool2DGeometry Pool(int inH, int inW, int c, int ph, int pw, int sh, int sw, bool same)
    {
        var (oh, pt, _) = Axis(inH, ph, sh, 1, same);
        var (ow, pl, _) = Axis(inW, pw, sw, 1, same);
        return new Pool2DGeometry(inH, inW, c, oh, ow, ph, pw, sh, sw, pt, pl);
    }
}

/// <summary>Naive double-precision references for convolution, pooling and batch normalisation (NHWC, HWIO).</summary>
internal static class ConvReference
{
    public static double[] Forward(Conv2DGeometry g, int batch, float[] x, float[] k, float[]? b)
    {
        var z = new double[batch * g.OutSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int oc = 0; oc < g.OutC; oc++)
                    {
                        double s = b is null ? 0 : b[oc];
                        for (int kh = 0; kh < g.KernelH; kh++)
                            for (int kw = 0; kw < g.KernelW; kw++)
                            {
                                int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                                int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                                if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                                for (int ic = 0; ic < g.InC; ic++)
                                    s += (double)x[((n * g.InH + ih) * g.InW + iw) * g.InC + ic]
                                         * k[((kh * g.KernelW + kw) * g.InC + ic) * g.OutC + oc];
                            }
                        z[((n * g.OutH + oh) * g.OutW + ow) * g.OutC + oc] = s;
                    }
        return z;
    }

    /// <summary>Given dz = dL/dz: dKernel, dBias and dx.</summary>
    public static (double[] DK, double[] DB, double[] DX) Backward(Conv2DGeometry g, int batch, float[] x, float[] k, double[] dz)
    {
        var dk = new double[g.Patch * g.OutC];
        var db = new double[g.OutC];
        var dx = new double[batch * g.InSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int oc = 0; oc < g.OutC; oc++)
                    {
                        double d = dz[((n * g.OutH + oh) * g.OutW + ow) * g.OutC + oc];
                        db[oc] += d;
                        for (int kh = 0; kh < g.KernelH; kh++)
                            for (int kw = 0; kw < g.KernelW; kw++)
                            {
                                int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                                int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                                if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                                for (int ic = 0; ic < g.InC; ic++)
                                {
                                    int xi = ((n * g.InH + ih) * g.InW + iw) * g.InC + ic;
                                    int ki = ((kh * g.KernelW + kw) * g.InC + ic) * g.OutC + oc;
                                    dk[ki] += x[xi] * d;
                                    dx[xi] += k[ki] * d;
                                }
                            }
                    }
        return (dk, db, dx);
    }

    private static IEnumerable<(int Index, int Count)> WindowCells(Pool2DGeometry g, int n, int oh, int ow, int c)
    {
        var cells = new List<int>();
        for (int i = 0; i < g.PoolH; i++)
            for (int j = 0; j < g.PoolW; j++)
            {
                int ih = oh * g.StrideH - g.PadTop + i, iw = ow * g.StrideW - g.PadLeft + j;
                if (ih >= 0 && ih < g.InH && iw >= 0 && iw < g.InW) cells.Add(((n * g.InH + ih) * g.InW + iw) * g.Channels + c);
            }
        return cells.Select(i => (i, cells.Count));
    }

    private static int Out(Pool2DGeometry g, int n, int oh, int ow, int c) => ((n * g.OutH + oh) * g.OutW + ow) * g.Channels + c;

    public static double[] Pool(Pool2DGeometry g, int batch, float[] x, bool max)
    {
        var y = new double[batch * g.OutSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        var cells = WindowCells(g, n, oh, ow, c).ToList();
                        y[Out(g, n, oh, ow, c)] = max ? cells.Max(t => (double)x[t.Index]) : cells.Sum(t => (double)x[t.Index]) / cells.Count;
                    }
        return y;
    }

    public static double[] PoolBackward(Pool2DGeometry g, int batch, float[] x, float[] dy, bool max)
    {
        var dx = new double[batch * g.InSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        var cells = WindowCells(g, n, oh, ow, c).ToList();
                        double d = dy[Out(g, n, oh, ow, c)];
                        if (max)
                        {
                            int best = cells[0].Index;
                            foreach (var t in cells) if (x[t.Index] > x[best]) best = t.Index;
                            dx[best] += d;
                        }
                        else
                            foreach (var t in cells) dx[t.Index] += d / t.Count;
                    }
        return dx;
    }

    /// <summary>Batch mean and biased variance per channel.</summary>
    public static (double[] Mean, double[] Var) Moments(int rows, int channels, float[] x)
    {
        var mean = new double[channels];
        var variance = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = 0;
            for (int r = 0; r < rows; r++) s += x[r * channels + c];
            mean[c] = s / rows;
            double v = 0;
            for (int r = 0; r < rows; r++) v += (x[r * channels + c] - mean[c]) * (x[r * channels + c] - mean[c]);
            variance[c] = v / rows;
        }
        return (mean, variance);
    }

    public static double[] BatchNorm(int rows, int channels, float[] x, double[] mean, double[] variance, float[] gamma, float[] beta, double eps)
    {
        var z = new double[rows * channels];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++)
                z[r * channels + c] = gamma[c] * (x[r * channels + c] - mean[c]) / Math.Sqrt(variance[c] + eps) + beta[c];
        return z;
    }

    /// <summary>Training-mode backward from dz: dx, dGamma, dBeta.</summary>
    public static (double[] DX, double[] DG, double[] DB) BatchNormBackward(int rows, int channels, float[] x, float[] gamma, double eps, double[] dz)
    {
        var (mean, variance) = Moments(rows, channels, x);
        var dx = new double[rows * channels];
        var dg = new double[channels];
        var db = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double inv = 1 / Math.Sqrt(variance[c] + eps);
            for (int r = 0; r < rows; r++)
            {
                double xhat = (x[r * channels + c] - mean[c]) * inv;
                dg[c] += dz[r * channels + c] * xhat;
                db[c] += dz[r * channels + c];
            }
            for (int r = 0; r < rows; r++)
            {
                double xhat = (x[r * channels + c] - mean[c]) * inv;
                dx[r * channels + c] = gamma[c] * inv / rows * (rows * dz[r * channels + c] - db[c] - xhat * dg[c]);
            }
        }
        return (dx, dg, db);
    }
}

/// <summary>
/// Conv2D, max/average pooling and batch normalisation of <see cref="CpuBackend"/> against naive double references,
/// central differences and the Keras documentation examples.
/// </summary>
[Collection(NonParallelCollection.Name)] // Tuning changes static settings that concurrent tests' convolutions would see
public class ConvolutionTests
{
    private const double Abs = 2e-5, Rel = 2e-5;

    /// <summary>Winograd F(4x4, 3x3)'s absolute error bound, as a fraction of the largest output (see Conv2DMatchesReference).</summary>
    private const double WinogradTolerance = 1e-5;

    // ------------------------------------------------------------------------------------------------
    // Geometry (the test helper itself)
    // ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(28, 3, 2, 1, true, 14, 0, 1)]   // keras2-semantics §2 example: odd total, extra pad at the bottom
    [InlineData(28, 3, 1, 1, true, 28, 1, 1)]
    [InlineData(7, 2, 2, 1, true, 4, 0, 1)]
    [InlineData(5, 2, 1, 1, true, 5, 0, 1)]
    [InlineData(7, 3, 1, 2, true, 7, 2, 2)]     // dilation 2: k_eff = 5
    [InlineData(7, 3, 1, 2, false, 3, 0, 0)]
    [InlineData(7, 3, 2, 1, false, 3, 0, 0)]
    [InlineData(5, 4, 2, 1, true, 3, 1, 2)]
    public void KerasAxisArithmetic(int input, int k, int s, int d, bool same, int output, int before, int after)
    {
        Assert.Equal((output, before, after), KerasGeometry.Axis(input, k, s, d, same));
    }

    // ------------------------------------------------------------------------------------------------
    // Conv2D
    // ------------------------------------------------------------------------------------------------

    public static TheoryData<string, int, ActivationFunction, bool, bool> ConvCases()
    {
        // name, batch, activation, bias, store pre-activation
        var d = new TheoryData<string, int, ActivationFunction, bool, bool>();
        string[] shapes = ["3x3 s1 same", "3x3 s2 same", "2x3 s1 valid", "2x3 s2 valid", "3x3 d2 same", "3x3 d2 valid",
            "1x1", "1x1 s2", "4x4 s2 same", "3x3 wide", "2x2 s3 valid", "5x1 s1 same",
            "few-in 3x3 same", "few-in 2x3 s2 valid", "few-in 3x3 d2 same", "few-in 1x1",
            "3x3 s2x1 same", "2x3 s1x3 valid", "few-in 3x3 s1x2 same",
            "winograd 3x3 same", "winograd 3x3 valid", "winograd 3x3 same 4-aligned"];
        ActivationFunction[] acts = [ActivationFunction.Linear, ActivationFunction.Relu, ActivationFunction.LeakyRelu, ActivationFunction.Tanh,
            ActivationFunction.Swish, ActivationFunction.Sigmoid];
        int i = 0;
        foreach (var s in shapes)
        {
            var act = acts[i % acts.Length];
            d.Add(s, 3, act, i % 3 != 2, act == ActivationFunction.Swish || i % 2 == 0);
            i++;
        }
        return d;
    }

    private static Conv2DGeometry Shape(string name) => name switch
    {
        "3x3 s1 same" => KerasGeometry.Conv(7, 5, 3, 4, 3, 3, same: true),
        "3x3 s2 same" => KerasGeometry.Conv(7, 5, 3, 4, 3, 3, 2, 2, same: true),
        "2x3 s1 valid" => KerasGeometry.Conv(7, 5, 3, 5, 2, 3),
        "2x3 s2 valid" => KerasGeometry.Conv(7, 5, 3, 5, 2, 3, 2, 2),
        "3x3 d2 same" => KerasGeometry.Conv(7, 5, 3, 4, 3, 3, dh: 2, dw: 2, same: true),
        "3x3 d2 valid" => KerasGeometry.Conv(7, 5, 3, 4, 3, 3, dh: 2, dw: 2),
        "1x1" => KerasGeometry.Conv(7, 5, 3, 6, 1, 1),
        "1x1 s2" => KerasGeometry.Conv(7, 5, 3, 6, 1, 1, 2, 2, same: true),
        "4x4 s2 same" => KerasGeometry.Conv(7, 5, 3, 4, 4, 4, 2, 2, same: true),
        "3x3 wide" => KerasGeometry.Conv(6, 5, 17, 19, 3, 3, same: true),   // vector bodies and scalar tails
        "2x2 s3 valid" => KerasGeometry.Conv(7, 5, 3, 2, 2, 2, 3, 3),          // stride > kernel: some inputs unused
        "5x1 s1 same" => KerasGeometry.Conv(7, 5, 2, 3, 5, 1, same: true),
        // Few input channels and 16·k output channels: the direct kernel.
        "few-in 3x3 same" => KerasGeometry.Conv(7, 5, 3, 16, 3, 3, same: true),
        "few-in 2x3 s2 valid" => KerasGeometry.Conv(7, 5, 1, 32, 2, 3, 2, 2),
        "few-in 3x3 d2 same" => KerasGeometry.Conv(7, 5, 2, 48, 3, 3, dh: 2, dw: 2, same: true),
        "few-in 1x1" => KerasGeometry.Conv(7, 5, 4, 64, 1, 1),
        // Keras's strides=(2, 1) and (1, 2) (seed 002): each axis its own stride.
        "3x3 s2x1 same" => KerasGeometry.Conv(7, 5, 3, 4, 3, 3, 2, 1, same: true),
        "2x3 s1x3 valid" => KerasGeometry.Conv(7, 8, 3, 5, 2, 3, 1, 3),
        "few-in 3x3 s1x2 same" => KerasGeometry.Conv(7, 5, 2, 16, 3, 3, 1, 2, same: true),
        // 3x3 stride 1 with 16·k channels and at least CpuBackend.WinogradMinTiles 4x4 output tiles at batch 3:
        // Winograd F(4x4, 3x3), forward and dx (partial tiles at the bottom and right; a valid one whose dx has pad 2).
        "winograd 3x3 same" => KerasGeometry.Conv(19, 17, 16, 32, 3, 3, same: true),
        "winograd 3x3 valid" => KerasGeometry.Conv(22, 20, 32, 16, 3, 3),
        "winograd 3x3 same 4-aligned" => KerasGeometry.Conv(24, 16, 32, 32, 3, 3, same: true),
        _ => throw new ArgumentException(name),
    };

    /// <summary>How the CPU backend cuts the work; every setting must give the same results.</summary>
    internal readonly record struct Setting(int ChunkFloats, int DirectRows, int ParallelMin, bool SampleParallel, long SampleMinMacs)
    {
        public override string ToString() => $"chunk {ChunkFloats}/{DirectRows}, min {ParallelMin}, samples {(SampleParallel ? SampleMinMacs.ToString() : "off")}";
    }

    /// <summary>
    /// The defaults; one output line per chunk with every stage split into items; a few lines per chunk (chunks that
    /// straddle samples); and each sample range on one thread, whole.
    /// </summary>
    internal static IEnumerable<Setting> Settings()
    {
        yield return new(CpuBackend.ConvChunkFloats, CpuBackend.ConvDirectChunkRows, CpuBackend.ParallelMinFloats, CpuBackend.ConvSampleParallel, CpuBackend.ConvSampleMinMacs);
        yield return new(1, 1, 0, false, 0);
        yield return new(150, 7, 0, false, 0);
        yield return new(150, 7, 0, true, 0);
        yield return new(1, 1, 0, true, 0);
    }

    internal sealed class Tuning : IDisposable
    {
        private readonly Setting _saved = new(CpuBackend.ConvChunkFloats, CpuBackend.ConvDirectChunkRows, CpuBackend.ParallelMinFloats,
            CpuBackend.ConvSampleParallel, CpuBackend.ConvSampleMinMacs);

        public Tuning(Setting s) => Apply(s);

        private static void Apply(Setting s)
        {
            CpuBackend.ConvChunkFloats = s.ChunkFloats;
            CpuBackend.ConvDirectChunkRows = s.DirectRows;
            CpuBackend.ParallelMinFloats = s.ParallelMin;
            CpuBackend.ConvSampleParallel = s.SampleParallel;
            CpuBackend.ConvSampleMinMacs = s.SampleMinMacs;
        }

        public void Dispose() => Apply(_saved);
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2DMatchesReference(string shape, int batch, ActivationFunction f, bool useBias, bool storePre)
    {
        var g = Shape(shape);
        const float alpha = 0.2f;
        int seed = shape.GetHashCode() & 0xFFFF;
        var x = Num.Uniform(batch * g.InSize, seed);
        var k = Num.Uniform(g.Patch * g.OutC, seed + 1, -0.5, 0.5);
        var b = useBias ? Num.Uniform(g.OutC, seed + 2) : null;
        var dy = Num.Uniform(batch * g.OutSize, seed + 3);

        var z = ConvReference.Forward(g, batch, x, k, b);
        var zf = Array.ConvertAll(z, v => (float)v);
        for (int i = 0; i < zf.Length; i++) zf[i] = RefActivation.AwayFromKinks(f, zf[i]);
        var yRef = RefActivation.Forward(f, alpha, zf, g.OutC);
        var dz = RefActivation.Backward(f, alpha, zf, Array.ConvertAll(dy, v => (double)v), g.OutC);
        var (dkRef, dbRef, dxRef) = ConvReference.Backward(g, batch, x, k, dz);

        // Every work split, and the defaults with Winograd off (the im2col path for the shapes that would take it).
        foreach (var (setting, winograd) in Settings().Select(s => (s, true)).Append((Settings().First(), false)))
        {
            using var tuning = new Tuning(setting);
            using var ws = new KernelWorkspace(1 << 20);
            var be = ws.Backend;
            be.Winograd = winograd;
            int px = ws.Put(x), pk = ws.Put(k), pb = b is null ? -1 : ws.Put(b);
            int pz = storePre ? ws.Alloc(zf.Length) : -1, py = ws.Alloc(zf.Length);
            be.Conv2DForward(g, batch, new Epilogue(f, alpha, pz), px, pk, pb, py);
            string what = $"{shape} {f} {setting}{(winograd ? "" : ", winograd off")}";
            // Winograd's transforms add a few roundings of sums as large as the outputs' scale: an absolute
            // tolerance relative to the largest output (the im2col path's is the plain one).
            bool transformed = winograd && shape.StartsWith("winograd", StringComparison.Ordinal);
            double zTol = transformed ? WinogradTolerance * z.Max(Math.Abs) : Abs;
            double dxTol = transformed ? WinogradTolerance * dxRef.Max(Math.Abs) : 5e-5;
            double dkTol = transformed ? WinogradTolerance * dkRef.Max(Math.Abs) : 5e-5;
            if (storePre) Num.Close(z, ws.Get(pz, z.Length), zTol, Rel, what + " z");
            // y against f at the kernel's z when it is stored, else at the (un-nudged) reference z: f is continuous.
            var zKernel = storePre ? ws.Get(pz, z.Length) : Array.ConvertAll(z, v => (float)v);
            Num.Close(RefActivation.Forward(f, alpha, zKernel, g.OutC), ws.Get(py, z.Length), transformed ? zTol : 1e-5, 1e-5, what + " y");

            // Backward from the reference z (nudged off kinks), so every run sees the same derivative.
            if (storePre) ws.Backend.Upload(zf, pz);
            ws.Backend.Upload(Array.ConvertAll(yRef, v => (float)v), py);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(g.OutC);
            be.Conv2DBackward(g, batch, new Epilogue(f, alpha, pz), false, px, pk, py, pdy, pdx, pdk, pdb);
            Num.Close(dz, ws.Get(pdy, dz.Length), 1e-5, 1e-4, what + " dz");
            Num.Close(dkRef, ws.Get(pdk, k.Length), dkTol, 5e-5, what + " dKernel");
            Num.Close(dbRef, ws.Get(pdb, g.OutC), 5e-5, 5e-5, what + " dBias");
            Num.Close(dxRef, ws.Get(pdx, x.Length), dxTol, 5e-5, what + " dx");

            // gradientIsPreActivation: dy is already dz; dx and dBias may be absent.
            int pdz = ws.Put(Array.ConvertAll(dz, v => (float)v)), pdk2 = ws.Alloc(k.Length);
            be.Conv2DBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz, -1, pdk2, -1);
            Num.Close(dkRef, ws.Get(pdk2, k.Length), dkTol, 5e-5, what + " dKernel (dz given)");

            // A frozen kernel: no dKernel, still dx and dBias.
            int pdz3 = ws.Put(Array.ConvertAll(dz, v => (float)v)), pdx3 = ws.Alloc(x.Length), pdb3 = ws.Alloc(g.OutC);
            be.Conv2DBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz3, pdx3, -1, pdb3);
            Num.Close(dxRef, ws.Get(pdx3, x.Length), dxTol, 5e-5, what + " dx (no dKernel)");
            Num.Close(dbRef, ws.Get(pdb3, g.OutC), 5e-5, 5e-5, what + " dBias (no dKernel)");
        }
    }

    /// <summary>
    /// Winograd F(4x4, 3x3) over several tile blocks (blocks that straddle samples, a partial last block, more items
    /// than threads) against the double reference, forward, dKernel, dBias and dx; and against the im2col path, which must
    /// differ in the last bits (proof that the shapes took the Winograd path) but not by more than the tolerance.
    /// </summary>
    [Theory]
    [InlineData(28, 28, 32, 64, true, 5)]     // 49 tiles a sample: 245 tiles, blocks of 96 straddle samples
    [InlineData(14, 14, 64, 32, true, 17)]    // 16 tiles a sample (the last row and column of tiles half empty)
    [InlineData(9, 9, 16, 16, false, 40)]     // valid: 7x7 outputs, dx padded by 2; 40 samples of 4 tiles
    [InlineData(12, 12, 64, 64, true, 6)]     // a kernel large enough for its transform and partial sums to run on both threads
    public void WinogradMatchesReferenceOverManyBlocks(int h, int w, int inC, int outC, bool same, int batch)
    {
        var g = KerasGeometry.Conv(h, w, inC, outC, 3, 3, same: same);
        var x = Num.Uniform(batch * g.InSize, 11);
        var k = Num.Uniform(g.Patch * g.OutC, 12, -0.5, 0.5);
        var b = Num.Uniform(g.OutC, 13);
        var dy = Num.Uniform(batch * g.OutSize, 14);
        var z = ConvReference.Forward(g, batch, x, k, b);
        var (dkRef, dbRef, dxRef) = ConvReference.Backward(g, batch, x, k, Array.ConvertAll(dy, v => (double)v));
        var results = new List<(float[] Z, float[] Dk, float[] Dx)>();
        foreach (bool winograd in new[] { true, false })
        {
            using var ws = new KernelWorkspace(1 << 22);
            ws.Backend.Winograd = winograd;
            int px = ws.Put(x), pk = ws.Put(k), pb = ws.Put(b), pz = ws.Alloc(z.Length);
            ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), px, pk, pb, pz);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(g.OutC);
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, px, pk, pz, pdy, pdx, pdk, pdb);
            var r = (ws.Get(pz, z.Length), ws.Get(pdk, k.Length), ws.Get(pdx, x.Length));
            string what = $"{h}x{w}x{inC}->{outC} batch {batch}{(winograd ? "" : " (im2col)")}";
            Num.Close(z, r.Item1, WinogradTolerance * z.Max(Math.Abs), Rel, what + " y");
            Num.Close(dkRef, r.Item2, WinogradTolerance * dkRef.Max(Math.Abs), 5e-5, what + " dKernel");
            Num.Close(dxRef, r.Item3, WinogradTolerance * dxRef.Max(Math.Abs), 5e-5, what + " dx");
            // With Winograd on, dBias is summed inside the kernel gradient's transform (every pixel once).
            Num.Close(dbRef, ws.Get(pdb, g.OutC), 5e-5, 5e-5, what + " dBias");
            results.Add(r);
        }
        Assert.False(results[0].Z.SequenceEqual(results[1].Z), "the forward did not take the Winograd path");
        Assert.False(results[0].Dk.SequenceEqual(results[1].Dk), "dKernel did not take the Winograd path");
        Assert.False(results[0].Dx.SequenceEqual(results[1].Dx), "dx did not take the Winograd path");
    }

    /// <summary>
    /// A small convolution's im2col rows gathered inside the GEMM, block by block (<c>Sgemm.MultiplyIm2Col</c>), give the
    /// written-out im2col path's bits and match the double reference: strides, 1x1 stride 2, valid and same padding,
    /// dilation, rows spanning samples, a depth in several k blocks (64·9 and 128·9 columns), packed kernels
    /// (inference) or not, a fused ReLU and a kept pre-activation.
    /// </summary>
    [Theory]
    [InlineData(14, 14, 64, 128, 3, 2, 1, true, 1)]   // the residual net's 14x14x64 -> 7x7x128
    [InlineData(28, 28, 32, 64, 1, 2, 1, true, 1)]    // its 1x1 stride-2 shortcut
    [InlineData(7, 7, 128, 32, 3, 1, 1, true, 2)]     // 98 rows over two samples, k = 1152 in blocks
    [InlineData(9, 8, 16, 48, 3, 1, 2, true, 1)]      // dilation 2
    [InlineData(10, 9, 32, 16, 3, 2, 1, false, 3)]    // valid, stride 2, three samples
    public void GatheredIm2ColMatchesTheWrittenOne(int h, int w, int inC, int outC, int k, int stride, int dilation, bool same, int batch)
    {
        var g = KerasGeometry.Conv(h, w, inC, outC, k, k, stride, stride, dilation, dilation, same);
        Assert.True(batch * g.Pixels <= CpuBackend.ConvGatherMaxRows, "the case is too large for the gathered path");
        var x = Num.Uniform(batch * g.InSize, 41);
        var kernel = Num.Uniform(g.Patch * g.OutC, 42, -0.5, 0.5);
        var b = Num.Uniform(g.OutC, 43);
        var z = ConvReference.Forward(g, batch, x, kernel, b);
        int saved = CpuBackend.ConvGatherMaxRows;
        var results = new List<float[]>();
        try
        {
            foreach (int gather in new[] { saved, 0 })
            foreach (long version in new long[] { -1, 1 })
            {
                CpuBackend.ConvGatherMaxRows = gather;
                using var ws = new KernelWorkspace(1 << 20);
                ws.Backend.Winograd = false;
                ws.Backend.InferenceWeightsVersion = version;
                int px = ws.Put(x), pk = ws.Put(kernel), pb = ws.Put(b), pz = ws.Alloc(z.Length), py = ws.Alloc(z.Length);
                ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu, preActivation: pz), px, pk, pb, py);
                var zk = ws.Get(pz, z.Length);
                string what = $"{h}x{w}x{inC}->{outC} k{k} s{stride} d{dilation} batch {batch}, gather up to {gather} rows, version {version}";
                Num.Close(z, zk, Abs, Rel, what + " z");
                Num.Close(RefActivation.Forward(ActivationFunction.Relu, 0, zk, g.OutC), ws.Get(py, z.Length), 0, 0, what + " y");
                results.Add(zk);
            }
        }
        finally
        {
            CpuBackend.ConvGatherMaxRows = saved;
        }
        for (int i = 1; i < results.Count; i++) Assert.Equal(results[0], results[i]);
    }

    /// <summary>
    /// A small call (batch 1 with 49, 25 or 16 tiles; 20 tiles over 5 samples) splits its tiles evenly
    /// between the threads rather than in whole 12-tile panels: the same forward bits as the panel blocks (a tile's
    /// GEMM rows do not depend on their block), and forward and backward still match the double reference.
    /// </summary>
    [Theory]
    [InlineData(28, 28, 32, 32, 1)]   // 49 tiles: 25 + 24 (were 36 + 13)
    [InlineData(20, 20, 16, 32, 1)]   // 25 tiles: 13 + 12
    [InlineData(14, 14, 64, 64, 1)]   // 16 tiles: 8 + 8 (were 12 + 4)
    [InlineData(6, 6, 16, 16, 5)]     // 4 tiles a sample, 20 tiles: 10 + 10
    public void WinogradSplitsSmallCallsEvenly(int h, int w, int inC, int outC, int batch)
    {
        var g = KerasGeometry.Conv(h, w, inC, outC, 3, 3, same: true);
        var x = Num.Uniform(batch * g.InSize, 21);
        var k = Num.Uniform(g.Patch * g.OutC, 22, -0.5, 0.5);
        var b = Num.Uniform(g.OutC, 23);
        var dy = Num.Uniform(batch * g.OutSize, 24);
        var z = ConvReference.Forward(g, batch, x, k, b);
        var (dkRef, dbRef, dxRef) = ConvReference.Backward(g, batch, x, k, Array.ConvertAll(dy, v => (double)v));
        var forward = new List<float[]>();
        bool saved = CpuBackend.WinogradEvenBlocks;
        try
        {
            foreach (bool even in new[] { true, false })
            {
                CpuBackend.WinogradEvenBlocks = even;
                using var ws = new KernelWorkspace(1 << 20);
                int px = ws.Put(x), pk = ws.Put(k), pb = ws.Put(b), pz = ws.Alloc(z.Length);
                ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu, preActivation: ws.Alloc(z.Length)), px, pk, pb, pz);
                int pz2 = ws.Alloc(z.Length);
                ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), px, pk, pb, pz2);
                string what = $"{h}x{w}x{inC}->{outC} batch {batch}{(even ? "" : " (12-tile panels)")}";
                Num.Close(z, ws.Get(pz2, z.Length), WinogradTolerance * z.Max(Math.Abs), Rel, what + " z");
                forward.Add([.. ws.Get(pz, z.Length), .. ws.Get(pz2, z.Length)]);
                int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(g.OutC);
                ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, px, pk, pz2, pdy, pdx, pdk, pdb);
                Num.Close(dkRef, ws.Get(pdk, k.Length), WinogradTolerance * dkRef.Max(Math.Abs), 5e-5, what + " dKernel");
                Num.Close(dxRef, ws.Get(pdx, x.Length), WinogradTolerance * dxRef.Max(Math.Abs), 5e-5, what + " dx");
                Num.Close(dbRef, ws.Get(pdb, g.OutC), 5e-5, 5e-5, what + " dBias");
            }
        }
        finally
        {
            CpuBackend.WinogradEvenBlocks = saved;
        }
        Assert.Equal(forward[1], forward[0]);

        // The blocks themselves: even for a small call (no thread gets more than one block, none under 8 tiles), whole
        // 12-tile panels without the setting.
        long tiles = (long)batch * ((g.OutH + 3) / 4) * ((g.OutW + 3) / 4);
        int threads = WorkerPool.Shared.MaxThreads;
        int block = CpuBackend.BlockSize(tiles);
        Assert.True((long)block * threads >= tiles, $"{tiles} tiles in blocks of {block}: more blocks than {threads} threads");
        Assert.True(block >= Math.Min(8, tiles), $"{tiles} tiles in blocks of {block}");
        if (threads == 2 && tiles == 49) Assert.Equal(25, block);
        try
        {
            CpuBackend.WinogradEvenBlocks = false;
            if (threads == 2 && tiles == 49) Assert.Equal(36, CpuBackend.BlockSize(tiles));
        }
        finally
        {
            CpuBackend.WinogradEvenBlocks = saved;
        }
    }

    /// <summary>
    /// accumulateDx adds the input gradient to what dx holds, on every path (Winograd, im2col + col2im, a 1x1 stride-1
    /// convolution's direct GEMM, the few-input-channel kernels) and every work split: dx = before + the double
    /// reference's dx, and the kernel and bias gradients as without it.
    /// </summary>
    [Theory]
    [InlineData("winograd 3x3 same", 3)]
    [InlineData("winograd 3x3 valid", 2)]
    [InlineData("3x3 s2x1 same", 3)]
    [InlineData("few-in 1x1", 2)]
    [InlineData("few-in 2x3 s2 valid", 3)]
    [InlineData("1x1 s1 direct", 4)]
    [InlineData("1x1 s2", 3)]
    public void Conv2DBackwardAddsIntoDx(string shape, int batch)
    {
        var g = shape switch
        {
            "1x1 s1 direct" => KerasGeometry.Conv(6, 5, 16, 32, 1, 1),
            "1x1 s2" => KerasGeometry.Conv(8, 8, 16, 32, 1, 1, 2, 2),
            _ => Shape(shape),
        };
        var x = Num.Uniform(batch * g.InSize, 21);
        var k = Num.Uniform(g.Patch * g.OutC, 22, -0.5, 0.5);
        var dy = Num.Uniform(batch * g.OutSize, 23);
        var before = Num.Uniform(batch * g.InSize, 24);
        var (dkRef, dbRef, dxRef) = ConvReference.Backward(g, batch, x, k, Array.ConvertAll(dy, v => (double)v));
        var expected = new double[dxRef.Length];
        for (int i = 0; i < expected.Length; i++) expected[i] = before[i] + dxRef[i];
        bool transformed = shape.StartsWith("winograd", StringComparison.Ordinal);
        foreach (var setting in Settings())
        {
            using var tuning = new Tuning(setting);
            using var ws = new KernelWorkspace(1 << 20);
            int px = ws.Put(x), pk = ws.Put(k), py = ws.Alloc(batch * g.OutSize, 0f), pdy = ws.Put(dy);
            int pdx = ws.Put(before), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(g.OutC);
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, px, pk, py, pdy, pdx, pdk, pdb, accumulateDx: true);
            string what = $"{shape} {setting}";
            Num.Close(expected, ws.Get(pdx, x.Length), transformed ? WinogradTolerance * expected.Max(Math.Abs) : 5e-5, 5e-5, what + " dx added");
            Num.Close(dkRef, ws.Get(pdk, k.Length), transformed ? WinogradTolerance * dkRef.Max(Math.Abs) : 5e-5, 5e-5, what + " dKernel");
            Num.Close(dbRef, ws.Get(pdb, g.OutC), 5e-5, 5e-5, what + " dBias");
        }
    }

    /// <summary>
    /// Convolutions that are not 3x3 stride 1 but have 16·k channels and many tiles never take the Winograd path, for
    /// any of the three products: the same bits with it on and off, and the reference's values.
    /// </summary>
    [Theory]
    [InlineData(3, 3, 2, 1)]   // strided 3x3 (its dx is not a 3x3 stride-1 convolution)
    [InlineData(1, 1, 2, 1)]   // the residual network's strided 1x1 projection
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 3, 1, 2)]   // dilated
    [InlineData(5, 5, 1, 1)]
    [InlineData(3, 1, 1, 1)]
    public void WinogradLeavesOtherConvolutionsAlone(int kh, int kw, int stride, int dilation)
    {
        var g = KerasGeometry.Conv(16, 16, 32, 16, kh, kw, stride, stride, dilation, dilation, same: true);
        const int batch = 24;
        var x = Num.Uniform(batch * g.InSize, 31);
        var k = Num.Uniform(g.Patch * g.OutC, 32, -0.5, 0.5);
        var dy = Num.Uniform(batch * g.OutSize, 33);
        var z = ConvReference.Forward(g, batch, x, k, null);
        var (dkRef, _, dxRef) = ConvReference.Backward(g, batch, x, k, Array.ConvertAll(dy, v => (double)v));
        var results = new List<float[]>();
        foreach (bool winograd in new[] { true, false })
        {
            using var ws = new KernelWorkspace(1 << 22);
            ws.Backend.Winograd = winograd;
            int px = ws.Put(x), pk = ws.Put(k), pz = ws.Alloc(z.Length);
            ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), px, pk, -1, pz);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length);
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, px, pk, pz, pdy, pdx, pdk, -1);
            string what = $"{kh}x{kw} s{stride} d{dilation}{(winograd ? "" : " (im2col)")}";
            Num.Close(z, ws.Get(pz, z.Length), Abs, Rel, what + " y");
            Num.Close(dkRef, ws.Get(pdk, k.Length), 5e-5, 5e-5, what + " dKernel");
            Num.Close(dxRef, ws.Get(pdx, x.Length), 5e-5, 5e-5, what + " dx");
            results.Add([.. ws.Get(pz, z.Length), .. ws.Get(pdx, x.Length), .. ws.Get(pdk, k.Length)]);
        }
        Assert.True(results[0].SequenceEqual(results[1]), "a convolution that is not 3x3 stride 1 changed with Winograd on");
    }

    /// <summary>
    /// The forward pass keeps each kernel's Winograd transform while the kernel is unchanged: a kernel changed in one
    /// weight (by a training step, SetWeights, a load), another kernel of the same shape, and more kernels than the
    /// cache holds all give what a fresh backend gives, bit for bit.
    /// </summary>
    [Fact]
    public void WinogradKernelTransformIsReusedOnlyForTheSameKernel()
    {
        var g = KerasGeometry.Conv(8, 8, 16, 16, 3, 3, same: true);
        const int batch = 4; // 16 tiles: the Winograd path, with a block per thread
        var x = Num.Uniform(batch * g.InSize, 41);
        var kernels = Enumerable.Range(0, CpuBackend.WinogradCacheEntries + 3).Select(i => Num.Uniform(g.Patch * g.OutC, 100 + i, -0.5, 0.5)).ToArray();
        float[] Fresh(float[] k)
        {
            using var ws = new KernelWorkspace(1 << 16);
            int px = ws.Put(x), pk = ws.Put(k), py = ws.Alloc(batch * g.OutSize);
            ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), px, pk, -1, py);
            return ws.Get(py, batch * g.OutSize);
        }

        using var shared = new KernelWorkspace(1 << 20);
        var be = shared.Backend;
        int sx = shared.Put(x), sk = shared.Put(kernels[0]), sk2 = shared.Put(kernels[1]), sy = shared.Alloc(batch * g.OutSize);
        float[] Run(int kernelOffset)
        {
            be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), sx, kernelOffset, -1, sy);
            return shared.Get(sy, batch * g.OutSize);
        }
        var first = Run(sk);
        Assert.Equal(Fresh(kernels[0]), first);
        Assert.Equal(first, Run(sk)); // reused
        Assert.Equal(Fresh(kernels[1]), Run(sk2)); // same shape, another kernel

        // One weight changed in its last bit.
        var changed = (float[])kernels[0].Clone();
        changed[77] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(changed[77]) ^ 1);
        be.Upload(changed, sk);
        var after = Run(sk);
        Assert.Equal(Fresh(changed), after);
        Assert.NotEqual(first, after);

        // More kernels than the cache keeps, through one offset and then the first one again. A new kernel at an offset
        // replaces that offset's transform (as every training step does): two entries, not one per kernel seen.
        foreach (var k in kernels)
        {
            be.Upload(k, sk);
            Assert.Equal(Fresh(k), Run(sk));
        }
        Assert.Equal(2, be.WinogradKernelsKept);
        be.Upload(kernels[0], sk);
        Assert.Equal(first, Run(sk));
        Assert.Equal(Fresh(kernels[1]), Run(sk2)); // the other offset's transform is still the right one
    }

    /// <summary>The Winograd path gives the same bits on every run (fixed tile blocks; dKernel's partial sums added in item order).</summary>
    [Fact]
    public void WinogradIsDeterministic()
    {
        var g = KerasGeometry.Conv(28, 28, 32, 32, 3, 3, same: true);
        const int batch = 6;
        var x = Num.Uniform(batch * g.InSize, 21);
        var k = Num.Uniform(g.Patch * g.OutC, 22, -0.5, 0.5);
        var dy = Num.Uniform(batch * g.OutSize, 23);
        float[]? first = null;
        for (int run = 0; run < 3; run++)
        {
            using var ws = new KernelWorkspace(1 << 21);
            int px = ws.Put(x), pk = ws.Put(k), py = ws.Alloc(batch * g.OutSize);
            ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu), px, pk, -1, py);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length);
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Relu), false, px, pk, py, pdy, pdx, pdk, -1);
            float[] all = [.. ws.Get(py, batch * g.OutSize), .. ws.Get(pdx, x.Length), .. ws.Get(pdk, k.Length)];
            if (first is null) first = all;
            else Assert.True(first.SequenceEqual(all), $"run {run} differs from run 0");
        }
    }

    [Fact]
    public void Conv2DCentralDifferences()
    {
        // L = Σ w·tanh(conv(x, k) + b) through a strided, padded, dilated convolution.
        foreach (var g in new[] { KerasGeometry.Conv(6, 5, 3, 4, 3, 2, 2, 1, same: true), KerasGeometry.Conv(7, 6, 2, 3, 3, 3, dh: 2, dw: 1, same: true),
                     KerasGeometry.Conv(5, 5, 4, 3, 1, 1), KerasGeometry.Conv(6, 9, 2, 16, 3, 3, same: true) })
        {
            const int batch = 2;
            var x = Num.Uniform(batch * g.InSize, 11);
            var k = Num.Uniform(g.Patch * g.OutC, 12, -0.5, 0.5);
            var b = Num.Uniform(g.OutC, 13);
            var wts = Num.Uniform(batch * g.OutSize, 14);
            using var ws = new KernelWorkspace(1 << 15);
            int px = ws.Put(x), pk = ws.Put(k), pb = ws.Put(b), py = ws.Alloc(wts.Length);
            double Loss()
            {
                ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Tanh), px, pk, pb, py);
                var y = ws.Get(py, wts.Length);
                double s = 0;
                for (int i = 0; i < y.Length; i++) s += wts[i] * (double)y[i];
                return s;
            }
            Loss();
            int pdy = ws.Put(wts), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(b.Length);
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Tanh), false, px, pk, py, pdy, pdx, pdk, pdb);
            CheckGradient(ws, px, x, ws.Get(pdx, x.Length), Loss, "conv dx");
            CheckGradient(ws, pk, k, ws.Get(pdk, k.Length), Loss, "conv dKernel");
            CheckGradient(ws, pb, b, ws.Get(pdb, b.Length), Loss, "conv dBias");
        }
    }

    /// <summary>Compares an analytic gradient with central differences of <paramref name="loss"/> at a sample of entries.</summary>
    private static void CheckGradient(KernelWorkspace ws, int offset, float[] values, float[] analytic, Func<double> loss, string what,
        float h = 1e-2f, int maxChecks = 40)
    {
        int step = Math.Max(1, values.Length / maxChecks);
        var buf = (float[])values.Clone();
        double scale = analytic.Max(v => Math.Abs((double)v)) + 1e-3;
        for (int i = 0; i < values.Length; i += step)
        {
            buf[i] = values[i] + h;
            ws.Backend.Upload(buf, offset);
            double up = loss();
            buf[i] = values[i] - h;
            ws.Backend.Upload(buf, offset);
            double down = loss();
            buf[i] = values[i];
            ws.Backend.Upload(buf, offset);
            double numeric = (up - down) / (2.0 * h);
            double err = Math.Abs(numeric - analytic[i]);
            if (err > 2e-3 * scale + 1e-2 * Math.Abs(numeric))
                Assert.Fail($"{what}[{i}]: analytic {analytic[i]:R}, central difference {numeric:R}");
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Pooling
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public void KerasDocstringPoolingExamples()
    {
        // keras2-semantics §2: 3×3 input 1..9, pool 2, stride 1, same (pad 0 top/left, 1 bottom/right).
        var g = KerasGeometry.Pool(3, 3, 1, 2, 2, 1, 1, same: true);
        Assert.Equal((3, 3, 0, 0), (g.OutH, g.OutW, g.PadTop, g.PadLeft));
        using var ws = new KernelWorkspace(256);
        int px = ws.Put([1, 2, 3, 4, 5, 6, 7, 8, 9]), py = ws.Alloc(9);
        ws.Backend.MaxPool2DForward(g, 1, px, py);
        Assert.Equal(new float[] { 5, 6, 6, 8, 9, 9, 8, 9, 9 }, ws.Get(py, 9));
        ws.Backend.AvgPool2DForward(g, 1, px, py);
        Assert.Equal(new float[] { 3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9 }, ws.Get(py, 9));
    }

    public static TheoryData<int, int, int, int, int, int, int, bool> PoolCases() => new()
    {
        // inH, inW, C, poolH, poolW, strideH, strideW, same
        { 7, 5, 3, 2, 2, 2, 2, false },
        { 7, 5, 3, 2, 2, 2, 2, true },
        { 7, 5, 3, 3, 3, 2, 2, true },     // overlapping windows
        { 7, 5, 3, 2, 3, 1, 1, true },
        { 7, 5, 3, 3, 2, 1, 2, false },
        { 6, 6, 16, 2, 2, 2, 2, false },   // one vector of channels
        { 5, 7, 37, 3, 3, 1, 1, true },    // vectors and a scalar tail
        { 4, 4, 2, 1, 1, 2, 2, true },     // stride > pool: some inputs never read
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void PoolingMatchesReference(int inH, int inW, int c, int ph, int pw, int sh, int sw, bool same)
    {
        var g = KerasGeometry.Pool(inH, inW, c, ph, pw, sh, sw, same);
        const int batch = 3;
        // Distinct values (a shuffled grid): no ties, so the max is unambiguous.
        var rng = new Random(inH * 100 + c);
        var x = Enumerable.Range(0, batch * g.InSize).Select(i => (float)(i * 0.05 - 3)).OrderBy(_ => rng.Next()).ToArray();
        var dy = Num.Uniform(batch * g.OutSize, 5);
        foreach (var setting in Settings())
        {
            using var tuning = new Tuning(setting);
            using var ws = new KernelWorkspace(1 << 15);
            int px = ws.Put(x), py = ws.Alloc(dy.Length), pdy = ws.Put(dy), pdx = ws.Alloc(x.Length);
            string what = $"{inH}x{inW}x{c} pool {ph}x{pw} s{sh}x{sw} {(same ? "same" : "valid")} {setting}";

            ws.Backend.MaxPool2DForward(g, batch, px, py);
            Num.Close(ConvReference.Pool(g, batch, x, true), ws.Get(py, dy.Length), 0, 0, what + " max");
            ws.Backend.MaxPool2DBackward(g, batch, px, py, pdy, pdx);
            Num.Close(ConvReference.PoolBackward(g, batch, x, dy, true), ws.Get(pdx, x.Length), 1e-6, 1e-6, what + " max dx");
            var prior = Num.Uniform(x.Length, 6);
            int pdx2 = ws.Put(prior);
            ws.Backend.MaxPool2DBackward(g, batch, px, py, pdy, pdx2, accumulateDx: true);
            Num.Close(ConvReference.PoolBackward(g, batch, x, dy, true).Select((v, i) => v + prior[i]).ToArray(), ws.Get(pdx2, x.Length), 1e-6, 1e-6,
                what + " max dx added");

            ws.Backend.AvgPool2DForward(g, batch, px, py);
            Num.Close(ConvReference.Pool(g, batch, x, false), ws.Get(py, dy.Length), 1e-6, 1e-6, what + " avg");
            ws.Backend.Fill(pdx, x.Length, float.NaN);
            ws.Backend.AvgPool2DBackward(g, batch, pdy, pdx);
            Num.Close(ConvReference.PoolBackward(g, batch, x, dy, false), ws.Get(pdx, x.Length), 1e-6, 1e-6, what + " avg dx");
            ws.Backend.Upload(prior, pdx2);
            ws.Backend.AvgPool2DBackward(g, batch, pdy, pdx2, accumulateDx: true);
            Num.Close(ConvReference.PoolBackward(g, batch, x, dy, false).Select((v, i) => v + prior[i]).ToArray(), ws.Get(pdx2, x.Length), 1e-6, 1e-6,
                what + " avg dx added");
        }
    }

    [Fact]
    public void MaxPoolBackwardRoutesTiesToTheFirstCell()
    {
        // Every cell equal: each window sends its gradient to its first (top-left) cell only.
        var g = KerasGeometry.Pool(4, 4, 17, 2, 2, 1, 1, same: false);
        using var ws = new KernelWorkspace(1 << 12);
        int px = ws.Alloc(g.InSize, 1f), py = ws.Alloc(g.OutSize), pdy = ws.Alloc(g.OutSize, 1f), pdx = ws.Alloc(g.InSize);
        ws.Backend.MaxPool2DForward(g, 1, px, py);
        ws.Backend.MaxPool2DBackward(g, 1, px, py, pdy, pdx);
        var dx = ws.Get(pdx, g.InSize);
        for (int h = 0; h < 4; h++)
            for (int w = 0; w < 4; w++)
                for (int c = 0; c < 17; c++)
                    Assert.Equal(h < 3 && w < 3 ? 1f : 0f, dx[(h * 4 + w) * 17 + c]);
    }

    [Fact]
    public void PoolingCentralDifferences()
    {
        var g = KerasGeometry.Pool(7, 5, 18, 3, 2, 2, 1, same: true);
        const int batch = 2;
        var rng = new Random(3);
        var x = Enumerable.Range(0, batch * g.InSize).Select(i => (float)(i * 0.05 - 6)).OrderBy(_ => rng.Next()).ToArray();
        var wts = Num.Uniform(batch * g.OutSize, 4);
        foreach (bool max in new[] { true, false })
        {
            using var ws = new KernelWorkspace(1 << 14);
            int px = ws.Put(x), py = ws.Alloc(wts.Length);
            double Loss()
            {
                if (max) ws.Backend.MaxPool2DForward(g, batch, px, py);
                else ws.Backend.AvgPool2DForward(g, batch, px, py);
                var y = ws.Get(py, wts.Length);
                double s = 0;
                for (int i = 0; i < y.Length; i++) s += wts[i] * (double)y[i];
                return s;
            }
            Loss();
            int pdy = ws.Put(wts), pdx = ws.Alloc(x.Length);
            if (max) ws.Backend.MaxPool2DBackward(g, batch, px, py, pdy, pdx);
            else ws.Backend.AvgPool2DBackward(g, batch, pdy, pdx);
            // Values are 0.05 apart, so a step of 0.01 never changes which cell wins.
            CheckGradient(ws, px, x, ws.Get(pdx, x.Length), Loss, max ? "max pool dx" : "avg pool dx", h: 0.01f, maxChecks: 200);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Batch normalisation
    // ------------------------------------------------------------------------------------------------

    public static TheoryData<int, int, ActivationFunction, bool> BnCases() => new()
    {
        { 3 * 7 * 5, 3, ActivationFunction.Linear, false },
        { 3 * 7 * 5, 3, ActivationFunction.LeakyRelu, true },
        { 2 * 4 * 4, 16, ActivationFunction.Relu, true },
        { 200, 37, ActivationFunction.LeakyRelu, false },    // several row blocks, vector + tail channels
        { 7, 70, ActivationFunction.Tanh, true },
        { 130, 20, ActivationFunction.Swish, true },
        { 1, 5, ActivationFunction.Linear, true },           // one row: variance 0, Bessel factor 1
        { 70, 112, ActivationFunction.Relu, false },         // two channel chunks in registers (64 + 48), ReLU fused into the backward sums
    };

    [Theory]
    [MemberData(nameof(BnCases))]
    public void BatchNormMatchesReference(int rows, int channels, ActivationFunction f, bool storePre)
    {
        const float momentum = 0.99f, eps = 1e-3f, alpha = 0.1f;
        var x = Num.Uniform(rows * channels, rows + channels, -2, 3);
        var gamma = Num.Uniform(channels, 2, 0.5, 1.5);
        var beta = Num.Uniform(channels, 3);
        var mm0 = Num.Uniform(channels, 4);
        var mv0 = Num.Uniform(channels, 5, 0.5, 2);
        var dy = Num.Uniform(rows * channels, 6);
        var (mean, variance) = ConvReference.Moments(rows, channels, x);
        var z = ConvReference.BatchNorm(rows, channels, x, mean, variance, gamma, beta, eps);
        var zf = Array.ConvertAll(z, v => (float)v);
        for (int i = 0; i < zf.Length; i++) zf[i] = RefActivation.AwayFromKinks(f, zf[i]);

        foreach (var setting in Settings())
            foreach (bool unbiased in new[] { true, false })
            {
                using var tuning = new Tuning(setting);
                using var ws = new KernelWorkspace(1 << 16);
                var be = ws.Backend;
                string what = $"BN {rows}x{channels} {f} unbiased={unbiased} {setting}";
                int px = ws.Put(x), pg = ws.Put(gamma), pb = ws.Put(beta), pmm = ws.Put(mm0), pmv = ws.Put(mv0);
                int psm = ws.Alloc(channels), psi = ws.Alloc(channels), pz = storePre ? ws.Alloc(x.Length) : -1, py = ws.Alloc(x.Length);
                be.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, momentum, eps, unbiased), true, new Epilogue(f, alpha, pz), px, py);

                Num.Close(mean, ws.Get(psm, channels), 1e-6, 1e-5, what + " saved mean");
                Num.Close(variance.Select(v => 1 / Math.Sqrt(v + eps)).ToArray(), ws.Get(psi, channels), 1e-6, 1e-5, what + " saved 1/std");
                double bessel = unbiased && rows > 1 ? rows / (rows - 1.0) : 1.0;
                Num.Close(mm0.Select((m, c) => 0.99 * m + 0.01 * mean[c]).ToArray(), ws.Get(pmm, channels), 1e-6, 1e-5, what + " moving mean");
                Num.Close(mv0.Select((m, c) => 0.99 * m + 0.01 * variance[c] * bessel).ToArray(), ws.Get(pmv, channels), 1e-6, 1e-5, what + " moving variance");
                if (storePre) Num.Close(z, ws.Get(pz, x.Length), 2e-5, 2e-5, what + " z");
                var zKernel = storePre ? ws.Get(pz, x.Length) : Array.ConvertAll(z, v => (float)v);
                Num.Close(RefActivation.Forward(f, alpha, zKernel, channels), ws.Get(py, x.Length), 2e-5, 2e-5, what + " y");

                // Backward from the reference z nudged off kinks.
                var dz = RefActivation.Backward(f, alpha, zf, Array.ConvertAll(dy, v => (double)v), channels);
                var (dxRef, dgRef, dbRef) = ConvReference.BatchNormBackward(rows, channels, x, gamma, eps, dz);
                if (storePre) be.Upload(zf, pz);
                be.Upload(Array.ConvertAll(RefActivation.Forward(f, alpha, zf, channels), v => (float)v), py);
                int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdg = ws.Alloc(channels), pdb = ws.Alloc(channels);
                be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(f, alpha, pz), px, py, pdy, pdx, pdg, pdb);
                Num.Close(dz, ws.Get(pdy, x.Length), 1e-5, 1e-4, what + " dz");
                Num.Close(dgRef, ws.Get(pdg, channels), 1e-4, 1e-4, what + " dGamma");
                Num.Close(dbRef, ws.Get(pdb, channels), 1e-4, 1e-4, what + " dBeta");
                Num.Close(dxRef, ws.Get(pdx, x.Length), 1e-4, 1e-4, what + " dx");

                // Added to a gradient another reader wrote (dy is already dz: the activation runs as Linear now).
                var prior = Num.Uniform(x.Length, 17);
                int pdx2 = ws.Put(prior);
                be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(ActivationFunction.Linear),
                    px, py, pdy, pdx2, -1, -1, accumulateDx: true);
                Num.Close(dxRef.Select((v, i) => v + prior[i]).ToArray(), ws.Get(pdx2, x.Length), 1e-4, 1e-4, what + " dx added");
            }
    }

    /// <summary>
    /// A dropout fused into batch norm is the same computation as batch norm followed by the dropout layer: the forward
    /// output bit for bit (same mask, same scale), the backward's dz, dγ, dβ and dx as the dropout backward followed by
    /// the unfused batch-norm backward (bit for bit where act' reads the sign of z; the others recompute act(z) with the
    /// scalar formula instead of the vectorised one, so within 1e-6).
    /// </summary>
    [Theory]
    [MemberData(nameof(BnCases))]
    public void BatchNormWithFusedDropoutEqualsBatchNormThenDropout(int rows, int channels, ActivationFunction f, bool storePre)
    {
        const float rate = 0.3f, alpha = 0.1f;
        const ulong key = 0x5EED_0F_D40;
        storePre |= f != ActivationFunction.Linear; // required with a fused dropout
        var x = Num.Uniform(rows * channels, rows + channels, -2, 3);
        var gamma = Num.Uniform(channels, 2, 0.5, 1.5);
        var beta = Num.Uniform(channels, 3);
        var dy = Num.Uniform(rows * channels, 6);
        bool exact = f is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        int n = x.Length;
        foreach (var setting in Settings())
        {
            using var tuning = new Tuning(setting);
            using var ws = new KernelWorkspace(1 << 18);
            var be = ws.Backend;
            string what = $"BN+dropout {rows}x{channels} {f} {setting}";
            var results = new float[2][];
            float[] plain = [];
            for (int fused = 0; fused < 2; fused++)
            {
                int px = ws.Put(x), pg = ws.Put(gamma), pb = ws.Put(beta), pmm = ws.Alloc(channels, 0), pmv = ws.Alloc(channels, 1);
                int psm = ws.Alloc(channels), psi = ws.Alloc(channels), pz = storePre ? ws.Alloc(n) : -1, py = ws.Alloc(n);
                int pdy = ws.Put(dy), pdx = ws.Alloc(n), pdg = ws.Alloc(channels), pdb = ws.Alloc(channels);
                if (fused == 1)
                {
                    be.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, 1e-3f, true), true, new Epilogue(f, alpha, pz, rate, key), px, py);
                    results[1] = ws.Get(py, n);
                    be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(f, alpha, pz, rate, key), px, py, pdy, pdx, pdg, pdb);
                }
                else
                {
                    int pd = ws.Alloc(n);
                    be.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, 1e-3f, true), true, new Epilogue(f, alpha, pz), px, py);
                    be.DropoutForward(n, rate, key, py, pd);
                    results[0] = ws.Get(pd, n);
                    plain = ws.Get(py, n);
                    be.DropoutBackward(n, rate, key, pdy, pdy);
                    be.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(f, alpha, pz), px, py, pdy, pdx, pdg, pdb);
                }
                results[fused] = [.. results[fused], .. ws.Get(pdy, n), .. ws.Get(pdg, channels), .. ws.Get(pdb, channels), .. ws.Get(pdx, n)];
            }
            Assert.Equal(results[0].AsSpan(0, n).ToArray(), results[1].AsSpan(0, n).ToArray()); // forward: bit for bit
            int kept = plain.Count(v => v != 0f), dropped = Enumerable.Range(0, n).Count(i => plain[i] != 0f && results[1][i] == 0f);
            if (n >= 100) Assert.InRange(dropped, kept / 5, kept * 2 / 5); // rate 0.3
            if (exact) Assert.Equal(results[0], results[1]);
            else Num.Close(Array.ConvertAll(results[0], v => (double)v), results[1], 1e-6, 1e-5, what + " backward");
        }
    }

    [Fact]
    public void BatchNormWithFusedDropoutRejectsWhatItCannotDo()
    {
        using var ws = new KernelWorkspace(1 << 10);
        int x = ws.Alloc(12, 1), c = ws.Alloc(16, 1), z = ws.Alloc(12), y = ws.Alloc(12);
        void Forward(ActivationFunction f, float rate, int pre) =>
            ws.Backend.BatchNormForward(3, new BatchNormArguments(4, c, c + 4, c + 8, c + 12, -1, -1, 0.99f, 1e-3f, true), true, new Epilogue(f, 0f, pre, rate, 1UL), x, y);
        var missing = Assert.Throws<ArgumentException>(() => Forward(ActivationFunction.Tanh, 0.5f, -1));
        Assert.Contains("pre-activation", missing.Message);
        Assert.Throws<ArgumentException>(() => Forward(ActivationFunction.Softmax, 0.5f, z));
        Assert.Throws<ArgumentOutOfRangeException>(() => Forward(ActivationFunction.Relu, 1f, z));
        Forward(ActivationFunction.Linear, 0.5f, -1); // linear needs no pre-activation
        Forward(ActivationFunction.Tanh, 0f, -1);     // nor does no dropout
        ws.Backend.BatchNormForward(3, new BatchNormArguments(4, c, c + 4, c + 8, c + 12, -1, -1, 0.99f, 1e-3f, true), false, new Epilogue(ActivationFunction.Tanh, 0f, -1, 0.5f, 1UL), x, y); // nor inference
    }

    [Fact]
    public void BatchNormWithoutScaleOrCenter()
    {
        // gamma/beta = -1 (Keras scale=False, center=False) behave as γ = 1, β = 0, forward and backward.
        const int rows = 40, channels = 18;
        var x = Num.Uniform(rows * channels, 31, -2, 2);
        var dy = Num.Uniform(rows * channels, 32);
        float[][] results = new float[2][];
        for (int pass = 0; pass < 2; pass++)
        {
            using var ws = new KernelWorkspace(1 << 14);
            bool absent = pass == 1;
            int px = ws.Put(x), pg = absent ? -1 : ws.Alloc(channels, 1), pb = absent ? -1 : ws.Alloc(channels, 0);
            int pmm = ws.Alloc(channels, 0), pmv = ws.Alloc(channels, 1), psm = ws.Alloc(channels), psi = ws.Alloc(channels), py = ws.Alloc(x.Length);
            ws.Backend.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, 1e-3f, false), true, new Epilogue(ActivationFunction.Linear), px, py);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length);
            ws.Backend.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(ActivationFunction.Linear), px, py, pdy, pdx, -1, -1);
            results[pass] = [.. ws.Get(py, x.Length), .. ws.Get(pdx, x.Length), .. ws.Get(pmv, channels)];
        }
        Assert.Equal(results[0], results[1]);
    }

    [Fact]
    public void BatchNormInferenceUsesMovingStatistics()
    {
        const int rows = 11, channels = 19;
        const float eps = 1e-3f;
        var x = Num.Uniform(rows * channels, 1, -3, 3);
        var gamma = Num.Uniform(channels, 2, 0.5, 1.5);
        var beta = Num.Uniform(channels, 3);
        var mm = Num.Uniform(channels, 4);
        var mv = Num.Uniform(channels, 5, 0.1, 2);
        using var ws = new KernelWorkspace(1 << 12);
        int px = ws.Put(x), pg = ws.Put(gamma), pb = ws.Put(beta), pmm = ws.Put(mm), pmv = ws.Put(mv);
        int psm = ws.Alloc(channels), psi = ws.Alloc(channels), py = ws.Alloc(x.Length);
        ws.Backend.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, eps, true), false, new Epilogue(ActivationFunction.LeakyRelu, 0.1f),
            px, py);
        var z = ConvReference.BatchNorm(rows, channels, x, mm.Select(v => (double)v).ToArray(), mv.Select(v => (double)v).ToArray(), gamma, beta, eps);
        Num.Close(RefActivation.Forward(ActivationFunction.LeakyRelu, 0.1, Array.ConvertAll(z, v => (float)v), channels), ws.Get(py, x.Length), 1e-5, 1e-5, "inference y");
        // The moving statistics are left alone, and nothing is saved.
        Assert.Equal(mm, ws.Get(pmm, channels));
        Assert.Equal(mv, ws.Get(pmv, channels));
        Assert.All(ws.Get(psm, channels), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void BatchNormIsAccurateFarFromZero()
    {
        // Mean 1000, standard deviation ~0.01: a one-pass Σx² − (Σx)²/n in float would lose everything.
        const int rows = 4096, channels = 17;
        var x = Num.Uniform(rows * channels, 9, -0.0173, 0.0173).Select(v => v + 1000f).ToArray();
        var gamma = Enumerable.Repeat(1f, channels).ToArray();
        var beta = new float[channels];
        var (mean, variance) = ConvReference.Moments(rows, channels, x);
        using var ws = new KernelWorkspace(rows * channels * 2 + 1000);
        int px = ws.Put(x), pg = ws.Put(gamma), pb = ws.Put(beta), pmm = ws.Alloc(channels, 0), pmv = ws.Alloc(channels, 1);
        int psm = ws.Alloc(channels), psi = ws.Alloc(channels), py = ws.Alloc(x.Length);
        ws.Backend.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.Linear), px, py);
        Num.Close(variance.Select(v => 1 / Math.Sqrt(v + 1e-3)).ToArray(), ws.Get(psi, channels), 0, 1e-5, "1/std");
        Num.Close(ConvReference.BatchNorm(rows, channels, x, mean, variance, gamma, beta, 1e-3), ws.Get(py, x.Length), 1e-4, 1e-3, "y");
    }

    [Fact]
    public void BatchNormCentralDifferences()
    {
        // L = Σ exp(y)/n through the batch statistics, with a fused tanh.
        const int rows = 24, channels = 5;
        var x = Num.Uniform(rows * channels, 21, -2, 2);
        var gamma = Num.Uniform(channels, 22, 0.5, 1.5);
        var beta = Num.Uniform(channels, 23, -0.5, 0.5);
        using var ws = new KernelWorkspace(1 << 12);
        int px = ws.Put(x), pg = ws.Put(gamma), pb = ws.Put(beta), pmm = ws.Alloc(channels, 0), pmv = ws.Alloc(channels, 1);
        int psm = ws.Alloc(channels), psi = ws.Alloc(channels), pz = ws.Alloc(x.Length), py = ws.Alloc(x.Length);
        double Loss()
        {
            ws.Backend.BatchNormForward(rows, new BatchNormArguments(channels, pg, pb, pmm, pmv, psm, psi, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.Tanh, 0, pz), px, py);
            return ws.Get(py, x.Length).Sum(v => Math.Exp(v)) / x.Length;
        }
        Loss();
        var dy = ws.Get(py, x.Length).Select(v => (float)(Math.Exp(v) / x.Length)).ToArray();
        int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdg = ws.Alloc(channels), pdb = ws.Alloc(channels);
        ws.Backend.BatchNormBackward(rows, new BatchNormArguments(channels, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(ActivationFunction.Tanh, 0, pz), px, py, pdy, pdx, pdg, pdb);
        CheckGradient(ws, px, x, ws.Get(pdx, x.Length), Loss, "bn dx", h: 1e-2f, maxChecks: 60);
        CheckGradient(ws, pg, gamma, ws.Get(pdg, channels), Loss, "bn dGamma");
        CheckGradient(ws, pb, beta, ws.Get(pdb, channels), Loss, "bn dBeta");
    }

    // ------------------------------------------------------------------------------------------------
    // Batch sizes and allocation
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public void DifferentBatchSizesOnOneBackend()
    {
        var g = KerasGeometry.Conv(9, 8, 5, 20, 3, 3, 2, 1, same: true);
        var p = KerasGeometry.Pool(g.OutH, g.OutW, g.OutC, 2, 2, 2, 2, same: true);
        var k = Num.Uniform(g.Patch * g.OutC, 1, -0.5, 0.5);
        var b = Num.Uniform(g.OutC, 2);
        using var tuning = new Tuning(new(2000, 16, 0, true, 0));   // several chunks, growing scratch, sample ranges
        using var ws = new KernelWorkspace(1 << 18);
        int pk = ws.Put(k), pb = ws.Put(b), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(g.OutC);
        foreach (int batch in new[] { 5, 2, 9, 1, 5 })
        {
            var x = Num.Uniform(batch * g.InSize, batch);
            var dy = Num.Uniform(batch * g.OutSize, batch + 100);
            int px = ws.Put(x), py = ws.Alloc(dy.Length), pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pp = ws.Alloc(batch * p.OutSize);
            ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), px, pk, pb, py);
            var z = ConvReference.Forward(g, batch, x, k, b);
            Num.Close(z, ws.Get(py, z.Length), Abs, Rel, $"batch {batch} y");
            ws.Backend.MaxPool2DForward(p, batch, py, pp);
            Num.Close(ConvReference.Pool(p, batch, ws.Get(py, z.Length), true), ws.Get(pp, batch * p.OutSize), 0, 0, $"batch {batch} pool");
            ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, px, pk, py, pdy, pdx, pdk, pdb);
            var (dk, db, dx) = ConvReference.Backward(g, batch, x, k, Array.ConvertAll(dy, v => (double)v));
            Num.Close(dk, ws.Get(pdk, k.Length), 5e-5, 5e-5, $"batch {batch} dKernel");
            Num.Close(db, ws.Get(pdb, g.OutC), 5e-5, 5e-5, $"batch {batch} dBias");
            Num.Close(dx, ws.Get(pdx, x.Length), 5e-5, 5e-5, $"batch {batch} dx");
        }
    }

    [Fact]
    public void RepeatedCallsAllocateNothing()
    {
        const int batch = 16;
        var g = KerasGeometry.Conv(14, 14, 16, 32, 3, 3, same: true);
        var g1 = KerasGeometry.Conv(14, 14, 32, 16, 1, 1);
        var g0 = KerasGeometry.Conv(14, 14, 1, 16, 3, 3, same: true);   // few input channels: the direct kernels
        var p = KerasGeometry.Pool(14, 14, 32, 2, 2, 2, 2, same: false);
        int rows = batch * g.Pixels;
        using var ws = new KernelWorkspace(1 << 22);
        int px = ws.Put(Num.Uniform(batch * g.InSize, 1)), pk = ws.Put(Num.Uniform(g.Patch * g.OutC, 2, -0.3, 0.3)), pb = ws.Put(Num.Uniform(g.OutC, 3));
        int pk1 = ws.Put(Num.Uniform(g1.Patch * g1.OutC, 4, -0.3, 0.3)), pb1 = ws.Put(Num.Uniform(g1.OutC, 5));
        int pz = ws.Alloc(rows * 32), py = ws.Alloc(rows * 32), pdy = ws.Alloc(rows * 32), pdx = ws.Alloc(rows * 32), pdk = ws.Alloc(g.Patch * 32), pdb = ws.Alloc(32);
        int py1 = ws.Alloc(rows * 16), pdy1 = ws.Alloc(rows * 16), pdk1 = ws.Alloc(g1.Patch * 16);
        int pp = ws.Alloc(batch * p.OutSize), pdp = ws.Alloc(batch * p.OutSize, 0.5f);
        int pk0 = ws.Put(Num.Uniform(g0.Patch * 16, 6, -0.3, 0.3)), pdk0 = ws.Alloc(g0.Patch * 16);
        int pg = ws.Alloc(32, 1), pbeta = ws.Alloc(32, 0), pmm = ws.Alloc(32, 0), pmv = ws.Alloc(32, 1), psm = ws.Alloc(32), psi = ws.Alloc(32);
        var be = ws.Backend;
        int steps = 0;
        void Step()
        {
            // A training step changes the kernel: the Winograd path transforms it anew into the entry it keeps.
            be.Fill(pk, 1, ++steps % 2 == 0 ? 0.1f : -0.1f);
            be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.LeakyRelu, 0.1f, pz), px, pk, pb, py);
            be.Conv2DForward(g1, batch, new Epilogue(ActivationFunction.Tanh), py, pk1, pb1, py1);
            be.Conv2DForward(g0, batch, new Epilogue(ActivationFunction.Relu), px, pk0, pb1, pdy1);
            be.Conv2DBackward(g0, batch, new Epilogue(ActivationFunction.Relu), false, px, pk0, pdy1, pdy1, -1, pdk0, pdb);
            be.BatchNormForward(rows, new BatchNormArguments(32, pg, pbeta, pmm, pmv, psm, psi, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.Relu, 0, pz), py, py);
            be.MaxPool2DForward(p, batch, py, pp);
            be.AvgPool2DForward(p, batch, py, pp);
            be.Fill(pdy1, rows * 16, 0.01f);
            be.Conv2DBackward(g1, batch, new Epilogue(ActivationFunction.Tanh), false, py, pk1, py1, pdy1, pdy, pdk1, -1);
            be.MaxPool2DBackward(p, batch, py, pp, pdp, pdx);
            be.AvgPool2DBackward(p, batch, pdp, pdx);
            be.BatchNormBackward(rows, new BatchNormArguments(32, gamma: pg, savedMean: psm, savedInvStd: psi), new Epilogue(ActivationFunction.Relu, 0, pz), py, py, pdy, pdx, pdk, pdb);
            be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.LeakyRelu, 0.1f, pz), false, px, pk, pdx, pdx, pdy, pdk, pdb);
        }
        foreach (var setting in Settings())
        {
            using var tuning = new Tuning(setting);
            Step();
            Step();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++) Step();
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        }
    }
}
