using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Depthwise and transposed convolutions on the CPU (NHWC).
//
// Depthwise: a direct kernel, vectorised over the channels (contiguous in NHWC), threaded over output lines (forward,
// kernel and bias gradients) or input lines (input gradient, a gather: no two items write the same line). Partial
// kernel and bias gradients are kept per work item (float within a block of pixels, double across blocks) and reduced
// in item order, so results do not depend on thread timing.
//
// Transposed: the transpose of Conv2D. Its forward is Conv2D's input gradient (x · kernelᵀ per chunk of lines, then
// the col2im gather into y), its input gradient is Conv2D's forward (im2col(dz) · kernel) and its kernel gradient is
// im2col(dz)ᵀ · x, all through the same im2col/col2im stages and SGEMM as Conv2D; 1×1 stride-1 ones need no im2col.
public sealed unsafe partial class CpuBackend
{
    private ConvFamilyWork? _convFamily;

    private ConvFamilyWork GetConvFamilyWork() => _convFamily ??= new ConvFamilyWork(this);

    private void RunFamily(ConvFamilyWork w, int kind, int units, int items)
    {
        w.Kind = kind;
        w.Units = units;
        w.Items = Math.Max(1, Math.Min(items, units));
        if (w.Items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, w.Items);
    }

    // ============================================================================================
    // DepthwiseConv2D
    // ============================================================================================

    /// <inheritdoc/>
    public void DepthwiseConv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(DepthwiseConv2DForward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0) return;
        g.CheckDepthwise();
        var w = GetConvFamilyWork();
        w.Conv = g;
        w.X = x; w.Kernel = kernel; w.Bias = bias; w.Z = preActivation >= 0 ? preActivation : y; w.Y = y;
        w.Activation = activation; w.Alpha = alpha;
        int lines = batch * g.OutH;
        RunFamily(w, FamilyKind.DepthwiseForward, lines, ItemsFor(lines, (long)g.OutW * g.OutC * g.KernelH * g.KernelW));
    }

    /// <inheritdoc/>
    public void DepthwiseConv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(DepthwiseConv2DBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        g.CheckDepthwise();
        long kernelFloats = (long)g.KernelH * g.KernelW * g.OutC;
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, (int)kernelFloats, 0f);
            if (dBias >= 0) Fill(dBias, g.OutC, 0f);
            return;
        }
        var w = GetConvFamilyWork();
        w.Conv = g;
        w.X = x; w.Kernel = kernel; w.Z = preActivation; w.Y = y; w.Dy = dy; w.Dx = dx;
        w.Activation = activation; w.Alpha = alpha;
        w.ActBackward = !gradientIsPreActivation && activation != ActivationFunction.Linear;
        w.SumKernel = dKernel >= 0;
        w.SumBias = dBias >= 0;

        // Pass 1 over output lines: dz in place, per-item partial dKernel [taps, OutC] and dBias [OutC].
        int lines = batch * g.OutH;
        if (w.ActBackward || w.SumKernel || w.SumBias)
        {
            int items = ItemsFor(lines, (long)g.OutW * g.OutC * g.KernelH * g.KernelW);
            long acc = kernelFloats + g.OutC;
            w.PartialStride = (acc + 7) & ~7L;
            w.BlockStride = (acc + 15) & ~15L;
            byte* aux = Aux(items * (w.PartialStride * sizeof(double) + w.BlockStride * sizeof(float)));
            w.Partials = (double*)aux;
            w.Blocks = (float*)(aux + items * w.PartialStride * sizeof(double));
            RunFamily(w, FamilyKind.DepthwiseBackwardSums, lines, items);
            float* dk = dKernel >= 0 ? At(dKernel) : null, db = dBias >= 0 ? At(dBias) : null;
            if (dk != null || db != null)
                for (long i = 0; i < acc; i++)
                {
                    if (i < kernelFloats ? dk == null : db == null) continue;
                    double s = 0;
                    for (int it = 0; it < w.Items; it++) s += w.Partials[it * w.PartialStride + i];
                    if (i < kernelFloats) dk[i] = (float)s;
                    else db[i - kernelFloats] = (float)s;
                }
        }

        // Pass 2 over input lines: dx gathered from every (output pixel, tap) that reads it.
        if (dx >= 0)
        {
            int inLines = batch * g.InH;
            w.AccumulateDx = accumulateDx;
            RunFamily(w, FamilyKind.DepthwiseBackwardDx, inLines, ItemsFor(inLines, (long)g.InW * g.OutC * g.KernelH * g.KernelW));
        }
    }

    /// <summary>
    /// Output lines [l0, l1): z[pixel, c·dm + m] = Σ_taps x[tap's input pixel, c]·kernel[tap, c, m] (taps in the padding
    /// skipped), then bias and activation.
    /// </summary>
    private void DepthwiseForwardLines(ConvFamilyWork w, int l0, int l1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int C = g.InC, OC = g.OutC, dm = OC / C, outW = g.OutW, inW = g.InW, kwN = g.KernelW;
        float* x = At(w.X), k = At(w.Kernel), z = At(w.Z);
        for (int line = l0; line < l1; line++)
        {
            int n = line / g.OutH, oh = line - n * g.OutH;
            float* xs = x + (long)n * g.InSize;
            DepthwiseRows(g, oh, out int ihBase, out int kh0, out int kh1);
            for (int ow = 0; ow < outW; ow++)
            {
                float* zo = z + ((long)line * outW + ow) * OC;
                Clear(zo, OC);
                int iw0 = ow * g.StrideW - g.PadLeft;
                for (int kh = kh0; kh < kh1; kh++)
                {
                    float* xr = xs + (long)(ihBase + kh * g.DilationH) * inW * C;
                    for (int kw = 0; kw < kwN; kw++)
                    {
                        int iw = iw0 + kw * g.DilationW;
                        if ((uint)iw >= (uint)inW) continue;
                        float* xp = xr + (long)iw * C;
                        float* kp = k + (long)(kh * kwN + kw) * OC;
                        if (dm == 1) MultiplyAdd(zo, xp, kp, C);
                        else
                            for (int c = 0; c < C; c++) AddScaled(zo + c * dm, kp + c * dm, xp[c], dm);
                    }
                }
            }
        }
        int rows = (l1 - l0) * outW;
        long r0 = (long)l0 * outW;
        RowsEpilogue(w, r0, rows, OC);
    }

    /// <summary>The first input row of output row <paramref name="oh"/> and its kernel rows inside the input, [kh0, kh1).</summary>
    private static void DepthwiseRows(in Conv2DGeometry g, int oh, out int ihBase, out int kh0, out int kh1)
    {
        ihBase = oh * g.StrideH - g.PadTop;
        kh0 = 0;
        kh1 = g.KernelH;
        while (kh0 < kh1 && ihBase + kh0 * g.DilationH < 0) kh0++;
        while (kh1 > kh0 && ihBase + (kh1 - 1) * g.DilationH >= g.InH) kh1--;
    }

    /// <summary>Rows [r0, r0 + rows) of z (channels <paramref name="cols"/>): z += bias, y = act(z).</summary>
    private void RowsEpilogue(ConvFamilyWork w, long r0, int rows, int cols)
    {
        float* z = At(w.Z) + r0 * cols, y = At(w.Y) + r0 * cols;
        float* b = w.Bias >= 0 ? At(w.Bias) : null;
        if (BiasActivationFast(w.Activation, w.Alpha, z, y, b, rows, cols)) return;
        if (b != null)
            for (int r = 0; r < rows; r++) AddTo(z + (long)r * cols, b, cols);
        ActivationForward(w.Activation, w.Alpha, rows, cols, (int)(w.Z + r0 * cols), (int)(w.Y + r0 * cols));
    }

    /// <summary>
    /// Output lines [l0, l1), item <paramref name="item"/>: dz in place (when asked), then this item's partial dKernel
    /// [taps, OutC] (Σ x·dz) and dBias [OutC] (Σ dz), in float per block of about 256 pixels and in double across blocks.
    /// </summary>
    private void DepthwiseBackwardSums(ConvFamilyWork w, int l0, int l1, int item)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int C = g.InC, OC = g.OutC, dm = OC / C, outW = g.OutW, inW = g.InW, kwN = g.KernelW;
        long kernelFloats = (long)g.KernelH * kwN * OC;
        int acc = (int)(kernelFloats + OC);
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, acc).Clear();
        new Span<float>(blk, acc).Clear();
        float* x = At(w.X);
        int linesPerBlock = Math.Max(1, 256 / outW);
        for (int b0 = l0; b0 < l1; b0 += linesPerBlock)
        {
            int b1 = Math.Min(l1, b0 + linesPerBlock);
            long row0 = (long)b0 * outW;
            int rows = (b1 - b0) * outW;
            if (w.ActBackward)
                ActivationBackwardRows(w.Activation, w.Alpha, rows, OC, w.Z >= 0 ? (int)(w.Z + row0 * OC) : -1,
                    (int)(w.Y + row0 * OC), (int)(w.Dy + row0 * OC));
            float* dzBlock = At(w.Dy) + row0 * OC;
            if (w.SumBias)
                for (int r = 0; r < rows; r++) AddTo(blk + kernelFloats, dzBlock + (long)r * OC, OC);
            if (w.SumKernel)
                for (int line = b0; line < b1; line++)
                {
                    int n = line / g.OutH, oh = line - n * g.OutH;
                    float* xs = x + (long)n * g.InSize;
                    DepthwiseRows(g, oh, out int ihBase, out int kh0, out int kh1);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        float* dz = At(w.Dy) + ((long)line * outW + ow) * OC;
                        int iw0 = ow * g.StrideW - g.PadLeft;
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            float* xr = xs + (long)(ihBase + kh * g.DilationH) * inW * C;
                            for (int kw = 0; kw < kwN; kw++)
                            {
                                int iw = iw0 + kw * g.DilationW;
                                if ((uint)iw >= (uint)inW) continue;
                                float* xp = xr + (long)iw * C;
                                float* kacc = blk + (long)(kh * kwN + kw) * OC;
                                if (dm == 1) MultiplyAdd(kacc, xp, dz, C);
                                else
                                    for (int c = 0; c < C; c++) AddScaled(kacc + c * dm, dz + c * dm, xp[c], dm);
                            }
                        }
                    }
                }
            for (int i = 0; i < acc; i++)
            {
                part[i] += blk[i];
                blk[i] = 0f;
            }
        }
    }

    /// <summary>
    /// Input lines [u0, u1): dx[n, ih, iw, c] = Σ over the (output pixel, tap) pairs that read (ih, iw) of
    /// Σ_m dz[pixel, c·dm + m]·kernel[tap, c, m], gathered line by line (overwrites dx, or adds to it with
    /// <see cref="ConvFamilyWork.AccumulateDx"/>).
    /// </summary>
    private void DepthwiseBackwardDx(ConvFamilyWork w, int u0, int u1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int C = g.InC, OC = g.OutC, dm = OC / C, outW = g.OutW, inW = g.InW, kwN = g.KernelW;
        float* dzAll = At(w.Dy), k = At(w.Kernel), dx = At(w.Dx);
        for (int inLine = u0; inLine < u1; inLine++)
        {
            int n = inLine / g.InH, ih = inLine - n * g.InH;
            float* dxl = dx + (long)inLine * inW * C;
            if (!w.AccumulateDx) Clear(dxl, inW * C);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int t = ih + g.PadTop - kh * g.DilationH;
                if (t < 0 || t % g.StrideH != 0) continue;
                int oh = t / g.StrideH;
                if (oh >= g.OutH) continue;
                float* dzLine = dzAll + ((long)n * g.OutH + oh) * outW * OC;
                for (int ow = 0; ow < outW; ow++)
                {
                    float* dz = dzLine + (long)ow * OC;
                    int iw0 = ow * g.StrideW - g.PadLeft;
                    for (int kw = 0; kw < kwN; kw++)
                    {
                        int iw = iw0 + kw * g.DilationW;
                        if ((uint)iw >= (uint)inW) continue;
                        float* dxp = dxl + (long)iw * C;
                        float* kp = k + (long)(kh * kwN + kw) * OC;
                        if (dm == 1) MultiplyAdd(dxp, dz, kp, C);
                        else
                            for (int c = 0; c < C; c++) dxp[c] += Dot(dz + c * dm, kp + c * dm, dm);
                    }
                }
            }
        }
    }

    /// <summary>dst[i] += a[i]·b[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(float* dst, float* a, float* b, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16)
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), Vector512.Load(dst + i)), dst + i);
        for (; i < count; i++) dst[i] += a[i] * b[i];
    }

    /// <summary>Σ a[i]·b[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* a, float* b, int count)
    {
        int i = 0;
        float s = 0f;
        if (count >= 16)
        {
            var v = Vector512<float>.Zero;
            for (; i <= count - 16; i += 16) v = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), v);
            s = Vector512.Sum(v);
        }
        for (; i < count; i++) s += a[i] * b[i];
        return s;
    }

    // ============================================================================================
    // Conv2DTranspose
    // ============================================================================================

    /// <inheritdoc/>
    public void Conv2DTransposeForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(Conv2DTransposeForward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0) return;
        int z = preActivation >= 0 ? preActivation : y;
        var w = GetWork();
        w.AccumulateDx = false;
        w.Conv = g;
        w.Dx = z;
        w.Direct = IsDirect(g);
        (w.ChunkFloats, w.ChunkRows) = (ConvChunkFloats, ConvDirectChunkRows);
        if (w.Direct)
        {
            // 1×1 stride 1: z[pixels, InC] = x[pixels, OutC] · kernel[InC, OutC]ᵀ.
            Sgemm.Multiply(false, true, batch * g.Pixels, g.InC, g.OutC, 1f, At(x), g.OutC, At(kernel), g.OutC, 0f, At(z), g.InC);
        }
        else
        {
            PrepareSlots(w, g, batch, 1, direct: false, noCols: false);
            int lines = batch * g.OutH, per = LinesPerChunk(w, lines), zeroedUpTo = 0;
            for (int l0 = 0; l0 < lines; l0 += per)
            {
                int nl = Math.Min(per, lines - l0);
                long row0 = (long)l0 * g.OutW;
                // cols[rows, Patch] = x[rows, OutC] · kernel[Patch, OutC]ᵀ, then gathered into the output lines it touches.
                Sgemm.Multiply(false, true, nl * g.OutW, g.Patch, g.OutC, 1f, At(x) + row0 * g.OutC, g.OutC, At(kernel), g.OutC, 0f, w.Cols, g.Patch);
                zeroedUpTo = GatherColumns(w, l0, nl, batch, lines, zeroedUpTo, parallel: true);
            }
        }
        var e = GetConvFamilyWork();
        e.Z = z; e.Y = y; e.Bias = bias; e.Activation = activation; e.Alpha = alpha; e.Channels = g.InC;
        int rows = batch * g.InH * g.InW;
        RunFamily(e, FamilyKind.RowsEpilogue, rows, ItemsFor(rows, g.InC * 2L));
    }

    /// <summary>
    /// col2im of the chunk of output lines [l0, l0 + nl) held in <c>w.Cols</c> into <c>w.Dx</c>, as Conv2D's input
    /// gradient does: input lines at or after <paramref name="zeroedUpTo"/> are zeroed before their first write, and the
    /// last chunk zeroes every remaining line of the samples before <paramref name="n1"/>. Returns the new
    /// <paramref name="zeroedUpTo"/>. Shared by Conv2D's input gradient and the transposed convolution's forward pass.
    /// </summary>
    private int GatherColumns(Work w, int l0, int nl, int n1, int end, int zeroedUpTo, bool parallel)
    {
        // With w.AccumulateDx nothing is zeroed: the lines keep what they held and receive the columns on top.
        ref readonly Conv2DGeometry g = ref w.Conv;
        int last = l0 + nl - 1;
        int na = l0 / g.OutH, oha = l0 - na * g.OutH;
        int nb = last / g.OutH, ohb = last - nb * g.OutH;
        int lo = na * g.InH + Math.Clamp(oha * g.StrideH - g.PadTop, 0, g.InH);
        int hi = nb * g.InH + Math.Clamp(ohb * g.StrideH - g.PadTop + (g.KernelH - 1) * g.DilationH + 1, 0, g.InH);
        if (l0 + nl == end) hi = n1 * g.InH;
        hi = Math.Max(hi, zeroedUpTo);
        int begin = Math.Min(lo, zeroedUpTo);
        w.L0 = l0;
        w.L1 = l0 + nl;
        w.Begin = begin;
        w.ZeroFrom = zeroedUpTo;
        Stage(w, WorkKind.Col2Im, hi - begin, (long)g.InW * g.InC * g.KernelH, parallel);
        return hi;
    }

    /// <inheritdoc/>
    public void Conv2DTransposeBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias)
    {
        epilogue.CheckNoDropout(nameof(Conv2DTransposeBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, g.Patch * g.OutC, 0f);
            if (dBias >= 0) Fill(dBias, g.InC, 0f);
            return;
        }
        // dz = dy ⊙ act' in place over the rows of y (channels InC), and dBias = Σ_rows dz.
        int rows = batch * g.InH * g.InW;
        var e = GetConvFamilyWork();
        e.Z = preActivation; e.Y = y; e.Dy = dy; e.Activation = activation; e.Alpha = alpha; e.Channels = g.InC;
        e.ActBackward = !gradientIsPreActivation && activation != ActivationFunction.Linear;
        e.SumBias = dBias >= 0;
        if (e.ActBackward || e.SumBias)
        {
            int items = ItemsFor(rows, g.InC * 3L);
            e.PartialStride = (g.InC + 7) & ~7L;
            e.BlockStride = (g.InC + 15) & ~15L;
            byte* aux = Aux(items * (e.PartialStride * sizeof(double) + e.BlockStride * sizeof(float)));
            e.Partials = (double*)aux;
            e.Blocks = (float*)(aux + items * e.PartialStride * sizeof(double));
            RunFamily(e, FamilyKind.RowsActBackwardSums, rows, items);
            if (e.SumBias)
            {
                float* db = At(dBias);
                for (int c = 0; c < g.InC; c++)
                {
                    double s = 0;
                    for (int it = 0; it < e.Items; it++) s += e.Partials[it * e.PartialStride + c];
                    db[c] = (float)s;
                }
            }
        }
        if (dKernel < 0 && dx < 0) return;

        var w = GetWork();
        w.Conv = g;
        w.X = dy; // im2col reads dz
        w.Direct = IsDirect(g);
        (w.ChunkFloats, w.ChunkRows) = (ConvChunkFloats, ConvDirectChunkRows);
        float* dk = dKernel >= 0 ? At(dKernel) : null;
        if (w.Direct)
        {
            int pixels = batch * g.Pixels;
            // dKernel[InC, OutC] = dzᵀ · x; dx[pixels, OutC] = dz · kernel.
            if (dk != null) Sgemm.Multiply(true, false, g.InC, g.OutC, pixels, 1f, At(dy), g.InC, At(x), g.OutC, 0f, dk, g.OutC);
            if (dx >= 0) Sgemm.Multiply(false, false, pixels, g.OutC, g.InC, 1f, At(dy), g.InC, At(kernel), g.OutC, 0f, At(dx), g.OutC);
            return;
        }
        PrepareSlots(w, g, batch, 1, direct: false, noCols: false);
        int lines = batch * g.OutH, per = LinesPerChunk(w, lines);
        for (int l0 = 0; l0 < lines; l0 += per)
        {
            int nl = Math.Min(per, lines - l0);
            int chunkRows = nl * g.OutW;
            long row0 = (long)l0 * g.OutW;
            w.L0 = l0;
            Stage(w, WorkKind.Im2Col, nl, (long)g.OutW * g.Patch, parallel: true);
            // dKernel[Patch, OutC] (+)= im2col(dz)ᵀ · x; dx[rows, OutC] = im2col(dz) · kernel[Patch, OutC].
            if (dk != null)
                Sgemm.Multiply(true, false, g.Patch, g.OutC, chunkRows, 1f, w.Cols, g.Patch, At(x) + row0 * g.OutC, g.OutC, l0 == 0 ? 0f : 1f, dk, g.OutC);
            if (dx >= 0)
                Sgemm.Multiply(false, false, chunkRows, g.OutC, g.Patch, 1f, w.Cols, g.Patch, At(kernel), g.OutC, 0f, At(dx) + row0 * g.OutC, g.OutC);
        }
    }

    /// <summary>
    /// Rows [u0, u1) of a [rows, Channels] gradient: dy ← dy ⊙ act'(z, y) in place (when asked), and their column sums
    /// into item <paramref name="item"/>'s partials (float per block of 128 rows, double across blocks).
    /// </summary>
    private void RowsActBackwardSums(ConvFamilyWork w, int u0, int u1, int item)
    {
        int cols = w.Channels;
        long r0 = u0;
        if (w.ActBackward)
            ActivationBackwardRows(w.Activation, w.Alpha, u1 - u0, cols, w.Z >= 0 ? (int)(w.Z + r0 * cols) : -1,
                (int)(w.Y + r0 * cols), (int)(w.Dy + r0 * cols));
        if (!w.SumBias) return;
        double* sum = w.Partials + item * w.PartialStride;
        float* block = w.Blocks + item * w.BlockStride;
        new Span<double>(sum, cols).Clear();
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

    private static class FamilyKind
    {
        public const int DepthwiseForward = 0, DepthwiseBackwardSums = 1, DepthwiseBackwardDx = 2, RowsEpilogue = 3, RowsActBackwardSums = 4;
    }

    /// <summary>The arguments of one depthwise or transposed-convolution stage, cut into <see cref="Items"/> equal ranges.</summary>
    private sealed class ConvFamilyWork : IWorkItem
    {
        private readonly CpuBackend _owner;

        public ConvFamilyWork(CpuBackend owner) => _owner = owner;

        public int Kind, Units, Items;
        public Conv2DGeometry Conv;
        public int X, Y, Z, Dy, Dx, Bias, Kernel, Channels;
        public bool ActBackward, SumBias, SumKernel, AccumulateDx;
        public ActivationFunction Activation;
        public float Alpha;
        public float* Blocks;
        public double* Partials;
        public long PartialStride, BlockStride;

        public void Execute(int index)
        {
            int u0 = (int)((long)Units * index / Items), u1 = (int)((long)Units * (index + 1) / Items);
            var b = _owner;
            switch (Kind)
            {
                // The sums clear their partials even for an empty range, so the reduction reads no stale values.
                case FamilyKind.DepthwiseBackwardSums: b.DepthwiseBackwardSums(this, u0, u1, index); return;
                case FamilyKind.RowsActBackwardSums: b.RowsActBackwardSums(this, u0, u1, index); return;
            }
            if (u1 <= u0) return;
            switch (Kind)
            {
                case FamilyKind.DepthwiseForward: b.DepthwiseForwardLines(this, u0, u1); break;
                case FamilyKind.DepthwiseBackwardDx: b.DepthwiseBackwardDx(this, u0, u1); break;
                case FamilyKind.RowsEpilogue: b.RowsEpilogue(this, u0, u1 - u0, Channels); break;
            }
        }
    }
}
