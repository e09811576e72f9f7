using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Convolution, pooling and batch normalisation on the CPU (NHWC).
//
// Conv2D is im2col + SGEMM, chunked by output lines (one line = one (sample, output row) pair, OutW pixels) so the
// patch matrix stays in a bounded, backend-owned scratch buffer. The element-wise stages (im2col, col2im, bias and
// activation, pooling, batch-norm passes) run as work items on the shared worker pool; the GEMMs run between them on
// the calling thread (Sgemm parallelises itself). A work item never calls Sgemm: a nested Sgemm call from the thread
// that started a pool job would re-enter the pool.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Target size in floats of one im2col chunk (the patch matrix of a group of output lines).</summary>
    internal static int ConvChunkFloats = 1 << 19;

    /// <summary>Rows of one chunk of a 1×1 stride-1 convolution (no im2col: the GEMM reads x in place).</summary>
    internal static int ConvDirectChunkRows = 4096;

    /// <summary>Below this many floats touched an element-wise stage runs on the calling thread only.</summary>
    internal static int ParallelMinFloats = 1 << 15;

    private float* _scratch;
    private long _scratchFloats;
    private byte* _aux;
    private long _auxBytes;
    private Work? _work;

    /// <summary>Frees the convolution scratch buffers (called by <see cref="Dispose"/>).</summary>
    private void FreeConvolutionBuffers()
    {
        if (_scratch != null) NativeMemory.AlignedFree(_scratch);
        if (_aux != null) NativeMemory.AlignedFree(_aux);
        _scratch = null;
        _aux = null;
        _scratchFloats = 0;
        _auxBytes = 0;
    }

    private float* Scratch(long floats)
    {
        if (floats > _scratchFloats)
        {
            if (_scratch != null) NativeMemory.AlignedFree(_scratch);
            _scratch = null;
            _scratchFloats = 0;
            _scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            _scratchFloats = floats;
        }
        return _scratch;
    }

    /// <summary>Small per-call temporaries (per-channel values, per-item partial sums); contents are not kept.</summary>
    private byte* Aux(long bytes)
    {
        if (bytes > _auxBytes)
        {
            if (_aux != null) NativeMemory.AlignedFree(_aux);
            _aux = null;
            _auxBytes = 0;
            long size = Math.Max(bytes, 4096);
            _aux = (byte*)NativeMemory.AlignedAlloc((nuint)size, 64);
            _auxBytes = size;
        }
        return _aux;
    }

    private static int Threads => WorkerPool.Shared.MaxThreads;

    /// <summary>How many work items to cut <paramref name="units"/> units of about <paramref name="floatsPerUnit"/> floats into.</summary>
    private static int ItemsFor(long units, long floatsPerUnit)
    {
        if (units <= 1 || units * floatsPerUnit < ParallelMinFloats) return 1;
        return (int)Math.Min(units, Threads * 4L);
    }

    private void RunWork(Work w, int kind, int units, int items)
    {
        w.Kind = kind;
        w.Units = units;
        w.Items = Math.Max(1, Math.Min(items, units));
        if (w.Items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, w.Items);
    }

    private Work GetWork()
    {
        var w = _work ??= new Work(this);
        return w;
    }

    // ============================================================================================
    // Conv2D
    // ============================================================================================

    private static bool IsDirect(in Conv2DGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadLeft == 0
        && g.OutH == g.InH && g.OutW == g.InW;

    /// <summary>Output lines per chunk: bounded scratch, equal-sized chunks.</summary>
    private static int LinesPerChunk(in Conv2DGeometry g, int lines, bool direct)
    {
        long perLine = direct ? g.OutW : (long)g.OutW * g.Patch;
        long target = direct ? ConvDirectChunkRows : ConvChunkFloats;
        int per = (int)Math.Clamp(target / Math.Max(1, perLine), 1, lines);
        int chunks = (lines + per - 1) / per;
        return (lines + chunks - 1) / chunks;
    }

    /// <inheritdoc/>
    public void Conv2DForward(in Conv2DGeometry g, int batch, ActivationFunction activation, float alpha,
        int x, int kernel, int bias, int preActivation, int y)
    {
        if (batch <= 0) return;
        int z = preActivation >= 0 ? preActivation : y;
        bool direct = IsDirect(g);
        int lines = batch * g.OutH;
        int per = LinesPerChunk(g, lines, direct);
        float* cols = direct ? null : Scratch((long)per * g.OutW * g.Patch);
        var w = GetWork();
        w.Conv = g;
        w.X = x; w.Z = z; w.Y = y; w.Bias = bias; w.Activation = activation; w.Alpha = alpha; w.Cols = cols;
        for (int l0 = 0; l0 < lines; l0 += per)
        {
            int nl = Math.Min(per, lines - l0);
            int rows = nl * g.OutW;
            long row0 = (long)l0 * g.OutW;
            float* a;
            int lda;
            if (direct)
            {
                a = At(x) + row0 * g.InC;
                lda = g.InC;
            }
            else
            {
                w.L0 = l0;
                RunWork(w, WorkKind.Im2Col, nl, ItemsFor(nl, (long)g.OutW * g.Patch));
                a = cols;
                lda = g.Patch;
            }
            Sgemm.Multiply(false, false, rows, g.OutC, g.Patch, 1f, a, lda, At(kernel), g.OutC, 0f, At(z) + row0 * g.OutC, g.OutC);
            if (bias >= 0 || activation != ActivationFunction.Linear || z != y)
            {
                w.R0 = (int)row0;
                RunWork(w, WorkKind.ConvEpilogue, rows, ItemsFor(rows, g.OutC * 2L));
            }
        }
        w.Cols = null;
    }

    /// <inheritdoc/>
    public void Conv2DBackward(in Conv2DGeometry g, int batch, ActivationFunction activation, float alpha, bool gradientIsPreActivation,
        int x, int kernel, int preActivation, int y, int dy, int dx, int dKernel, int dBias)
    {
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, g.Patch * g.OutC, 0f);
            if (dBias >= 0) Fill(dBias, g.OutC, 0f);
            return;
        }
        bool direct = IsDirect(g);
        int lines = batch * g.OutH;
        int per = LinesPerChunk(g, lines, direct);
        bool needCols = !direct && (dKernel >= 0 || dx >= 0);
        float* cols = needCols ? Scratch((long)per * g.OutW * g.Patch) : null;
        bool actBackward = !gradientIsPreActivation && activation != ActivationFunction.Linear;
        int outC = g.OutC;

        // dBias: column sums in double (blocks of rows summed in float first).
        double* biasSum = null;
        float* biasBlock = null;
        if (dBias >= 0)
        {
            byte* aux = Aux(outC * 12L + 64);
            biasSum = (double*)aux;
            biasBlock = (float*)(aux + outC * 8L);
            new Span<double>(biasSum, outC).Clear();
        }

        var w = GetWork();
        w.Conv = g;
        w.X = x; w.Z = preActivation; w.Y = y; w.Dy = dy; w.Dx = dx; w.Activation = activation; w.Alpha = alpha; w.Cols = cols;
        int inLines = batch * g.InH;
        int zeroedUpTo = 0;
        for (int l0 = 0; l0 < lines; l0 += per)
        {
            int nl = Math.Min(per, lines - l0);
            int rows = nl * g.OutW;
            long row0 = (long)l0 * g.OutW;
            float* dz = At(dy) + row0 * outC;
            if (actBackward)
            {
                w.R0 = (int)row0;
                RunWork(w, WorkKind.ConvActBackward, rows, ItemsFor(rows, outC * 3L));
            }
            if (dBias >= 0) ColumnSums(dz, rows, outC, biasSum, biasBlock);

            if (dKernel >= 0)
            {
                float* a;
                int lda;
                if (direct)
                {
                    a = At(x) + row0 * g.InC;
                    lda = g.InC;
                }
                else
                {
                    w.L0 = l0;
                    RunWork(w, WorkKind.Im2Col, nl, ItemsFor(nl, (long)g.OutW * g.Patch));
                    a = cols;
                    lda = g.Patch;
                }
                // dKernel[Patch, OutC] (+)= patchesᵀ · dz
                Sgemm.Multiply(true, false, g.Patch, outC, rows, 1f, a, lda, dz, outC, l0 == 0 ? 0f : 1f, At(dKernel), outC);
            }

            if (dx >= 0)
            {
                if (direct)
                {
                    Sgemm.Multiply(false, true, rows, g.InC, outC, 1f, dz, outC, At(kernel), outC, 0f, At(dx) + row0 * g.InC, g.InC);
                }
                else
                {
                    // dcols[rows, Patch] = dz · kernelᵀ, then gathered into the input lines it touches.
                    Sgemm.Multiply(false, true, rows, g.Patch, outC, 1f, dz, outC, At(kernel), outC, 0f, cols, g.Patch);
                    int last = l0 + nl - 1;
                    int n0 = l0 / g.OutH, oh0 = l0 - n0 * g.OutH;
                    int n1 = last / g.OutH, oh1 = last - n1 * g.OutH;
                    int lo = n0 * g.InH + Math.Clamp(oh0 * g.StrideH - g.PadTop, 0, g.InH);
                    int hi = n1 * g.InH + Math.Clamp(oh1 * g.StrideH - g.PadTop + (g.KernelH - 1) * g.DilationH + 1, 0, g.InH);
                    if (l0 + nl == lines) hi = inLines;
                    hi = Math.Max(hi, zeroedUpTo);
                    int begin = Math.Min(lo, zeroedUpTo);
                    w.L0 = l0;
                    w.L1 = l0 + nl;
                    w.Begin = begin;
                    w.ZeroFrom = zeroedUpTo;
                    RunWork(w, WorkKind.Col2Im, hi - begin, ItemsFor(hi - begin, (long)g.InW * g.InC * g.KernelH));
                    zeroedUpTo = hi;
                }
            }
        }
        w.Cols = null;
        if (dBias >= 0)
        {
            float* db = At(dBias);
            for (int c = 0; c < outC; c++) db[c] = (float)biasSum[c];
        }
    }

    /// <summary>sum[c] += Σ_rows m[r, c], in float over blocks of 128 rows and in double across blocks.</summary>
    private static void ColumnSums(float* m, int rows, int cols, double* sum, float* block)
    {
        for (int r0 = 0; r0 < rows; r0 += 128)
        {
            int r1 = Math.Min(rows, r0 + 128);
            new Span<float>(block, cols).Clear();
            for (int r = r0; r < r1; r++) AddTo(block, m + (long)r * cols, cols);
            for (int c = 0; c < cols; c++) sum[c] += block[c];
        }
    }

    /// <summary>im2col of output lines [u0, u1) of the current chunk (relative to <c>L0</c>).</summary>
    private void Im2Col(Work w, int u0, int u1)
    {
        ref readonly Conv2DGeometry g = ref w.Conv;
        int patch = g.Patch, inC = g.InC, kwN = g.KernelW, outW = g.OutW, inW = g.InW, inH = g.InH;
        int rowFloats = kwN * inC;
        float* x = At(w.X);
        for (int u = u0; u < u1; u++)
        {
            int line = w.L0 + u;
            int n = line / g.OutH, oh = line - n * g.OutH;
            float* dstLine = w.Cols + (long)u * outW * patch;
            float* xs = x + (long)n * g.InSize;
            for (int ow = 0; ow < outW; ow++)
            {
                float* dst = dstLine + (long)ow * patch;
                int iw0 = ow * g.StrideW - g.PadLeft;
                for (int kh = 0; kh < g.KernelH; kh++)
                {
                    int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                    float* d = dst + kh * rowFloats;
                    if ((uint)ih >= (uint)inH)
                    {
                        Clear(d, rowFloats);
                        continue;
                    }
                    float* xrow = xs + (long)ih * inW * inC;
                    if (g.DilationW == 1)
                    {
                        int lo = Math.Max(0, -iw0), hi = Math.Min(kwN, inW - iw0);
                        if (hi <= lo)
                        {
                            Clear(d, rowFloats);
                            continue;
                        }
                        if (lo > 0) Clear(d, lo * inC);
                        Copy(d + lo * inC, xrow + (long)(iw0 + lo) * inC, (hi - lo) * inC);
                        if (hi < kwN) Clear(d + hi * inC, (kwN - hi) * inC);
                    }
                    else
                    {
                        for (int k = 0; k < kwN; k++)
                        {
                            int iw = iw0 + k * g.DilationW;
                            if ((uint)iw >= (uint)inW) Clear(d + k * inC, inC);
                            else Copy(d + k * inC, xrow + (long)iw * inC, inC);
                        }
                    }
                }
            }
        }
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
        int lineFloats = inW * inC;
        float* dx = At(w.Dx);
        for (int u = u0; u < u1; u++)
        {
            int inLine = w.Begin + u;
            int n = inLine / g.InH, ih = inLine - n * g.InH;
            float* dxl = dx + (long)inLine * lineFloats;
            if (inLine >= w.ZeroFrom) Clear(dxl, lineFloats);
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int t = ih + g.PadTop - kh * g.DilationH;
                if (t < 0 || t % g.StrideH != 0) continue;
                int oh = t / g.StrideH;
                if (oh >= g.OutH) continue;
                int line = n * g.OutH + oh;
                if (line < w.L0 || line >= w.L1) continue;
                float* srcLine = w.Cols + (long)(line - w.L0) * outW * patch + kh * kwN * inC;
                for (int ow = 0; ow < outW; ow++)
                {
                    float* src = srcLine + (long)ow * patch;
                    int iw0 = ow * g.StrideW - g.PadLeft;
                    if (g.DilationW == 1)
                    {
                        int lo = Math.Max(0, -iw0), hi = Math.Min(kwN, inW - iw0);
                        if (hi > lo) AddTo(dxl + (long)(iw0 + lo) * inC, src + lo * inC, (hi - lo) * inC);
                    }
                    else
                    {
                        for (int k = 0; k < kwN; k++)
                        {
                            int iw = iw0 + k * g.DilationW;
                            if ((uint)iw < (uint)inW) AddTo(dxl + (long)iw * inC, src + k * inC, inC);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows [R0 + u0, R0 + u1): z += bias, y = act(z).</summary>
    private void ConvEpilogue(Work w, int u0, int u1)
    {
        int outC = w.Conv.OutC;
        long r0 = w.R0 + (long)u0;
        int rows = u1 - u0;
        float* z = At(w.Z) + r0 * outC;
        float* y = At(w.Y) + r0 * outC;
        float* b = w.Bias >= 0 ? At(w.Bias) : null;
        if (!BiasActivationFast(w.Activation, w.Alpha, z, y, b, rows, outC))
        {
            if (b != null)
                for (int r = 0; r < rows; r++) AddTo(z + (long)r * outC, b, outC);
            ActivationForward(w.Activation, w.Alpha, rows, outC, (int)(w.Z + r0 * outC), (int)(w.Y + r0 * outC));
        }
    }

    /// <summary>z += b (when b is not null) and y = act(z) row by row, for Linear, ReLU and LeakyReLU; false for other activations.</summary>
    private static bool BiasActivationFast(ActivationFunction act, float alpha, float* z, float* y, float* b, int rows, int cols)
    {
        if (act is not (ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu)) return false;
        bool storeZ = z != y;
        var va = Vector512.Create(alpha);
        for (int r = 0; r < rows; r++)
        {
            float* zr = z + (long)r * cols, yr = y + (long)r * cols;
            int c = 0;
            for (; c <= cols - 16; c += 16)
            {
                var v = Vector512.Load(zr + c);
                if (b != null)
                {
                    v += Vector512.Load(b + c);
                    if (storeZ) Vector512.Store(v, zr + c);
                }
                Vector512.Store(act switch
                {
                    ActivationFunction.Relu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, Vector512<float>.Zero),
                    ActivationFunction.LeakyRelu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, v * va),
                    _ => v,
                }, yr + c);
            }
            for (; c < cols; c++)
            {
                float v = zr[c];
                if (b != null)
                {
                    v += b[c];
                    if (storeZ) zr[c] = v;
                }
                yr[c] = act switch
                {
                    ActivationFunction.Relu => v > 0 ? v : 0f,
                    ActivationFunction.LeakyRelu => v > 0 ? v : alpha * v,
                    _ => v,
                };
            }
        }
        return true;
    }

    /// <summary>Rows [R0 + u0, R0 + u1): dy ← dy ⊙ act'(z, y) in place.</summary>
    private void ConvActBackward(Work w, int u0, int u1)
    {
        int cols = w.Conv.OutC;
        long r0 = w.R0 + (long)u0;
        ActivationBackwardRows(w.Activation, w.Alpha, u1 - u0, cols, w.Z >= 0 ? (int)(w.Z + r0 * cols) : -1,
            (int)(w.Y + r0 * cols), (int)(w.Dy + r0 * cols));
    }

    /// <summary>dy ← dy ⊙ act'(z, y) in place; vectorised for ReLU and LeakyReLU, otherwise <see cref="ActivationBackward"/>.</summary>
    private void ActivationBackwardRows(ActivationFunction act, float alpha, int rows, int cols, int z, int y, int dy)
    {
        if (act == ActivationFunction.Linear) return;
        if (act is not (ActivationFunction.Relu or ActivationFunction.LeakyRelu))
        {
            ActivationBackward(act, alpha, rows, cols, z, y, dy, dy);
            return;
        }
        long count = (long)rows * cols;
        // The sign of the pre-activation decides; without it, y > 0 (as Activations.Derivative).
        float* s = act == ActivationFunction.LeakyRelu && z >= 0 ? At(z) : At(y);
        float* d = At(dy);
        long i = 0;
        if (act == ActivationFunction.Relu)
        {
            for (; i <= count - 16; i += 16)
            {
                var keep = Vector512.GreaterThan(Vector512.Load(s + i), Vector512<float>.Zero);
                Vector512.Store(Vector512.BitwiseAnd(Vector512.Load(d + i), keep), d + i);
            }
            for (; i < count; i++) d[i] = s[i] > 0 ? d[i] : 0f;
        }
        else
        {
            var va = Vector512.Create(alpha);
            for (; i <= count - 16; i += 16)
            {
                var g = Vector512.Load(d + i);
                Vector512.Store(Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Load(s + i), Vector512<float>.Zero), g, g * va), d + i);
            }
            for (; i < count; i++) d[i] = s[i] > 0 ? d[i] : alpha * d[i];
        }
    }

    // ============================================================================================
    // Pooling
    // ============================================================================================

    /// <inheritdoc/>
    public void MaxPool2DForward(in Pool2DGeometry g, int batch, int x, int y) => RunPool(g, batch, WorkKind.MaxPoolForward, x, y, -1, -1);

    /// <inheritdoc/>
    public void MaxPool2DBackward(in Pool2DGeometry g, int batch, int x, int y, int dy, int dx) => RunPool(g, batch, WorkKind.MaxPoolBackward, x, y, dy, dx);

    /// <inheritdoc/>
    public void AvgPool2DForward(in Pool2DGeometry g, int batch, int x, int y) => RunPool(g, batch, WorkKind.AvgPoolForward, x, y, -1, -1);

    /// <inheritdoc/>
    public void AvgPool2DBackward(in Pool2DGeometry g, int batch, int dy, int dx) => RunPool(g, batch, WorkKind.AvgPoolBackward, -1, -1, dy, dx);

    private void RunPool(in Pool2DGeometry g, int batch, int kind, int x, int y, int dy, int dx)
    {
        if (batch <= 0) return;
        var w = GetWork();
        w.Pool = g;
        w.X = x; w.Y = y; w.Dy = dy; w.Dx = dx;
        RunWork(w, kind, batch, ItemsFor(batch, g.InSize + (long)g.OutSize * g.PoolH * g.PoolW));
    }

    private static void Window(int o, int stride, int pad, int pool, int size, out int start, out int end)
    {
        int s = o * stride - pad;
        start = Math.Max(s, 0);
        end = Math.Min(s + pool, size);
    }

    private void PoolSamples(Work w, int n0, int n1)
    {
        ref readonly Pool2DGeometry g = ref w.Pool;
        int C = g.Channels, inW = g.InW;
        bool max = w.Kind is WorkKind.MaxPoolForward or WorkKind.MaxPoolBackward;
        bool backward = w.Kind is WorkKind.MaxPoolBackward or WorkKind.AvgPoolBackward;
        for (int n = n0; n < n1; n++)
        {
            float* xs = w.X >= 0 ? At(w.X) + (long)n * g.InSize : null;
            float* ys = w.Y >= 0 ? At(w.Y) + (long)n * g.OutSize : null;
            float* dys = w.Dy >= 0 ? At(w.Dy) + (long)n * g.OutSize : null;
            float* dxs = w.Dx >= 0 ? At(w.Dx) + (long)n * g.InSize : null;
            if (backward) Clear(dxs, g.InSize);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                Window(oh, g.StrideH, g.PadTop, g.PoolH, g.InH, out int h0, out int h1);
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    Window(ow, g.StrideW, g.PadLeft, g.PoolW, inW, out int w0, out int w1);
                    long o = ((long)oh * g.OutW + ow) * C;
                    int cells = Math.Max(0, h1 - h0) * Math.Max(0, w1 - w0);
                    if (!backward)
                    {
                        if (max) MaxWindow(xs, ys + o, C, inW, h0, h1, w0, w1);
                        else AvgWindow(xs, ys + o, C, inW, h0, h1, w0, w1, cells);
                    }
                    else if (max) MaxWindowBackward(xs, ys + o, dys + o, dxs, C, inW, h0, h1, w0, w1);
                    else if (cells > 0) AvgWindowBackward(dys + o, dxs, C, inW, h0, h1, w0, w1, 1f / cells);
                }
            }
        }
    }

    private static void MaxWindow(float* x, float* y, int C, int inW, int h0, int h1, int w0, int w1)
    {
        int c = 0;
        for (; c <= C - 16; c += 16)
        {
            var m = Vector512.Create(float.NegativeInfinity);
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    m = Vector512.MaxNative(m, Vector512.Load(x + ((long)ih * inW + iw) * C + c));
            Vector512.Store(h1 > h0 && w1 > w0 ? m : Vector512<float>.Zero, y + c);
        }
        for (; c < C; c++)
        {
            float m = float.NegativeInfinity;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    float v = x[((long)ih * inW + iw) * C + c];
                    if (v > m) m = v;
                }
            y[c] = h1 > h0 && w1 > w0 ? m : 0f;
        }
    }

    private static void AvgWindow(float* x, float* y, int C, int inW, int h0, int h1, int w0, int w1, int cells)
    {
        float inv = cells > 0 ? 1f / cells : 0f;
        int c = 0;
        for (; c <= C - 16; c += 16)
        {
            var s = Vector512<float>.Zero;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    s += Vector512.Load(x + ((long)ih * inW + iw) * C + c);
            Vector512.Store(s * inv, y + c);
        }
        for (; c < C; c++)
        {
            float s = 0;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    s += x[((long)ih * inW + iw) * C + c];
            y[c] = s * inv;
        }
    }

    private static void MaxWindowBackward(float* x, float* y, float* dy, float* dx, int C, int inW, int h0, int h1, int w0, int w1)
    {
        int c = 0;
        for (; c <= C - 16; c += 16)
        {
            var yv = Vector512.Load(y + c);
            var g = Vector512.Load(dy + c);
            var pending = Vector512<float>.AllBitsSet;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    long at = ((long)ih * inW + iw) * C + c;
                    var hit = Vector512.BitwiseAnd(Vector512.Equals(Vector512.Load(x + at), yv), pending);
                    if (hit == Vector512<float>.Zero) continue;
                    Vector512.Store(Vector512.Load(dx + at) + Vector512.BitwiseAnd(g, hit), dx + at);
                    pending = Vector512.AndNot(pending, hit);
                }
        }
        for (; c < C; c++)
        {
            float yv = y[c];
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    long at = ((long)ih * inW + iw) * C + c;
                    if (x[at] == yv)
                    {
                        dx[at] += dy[c];
                        goto next;
                    }
                }
            next:;
        }
    }

    private static void AvgWindowBackward(float* dy, float* dx, int C, int inW, int h0, int h1, int w0, int w1, float inv)
    {
        int c = 0;
        for (; c <= C - 16; c += 16)
        {
            var g = Vector512.Load(dy + c) * inv;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                {
                    float* p = dx + ((long)ih * inW + iw) * C + c;
                    Vector512.Store(Vector512.Load(p) + g, p);
                }
        }
        for (; c < C; c++)
        {
            float g = dy[c] * inv;
            for (int ih = h0; ih < h1; ih++)
                for (int iw = w0; iw < w1; iw++)
                    dx[((long)ih * inW + iw) * C + c] += g;
        }
    }

    // ============================================================================================
    // Batch normalisation
    // ============================================================================================

    private const int BnBlockRows = 64;

    /// <summary>Items for a batch-norm pass: a fixed split of the rows (so results do not depend on thread timing).</summary>
    private static int BnItems(int rows, int channels) =>
        (int)Math.Min(ItemsFor((rows + BnBlockRows - 1) / BnBlockRows, (long)BnBlockRows * channels * 2), Threads * 2L);

    /// <summary>
    /// Aux layout for batch norm: per channel floats a, b, c, mean (4·C floats), then per item 2·C doubles of partial
    /// sums and 2·C floats of block sums.
    /// </summary>
    private void BnAux(Work w, int channels, int items)
    {
        long perChannel = 4L * channels * sizeof(float);
        long partialBytes = 2L * channels * sizeof(double);
        long blockBytes = 2L * channels * sizeof(float);
        perChannel = (perChannel + 63) & ~63L;
        partialBytes = (partialBytes + 63) & ~63L;
        blockBytes = (blockBytes + 63) & ~63L;
        byte* aux = Aux(perChannel + items * (partialBytes + blockBytes));
        w.ChA = (float*)aux;
        w.ChB = w.ChA + channels;
        w.ChC = w.ChB + channels;
        w.ChMean = w.ChC + channels;
        w.Partials = (double*)(aux + perChannel);
        w.PartialStride = partialBytes / sizeof(double);
        w.Blocks = (float*)(aux + perChannel + items * partialBytes);
        w.BlockStride = blockBytes / sizeof(float);
    }

    /// <inheritdoc/>
    public void BatchNormForward(int rows, int channels, bool training, float momentum, float epsilon, bool unbiasedMovingVariance,
        ActivationFunction activation, float alpha,
        int x, int gamma, int beta, int movingMean, int movingVariance, int savedMean, int savedInvStd, int preActivation, int y)
    {
        if (rows <= 0 || channels <= 0) return;
        var w = GetWork();
        int items = BnItems(rows, channels);
        BnAux(w, channels, items);
        w.Channels = channels;
        w.X = x; w.Y = y; w.Z = preActivation >= 0 ? preActivation : y; w.Activation = activation; w.Alpha = alpha;
        float* pg = gamma >= 0 ? At(gamma) : null, pb = beta >= 0 ? At(beta) : null;
        float* mm = At(movingMean), mv = At(movingVariance);
        if (training)
        {
            // Pass 1: per-channel sums of d = x - x[0] and d² (shifted, so no cancellation for data far from 0).
            RunWork(w, WorkKind.BnStats, rows, items);
            float* shift = At(x);
            float* sm = savedMean >= 0 ? At(savedMean) : null, si = savedInvStd >= 0 ? At(savedInvStd) : null;
            double decay = 1.0 - momentum;
            double bessel = unbiasedMovingVariance && rows > 1 ? (double)rows / (rows - 1) : 1.0;
            for (int c = 0; c < channels; c++)
            {
                double s1 = 0, s2 = 0;
                for (int i = 0; i < w.Items; i++)
                {
                    s1 += w.Partials[i * w.PartialStride + c];
                    s2 += w.Partials[i * w.PartialStride + channels + c];
                }
                double m1 = s1 / rows;
                double mean = shift[c] + m1;
                double variance = Math.Max(0.0, s2 / rows - m1 * m1);
                double invStd = 1.0 / Math.Sqrt(variance + epsilon);
                if (sm != null) sm[c] = (float)mean;
                if (si != null) si[c] = (float)invStd;
                mm[c] = (float)(mm[c] - (mm[c] - mean) * decay);
                mv[c] = (float)(mv[c] - (mv[c] - variance * bessel) * decay);
                double scale = (pg != null ? pg[c] : 1.0) * invStd;
                w.ChA[c] = (float)scale;
                w.ChB[c] = pb != null ? pb[c] : 0f;
                // x - mean as (x - shift) - m1: exact first step, small second one (y may overwrite x row 0, so copy the shift).
                w.ChMean[c] = shift[c];
                w.ChC[c] = (float)m1;
            }
        }
        else
        {
            for (int c = 0; c < channels; c++)
            {
                w.ChA[c] = (float)((pg != null ? pg[c] : 1.0) / Math.Sqrt((double)mv[c] + epsilon));
                w.ChB[c] = pb != null ? pb[c] : 0f;
                w.ChMean[c] = mm[c];
                w.ChC[c] = 0f;
            }
        }
        // Pass 2: z = ((x - shift) - m1)·scale + beta, y = act(z).
        RunWork(w, WorkKind.BnNormalize, rows, items);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(int rows, int channels, ActivationFunction activation, float alpha,
        int x, int gamma, int savedMean, int savedInvStd, int preActivation, int y, int dy, int dx, int dGamma, int dBeta)
    {
        if (rows <= 0 || channels <= 0) return;
        var w = GetWork();
        int items = BnItems(rows, channels);
        BnAux(w, channels, items);
        w.Channels = channels;
        w.X = x; w.Y = y; w.Z = preActivation; w.Dy = dy; w.Dx = dx; w.Activation = activation; w.Alpha = alpha;
        float* mean = At(savedMean), inv = At(savedInvStd);
        for (int c = 0; c < channels; c++) w.ChMean[c] = mean[c];
        // Pass 1: dz = dy·act' in place, per-channel Σdz and Σdz·(x - mean).
        RunWork(w, WorkKind.BnBackwardSums, rows, items);
        float* pg = gamma >= 0 ? At(gamma) : null;
        float* dg = dGamma >= 0 ? At(dGamma) : null, dbeta = dBeta >= 0 ? At(dBeta) : null;
        for (int c = 0; c < channels; c++)
        {
            double s1 = 0, s2 = 0;
            for (int i = 0; i < w.Items; i++)
            {
                s1 += w.Partials[i * w.PartialStride + c];
                s2 += w.Partials[i * w.PartialStride + channels + c];
            }
            double invStd = inv[c];
            double sumDzXhat = s2 * invStd;
            if (dg != null) dg[c] = (float)sumDzXhat;
            if (dbeta != null) dbeta[c] = (float)s1;
            // dx = γ·invStd·(dz − Σdz/N − x̂·Σ(dz·x̂)/N) = a·(dz − b − (x − mean)·c)
            w.ChA[c] = (float)((pg != null ? pg[c] : 1.0) * invStd);
            w.ChB[c] = (float)(s1 / rows);
            w.ChC[c] = (float)(sumDzXhat * invStd / rows);
        }
        if (dx >= 0) RunWork(w, WorkKind.BnBackwardDx, rows, items);
    }

    private void BnStats(Work w, int r0, int r1, int item)
    {
        int C = w.Channels;
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, 2 * C).Clear();
        float* x = At(w.X);
        float* shift = x;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows);
            new Span<float>(blk, 2 * C).Clear();
            for (int r = b0; r < b1; r++)
            {
                float* xr = x + (long)r * C;
                int c = 0;
                for (; c <= C - 16; c += 16)
                {
                    var d = Vector512.Load(xr + c) - Vector512.Load(shift + c);
                    Vector512.Store(Vector512.Load(blk + c) + d, blk + c);
                    Vector512.Store(Vector512.Load(blk + C + c) + d * d, blk + C + c);
                }
                for (; c < C; c++)
                {
                    float d = xr[c] - shift[c];
                    blk[c] += d;
                    blk[C + c] += d * d;
                }
            }
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    private void BnNormalize(Work w, int r0, int r1)
    {
        int C = w.Channels;
        float* x = At(w.X), z = At(w.Z), y = At(w.Y);
        float* a = w.ChA, b = w.ChB, m = w.ChMean, m1 = w.ChC;
        var act = w.Activation;
        bool fast = act is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        bool storeZ = z != y;
        var va = Vector512.Create(w.Alpha);
        float alpha = w.Alpha;
        for (int r = r0; r < r1; r++)
        {
            long o = (long)r * C;
            float* xr = x + o, zr = z + o, yr = y + o;
            int c = 0;
            for (; c <= C - 16; c += 16)
            {
                var v = (Vector512.Load(xr + c) - Vector512.Load(m + c) - Vector512.Load(m1 + c)) * Vector512.Load(a + c) + Vector512.Load(b + c);
                if (!fast || storeZ) Vector512.Store(v, zr + c);
                if (fast)
                    Vector512.Store(act switch
                    {
                        ActivationFunction.Relu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, Vector512<float>.Zero),
                        ActivationFunction.LeakyRelu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, v * va),
                        _ => v,
                    }, yr + c);
            }
            for (; c < C; c++)
            {
                float v = (xr[c] - m[c] - m1[c]) * a[c] + b[c];
                if (!fast || storeZ) zr[c] = v;
                if (fast)
                    yr[c] = act switch
                    {
                        ActivationFunction.Relu => v > 0 ? v : 0f,
                        ActivationFunction.LeakyRelu => v > 0 ? v : alpha * v,
                        _ => v,
                    };
            }
        }
        if (!fast)
            ActivationForward(act, alpha, r1 - r0, C, (int)(w.Z + (long)r0 * C), (int)(w.Y + (long)r0 * C));
    }

    private void BnBackwardSums(Work w, int r0, int r1, int item)
    {
        int C = w.Channels;
        if (w.Activation != ActivationFunction.Linear)
            ActivationBackwardRows(w.Activation, w.Alpha, r1 - r0, C, w.Z >= 0 ? (int)(w.Z + (long)r0 * C) : -1,
                (int)(w.Y + (long)r0 * C), (int)(w.Dy + (long)r0 * C));
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, 2 * C).Clear();
        float* x = At(w.X), dz = At(w.Dy), m = w.ChMean;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows);
            new Span<float>(blk, 2 * C).Clear();
            for (int r = b0; r < b1; r++)
            {
                long o = (long)r * C;
                float* xr = x + o, dr = dz + o;
                int c = 0;
                for (; c <= C - 16; c += 16)
                {
                    var g = Vector512.Load(dr + c);
                    var d = Vector512.Load(xr + c) - Vector512.Load(m + c);
                    Vector512.Store(Vector512.Load(blk + c) + g, blk + c);
                    Vector512.Store(Vector512.Load(blk + C + c) + g * d, blk + C + c);
                }
                for (; c < C; c++)
                {
                    float g = dr[c];
                    blk[c] += g;
                    blk[C + c] += g * (xr[c] - m[c]);
                }
            }
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    private void BnBackwardDx(Work w, int r0, int r1)
    {
        int C = w.Channels;
        float* x = At(w.X), dz = At(w.Dy), dx = At(w.Dx);
        float* a = w.ChA, b = w.ChB, cc = w.ChC, m = w.ChMean;
        for (int r = r0; r < r1; r++)
        {
            long o = (long)r * C;
            float* xr = x + o, dr = dz + o, outr = dx + o;
            int c = 0;
            for (; c <= C - 16; c += 16)
            {
                var d = Vector512.Load(xr + c) - Vector512.Load(m + c);
                var v = Vector512.Load(a + c) * (Vector512.Load(dr + c) - Vector512.Load(b + c) - d * Vector512.Load(cc + c));
                Vector512.Store(v, outr + c);
            }
            for (; c < C; c++)
                outr[c] = a[c] * (dr[c] - b[c] - (xr[c] - m[c]) * cc[c]);
        }
    }

    // ============================================================================================
    // Helpers and the work item
    // ============================================================================================

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Clear(float* p, int count)
    {
        if (count <= 16)
            for (int i = 0; i < count; i++) p[i] = 0f;
        else
            Unsafe.InitBlockUnaligned(p, 0, (uint)count * sizeof(float));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* dst, float* src, int count)
    {
        if (count <= 16)
            for (int i = 0; i < count; i++) dst[i] = src[i];
        else
            Unsafe.CopyBlockUnaligned(dst, src, (uint)count * sizeof(float));
    }

    /// <summary>dst[i] += src[i].</summary>
    private static void AddTo(float* dst, float* src, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16)
            Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i), dst + i);
        for (; i < count; i++) dst[i] += src[i];
    }

    private static class WorkKind
    {
        public const int Im2Col = 0, Col2Im = 1, ConvEpilogue = 2, ConvActBackward = 3,
            MaxPoolForward = 4, MaxPoolBackward = 5, AvgPoolForward = 6, AvgPoolBackward = 7,
            BnStats = 8, BnNormalize = 9, BnBackwardSums = 10, BnBackwardDx = 11;
    }

    /// <summary>The arguments of one element-wise stage, cut into <see cref="Items"/> equal ranges of <see cref="Units"/>.</summary>
    private sealed class Work : IWorkItem
    {
        private readonly CpuBackend _owner;

        public Work(CpuBackend owner) => _owner = owner;

        public int Kind, Units, Items;
        public Conv2DGeometry Conv;
        public Pool2DGeometry Pool;
        public int X, Y, Z, Dy, Dx, Bias, Channels;
        public ActivationFunction Activation;
        public float Alpha;
        public float* Cols;
        public int L0, L1, R0, Begin, ZeroFrom;
        public float* ChA, ChB, ChC, ChMean, Blocks;
        public double* Partials;
        public long PartialStride, BlockStride;

        public void Execute(int index)
        {
            int u0 = (int)((long)Units * index / Items), u1 = (int)((long)Units * (index + 1) / Items);
            if (u1 <= u0 && Kind is not (WorkKind.BnStats or WorkKind.BnBackwardSums)) return;
            var b = _owner;
            switch (Kind)
            {
                case WorkKind.Im2Col: b.Im2Col(this, u0, u1); break;
                case WorkKind.Col2Im: b.Col2Im(this, u0, u1); break;
                case WorkKind.ConvEpilogue: b.ConvEpilogue(this, u0, u1); break;
                case WorkKind.ConvActBackward: b.ConvActBackward(this, u0, u1); break;
                case WorkKind.MaxPoolForward:
                case WorkKind.MaxPoolBackward:
                case WorkKind.AvgPoolForward:
                case WorkKind.AvgPoolBackward: b.PoolSamples(this, u0, u1); break;
                case WorkKind.BnStats: b.BnStats(this, u0, u1, index); break;
                case WorkKind.BnNormalize: b.BnNormalize(this, u0, u1); break;
                case WorkKind.BnBackwardSums: b.BnBackwardSums(this, u0, u1, index); break;
                case WorkKind.BnBackwardDx: b.BnBackwardDx(this, u0, u1); break;
            }
        }
    }
}
