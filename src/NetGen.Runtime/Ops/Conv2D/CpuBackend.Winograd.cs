using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NetGen.Cpu;

namespace NetGen.Backends;

// Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions on the CPU (NHWC, AVX-512).
//
// The output is cut into 4x4 tiles; each reads a 6x6 input window. With the kernel transformed once per call,
// U = G·g·Gᵀ (36 × InC × OutC), a block of tiles is transformed, V = Bᵀ·d·B (tiles × 36 × InC, 16 channels per
// vector, zeros outside the input), multiplied position by position, M_p = V_p·U_p (36 SGEMMs of tiles × InC × OutC,
// each reading its position's rows 36·InC apart in place), and transformed back, Y = Aᵀ·M·A, with the bias and the activation applied as the 4x4 pixels are stored. That is
// 36 multiply-adds per 16 outputs instead of 144: 4x fewer, for the price of the transforms (element-wise, in cache).
// V and M are tile-major, a tile's 36 positions side by side, so that a transform reads and writes one contiguous
// 36·C run per tile; position-major planes (36 × tiles × C) made it write 36 streams 12 KB apart, and the 32- and
// 64-channel layers ran 15-20 % slower (bench/README.md).
// Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2016), give the matrices (points 0, ±1, ±2).
//
// The input gradient of a 3x3 stride-1 convolution is the same kind of convolution of dz with the kernel rotated by
// 180° and its channel axes swapped, padded by 2 − pad, so it takes this path as well (Conv2DBackward); the kernel
// gradient is the transposed algorithm, Gᵀ·Σ[(Bᵀ·d·B) ⊙ (A·dz·Aᵀ)]·G. The forward pass keeps each kernel's U while
// the kernel stays bit-identical (inference), with a copy of the kernel to compare (not compared again within one
// weights version of an inference pass: see CachedKernelTransform).
//
// With a given number of threads the work is cut the same way on every call (blocks of WinogradTileBlock tiles, or
// one per thread for small calls; the kernel gradient's per-item partial sums added in item order), so results are
// the same run to run. The error against exact arithmetic is a few float roundings of the transforms' sums
// (measured in the tests against a double reference; set Winograd = false for the im2col path).
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Whether 3x3 stride-1 convolutions with 16·k input and output channels run as Winograd F(4x4, 3x3) (forward,
    /// input gradient and kernel gradient) instead of im2col + SGEMM: 1.1x (16 channels) to 2.7x (128) faster per layer,
    /// with float error a few times the im2col path's (see <c>bench/README.md</c>). On by default where AVX-512 is
    /// present; the environment variable <c>NETGEN_WINOGRAD=0</c> turns it off for every new backend. Set it before the
    /// backend's first convolution; changing it later is allowed and takes effect at the next call.
    /// </summary>
    public bool Winograd { get; set; } = DefaultWinograd;

    private static readonly bool DefaultWinograd = Environment.GetEnvironmentVariable("NETGEN_WINOGRAD")?.Trim() != "0";

    /// <summary>
    /// Output tiles per block: the rows of each of a block's 36 SGEMMs (a multiple of the AVX-512 kernel's 12; smaller for
    /// small calls, see <see cref="BlockSize"/>). 48 rather than 96: a block's V and M (36·(InC + OutC) floats a tile) stay within a 2 MB L2 up to 128 channels, and the
    /// small layers (7x7, 14x14) split into enough blocks to keep both threads busy (bench/README.md).
    /// </summary>
    internal static int WinogradTileBlock = 48;

    /// <summary>How many tiles ahead the input transform prefetches its window (0: none).</summary>
    internal static int WinogradPrefetchTiles = 2;

    /// <summary>How many tiles ahead the gradient transform prefetches its tile of dz (0: none).</summary>
    internal static int WinogradPrefetchGradient = 2;

    /// <summary>Fewer output tiles than this (per call) and im2col is as fast: the transforms' fixed costs dominate.</summary>
    internal static int WinogradMinTiles = 16;

    private float* _winograd, _zeroRow;
    private long _winogradFloats;
    private int _zeroRowFloats;
    private WinogradJob? _winogradJob;

    /// <summary>Whether <paramref name="g"/> over <paramref name="batch"/> samples takes the Winograd path.</summary>
    private bool UsesWinograd(in Conv2DGeometry g, int batch) =>
        Winograd && Vector512.IsHardwareAccelerated
        && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && g.InC % 16 == 0 && g.OutC % 16 == 0 && g.PadTop is >= 0 and <= 2 && g.PadLeft is >= 0 and <= 2
        && (long)batch * ((g.OutH + 3) / 4) * ((g.OutW + 3) / 4) >= WinogradMinTiles;

    /// <summary>The convolution whose output is the input gradient of <paramref name="g"/> (3x3, stride 1): dx = conv(dz, rot180(kernel)ᵀ).</summary>
    private static Conv2DGeometry InputGradientGeometry(in Conv2DGeometry g) =>
        new(g.OutH, g.OutW, g.OutC, g.InH, g.InW, g.InC, 3, 3, 1, 1, 1, 1, 2 - g.PadTop, 2 - g.PadLeft);

    /// <summary>
    /// y = act(conv(x, kernel) + bias) for a geometry that <see cref="UsesWinograd"/> accepts; z (when not y) keeps the
    /// pre-activation. <paramref name="inputGradient"/>: <paramref name="g"/> is <see cref="InputGradientGeometry"/> of
    /// the layer and <paramref name="kernel"/> the layer's own kernel, read rotated and transposed; with
    /// <paramref name="accumulate"/> (a linear input gradient only, z = y) the result is added to what y holds.
    /// </summary>
    private void WinogradConvolution(in Conv2DGeometry g, int batch, ActivationFunction activation, float alpha,
        float* x, float* kernel, bool inputGradient, float* bias, int z, int y, bool accumulate = false, int residual = -1)
    {
        if (accumulate && (activation != ActivationFunction.Linear || z != y))
            throw new ArgumentException("Only a linear convolution without a kept pre-activation adds into its output.", nameof(accumulate));
        var job = TileJob(g, batch, kernelGradient: false, out int slots);
        // Per slot V (block × 36 × InC) and M (block × 36 × OutC); U (36 × InC × OutC) before them, or cached.
        long uFloats = 36L * g.InC * g.OutC;
        long slotFloats = 36L * job.Block * (g.InC + g.OutC);
        // U_p is InC × OutC, the SGEMMs' B as stored (read in place). The forward kernel is [kh][kw][InC][OutC]; the
        // input-gradient one is the layer's [kh][kw][g.OutC][g.InC], read at (2 − kh, 2 − kw): its taps are
        // transposed first (nine small copies, rather than a transposing pack of every U_p for every tile block).
        if (inputGradient)
        {
            long taps = 9L * g.InC * g.OutC;
            float* buffer = WinogradBuffer(uFloats + slots * slotFloats + taps);
            float* transposed = buffer + uFloats + slots * slotFloats;
            TransposeTaps(kernel, g.OutC, g.InC, transposed);
            TransformKernel(transposed, g.InC, g.OutC, true, buffer);
            job.U = buffer;
            job.SlotBase = buffer + uFloats;
        }
        else
        {
            // Inference calls a layer with the same kernel again and again: its transform is kept, with a copy of the
            // kernel it came from, and reused while the kernel is the same, bit for bit (or, during inference, while
            // the weights version and the kernel's place are).
            job.U = CachedKernelTransform(kernel, g.InC, g.OutC);
            job.SlotBase = WinogradBuffer(slots * slotFloats);
        }

        job.X = x;
        job.Bias = bias;
        job.Z = At(z);
        job.Y = At(y);
        job.Activation = activation;
        job.Alpha = alpha;
        job.FastActivation = activation is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        job.SlotFloats = slotFloats;
        job.Accumulate = accumulate;
        job.HasResidual = residual >= 0;
        job.ResidualOffset = residual >= 0 ? residual - (long)z : 0;
        try
        {
            job.Run();
        }
        finally
        {
            job.Accumulate = false;
            job.HasResidual = false;
        }

        if (!job.FastActivation)
        {
            long count = (long)batch * g.OutSize;
            // The output transform stored z + bias; the activation runs as one pass over it.
            ActivationForward(activation, alpha, (int)(count / g.OutC), g.OutC, z, y);
        }
    }

    /// <summary>
    /// dKernel = Σ over samples and pixels of x-window ⊗ dz for a geometry that <see cref="UsesWinograd"/> accepts:
    /// per 4x4 tile of dz, dU += (Bᵀ·d·B) ⊙ (A·dz·Aᵀ), as 36 SGEMMs (InC × OutC, summing over a block's tiles); then
    /// dKernel = Gᵀ·dU·G. Each item keeps its own partial sum, added in item order, so the result is deterministic.
    /// With <paramref name="dBias"/> (not null) also dBias = Σ dz per channel, summed as the gradient transform reads
    /// each pixel of dz (once: the tiles do not overlap), which saves the backward its separate pass over dz.
    /// </summary>
    private void WinogradKernelGradient(in Conv2DGeometry g, int batch, float* x, float* dz, float* dKernel, float* dBias)
    {
        var job = TileJob(g, batch, kernelGradient: true, out int slots);
        int items = job.Items;
        long plane = (long)g.InC * g.OutC;
        // Per slot: V (block × 36 × InC), D (block × 36 × OutC), the item's running dU (36 × InC × OutC) and a block's
        // dBias sums (OutC); then one partial dKernel (9 × InC × OutC) per item, and one partial dBias (OutC doubles).
        long slotFloats = 36L * job.Block * (g.InC + g.OutC) + 36 * plane + g.OutC;
        long partialFloats = items * 9 * plane;
        float* buffer = WinogradBuffer(slots * slotFloats + partialFloats + (dBias != null ? items * 2L * g.OutC : 0));
        job.X = x;
        job.Dz = dz;
        job.KernelGradient = true;
        job.SlotBase = buffer;
        job.SlotFloats = slotFloats;
        job.Partials = buffer + slots * slotFloats;
        double* biasPartials = dBias != null ? (double*)(job.Partials + partialFloats) : null;
        job.BiasPartials = biasPartials;
        try
        {
            job.Run();
        }
        finally
        {
            job.KernelGradient = false;
            job.BiasPartials = null;
        }
        AddPartials(job.Partials, items, 9 * plane, 9 * plane, dKernel);
        if (dBias != null)
            for (int c = 0; c < g.OutC; c++)
            {
                double sum = 0;
                for (int i = 0; i < items; i++) sum += biasPartials[(long)i * g.OutC + c];
                dBias[c] = (float)sum;
            }
    }

    /// <summary>
    /// The backend's Winograd job, cut for <paramref name="g"/> over <paramref name="batch"/> samples: its 4x4 output
    /// tiles, blocks of them, items (a block each, or for the kernel gradient ranges of blocks, at most four per thread)
    /// and the slots they run on.
    /// </summary>
    private WinogradJob TileJob(in Conv2DGeometry g, int batch, bool kernelGradient, out int slots)
    {
        var job = _winogradJob ??= new WinogradJob(this);
        job.Geometry = g;
        job.TilesH = (g.OutH + 3) / 4;
        job.TilesW = (g.OutW + 3) / 4;
        job.Tiles = (long)batch * job.TilesH * job.TilesW;
        job.Block = BlockSize(job.Tiles);
        job.Blocks = (job.Tiles + job.Block - 1) / job.Block;
        // A block per item: a thread that finishes early waits for at most one block. The kernel gradient keeps a
        // partial sum per item (9 × InC × OutC, added at the end), so it takes at most four items per thread.
        job.Items = (int)Math.Min(job.Blocks, kernelGradient ? Threads * 4L : int.MaxValue);
        slots = Math.Min(job.Items, Threads);
        job.PrepareSlots(slots);
        int channels = Math.Max(g.InC, g.OutC);
        if (channels > _zeroRowFloats)
        {
            if (_zeroRow != null) NativeMemory.AlignedFree(_zeroRow);
            _zeroRow = null;
            _zeroRowFloats = 0;
            _zeroRow = (float*)NativeMemory.AlignedAlloc((nuint)channels * sizeof(float), 64);
            new Span<float>(_zeroRow, channels).Clear();
            _zeroRowFloats = channels;
        }
        job.ZeroRow = _zeroRow;
        return job;
    }

    /// <summary>
    /// Tiles per block: <see cref="WinogradTileBlock"/>, or, for a call with fewer tiles than that per thread (small
    /// batches), the tiles split evenly between the threads: at batch 1 a 28x28 layer's 49 tiles go 25 + 24, not
    /// 36 + 13 as blocks of whole 12-row panels did (a tile's outputs are the same bits in any block).
    /// </summary>
    internal static int BlockSize(long tiles)
    {
        long perThread = (tiles + Threads - 1) / Threads;
        // At least 8 tiles a block: with many threads, tiny blocks would stream U once per block.
        long block = WinogradEvenBlocks ? Math.Min(WinogradTileBlock, Math.Max(8, perThread))
            : Math.Min(WinogradTileBlock, Math.Max(12, (perThread + 11) / 12 * 12));
        return (int)Math.Max(1, Math.Min(tiles, block));
    }

    /// <summary>For benchmarks: whether small calls split their tiles evenly between threads (false: whole 12-tile panels).</summary>
    internal static bool WinogradEvenBlocks = true;

    /// <summary>How many kernels' transforms are kept (one per Winograd layer of a network, typically).</summary>
    internal static int WinogradCacheEntries = 32;

    private WinogradKernel[] _kernelCache = [];

    /// <summary>How many kernel transforms are kept now (for tests).</summary>
    internal int WinogradKernelsKept => _kernelCache.Length;
    private int _kernelCacheNext;

    /// <summary>A kept kernel transform: the kernel (bits) it was made from, and U.</summary>
    private sealed class WinogradKernel
    {
        public float* Kernel;
        public float* U;
        public int Rows, Cols;
        public long Capacity;
        public nint Source;    // the kernel it was last made or checked from, ...
        public nint Workspace; // ... the workspace then (it may move as it grows, leaving the address to another layer) ...
        public long Version;   // ... and the inference weights version then (-1: outside inference)
    }

    /// <summary>
    /// U for a forward kernel at <paramref name="kernel"/> (rows × cols per tap): the kept one when its source is
    /// bit-identical to the kernel now (a comparison of 9·rows·cols floats, about a quarter of what the transform
    /// writes; skipped during an inference pass when the kernel at the same address of the same workspace was checked at the
    /// same weights version), else a
    /// new transform, kept in place of the oldest. A training step changes the kernel, so its forward
    /// pass transforms it anew; inference reuses it.
    /// </summary>
    private float* CachedKernelTransform(float* kernel, int rows, int cols)
    {
        long taps = 9L * rows * cols;
        long version = InferenceWeightsVersion;
        // During an inference pass, an entry made or checked from this kernel at the same weights version is current
        // without comparing (as the packed GEMM kernels: the model changes the version whenever the weights may change).
        if (version >= 0)
            foreach (var e in _kernelCache)
                if (e.Source == (nint)kernel && e.Workspace == (nint)_memory && e.Version == version && e.Rows == rows && e.Cols == cols)
                    return e.U;
        var source = new ReadOnlySpan<byte>(kernel, checked((int)(taps * sizeof(float))));
        foreach (var e in _kernelCache)
            if (e.Rows == rows && e.Cols == cols && source.SequenceEqual(new ReadOnlySpan<byte>(e.Kernel, source.Length)))
            {
                (e.Source, e.Workspace, e.Version) = ((nint)kernel, (nint)_memory, version);
                return e.U;
            }
        // A new transform of a kernel at an address an entry was made from (a training step changed that layer's kernel)
        // replaces that entry: one entry per layer, not a cache full of a few layers' stale transforms (the residual
        // net's training filled all 32 entries, 31 MB).
        WinogradKernel? entry = null;
        foreach (var e in _kernelCache)
            if (e.Source == (nint)kernel && e.Workspace == (nint)_memory) { entry = e; break; }
        if (entry == null)
        {
            if (_kernelCache.Length < WinogradCacheEntries) Array.Resize(ref _kernelCache, _kernelCache.Length + 1);
            int slot = _kernelCacheNext++ % _kernelCache.Length;
            entry = _kernelCache[slot] ??= new WinogradKernel();
        }
        long floats = taps * 5; // the kernel, then its 36-tap transform
        if (entry.Capacity < floats)
        {
            if (entry.Kernel != null) NativeMemory.AlignedFree(entry.Kernel);
            entry.Kernel = null;
            entry.Capacity = 0;
            entry.Kernel = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            entry.Capacity = floats;
        }
        // Until both are written the entry matches nothing.
        entry.Rows = 0;
        entry.U = entry.Kernel + taps;
        TransformKernel(kernel, rows, cols, false, entry.U);
        Buffer.MemoryCopy(kernel, entry.Kernel, taps * sizeof(float), taps * sizeof(float));
        entry.Rows = rows;
        entry.Cols = cols;
        (entry.Source, entry.Workspace, entry.Version) = ((nint)kernel, (nint)_memory, version);
        return entry.U;
    }

    /// <summary>The Winograd buffer (kernel transform and per-slot tiles), grown (never shrunk); contents are not kept.</summary>
    private float* WinogradBuffer(long floats)
    {
        if (floats > _winogradFloats)
        {
            if (_winograd != null) NativeMemory.AlignedFree(_winograd);
            _winograd = null;
            _winogradFloats = 0;
            _winograd = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            HugePages.Advise(_winograd, floats * sizeof(float));
            _winogradFloats = floats;
        }
        return _winograd;
    }

    private void FreeWinogradBuffer()
    {
        if (_winograd != null) NativeMemory.AlignedFree(_winograd);
        _winograd = null;
        _winogradFloats = 0;
        if (_zeroRow != null) NativeMemory.AlignedFree(_zeroRow);
        _zeroRow = null;
        _zeroRowFloats = 0;
        foreach (var e in _kernelCache)
            if (e?.Kernel != null)
            {
                NativeMemory.AlignedFree(e.Kernel);
                e.Kernel = null;
                e.Capacity = 0;
                e.Rows = 0;
            }
    }

    /// <summary>
    /// U[p][r][c] = (G·g·Gᵀ)[p] for every (r, c) of a [3][3][rows][cols] kernel (p = 6·i + j), g[a][b] = kernel[a][b][r][c],
    /// or kernel[2 − a][2 − b][r][c] when <paramref name="rotate"/>. Vectorised over c (cols is a multiple of 16).
    /// </summary>
    private void TransformKernel(float* kernel, int rows, int cols, bool rotate, float* u)
    {
        var job = _kernelTransformJob ??= new KernelTransformJob();
        job.Kernel = kernel;
        job.U = u;
        (job.Rows, job.Cols, job.Rotate) = (rows, cols, rotate);
        // Both threads for a large kernel (the training step transforms each kernel twice: forward and input gradient).
        job.Items = 36L * rows * cols >= ParallelMinFloats * 4L && !WorkerPool.IsInsideJob ? Math.Min(rows, Threads) : 1;
        if (job.Items == 1) job.Execute(0);
        else WorkerPool.Shared.Run(job, job.Items);
    }

    private KernelTransformJob? _kernelTransformJob;

    /// <summary><see cref="TransformKernel"/>, cut into ranges of rows.</summary>
    private sealed class KernelTransformJob : IWorkItem
    {
        public float* Kernel, U;
        public int Rows, Cols, Items;
        public bool Rotate;

        public void Execute(int index) =>
            TransformKernelRows(Kernel, Rows, Cols, Rotate, U, Rows * index / Items, Rows * (index + 1) / Items);
    }

    /// <summary>Rows [r0, r1) of <see cref="TransformKernel"/>.</summary>
    private static void TransformKernelRows(float* kernel, int rows, int cols, bool rotate, float* u, int r0, int r1)
    {
        long plane = (long)rows * cols;
        Vector512<float>* g = stackalloc Vector512<float>[9];
        Vector512<float>* t = stackalloc Vector512<float>[18];
        Vector512<float>* row = stackalloc Vector512<float>[6];
        for (int r = r0; r < r1; r++)
            for (int c = 0; c < cols; c += 16)
            {
                long at = (long)r * cols + c;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++)
                    {
                        int tap = rotate ? (2 - a) * 3 + (2 - b) : a * 3 + b;
                        g[a * 3 + b] = Vector512.Load(kernel + tap * plane + at);
                    }
                // Rows: t[i][b] = Σ_a G[i][a]·g[a][b]; then columns: U[i][j] = Σ_b t[i][b]·G[j][b].
                for (int b = 0; b < 3; b++)
                    KernelTransform3(g[b], g[3 + b], g[6 + b], t + b, 3);
                for (int i = 0; i < 6; i++)
                {
                    KernelTransform3(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], row, 1);
                    for (int j = 0; j < 6; j++) Vector512.Store(row[j], u + (i * 6 + j) * plane + at);
                }
            }
    }

    /// <summary>dst[tap][c][r] = src[tap][r][c] for the nine taps of a [3][3][rows][cols] kernel.</summary>
    private static void TransposeTaps(float* src, int rows, int cols, float* dst)
    {
        long plane = (long)rows * cols;
        for (int tap = 0; tap < 9; tap++)
        {
            float* s = src + tap * plane, d = dst + tap * plane;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    d[(long)c * rows + r] = s[(long)r * cols + c];
        }
    }

    /// <summary>The six values G·(g0, g1, g2) written at <paramref name="o"/>, <paramref name="stride"/> vectors apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelTransform3(Vector512<float> g0, Vector512<float> g1, Vector512<float> g2, Vector512<float>* o, int stride)
    {
        var sixth = Vector512.Create(1f / 6f);
        var even = g0 + g2;
        o[0] = g0 * Vector512.Create(0.25f);
        o[stride] = -(even + g1) * sixth;
        o[2 * stride] = -(even - g1) * sixth;
        var a = g0 * Vector512.Create(1f / 24f) + g2 * sixth;
        var b = g1 * Vector512.Create(1f / 12f);
        o[3 * stride] = a + b;
        o[4 * stride] = a - b;
        o[5 * stride] = g2;
    }

    /// <summary>The six values Bᵀ·(d0..d5) of the input transform, written <paramref name="ostride"/> vectors apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTransform6(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3,
        Vector512<float> d4, Vector512<float> d5, Vector512<float>* o, long ostride)
    {
        var four = Vector512.Create(4f);
        var five = Vector512.Create(5f);
        var two = Vector512.Create(2f);
        o[0] = (d0 * four - d2 * five) + d4;
        o[ostride] = d3 + d4 - (d1 + d2) * four;
        o[2 * ostride] = d4 - d3 + (d1 - d2) * four;
        o[3 * ostride] = d4 - d2 + (d3 - d1) * two;
        o[4 * ostride] = d4 - d2 + (d1 - d3) * two;
        o[5 * ostride] = (d1 * four - d3 * five) + d5;
    }

    /// <summary>The four values Aᵀ·(m0..m5) of the output transform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTransform6(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
        Vector512<float> m4, Vector512<float> m5, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2,
        out Vector512<float> o3)
    {
        var sum12 = m1 + m2;
        var dif12 = m1 - m2;
        var sum34 = m3 + m4;
        var dif34 = m3 - m4;
        o0 = m0 + sum12 + sum34;
        o1 = dif12 + dif34 * Vector512.Create(2f);
        o2 = sum12 + sum34 * Vector512.Create(4f);
        o3 = dif12 + dif34 * Vector512.Create(8f) + m5;
    }

    /// <summary>The six values A·(y0..y3) of the output-gradient transform (the output transform's transpose).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientTransform4(Vector512<float> y0, Vector512<float> y1, Vector512<float> y2, Vector512<float> y3,
        Vector512<float>* o, long ostride)
    {
        var even = y0 + y2 * Vector512.Create(4f);
        var odd = y1 * Vector512.Create(2f) + y3 * Vector512.Create(8f);
        o[0] = y0;
        o[ostride] = (y0 + y2) + (y1 + y3);
        o[2 * ostride] = (y0 + y2) - (y1 + y3);
        o[3 * ostride] = even + odd;
        o[4 * ostride] = even - odd;
        o[5 * ostride] = y3;
    }

    /// <summary>Values 1 and 2 of <see cref="GradientTransform4"/> on the four pixels at <paramref name="y"/>, channels from <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRowSums(float** y, int c, out Vector512<float> o1, out Vector512<float> o2)
    {
        Vector512<float> y0 = Vector512.Load(y[0] + c), y1 = Vector512.Load(y[1] + c), y2 = Vector512.Load(y[2] + c),
            y3 = Vector512.Load(y[3] + c);
        o1 = (y0 + y2) + (y1 + y3);
        o2 = (y0 + y2) - (y1 + y3);
    }

    /// <summary>Values 3 and 4 of <see cref="GradientTransform4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRowWeighted(float** y, int c, out Vector512<float> o3, out Vector512<float> o4)
    {
        Vector512<float> y0 = Vector512.Load(y[0] + c), y1 = Vector512.Load(y[1] + c), y2 = Vector512.Load(y[2] + c),
            y3 = Vector512.Load(y[3] + c);
        var even = y0 + y2 * Vector512.Create(4f);
        var odd = y1 * Vector512.Create(2f) + y3 * Vector512.Create(8f);
        o3 = even + odd;
        o4 = even - odd;
    }

    /// <summary>The three values Gᵀ·(u0..u5) of the kernel-gradient transform (the kernel transform's transpose).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelGradientTransform6(Vector512<float>* u, int stride, Vector512<float>* o, int ostride)
    {
        Vector512<float> u1 = u[stride], u2 = u[2 * stride], u3 = u[3 * stride], u4 = u[4 * stride];
        var sixth = Vector512.Create(1f / 6f);
        var sum12 = u1 + u2;
        var sum34 = u3 + u4;
        o[0] = u[0] * Vector512.Create(0.25f) - sum12 * sixth + sum34 * Vector512.Create(1f / 24f);
        o[ostride] = (u3 - u4) * Vector512.Create(1f / 12f) - (u1 - u2) * sixth;
        o[2 * ostride] = (sum34 - sum12) * sixth + u[5 * stride];
    }

    /// <summary>One Winograd convolution's work: items are ranges of fixed-size tile blocks, each run on a per-thread slot.</summary>
    private sealed class WinogradJob : IWorkItem
    {
        private readonly CpuBackend _owner;
        private int[] _slotBusy = [];

        public WinogradJob(CpuBackend owner) => _owner = owner;

        public Conv2DGeometry Geometry;
        public float* X, U, Bias, Z, Y, SlotBase, Dz, Partials;

        /// <summary>The kernel gradient's per-item dBias sums (OutC doubles each), or null when no dBias is asked for.</summary>
        public double* BiasPartials;

        /// <summary>Zeros, as many as the larger channel count: what a transform reads for a pixel outside the image.</summary>
        public float* ZeroRow;
        public long SlotFloats, Tiles, Blocks;
        public int TilesH, TilesW, Block, Items;
        public bool FastActivation, KernelGradient;

        /// <summary>The output transform adds to what the output holds (Conv2D's input gradient with accumulateDx).</summary>
        public bool Accumulate;

        /// <summary>Whether a residual tensor laid out as the output is added before the activation, and its offset from Z in floats.</summary>
        public bool HasResidual;
        public long ResidualOffset;
        public ActivationFunction Activation;
        public float Alpha;

        public void PrepareSlots(int slots)
        {
            if (_slotBusy.Length < slots) _slotBusy = new int[slots];
            Array.Clear(_slotBusy);
        }

        /// <summary>Runs every item: here when there is one, else on the worker pool.</summary>
        public void Run()
        {
            if (Items == 1) Execute(0);
            else WorkerPool.Shared.Run(this, Items);
        }

        public void Execute(int index)
        {
            long b0 = Blocks * index / Items, b1 = Blocks * (index + 1) / Items;
            if (b1 <= b0) return;
            int slot = CpuBackend.AcquireSlot(_slotBusy);
            // Both kinds of SGEMM here read their B in place rather than packed: the forward's U_p is the same for every
            // block (2-5 % faster forward passes), and a kernel-gradient B panel (D_p) serves only InC / 12 row panels
            // (the 128-channel layer's kernel gradient 10-15 % faster; bench/README.md).
            int savedDirectB = Sgemm.DirectBMode;
            Sgemm.DirectBMode = 1;
            try
            {
                int outC = Geometry.OutC;
                float* v = SlotBase + slot * SlotFloats;
                float* m = v + 36L * Block * Geometry.InC;
                float* du = m + 36L * Block * outC;
                // dBias: float sums over a block, added into the item's double sums (the order fixed by the item's blocks).
                float* biasBlock = du + 36L * Geometry.InC * outC;
                double* biasItem = BiasPartials != null ? BiasPartials + (long)index * outC : null;
                if (biasItem != null) new Span<double>(biasItem, outC).Clear();
                for (long bl = b0; bl < b1; bl++)
                {
                    long t0 = bl * Block;
                    int nt = (int)Math.Min(Block, Tiles - t0);
                    TransformInput(t0, nt, v);
                    if (KernelGradient)
                    {
                        if (biasItem != null) new Span<float>(biasBlock, outC).Clear();
                        TransformGradient(t0, nt, m, biasItem != null ? biasBlock : null);
                        if (biasItem != null)
                            for (int c = 0; c < outC; c++) biasItem[c] += biasBlock[c];
                        MultiplyKernelGradient(nt, v, m, du, accumulate: bl > b0);
                    }
                    else
                    {
                        Multiply(nt, v, m);
                        TransformOutput(t0, nt, m);
                    }
                }
                if (KernelGradient) TransformKernelGradient(du, Partials + index * 9L * Geometry.InC * Geometry.OutC);
            }
            finally
            {
                Sgemm.DirectBMode = savedDirectB;
                ReleaseSlot(_slotBusy, slot);
            }
        }

        /// <summary>V[t][p][c] for tiles [t0, t0 + nt): the 6x6 input window of each tile (zeros outside), transformed.</summary>
        private void TransformInput(long t0, int nt, float* v)
        {
            ref readonly Conv2DGeometry g = ref Geometry;
            int inC = g.InC;
            long cs = inC / 16; // a position's stride in V, in vectors
            Vector512<float>* t = stackalloc Vector512<float>[36];
            float** rows = stackalloc float*[36];
            int ahead = Sse.IsSupported ? WinogradPrefetchTiles : 0; // (Winograd runs only where AVX-512 does)
            for (int k = 0; k < nt; k++)
            {
                if (ahead > 0 && t0 + k + ahead < Tiles) PrefetchWindow(t0 + k + ahead);
                TileOrigin(t0 + k, out long n, out int oh, out int ow);
                int ih0 = oh - g.PadTop, iw0 = ow - g.PadLeft;
                float* sample = X + n * g.InSize;
                for (int i = 0; i < 6; i++)
                {
                    int ih = ih0 + i;
                    bool rowIn = (uint)ih < (uint)g.InH;
                    for (int j = 0; j < 6; j++)
                    {
                        int iw = iw0 + j;
                        rows[i * 6 + j] = rowIn && (uint)iw < (uint)g.InW ? sample + ((long)ih * g.InW + iw) * inC : ZeroRow;
                    }
                }
                float* dst = v + (long)k * 36 * inC;
                for (int c = 0; c < inC; c += 16)
                {
                    // Along each row (over j), straight from the input, then along each column (over i), straight into V:
                    // one pass through t (72 stores per 16 channels, not 144; the residual net trains ~10 % faster).
                    for (int i = 0; i < 6; i++)
                    {
                        float** r = rows + i * 6;
                        InputTransform6(Vector512.Load(r[0] + c), Vector512.Load(r[1] + c), Vector512.Load(r[2] + c),
                            Vector512.Load(r[3] + c), Vector512.Load(r[4] + c), Vector512.Load(r[5] + c), t + i * 6, 1);
                    }
                    var o = (Vector512<float>*)(dst + c);
                    for (int j = 0; j < 6; j++)
                        InputTransform6(t[j], t[6 + j], t[12 + j], t[18 + j], t[24 + j], t[30 + j], o + j * cs, 6 * cs);
                }
            }
        }

        /// <summary>
        /// Asks the cache for the part of tile <paramref name="tile"/>'s 6x6 input window that its left neighbour does not
        /// share (its right four columns, six rows): the transform's loads otherwise wait on memory (their share of
        /// the transform's samples in a profile).
        /// </summary>
        private void PrefetchWindow(long tile)
        {
            ref readonly Conv2DGeometry g = ref Geometry;
            TileOrigin(tile, out long n, out int oh, out int ow);
            int ih0 = oh - g.PadTop, iw0 = ow - g.PadLeft;
            int c0 = Math.Max(iw0 + 2, 0), c1 = Math.Min(iw0 + 6, g.InW);
            if (c1 <= c0) return;
            long bytes = (long)(c1 - c0) * g.InC * sizeof(float);
            byte* sample = (byte*)(X + n * g.InSize);
            for (int i = 0; i < 6; i++)
            {
                int ih = ih0 + i;
                if ((uint)ih >= (uint)g.InH) continue;
                byte* from = sample + ((long)ih * g.InW + c0) * g.InC * sizeof(float);
                for (long b = 0; b < bytes; b += 64) Sse.Prefetch0(from + b);
            }
        }

        /// <summary>
        /// Asks the cache for tile <paramref name="tile"/>'s 4x4 pixels of an output-shaped tensor at
        /// <paramref name="tensor"/> (the gradient transform's dz: no tile shares them).
        /// </summary>
        private void PrefetchOutputTile(long tile, float* tensor, int outH, int outW, int channels)
        {
            TileOrigin(tile, out long n, out int oh0, out int ow0);
            int hs = Math.Min(4, outH - oh0), ws = Math.Min(4, outW - ow0);
            long bytes = (long)ws * channels * sizeof(float), rowBytes = (long)outW * channels * sizeof(float);
            byte* first = (byte*)(tensor + ((n * outH + oh0) * (long)outW + ow0) * channels);
            for (int r = 0; r < hs; r++)
                for (long b = 0; b < bytes; b += 64) Sse.Prefetch0(first + r * rowBytes + b);
        }

        /// <summary>
        /// M_p = V_p·U_p for the 36 positions, V_p's and M_p's rows a tile (36 positions) apart (single-threaded inside a
        /// work item, see <see cref="WorkerPool.Run"/>).
        /// </summary>
        private void Multiply(int nt, float* v, float* m)
        {
            ref readonly Conv2DGeometry g = ref Geometry;
            int inC = g.InC, outC = g.OutC;
            long uPlane = (long)inC * outC;
            for (int p = 0; p < 36; p++)
                Sgemm.Multiply(false, false, nt, outC, inC, 1f, v + p * inC, 36 * inC, U + p * uPlane, outC, 0f,
                    m + p * outC, 36 * outC);
        }

        /// <summary>Y = Aᵀ·M·A for tiles [t0, t0 + nt), plus the bias, stored (and activated) where the pixels exist.</summary>
        private void TransformOutput(long t0, int nt, float* m)
        {
            ref readonly Conv2DGeometry g = ref Geometry;
            int outC = g.OutC;
            long cs = outC / 16; // a position's stride in M, in vectors
            // z: the pre-activation when kept apart, or z + bias for an activation that runs as its own pass.
            bool storeZ = Z != Y || !FastActivation;
            var alpha = Vector512.Create(Alpha);
            long y = Y - Z, row = (long)g.OutW * outC; // y's offset from z; one output row, in floats
            for (int k = 0; k < nt; k++)
            {
                TileOrigin(t0 + k, out long n, out int oh0, out int ow0);
                int hs = Math.Min(4, g.OutH - oh0), ws = Math.Min(4, g.OutW - ow0);
                float* src = m + (long)k * 36 * outC;
                long pixel0 = n * g.Pixels + (long)oh0 * g.OutW + ow0;
                for (int c = 0; c < outC; c += 16)
                {
                    // Along each row (j: 6 → 4) straight from M, then along each column (i: 6 → 4) straight to the output.
                    var s = (Vector512<float>*)(src + c);
                    var bias = Bias != null ? Vector512.Load(Bias + c) : Vector512<float>.Zero;
                    float* at = Z + pixel0 * outC + c;
                    // The row pass's outputs stay in registers, half at a time: columns 0 and 2 (which need the sums
                    // m1 + m2 and m3 + m4), then 1 and 3 (the differences); stores to a temporary array were what this
                    // transform waited on (residual training 1.5 % faster, the same bits).
                    RowSums(s, cs, out var a0, out var b0);
                    RowSums(s + 6 * cs, cs, out var a1, out var b1);
                    RowSums(s + 12 * cs, cs, out var a2, out var b2);
                    RowSums(s + 18 * cs, cs, out var a3, out var b3);
                    RowSums(s + 24 * cs, cs, out var a4, out var b4);
                    RowSums(s + 30 * cs, cs, out var a5, out var b5);
                    StoreColumn(a0, a1, a2, a3, a4, a5, bias, at, hs, row, y, storeZ, alpha);
                    if (ws > 2) StoreColumn(b0, b1, b2, b3, b4, b5, bias, at + 2 * outC, hs, row, y, storeZ, alpha);
                    if (ws < 2) continue;
                    RowDifferences(s, cs, out a0, out b0);
                    RowDifferences(s + 6 * cs, cs, out a1, out b1);
                    RowDifferences(s + 12 * cs, cs, out a2, out b2);
                    RowDifferences(s + 18 * cs, cs, out a3, out b3);
                    RowDifferences(s + 24 * cs, cs, out a4, out b4);
                    RowDifferences(s + 30 * cs, cs, out a5, out b5);
                    StoreColumn(a0, a1, a2, a3, a4, a5, bias, at + outC, hs, row, y, storeZ, alpha);
                    if (ws > 3) StoreColumn(b0, b1, b2, b3, b4, b5, bias, at + 3 * outC, hs, row, y, storeZ, alpha);
                }
            }
        }

        /// <summary>Columns 0 and 2 of <see cref="OutputTransform6"/> on the row at <paramref name="r"/> (positions <paramref name="cs"/> vectors apart).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowSums(Vector512<float>* r, long cs, out Vector512<float> o0, out Vector512<float> o2)
        {
            var sum12 = r[cs] + r[2 * cs];
            var sum34 = r[3 * cs] + r[4 * cs];
            o0 = r[0] + sum12 + sum34;
            o2 = sum12 + sum34 * Vector512.Create(4f);
        }

        /// <summary>Columns 1 and 3 of <see cref="OutputTransform6"/> on the row at <paramref name="r"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowDifferences(Vector512<float>* r, long cs, out Vector512<float> o1, out Vector512<float> o3)
        {
            var dif12 = r[cs] - r[2 * cs];
            var dif34 = r[3 * cs] - r[4 * cs];
            o1 = dif12 + dif34 * Vector512.Create(2f);
            o3 = dif12 + dif34 * Vector512.Create(8f) + r[5 * cs];
        }

        /// <summary>The column pass of one output column: its (up to) four pixels, plus the bias, stored.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreColumn(Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3,
            Vector512<float> t4, Vector512<float> t5, Vector512<float> bias, float* at, int hs, long row, long y, bool storeZ,
            Vector512<float> alpha)
        {
            OutputTransform6(t0, t1, t2, t3, t4, t5, out var o0, out var o1, out var o2, out var o3);
            Store(o0 + bias, at, y, storeZ, alpha);
            if (hs > 1) Store(o1 + bias, at + row, y, storeZ, alpha);
            if (hs > 2) Store(o2 + bias, at + 2 * row, y, storeZ, alpha);
            if (hs > 3) Store(o3 + bias, at + 3 * row, y, storeZ, alpha);
        }

        /// <summary>Stores one output vector at z (when kept) and, activated, at the same place in y.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(Vector512<float> value, float* z, long yOffset, bool storeZ, Vector512<float> alpha)
        {
            // Adding: linear and z = y only (WinogradConvolution checks), the same sum as Accumulate's y + x.
            if (Accumulate) value = Vector512.Load(z + yOffset) + value;
            // A residual block's Add, fused in (inference): the same sum as the Add's, before the activation.
            if (HasResidual) value += Vector512.Load(z + ResidualOffset);
            if (storeZ) Vector512.Store(value, z);
            if (FastActivation) Vector512.Store(Activate(value, alpha), z + yOffset);
        }

        /// <summary>
        /// D[t][p][c] for tiles [t0, t0 + nt): each tile's 4x4 dz (zeros past the output's edge), transformed to 6x6;
        /// with <paramref name="biasSums"/> (not null) every pixel's dz also added to it, per channel.
        /// </summary>
        private void TransformGradient(long t0, int nt, float* dst, float* biasSums)
        {
            ref readonly Conv2DGeometry g = ref Geometry;
            int outC = g.OutC;
            long cs = outC / 16; // a position's stride in D, in vectors
            float** pixels = stackalloc float*[16];
            int ahead = Sse.IsSupported ? WinogradPrefetchGradient : 0;
            for (int k = 0; k < nt; k++)
            {
                if (ahead > 0 && t0 + k + ahead < Tiles) PrefetchOutputTile(t0 + k + ahead, Dz, g.OutH, g.OutW, outC);
                TileOrigin(t0 + k, out long n, out int oh0, out int ow0);
                int hs = Math.Min(4, g.OutH - oh0), ws = Math.Min(4, g.OutW - ow0);
                float* tile = Dz + (n * g.Pixels + (long)oh0 * g.OutW + ow0) * outC;
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++)
                        pixels[r * 4 + q] = r < hs && q < ws ? tile + ((long)r * g.OutW + q) * outC : ZeroRow;
                float* to = dst + (long)k * 36 * outC;
                for (int c = 0; c < outC; c += 16)
                {
                    // Along each row (q: 4 → 6) straight from dz, then along each column (r: 4 → 6) straight into D; the
                    // row pass two columns at a time in registers (0 and 5: the end pixels; 1 and 2: the sums; 3 and 4),
                    // as the output transform, rather than through a temporary array.
                    var o = (Vector512<float>*)(to + c);
                    float** p = pixels;
                    Vector512<float> a0 = Vector512.Load(p[0] + c), a1 = Vector512.Load(p[4] + c), a2 = Vector512.Load(p[8] + c),
                        a3 = Vector512.Load(p[12] + c);
                    GradientTransform4(a0, a1, a2, a3, o, 6 * cs);
                    a0 = Vector512.Load(p[3] + c);
                    a1 = Vector512.Load(p[7] + c);
                    a2 = Vector512.Load(p[11] + c);
                    a3 = Vector512.Load(p[15] + c);
                    GradientTransform4(a0, a1, a2, a3, o + 5 * cs, 6 * cs);
                    GradientRowSums(p, c, out a0, out var b0);
                    GradientRowSums(p + 4, c, out a1, out var b1);
                    GradientRowSums(p + 8, c, out a2, out var b2);
                    GradientRowSums(p + 12, c, out a3, out var b3);
                    GradientTransform4(a0, a1, a2, a3, o + cs, 6 * cs);
                    GradientTransform4(b0, b1, b2, b3, o + 2 * cs, 6 * cs);
                    // Column 1 of the row pass is each row's sum: dBias for free.
                    if (biasSums != null) Vector512.Store(Vector512.Load(biasSums + c) + ((a0 + a1) + (a2 + a3)), biasSums + c);
                    GradientRowWeighted(p, c, out a0, out b0);
                    GradientRowWeighted(p + 4, c, out a1, out b1);
                    GradientRowWeighted(p + 8, c, out a2, out b2);
                    GradientRowWeighted(p + 12, c, out a3, out b3);
                    GradientTransform4(a0, a1, a2, a3, o + 3 * cs, 6 * cs);
                    GradientTransform4(b0, b1, b2, b3, o + 4 * cs, 6 * cs);
                }
            }
        }

        /// <summary>dU_p (+)= V_pᵀ·D_p for the 36 positions: InC × OutC, summed over the block's tiles.</summary>
        private void MultiplyKernelGradient(int nt, float* v, float* d, float* du, bool accumulate)
        {
            int inC = Geometry.InC, outC = Geometry.OutC;
            long plane = (long)inC * outC;
            for (int p = 0; p < 36; p++)
                Sgemm.Multiply(true, false, inC, outC, nt, 1f, v + p * inC, 36 * inC, d + p * outC, 36 * outC,
                    accumulate ? 1f : 0f, du + p * plane, outC);
        }

        /// <summary>dKernel[a][b][i][o] = (Gᵀ·dU·G)[a][b] for every channel pair, into an item's partial sum.</summary>
        private void TransformKernelGradient(float* du, float* dk)
        {
            int outC = Geometry.OutC;
            long plane = (long)Geometry.InC * outC;
            Vector512<float>* u = stackalloc Vector512<float>[36];
            Vector512<float>* t = stackalloc Vector512<float>[18];
            Vector512<float>* w = stackalloc Vector512<float>[9];
            for (long at = 0; at < plane; at += 16)
            {
                for (int p = 0; p < 36; p++) u[p] = Vector512.Load(du + p * plane + at);
                // Along each row (j: 6 → 3), then along each column (i: 6 → 3).
                for (int i = 0; i < 6; i++) KernelGradientTransform6(u + i * 6, 1, t + i * 3, 1);
                for (int b = 0; b < 3; b++) KernelGradientTransform6(t + b, 3, w + b, 3);
                for (int tap = 0; tap < 9; tap++) Vector512.Store(w[tap], dk + tap * plane + at);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<float> Activate(Vector512<float> v, Vector512<float> alpha) => Activation switch
        {
            ActivationFunction.Relu => ReluOp.Apply(v, alpha),
            ActivationFunction.LeakyRelu => LeakyOp.Apply(v, alpha),
            _ => v,
        };

        /// <summary>Sample and top-left output pixel of tile <paramref name="tile"/> (tiles in sample, row, column order).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void TileOrigin(long tile, out long n, out int oh, out int ow)
        {
            int perSample = TilesH * TilesW;
            n = tile / perSample;
            int r = (int)(tile - n * perSample);
            int th = r / TilesW;
            oh = th * 4;
            ow = (r - th * TilesW) * 4;
        }
    }
}
