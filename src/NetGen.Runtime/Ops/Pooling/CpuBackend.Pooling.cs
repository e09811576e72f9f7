using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Max and average pooling (2-D, and 1-D as (steps, 1, channels)) on the CPU, NHWC, per sample as work items.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2DForward(in Pool2DGeometry g, int batch, int x, int y) => RunPool(g, batch, WorkKind.MaxPoolForward, x, y, -1, -1, false);

    /// <inheritdoc/>
    public void MaxPool2DBackward(in Pool2DGeometry g, int batch, int x, int y, int dy, int dx, bool accumulateDx = false) =>
        RunPool(g, batch, WorkKind.MaxPoolBackward, x, y, dy, dx, accumulateDx);

    /// <inheritdoc/>
    public void AvgPool2DForward(in Pool2DGeometry g, int batch, int x, int y) => RunPool(g, batch, WorkKind.AvgPoolForward, x, y, -1, -1, false);

    /// <inheritdoc/>
    public void AvgPool2DBackward(in Pool2DGeometry g, int batch, int dy, int dx, bool accumulateDx = false) =>
        RunPool(g, batch, WorkKind.AvgPoolBackward, -1, -1, dy, dx, accumulateDx);

    private void RunPool(in Pool2DGeometry g, int batch, int kind, int x, int y, int dy, int dx, bool accumulate)
    {
        if (batch <= 0) return;
        var w = GetWork();
        w.Pool = g;
        w.X = x; w.Y = y; w.Dy = dy; w.Dx = dx;
        w.AccumulateDx = accumulate;
        int items = ItemsFor(batch, g.InSize + (long)g.OutSize * g.PoolH * g.PoolW);
        if (kind == WorkKind.MaxPoolBackward)
        {
            // Per item: which channels of the current window still wait for their first maximum.
            w.BlockStride = (g.Channels + 15) & ~15L;
            w.Blocks = (float*)Aux(Math.Max(1, items) * w.BlockStride * sizeof(float));
        }
        RunWork(w, kind, batch, items);
    }

    private static void Window(int o, int stride, int pad, int pool, int size, out int start, out int end)
    {
        int s = o * stride - pad;
        start = Math.Max(s, 0);
        end = Math.Min(s + pool, size);
    }

    /// <summary>
    /// Samples [n0, n1) of a pooling pass. Each window is walked cell by cell, every channel of a cell at once (one
    /// contiguous run of C floats). When the windows tile the input (stride = pool size), the backward writes each
    /// covered cell once and zeroes only the uncovered edge; otherwise it zeroes dx and accumulates; adding into dx
    /// (<see cref="Work.AccumulateDx"/>), it accumulates and zeroes nothing.
    /// </summary>
    private void PoolSamples(Work w, int n0, int n1, int item)
    {
        ref readonly Pool2DGeometry g = ref w.Pool;
        int C = g.Channels, inW = g.InW;
        bool max = w.Kind is WorkKind.MaxPoolForward or WorkKind.MaxPoolBackward;
        bool backward = w.Kind is WorkKind.MaxPoolBackward or WorkKind.AvgPoolBackward;
        bool adds = backward && w.AccumulateDx;
        bool tiles = g.StrideH == g.PoolH && g.StrideW == g.PoolW && !adds;
        float* pending = max && backward ? w.Blocks + item * w.BlockStride : null;
        int coverH = Math.Min(g.InH, (g.OutH - 1) * g.StrideH - g.PadTop + g.PoolH);
        int coverW = Math.Min(inW, (g.OutW - 1) * g.StrideW - g.PadLeft + g.PoolW);
        for (int n = n0; n < n1; n++)
        {
            float* xs = w.X >= 0 ? At(w.X) + (long)n * g.InSize : null;
            float* ys = w.Y >= 0 ? At(w.Y) + (long)n * g.OutSize : null;
            float* dys = w.Dy >= 0 ? At(w.Dy) + (long)n * g.OutSize : null;
            float* dxs = w.Dx >= 0 ? At(w.Dx) + (long)n * g.InSize : null;
            if (backward && !tiles && !adds) Clear(dxs, g.InSize);
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
                        float* yo = ys + o;
                        if (cells == 0)
                        {
                            Clear(yo, C);
                            continue;
                        }
                        bool first = true;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                float* xc = xs + ((long)ih * inW + iw) * C;
                                if (first) Copy(yo, xc, C);
                                else if (max) MaxInto(yo, xc, C);
                                else AddTo(yo, xc, C);
                                first = false;
                            }
                        if (!max && cells > 1) Scale(yo, 1f / cells, C);
                    }
                    else if (max)
                    {
                        FillBits(pending, C);
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                long at = ((long)ih * inW + iw) * C;
                                MaxBackwardCell(xs + at, ys + o, dys + o, dxs + at, pending, C, tiles);
                            }
                    }
                    else if (cells > 0)
                    {
                        float inv = 1f / cells;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                float* dxc = dxs + ((long)ih * inW + iw) * C;
                                if (tiles) ScaleTo(dxc, dys + o, inv, C);
                                else AddScaled(dxc, dys + o, inv, C);
                            }
                    }
                }
            }
            if (backward && tiles)
            {
                // Cells no window reads (the bottom/right remainder of a valid pooling).
                for (int ih = 0; ih < coverH; ih++)
                    Clear(dxs + ((long)ih * inW + coverW) * C, (inW - coverW) * C);
                Clear(dxs + (long)coverH * inW * C, (g.InH - coverH) * inW * C);
            }
        }
    }

    /// <summary>y[i] = max(y[i], x[i]).</summary>
    private static void MaxInto(float* y, float* x, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512.MaxNative(Vector512.Load(y + i), Vector512.Load(x + i)), y + i);
        for (; i < count; i++) if (x[i] > y[i]) y[i] = x[i];
    }

    /// <summary>y[i] *= s.</summary>
    private static void Scale(float* y, float s, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512.Load(y + i) * s, y + i);
        for (; i < count; i++) y[i] *= s;
    }

    /// <summary>dst[i] = src[i]·s.</summary>
    private static void ScaleTo(float* dst, float* src, float s, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512.Load(src + i) * s, dst + i);
        for (; i < count; i++) dst[i] = src[i] * s;
    }

    /// <summary>dst[i] += src[i]·s.</summary>
    private static void AddScaled(float* dst, float* src, float s, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i) * s, dst + i);
        for (; i < count; i++) dst[i] += src[i] * s;
    }

    /// <summary>Sets every bit of p[0..count).</summary>
    private static void FillBits(float* p, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512<float>.AllBitsSet, p + i);
        for (; i < count; i++) ((uint*)p)[i] = uint.MaxValue;
    }

    /// <summary>
    /// One cell of a max window, backward: channels where x equals the window's max y and whose max has not been met
    /// yet in the window (<paramref name="pending"/>) get dy (written when the windows tile, else added); the rest get 0
    /// (written) or nothing (added).
    /// </summary>
    private static void MaxBackwardCell(float* x, float* y, float* dy, float* dx, float* pending, int C, bool assign)
    {
        int c = 0;
        for (; c <= C - 16; c += 16)
        {
            var p = Vector512.Load(pending + c);
            var hit = Vector512.BitwiseAnd(Vector512.Equals(Vector512.Load(x + c), Vector512.Load(y + c)), p);
            var g = Vector512.BitwiseAnd(Vector512.Load(dy + c), hit);
            if (assign) Vector512.Store(g, dx + c);
            else if (hit != Vector512<float>.Zero) Vector512.Store(Vector512.Load(dx + c) + g, dx + c);
            Vector512.Store(Vector512.AndNot(p, hit), pending + c);
        }
        uint* pb = (uint*)pending;
        for (; c < C; c++)
        {
            bool hit = pb[c] != 0 && x[c] == y[c];
            if (hit) pb[c] = 0;
            if (assign) dx[c] = hit ? dy[c] : 0f;
            else if (hit) dx[c] += dy[c];
        }
    }
}
