using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Conv2D on the CPU (NHWC): im2col + SGEMM, chunked by output lines (one line = one (sample, output row) pair, OutW
// pixels) so the patch matrix stays in a bounded, backend-owned scratch buffer (ConvChunkFloats). 1×1 stride-1
// convolutions read x in place. With few input channels (≤ SmallConvMaxInC, output channels a multiple of 16) direct
// kernels replace im2col: the GEMM would have a tiny K and the im2col would cost more than the products. 3x3 stride-1
// convolutions may take the Winograd path (CpuBackend.Winograd.cs). The staging machinery is in CpuBackend.Staging.cs,
// the shared bias-and-activation epilogue in CpuBackend.Epilogue.cs.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Target size in floats of one im2col chunk (the patch matrix of a group of output lines).</summary>
    internal static int ConvChunkFloats = 1 << 19;

    /// <summary>Rows of one chunk of a 1×1 stride-1 convolution (no im2col: the GEMM reads x in place).</summary>
    internal static int ConvDirectChunkRows = 4096;

    /// <summary>Largest input channel count that takes the direct (no im2col) kernels.</summary>
    internal static int SmallConvMaxInC = 4;


    private static bool IsDirect(in Conv2DGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadLeft == 0
        && g.OutH == g.InH && g.OutW == g.InW;

    /// <summary>Output lines per chunk: bounded scratch, equal-sized chunks.</summary>
    private static int LinesPerChunk(Work w, int lines)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        long perLine = w.Direct ? g.OutW : (long)g.OutW * g.Patch;
        long target = w.Direct ? w.ChunkRows : w.ChunkFloats;
        int per = (int)Math.Clamp(target / Math.Max(1, perLine), 1, lines);
        int chunks = (lines + per - 1) / per;
        return (lines + chunks - 1) / chunks;
    }

    /// <summary>Few input channels: a direct kernel (output channels in registers) beats im2col + a GEMM with a tiny K.</summary>
    private static bool IsSmall(in Conv2DGeometry g) => g.InC <= SmallConvMaxInC && g.OutC % 16 == 0;

    /// <inheritdoc/>
    public void Conv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(Conv2DForward), addsResidual: true);
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0) return;
        int residual = epilogue.Residual;
        if (residual >= 0) CheckResidual(residual, y, (long)batch * g.OutSize);
        int z = preActivation >= 0 ? preActivation : y;
        var w = GetWork();
        w.Conv = g;
        w.X = x; w.Z = z; w.Y = y; w.Bias = bias; w.Kernel = kernel; w.Activation = activation; w.Alpha = alpha;
        w.Residual = residual;
        int lines = batch * g.OutH;
        if (IsSmall(g))
        {
            RunWork(w, WorkKind.SmallForward, lines, ItemsFor(lines, (long)g.OutW * g.OutC * g.Patch / 4));
            return;
        }
        if (UsesWinograd(g, batch))
        {
            WinogradConvolution(g, batch, activation, alpha, At(x), At(kernel), false, bias >= 0 ? At(bias) : null, z, y, residual: residual);
            return;
        }
        w.Direct = IsDirect(g);
        (w.ChunkFloats, w.ChunkRows) = (ConvChunkFloats, ConvDirectChunkRows);   // read once: tests change them
        int items = SampleItems(g, batch);
        PrepareSlots(w, g, batch, items, w.Direct, w.Direct);
        // In inference the kernel is packed for the GEMM once and kept (as a Dense layer's): every range reads it.
        _convForwardPacked = PackedKernel(kernel, g.Patch, g.OutC);
        try
        {
            if (items == 1)
                ConvForwardRange(w, 0, batch, parallel: true);
            else
                RunWork(w, WorkKind.ConvForwardSamples, batch, items);
        }
        finally { _convForwardPacked = null; }
    }

    /// <summary>The running Conv2DForward's kernel packed ahead (inference), or null.</summary>
    private PackedMatrix? _convForwardPacked;

    /// <summary>Throws when a residual of <paramref name="count"/> floats overlaps the output it is added into.</summary>
    internal static void CheckResidual(int residual, int y, long count)
    {
        if (residual < y + count && y < residual + count)
            throw new ArgumentException(
                $"The residual at {residual} overlaps the output at {y} ({count} floats each): the convolution would overwrite it before adding it.", "epilogue");
    }

    /// <summary>
    /// How many sample ranges a convolution is cut into. With several threads and samples each range runs whole on
    /// one thread (its own im2col chunks, single-threaded GEMMs, epilogue): no barrier between the stages and the
    /// patch matrix stays in that core's cache. One range: the stages run one after the other, each parallel.
    /// </summary>
    private static int SampleItems(in Conv2DGeometry g, int batch)
    {
        if (!ConvSampleParallel || Threads <= 1 || batch < 2) return 1;
        if ((long)batch * g.Pixels * g.Patch * g.OutC < ConvSampleMinMacs) return 1;
        return Math.Min(batch, Threads * ConvItemsPerThread);
    }

    /// <summary>Sample ranges per thread in a sample-parallel convolution (more: finer balance, more partial sums).</summary>
    internal static int ConvItemsPerThread = 4;

    /// <summary>Whether a convolution over several samples runs each range of samples on one thread (see <see cref="SampleItems"/>).</summary>
    internal static bool ConvSampleParallel = true;

    /// <summary>Below this many multiply-adds a convolution runs as one range (stages parallel) instead.</summary>
    internal static long ConvSampleMinMacs = 1L << 22;

    /// <summary>
    /// Sets up the per-thread state of a sample-parallel convolution (a copy of <paramref name="w"/>'s arguments and
    /// a scratch slice per thread), or the single scratch of a one-range one.
    /// </summary>
    private void PrepareSlots(Work w, in Conv2DGeometry g, int batch, int items, bool direct, bool noCols)
    {
        // The most lines a chunk of any range can have (LinesPerChunk never exceeds it).
        int maxLines = (batch + items - 1) / items * g.OutH;
        long perLine = (long)g.OutW * g.Patch;
        long per = Math.Clamp(w.ChunkFloats / Math.Max(1, perLine), 1, maxLines);
        long slotFloats = noCols ? 0 : (per * perLine + 15) & ~15L;
        if (items == 1)
        {
            w.Cols = noCols ? null : Scratch(slotFloats);
            return;
        }
        int slots = Threads;
        if (_slots is null || _slots.Length < slots)
        {
            _slots = new Work[slots];
            _slotBusy = new int[slots];
            for (int i = 0; i < slots; i++) _slots[i] = new Work(this);
        }
        float* scratch = noCols ? null : Scratch(slotFloats * slots);
        for (int i = 0; i < slots; i++)
        {
            var s = _slots[i];
            s.Conv = g;
            s.X = w.X; s.Z = w.Z; s.Y = w.Y; s.Dy = w.Dy; s.Dx = w.Dx; s.Bias = w.Bias; s.Kernel = w.Kernel;
            s.Activation = w.Activation; s.Alpha = w.Alpha; s.Direct = direct; s.Residual = w.Residual;
            s.ActBackward = w.ActBackward; s.SumBias = w.SumBias; s.SumKernel = w.SumKernel; s.AccumulateDx = w.AccumulateDx;
            s.ChunkFloats = w.ChunkFloats; s.ChunkRows = w.ChunkRows;
            s.Cols = noCols ? null : scratch + i * slotFloats;
        }
    }

    private Work[]? _slots;
    private int[] _slotBusy = [];

    /// <summary>A free per-thread state; at most <see cref="Threads"/> items run at once, so one is always free soon.</summary>
    private int AcquireSlot() => AcquireSlot(_slotBusy);

    private void ReleaseSlot(int slot) => ReleaseSlot(_slotBusy, slot);

    /// <summary>
    /// Claims a free entry of <paramref name="busy"/> (0 free, 1 taken), spinning until one is: callers run at most
    /// as many work items at once as there are entries, so one is free soon.
    /// </summary>
    private static int AcquireSlot(int[] busy)
    {
        while (true)
        {
            for (int i = 0; i < busy.Length; i++)
                if (Volatile.Read(ref busy[i]) == 0 && Interlocked.CompareExchange(ref busy[i], 1, 0) == 0)
                    return i;
            Thread.SpinWait(16);
        }
    }

    private static void ReleaseSlot(int[] busy, int slot) => Volatile.Write(ref busy[slot], 0);

    /// <summary>Runs a stage over <paramref name="units"/> on the pool (<paramref name="parallel"/>) or here, whole.</summary>
    private void Stage(Work w, int kind, int units, long floatsPerUnit, bool parallel)
    {
        if (parallel)
        {
            RunWork(w, kind, units, ItemsFor(units, floatsPerUnit));
            return;
        }
        w.Kind = kind;
        w.Units = units;
        w.Items = 1;
        w.Execute(0);
    }

    /// <summary>
    /// A forward chunk of at most this many output pixels (and input channels a multiple of 16) multiplies its im2col
    /// rows gathered inside the GEMM (<see cref="Sgemm.MultiplyIm2Col"/>) instead of writing them first (0: never).
    /// </summary>
    internal static int ConvGatherMaxRows = 256;

    /// <summary>Forward of samples [n0, n1) in chunks of output lines.</summary>
    private void ConvForwardRange(Work w, int n0, int n1, bool parallel)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int first = n0 * g.OutH, lines = (n1 - n0) * g.OutH;
        int per = LinesPerChunk(w, lines);
        bool epilogue = w.Bias >= 0 || w.Activation != ActivationFunction.Linear || w.Z != w.Y || w.Residual >= 0;
        // A gathered product applies a fast epilogue to each C tile as it completes, on its thread (the rows are few
        // there: as a stage of its own it would run on one thread).
        bool inGemm = epilogue && w.Z == w.Y && FastActivation.Supports(w.Activation);
        for (int l0 = first; l0 < first + lines; l0 += per)
        {
            int nl = Math.Min(per, first + lines - l0);
            int rows = nl * g.OutW;
            long row0 = (long)l0 * g.OutW;
            // A small product gathers its im2col rows block by block inside the GEMM, on both threads, in cache.
            if (!w.Direct && rows <= ConvGatherMaxRows && g.InC % 16 == 0
                && Sgemm.MultiplyIm2Col(new Im2ColSource(At(w.X), g, row0), rows, g.OutC, g.Patch, At(w.Kernel), g.OutC,
                    rows > 1 ? _convForwardPacked : null, At(w.Z) + row0 * g.OutC, g.OutC,
                    inGemm ? new GemmEpilogue(w.Activation, w.Alpha, w.Bias >= 0 ? At(w.Bias) : null, At(w.Y) + row0 * g.OutC,
                        w.Residual >= 0 ? At(w.Residual) + row0 * g.OutC : null) : default))
            {
                if (epilogue && !inGemm)
                {
                    w.R0 = (int)row0;
                    Stage(w, WorkKind.ConvEpilogue, rows, g.OutC * 2L, parallel);
                }
                continue;
            }
            float* a;
            int lda;
            if (w.Direct)
            {
                a = At(w.X) + row0 * g.InC;
                lda = g.InC;
            }
            else
            {
                w.L0 = l0;
                Stage(w, WorkKind.Im2Col, nl, (long)g.OutW * g.Patch, parallel);
                a = w.Cols;
                lda = g.Patch;
            }
            if (_convForwardPacked is { } packed && rows > 1)
                Sgemm.Multiply(rows, 1f, a, lda, packed, 0f, At(w.Z) + row0 * g.OutC, g.OutC);
            else
                Sgemm.Multiply(false, false, rows, g.OutC, g.Patch, 1f, a, lda, At(w.Kernel), g.OutC, 0f, At(w.Z) + row0 * g.OutC, g.OutC);
            if (epilogue)
            {
                w.R0 = (int)row0;
                Stage(w, WorkKind.ConvEpilogue, rows, g.OutC * 2L, parallel);
            }
        }
    }

    /// <summary>One sample range of a sample-parallel forward, on a per-thread state.</summary>
    private void ConvForwardSamples(int n0, int n1)
    {
        int slot = AcquireSlot();
        try
        {
            ConvForwardRange(_slots![slot], n0, n1, parallel: false);
        }
        finally
        {
            ReleaseSlot(slot);
        }
    }

    /// <inheritdoc/>
    public void Conv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(Conv2DBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, g.Patch * g.OutC, 0f);
            if (dBias >= 0) Fill(dBias, g.OutC, 0f);
            return;
        }
        var w = GetWork();
        w.Conv = g;
        w.X = x; w.Z = preActivation; w.Y = y; w.Dy = dy; w.Dx = dx; w.Kernel = kernel; w.Activation = activation; w.Alpha = alpha;
        w.ActBackward = !gradientIsPreActivation && activation != ActivationFunction.Linear;
        w.SumBias = dBias >= 0;
        w.SumKernel = dKernel >= 0;
        w.AccumulateDx = accumulateDx;
        try
        {
            Conv2DBackward(w, g, batch, x, kernel, dy, dx, dKernel, dBias, accumulateDx);
        }
        finally
        {
            w.AccumulateDx = false; // the Work is shared with col2im's other callers
        }
    }

    /// <summary><see cref="Conv2DBackward(in Conv2DGeometry, int, in Epilogue, bool, int, int, int, int, int, int, int, bool)"/> once <paramref name="w"/> holds its arguments.</summary>
    private void Conv2DBackward(Work w, in Conv2DGeometry g, int batch, int x, int kernel, int dy, int dx, int dKernel, int dBias,
        bool accumulateDx)
    {
        int lines = batch * g.OutH;
        int outC = g.OutC;
        long kernelFloats = (long)g.Patch * outC;

        if (IsSmall(g))
        {
            // One pass: dz in place, per-item partial dBias and dKernel; the partition is fixed, so the sums are deterministic.
            int items = ItemsFor(lines, (long)g.OutW * g.OutC * g.Patch / 4);
            long acc = kernelFloats + outC;
            w.PartialStride = (acc + 7) & ~7L;
            w.BlockStride = (acc + 15) & ~15L;
            byte* aux = Aux(items * (w.PartialStride * 8 + w.BlockStride * 4));
            w.Partials = (double*)aux;
            w.Blocks = (float*)(aux + items * w.PartialStride * 8);
            RunWork(w, WorkKind.SmallBackward, lines, items);
            float* dk = dKernel >= 0 ? At(dKernel) : null, db = dBias >= 0 ? At(dBias) : null;
            for (long i = 0; i < acc; i++)
            {
                double s = 0;
                for (int it = 0; it < w.Items; it++) s += w.Partials[it * w.PartialStride + i];
                if (i < kernelFloats) { if (dk != null) dk[i] = (float)s; }
                else if (db != null) db[i - kernelFloats] = (float)s;
            }
            if (dx < 0) return;
            // dx the im2col way (dz is ready).
            w.ActBackward = false;
            w.SumBias = false;
            w.SumKernel = false;
            w.Direct = false;
        }
        else
            w.Direct = IsDirect(g);

        // dKernel and dx the Winograd way (CpuBackend.Winograd.cs), from dz, once the pass below has left dz in dy.
        // dBias too where dy already is dz (no activation's derivative to apply first): the kernel gradient's
        // transform reads every pixel of dz anyway, and the pass below is then not needed at all.
        bool winogradKernel = w.SumKernel && UsesWinograd(g, batch);
        bool winogradBias = winogradKernel && w.SumBias && !w.ActBackward;
        if (winogradKernel) w.SumKernel = false;
        if (winogradBias) w.SumBias = false;
        int winogradDx = -1;
        if (dx >= 0 && UsesWinograd(g, batch) && UsesWinograd(InputGradientGeometry(g), batch))
        {
            winogradDx = dx;
            dx = -1;
            w.Dx = -1;
        }

        if (w.ActBackward || w.SumBias || w.SumKernel || dx >= 0)
        {
            (w.ChunkFloats, w.ChunkRows) = (ConvChunkFloats, ConvDirectChunkRows);
            int items = SampleItems(g, batch);
            if (w.SumKernel && items > Threads)
                // Each range keeps a partial dKernel: at most ~32 MB of them, but one per thread at least.
                items = (int)Math.Max(Threads, Math.Min(items, (32L << 20) / (kernelFloats * sizeof(float))));
            bool noCols = w.Direct || (!w.SumKernel && dx < 0);
            PrepareSlots(w, g, batch, items, w.Direct, noCols);
            // Per item: partial dKernel (float, summed over its chunks by the GEMMs) and partial dBias (double).
            long kStride = w.SumKernel && items > 1 ? (kernelFloats + 15) & ~15L : 0;
            long bStride = (outC + 7) & ~7L, blockStride = (outC + 15) & ~15L;
            int biasSlots = Math.Max(items, Threads * 4);
            long kBytes = items * kStride * sizeof(float);
            long bBytes = w.SumBias ? biasSlots * (bStride * sizeof(double) + blockStride * sizeof(float)) : 0;
            byte* aux = Aux(kBytes + bBytes + 64);
            w.KernelPartials = (float*)aux;
            w.KernelStride = kStride;
            if (w.SumBias)
            {
                w.Partials = (double*)(aux + kBytes);
                w.PartialStride = bStride;
                w.Blocks = (float*)(aux + kBytes + biasSlots * bStride * sizeof(double));
                w.BlockStride = blockStride;
                new Span<double>(w.Partials, (int)(biasSlots * bStride)).Clear();
            }
            if (items == 1)
            {
                w.KernelTarget = w.SumKernel ? At(dKernel) : null;
                ConvBackwardRange(w, 0, batch, parallel: true);
            }
            else
                RunWork(w, WorkKind.ConvBackwardSamples, batch, items);

            if (w.SumKernel && items > 1)
            {
                AddPartials(w.KernelPartials, items, kernelFloats, kStride, At(dKernel));
            }
            if (w.SumBias)
            {
                float* db = At(dBias);
                for (int c = 0; c < outC; c++)
                {
                    double s = 0;
                    for (int i = 0; i < biasSlots; i++) s += w.Partials[i * bStride + c];
                    db[c] = (float)s;
                }
            }
        }
        if (winogradKernel)
            WinogradKernelGradient(g, batch, At(x), At(dy), At(dKernel), winogradBias ? At(dBias) : null);
        if (winogradDx >= 0)
            WinogradConvolution(InputGradientGeometry(g), batch, ActivationFunction.Linear, 0f, At(dy), At(kernel), true, null, winogradDx, winogradDx,
                accumulateDx);
    }

    /// <summary>One sample range of a sample-parallel backward, on a per-thread state, with item <paramref name="item"/>'s partial sums.</summary>
    private void ConvBackwardSamples(Work outer, int n0, int n1, int item)
    {
        int slot = AcquireSlot();
        try
        {
            var s = _slots![slot];
            s.KernelTarget = outer.SumKernel ? outer.KernelPartials + item * outer.KernelStride : null;
            if (outer.SumBias)
            {
                s.Partials = outer.Partials + item * outer.PartialStride;
                s.PartialStride = outer.PartialStride;
                s.Blocks = outer.Blocks + slot * outer.BlockStride;
                s.BlockStride = outer.BlockStride;
            }
            ConvBackwardRange(s, n0, n1, parallel: false);
        }
        finally
        {
            ReleaseSlot(slot);
        }
    }

    /// <summary>
    /// Backward of samples [n0, n1) in chunks of output lines: dz (if <c>ActBackward</c>) and dBias partial sums, then
    /// dKernel into <c>KernelTarget</c> (the first chunk overwrites, later ones add) and dx by col2im.
    /// </summary>
    private void ConvBackwardRange(Work w, int n0, int n1, bool parallel)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int outC = g.OutC;
        int first = n0 * g.OutH, lines = (n1 - n0) * g.OutH, end = first + lines;
        int per = LinesPerChunk(w, lines);
        bool rowPass = w.ActBackward || w.SumBias;
        int zeroedUpTo = n0 * g.InH;
        float* dyBase = At(w.Dy);
        for (int l0 = first; l0 < end; l0 += per)
        {
            int nl = Math.Min(per, end - l0);
            int rows = nl * g.OutW;
            long row0 = (long)l0 * g.OutW;
            float* dz = dyBase + row0 * outC;
            if (rowPass)
            {
                w.R0 = (int)row0;
                if (parallel) RunWork(w, WorkKind.ConvActBackward, rows, Math.Min(Threads * 4, ItemsFor(rows, outC * 3L)));
                else Stage(w, WorkKind.ConvActBackward, rows, 0, false);
            }

            if (w.SumKernel)
            {
                float* a;
                int lda;
                if (w.Direct)
                {
                    a = At(w.X) + row0 * g.InC;
                    lda = g.InC;
                }
                else
                {
                    w.L0 = l0;
                    Stage(w, WorkKind.Im2Col, nl, (long)g.OutW * g.Patch, parallel);
                    a = w.Cols;
                    lda = g.Patch;
                }
                // dKernel[Patch, OutC] (+)= patchesᵀ · dz
                Sgemm.Multiply(true, false, g.Patch, outC, rows, 1f, a, lda, dz, outC, l0 == first ? 0f : 1f, w.KernelTarget, outC);
            }

            if (w.Dx >= 0)
            {
                if (w.Direct)
                {
                    Sgemm.Multiply(false, true, rows, g.InC, outC, 1f, dz, outC, At(w.Kernel), outC, w.AccumulateDx ? 1f : 0f,
                        At(w.Dx) + row0 * g.InC, g.InC);
                }
                else
                {
                    // dcols[rows, Patch] = dz · kernelᵀ, then gathered into the input lines it touches.
                    Sgemm.Multiply(false, true, rows, g.Patch, outC, 1f, dz, outC, At(w.Kernel), outC, 0f, w.Cols, g.Patch);
                    zeroedUpTo = GatherColumns(w, l0, nl, n1, end, zeroedUpTo, parallel);
                }
            }
        }
    }

    /// <summary>Rows [R0 + u0, R0 + u1): dy ← dy ⊙ act'(z, y) in place (when asked), and their column sums into slot <paramref name="item"/>.</summary>
    private void ConvActBackward(Work w, int u0, int u1, int item)
    {
        int cols = w.Conv.OutC;
        long r0 = w.R0 + (long)u0;
        if (w.ActBackward)
            ActivationBackwardRows(w.Activation, w.Alpha, u1 - u0, cols, w.Z >= 0 ? (int)(w.Z + r0 * cols) : -1,
                (int)(w.Y + r0 * cols), (int)(w.Dy + r0 * cols));
        if (w.SumBias)
        {
            double* sum = w.Partials + item * w.PartialStride;
            float* block = w.Blocks + item * w.BlockStride;
            float* m = At(w.Dy) + r0 * cols;
            int rows = u1 - u0;
            for (int b0 = 0; b0 < rows; b0 += 128)
            {
                int b1 = Math.Min(rows, b0 + 128);
                new Span<float>(block, cols).Clear();
                for (int r = b0; r < b1; r++) AddTo(block, m + (long)r * cols, cols);
                for (int c = 0; c < cols; c++) sum[c] += block[c];
            }
        }
    }

    /// <summary>
    /// Direct forward for few input channels, output lines [u0, u1), 16 output channels at a time: eight neighbouring
    /// pixels whose windows lie inside the input columns share each kernel load (eight independent accumulators); the
    /// others go one by one with bounds checks. Then bias and activation.
    /// </summary>
    private void SmallForward(Work w, int u0, int u1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int outC = g.OutC, inC = g.InC, outW = g.OutW, inW = g.InW, kwN = g.KernelW, sw = g.StrideW, dw = g.DilationW, pl = g.PadLeft;
        float* x = At(w.X), k = At(w.Kernel), z = At(w.Z), y = At(w.Y);
        float* b = w.Bias >= 0 ? At(w.Bias) : null;
        float* r = w.Residual >= 0 ? At(w.Residual) : null;
        var act = w.Activation;
        bool fast = act is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        bool storeZ = !fast || z != y;
        var va = Vector512.Create(w.Alpha);
        nint xStep = (nint)sw * inC;           // between neighbouring output pixels in x
        for (int line = u0; line < u1; line++)
        {
            int n = line / g.OutH, oh = line - n * g.OutH;
            float* xs = x + (long)n * g.InSize;
            long rowBase = (long)line * outW;
            // Valid kernel rows of this line.
            int kh0 = 0, kh1 = g.KernelH;
            int ihBase = oh * g.StrideH - g.PadTop;
            while (kh0 < kh1 && ihBase + kh0 * g.DilationH < 0) kh0++;
            while (kh1 > kh0 && ihBase + (kh1 - 1) * g.DilationH >= g.InH) kh1--;
            int ow = 0;
            while (ow < outW)
            {
                int iw0 = ow * sw - pl;
                // All output channels of a pixel (or of 8 pixels) before the next, so y is written in order.
                if (ow + 8 <= outW && iw0 >= 0 && (ow + 7) * sw - pl + (kwN - 1) * dw < inW)
                {
                    for (int cb = 0; cb < outC; cb += 16)
                    {
                        var bias = b != null ? Vector512.Load(b + cb) : Vector512<float>.Zero;
                        Vector512<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            float* xr = xs + ((long)(ihBase + kh * g.DilationH) * inW + iw0) * inC;
                            float* wr = k + (long)kh * kwN * inC * outC + cb;
                            for (int kw = 0; kw < kwN; kw++)
                            {
                                float* xp = xr + (nint)kw * dw * inC;
                                float* wp = wr + (nint)kw * inC * outC;
                                for (int ic = 0; ic < inC; ic++, xp++, wp += outC)
                                {
                                    var wv = Vector512.Load(wp);
                                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[0]), wv, a0);
                                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[xStep]), wv, a1);
                                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[2 * xStep]), wv, a2);
                                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[3 * xStep]), wv, a3);
                                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[4 * xStep]), wv, a4);
                                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[5 * xStep]), wv, a5);
                                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[6 * xStep]), wv, a6);
                                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[7 * xStep]), wv, a7);
                                }
                            }
                        }
                        long o = (rowBase + ow) * outC + cb;
                        StoreOut(a0, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a1, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a2, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a3, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a4, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a5, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a6, z, y, r, o, storeZ, fast, act, va); o += outC;
                        StoreOut(a7, z, y, r, o, storeZ, fast, act, va);
                    }
                    ow += 8;
                }
                else
                {
                    for (int cb = 0; cb < outC; cb += 16)
                    {
                        var a = b != null ? Vector512.Load(b + cb) : Vector512<float>.Zero;
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            float* xr = xs + (long)(ihBase + kh * g.DilationH) * inW * inC;
                            for (int kw = 0; kw < kwN; kw++)
                            {
                                int iw = iw0 + kw * dw;
                                if ((uint)iw >= (uint)inW) continue;
                                float* xp = xr + (long)iw * inC;
                                float* wp = k + (long)(kh * kwN + kw) * inC * outC + cb;
                                for (int ic = 0; ic < inC; ic++, wp += outC)
                                    a = Vector512.FusedMultiplyAdd(Vector512.Create(xp[ic]), Vector512.Load(wp), a);
                            }
                        }
                        StoreOut(a, z, y, r, (rowBase + ow) * outC + cb, storeZ, fast, act, va);
                    }
                    ow++;
                }
            }
        }
        if (!fast)
            ActivationForward(act, w.Alpha, (u1 - u0) * outW, outC, (int)(w.Z + (long)u0 * outW * outC), (int)(w.Y + (long)u0 * outW * outC));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreOut(Vector512<float> v, float* z, float* y, float* residual, long o, bool storeZ, bool fast, ActivationFunction act,
        Vector512<float> alpha)
    {
        if (residual != null) v += Vector512.Load(residual + o);
        if (storeZ) Vector512.Store(v, z + o);
        if (fast) Vector512.Store(FastAct(act, v, alpha), y + o);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FastAct(ActivationFunction act, Vector512<float> v, Vector512<float> alpha) => act switch
    {
        ActivationFunction.Relu => ReluOp.Relu(v),
        ActivationFunction.LeakyRelu => LeakyOp.Apply(v, alpha),
        _ => v,
    };

    /// <summary>
    /// Direct backward for few input channels, output lines [u0, u1): dz in place (when asked), then this item's partial
    /// dBias [OutC] and dKernel [Patch, OutC]. Works on blocks of about 256 pixels so dz stays in L1 between the passes;
    /// dKernel goes 16 output channels × up to 12 kernel rows (tap, input channel) at a time in registers. Sums are kept
    /// in float within a block and in double across blocks.
    /// </summary>
    private void SmallBackward(Work w, int u0, int u1, int item)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int outC = g.OutC, outW = g.OutW;
        long kernelFloats = (long)g.Patch * outC;
        int acc = (int)(kernelFloats + outC);
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, acc).Clear();
        new Span<float>(blk, acc).Clear();
        int groups = (g.Patch + 11) / 12;
        int perGroup = (g.Patch + groups - 1) / groups;
        int linesPerBlock = Math.Max(1, 256 / outW);
        for (int l0 = u0; l0 < u1; l0 += linesPerBlock)
        {
            int l1 = Math.Min(u1, l0 + linesPerBlock);
            long row0 = (long)l0 * outW;
            int rows = (l1 - l0) * outW;
            if (w.ActBackward)
                ActivationBackwardRows(w.Activation, w.Alpha, rows, outC, w.Z >= 0 ? (int)(w.Z + row0 * outC) : -1,
                    (int)(w.Y + row0 * outC), (int)(w.Dy + row0 * outC));
            float* dz = At(w.Dy) + row0 * outC;
            if (w.SumBias)
                for (int r = 0; r < rows; r++) AddTo(blk + kernelFloats, dz + (long)r * outC, outC);
            if (w.SumKernel)
                for (int j0 = 0; j0 < g.Patch; j0 += perGroup)
                {
                    int count = Math.Min(perGroup, g.Patch - j0);
                    for (int cb = 0; cb < outC; cb += 16)
                        switch (count)
                        {
                            case 1: KernelRows<C1>(w, l0, l1, j0, cb, blk); break;
                            case 2: KernelRows<C2>(w, l0, l1, j0, cb, blk); break;
                            case 3: KernelRows<C3>(w, l0, l1, j0, cb, blk); break;
                            case 4: KernelRows<C4>(w, l0, l1, j0, cb, blk); break;
                            case 5: KernelRows<C5>(w, l0, l1, j0, cb, blk); break;
                            case 6: KernelRows<C6>(w, l0, l1, j0, cb, blk); break;
                            case 7: KernelRows<C7>(w, l0, l1, j0, cb, blk); break;
                            case 8: KernelRows<C8>(w, l0, l1, j0, cb, blk); break;
                            case 9: KernelRows<C9>(w, l0, l1, j0, cb, blk); break;
                            case 10: KernelRows<C10>(w, l0, l1, j0, cb, blk); break;
                            case 11: KernelRows<C11>(w, l0, l1, j0, cb, blk); break;
                            default: KernelRows<C12>(w, l0, l1, j0, cb, blk); break;
                        }
                }
            for (int i = 0; i < acc; i++)
            {
                part[i] += blk[i];
                blk[i] = 0f;
            }
        }
    }

    private interface ICount { static abstract int N { get; } }
    private struct C1 : ICount { public static int N => 1; }
    private struct C2 : ICount { public static int N => 2; }
    private struct C3 : ICount { public static int N => 3; }
    private struct C4 : ICount { public static int N => 4; }
    private struct C5 : ICount { public static int N => 5; }
    private struct C6 : ICount { public static int N => 6; }
    private struct C7 : ICount { public static int N => 7; }
    private struct C8 : ICount { public static int N => 8; }
    private struct C9 : ICount { public static int N => 9; }
    private struct C10 : ICount { public static int N => 10; }
    private struct C11 : ICount { public static int N => 11; }
    private struct C12 : ICount { public static int N => 12; }

    /// <summary>
    /// acc[(j0 + j)·OutC + cb .. +16] += Σ_pixels x(pixel, kernel row j0 + j)·dz[pixel, cb .. +16] for j &lt; T.N over
    /// output lines [l0, l1), where kernel row j = (kh·KernelW + kw)·InC + ic reads x at
    /// (oh·s − pad + kh·d, ow·s − pad + kw·d, ic), 0 outside the input.
    /// </summary>
    private void KernelRows<T>(Work w, int l0, int l1, int j0, int cb, float* acc) where T : struct, ICount
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int outC = g.OutC, inC = g.InC, outW = g.OutW, inW = g.InW, inH = g.InH;
        int* dh = stackalloc int[12];
        int* dwo = stackalloc int[12];
        int* ics = stackalloc int[12];
        nint* off = stackalloc nint[12];
        int maxDh = 0, maxDw = 0;
        for (int j = 0; j < 12; j++)
        {
            int jj = Math.Min(j0 + Math.Min(j, T.N - 1), g.Patch - 1);
            int tap = jj / inC, ic = jj - tap * inC;
            int kh = tap / g.KernelW, kw = tap - kh * g.KernelW;
            dh[j] = kh * g.DilationH;
            dwo[j] = kw * g.DilationW;
            ics[j] = ic;
            off[j] = ((nint)dh[j] * inW + dwo[j]) * inC + ic;
            maxDh = Math.Max(maxDh, dh[j]);
            maxDw = Math.Max(maxDw, dwo[j]);
        }
        nint o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3], o4 = off[4], o5 = off[5], o6 = off[6], o7 = off[7], o8 = off[8], o9 = off[9], o10 = off[10], o11 = off[11];
        float* pa = acc + (long)j0 * outC + cb;
        Vector512<float> a0 = Vector512.Load(pa), a1 = default, a2 = default, a3 = default, a4 = default, a5 = default,
            a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        if (T.N > 1) a1 = Vector512.Load(pa + outC);
        if (T.N > 2) a2 = Vector512.Load(pa + 2 * outC);
        if (T.N > 3) a3 = Vector512.Load(pa + 3 * outC);
        if (T.N > 4) a4 = Vector512.Load(pa + 4 * outC);
        if (T.N > 5) a5 = Vector512.Load(pa + 5 * outC);
        if (T.N > 6) a6 = Vector512.Load(pa + 6 * outC);
        if (T.N > 7) a7 = Vector512.Load(pa + 7 * outC);
        if (T.N > 8) a8 = Vector512.Load(pa + 8 * outC);
        if (T.N > 9) a9 = Vector512.Load(pa + 9 * outC);
        if (T.N > 10) a10 = Vector512.Load(pa + 10 * outC);
        if (T.N > 11) a11 = Vector512.Load(pa + 11 * outC);
        float* x = At(w.X), dzBase = At(w.Dy);
        for (int line = l0; line < l1; line++)
        {
            int n = line / g.OutH, oh = line - n * g.OutH;
            float* xs = x + (long)n * g.InSize;
            int ih0 = oh * g.StrideH - g.PadTop;
            bool rowsInside = ih0 >= 0 && ih0 + maxDh < inH;
            float* dz = dzBase + (long)line * outW * outC + cb;
            for (int ow = 0; ow < outW; ow++, dz += outC)
            {
                var d = Vector512.Load(dz);
                int iw0 = ow * g.StrideW - g.PadLeft;
                if (rowsInside && iw0 >= 0 && iw0 + maxDw < inW)
                {
                    float* xp = xs + ((long)ih0 * inW + iw0) * inC;
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o0]), d, a0);
                    if (T.N > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o1]), d, a1);
                    if (T.N > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o2]), d, a2);
                    if (T.N > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o3]), d, a3);
                    if (T.N > 4) a4 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o4]), d, a4);
                    if (T.N > 5) a5 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o5]), d, a5);
                    if (T.N > 6) a6 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o6]), d, a6);
                    if (T.N > 7) a7 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o7]), d, a7);
                    if (T.N > 8) a8 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o8]), d, a8);
                    if (T.N > 9) a9 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o9]), d, a9);
                    if (T.N > 10) a10 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o10]), d, a10);
                    if (T.N > 11) a11 = Vector512.FusedMultiplyAdd(Vector512.Create(xp[o11]), d, a11);
                }
                else
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[0], iw0 + dwo[0], ics[0], inH, inW, inC)), d, a0);
                    if (T.N > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[1], iw0 + dwo[1], ics[1], inH, inW, inC)), d, a1);
                    if (T.N > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[2], iw0 + dwo[2], ics[2], inH, inW, inC)), d, a2);
                    if (T.N > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[3], iw0 + dwo[3], ics[3], inH, inW, inC)), d, a3);
                    if (T.N > 4) a4 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[4], iw0 + dwo[4], ics[4], inH, inW, inC)), d, a4);
                    if (T.N > 5) a5 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[5], iw0 + dwo[5], ics[5], inH, inW, inC)), d, a5);
                    if (T.N > 6) a6 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[6], iw0 + dwo[6], ics[6], inH, inW, inC)), d, a6);
                    if (T.N > 7) a7 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[7], iw0 + dwo[7], ics[7], inH, inW, inC)), d, a7);
                    if (T.N > 8) a8 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[8], iw0 + dwo[8], ics[8], inH, inW, inC)), d, a8);
                    if (T.N > 9) a9 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[9], iw0 + dwo[9], ics[9], inH, inW, inC)), d, a9);
                    if (T.N > 10) a10 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[10], iw0 + dwo[10], ics[10], inH, inW, inC)), d, a10);
                    if (T.N > 11) a11 = Vector512.FusedMultiplyAdd(Vector512.Create(XAt(xs, ih0 + dh[11], iw0 + dwo[11], ics[11], inH, inW, inC)), d, a11);
                }
            }
        }
        Vector512.Store(a0, pa);
        if (T.N > 1) Vector512.Store(a1, pa + outC);
        if (T.N > 2) Vector512.Store(a2, pa + 2 * outC);
        if (T.N > 3) Vector512.Store(a3, pa + 3 * outC);
        if (T.N > 4) Vector512.Store(a4, pa + 4 * outC);
        if (T.N > 5) Vector512.Store(a5, pa + 5 * outC);
        if (T.N > 6) Vector512.Store(a6, pa + 6 * outC);
        if (T.N > 7) Vector512.Store(a7, pa + 7 * outC);
        if (T.N > 8) Vector512.Store(a8, pa + 8 * outC);
        if (T.N > 9) Vector512.Store(a9, pa + 9 * outC);
        if (T.N > 10) Vector512.Store(a10, pa + 10 * outC);
        if (T.N > 11) Vector512.Store(a11, pa + 11 * outC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float XAt(float* xs, int ih, int iw, int ic, int inH, int inW, int inC) =>
        (uint)ih < (uint)inH && (uint)iw < (uint)inW ? xs[((long)ih * inW + iw) * inC + ic] : 0f;


    /// <summary>Output columns [lo, hi) whose whole window lies inside the input columns.</summary>
    private static void InteriorColumns(in Conv2DGeometry g, out int lo, out int hi)
    {
        int span = (g.KernelW - 1) * g.DilationW;
        lo = Math.Min(g.OutW, (g.PadLeft + g.StrideW - 1) / g.StrideW);
        int last = g.InW - 1 - span + g.PadLeft;      // the largest ow·s allowed
        hi = last < 0 ? lo : Math.Clamp(last / g.StrideW + 1, lo, g.OutW);
    }

    /// <summary>im2col of output lines [u0, u1) of the current chunk (relative to <c>L0</c>): their pixels' rows of the whole patch.</summary>
    private void Im2Col(Work w, int u0, int u1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        new Im2ColSource(At(w.X), g, (long)w.L0 * g.OutW)
            .Rows(u0 * g.OutW, (u1 - u0) * g.OutW, 0, g.Patch, w.Cols + (long)u0 * g.OutW * g.Patch, g.Patch);
    }

    /// <summary>
    /// col2im as a gather: input lines [Begin + u0, Begin + u1) receive every dcols entry of the chunk's output lines
    /// [L0, L1) that reads them. A line at or after <c>ZeroFrom</c> has not been written by an earlier chunk and is
    /// zeroed first.
    /// </summary>
    private void Col2Im(Work w, int u0, int u1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int patch = g.Patch, inC = g.InC, kwN = g.KernelW, outW = g.OutW, inW = g.InW;
        int lineFloats = inW * inC, rowFloats = kwN * inC;
        InteriorColumns(g, out int owLo, out int owHi);
        bool contiguous = g.DilationW == 1;
        float* dx = At(w.Dx);
        for (int u = u0; u < u1; u++)
        {
            int inLine = w.Begin + u;
            int n = inLine / g.InH, ih = inLine - n * g.InH;
            float* dxl = dx + (long)inLine * lineFloats;
            if (inLine >= w.ZeroFrom && !w.AccumulateDx) Clear(dxl, lineFloats);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int t = ih + g.PadTop - kh * g.DilationH;
                if (t < 0 || t % g.StrideH != 0) continue;
                int oh = t / g.StrideH;
                if (oh >= g.OutH) continue;
                int line = n * g.OutH + oh;
                if (line < w.L0 || line >= w.L1) continue;
                float* srcLine = w.Cols + (long)(line - w.L0) * outW * patch + kh * rowFloats;
                for (int ow = 0; ow < outW; ow++)
                {
                    float* src = srcLine + (long)ow * patch;
                    int iw0 = ow * g.StrideW - g.PadLeft;
                    if (contiguous && ow >= owLo && ow < owHi)
                    {
                        AddTo(dxl + (long)iw0 * inC, src, rowFloats);
                        continue;
                    }
                    for (int k = 0; k < kwN; k++)
                    {
                        int iw = iw0 + k * g.DilationW;
                        if ((uint)iw < (uint)inW) AddTo(dxl + (long)iw * inC, src + k * inC, inC);
                    }
                }
            }
        }
    }

    /// <summary>Rows [R0 + u0, R0 + u1): z += bias, z += residual (when there is one), y = act(z).</summary>
    private void ConvEpilogue(Work w, int u0, int u1)
    {
        int outC = w.Conv.OutC;
        long r0 = w.R0 + (long)u0;
        int rows = u1 - u0;
        float* z = At(w.Z) + r0 * outC;
        float* y = At(w.Y) + r0 * outC;
        float* b = w.Bias >= 0 ? At(w.Bias) : null;
        float* res = w.Residual >= 0 ? At(w.Residual) + r0 * outC : null;
        if (FastActivation.Supports(w.Activation))
        {
            FastActivation.BiasRows(w.Activation, w.Alpha, z, y, outC, b, rows, outC, res);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            if (b != null) AddTo(z + (long)r * outC, b, outC);
            if (res != null) AddTo(z + (long)r * outC, res + (long)r * outC, outC);
        }
        ActivationForward(w.Activation, w.Alpha, rows, outC, (int)(w.Z + r0 * outC), (int)(w.Y + r0 * outC));
    }
}
