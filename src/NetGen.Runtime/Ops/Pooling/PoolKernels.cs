using ILGPU;
using NetGen.Backends;

namespace NetGen.Kernels;

/// <summary>A <see cref="Pool2DGeometry"/> as plain fields, for kernel parameters.</summary>
internal struct PoolShape(in Pool2DGeometry g)
{
    /// <summary>Input height, width and channels.</summary>
    public int InH = g.InH, InW = g.InW, Channels = g.Channels;
    /// <summary>Output height and width.</summary>
    public int OutH = g.OutH, OutW = g.OutW;
    /// <summary>Window.</summary>
    public int PoolH = g.PoolH, PoolW = g.PoolW;
    /// <summary>Strides.</summary>
    public int StrideH = g.StrideH, StrideW = g.StrideW;
    /// <summary>Top and left padding.</summary>
    public int PadTop = g.PadTop, PadLeft = g.PadLeft;
    /// <summary>1: the backward kernels add their gradient to what dx holds.</summary>
    public int Accumulate;
}

/// <summary>
/// Max and average pooling (NHWC). Forward runs one thread per output element; backward runs one thread per
/// input element and gathers from every window that covers it, in (oh, ow) order, so no atomics are needed and
/// the sums are added in the CPU backend's order. Padded cells never win a max and are not counted by an
/// average; an empty window outputs 0.
/// </summary>
internal static class PoolKernels
{
    /// <summary>The window of output index o along one axis, clipped to the input: [start, end).</summary>
    private static void Window(int o, int stride, int pad, int pool, int size, out int start, out int end)
    {
        int s = o * stride - pad;
        start = s > 0 ? s : 0;
        end = s + pool < size ? s + pool : size;
    }

    /// <summary>The outputs whose windows cover input index i along one axis: [lo, hi].</summary>
    private static void Covering(int i, int stride, int pad, int pool, int outSize, out int lo, out int hi)
    {
        int top = i + pad; // o·stride ≤ top and o·stride > top - pool
        hi = top / stride;
        if (hi > outSize - 1) hi = outSize - 1;
        int first = top - pool + 1;
        lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    }

    /// <summary>y[n, oh, ow, c] = max over the window (0 when the window is empty).</summary>
    /// <param name="index">Output element, [batch·OutH·OutW·C].</param>
    /// <param name="x">Input [batch, InH, InW, C].</param>
    /// <param name="y">Output [batch, OutH, OutW, C].</param>
    /// <param name="g">The geometry.</param>
    internal static void MaxForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolShape g)
    {
        int i = index.X;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int ow = pixel % g.OutW, rest = pixel / g.OutW;
        int oh = rest % g.OutH, n = rest / g.OutH;
        Window(oh, g.StrideH, g.PadTop, g.PoolH, g.InH, out int h0, out int h1);
        Window(ow, g.StrideW, g.PadLeft, g.PoolW, g.InW, out int w0, out int w1);
        float m = float.NegativeInfinity;
        int baseN = n * g.InH;
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
            {
                float v = x[((baseN + ih) * g.InW + iw) * g.Channels + c];
                if (v > m) m = v;
            }
        y[i] = h1 > h0 && w1 > w0 ? m : 0f;
    }

    /// <summary>
    /// dx[n, ih, iw, c] = Σ dy over the windows whose first maximum (in row-major window order, recomputed from
    /// x and y) is this cell.
    /// </summary>
    /// <param name="index">Input element, [batch·InH·InW·C].</param>
    /// <param name="x">Forward input [batch, InH, InW, C].</param>
    /// <param name="y">Forward output [batch, OutH, OutW, C].</param>
    /// <param name="dy">Output gradient [batch, OutH, OutW, C].</param>
    /// <param name="dx">Input gradient [batch, InH, InW, C] (overwritten).</param>
    /// <param name="g">The geometry.</param>
    internal static void MaxBackward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        PoolShape g)
    {
        int i = index.X;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int iw = pixel % g.InW, rest = pixel / g.InW;
        int ih = rest % g.InH, n = rest / g.InH;
        Covering(ih, g.StrideH, g.PadTop, g.PoolH, g.OutH, out int oh0, out int oh1);
        Covering(iw, g.StrideW, g.PadLeft, g.PoolW, g.OutW, out int ow0, out int ow1);
        float sum = g.Accumulate != 0 ? dx[i] : 0f; // added to in the CPU backend's order
        int baseN = n * g.InH;
        for (int oh = oh0; oh <= oh1; oh++)
        {
            Window(oh, g.StrideH, g.PadTop, g.PoolH, g.InH, out int h0, out int h1);
            for (int ow = ow0; ow <= ow1; ow++)
            {
                Window(ow, g.StrideW, g.PadLeft, g.PoolW, g.InW, out int w0, out int w1);
                int o = ((n * g.OutH + oh) * g.OutW + ow) * g.Channels + c;
                float target = y[o];
                // The first cell of the window equal to the maximum.
                int winH = -1, winW = -1;
                for (int h = h0; h < h1 && winH < 0; h++)
                    for (int w = w0; w < w1; w++)
                        if (x[((baseN + h) * g.InW + w) * g.Channels + c] == target)
                        {
                            winH = h;
                            winW = w;
                            break;
                        }
                if (winH == ih && winW == iw) sum += dy[o];
            }
        }
        dx[i] = sum;
    }

    /// <summary>y[n, oh, ow, c] = mean over the window's cells inside the input (0 when there are none).</summary>
    /// <param name="index">Output element, [batch·OutH·OutW·C].</param>
    /// <param name="x">Input [batch, InH, InW, C].</param>
    /// <param name="y">Output [batch, OutH, OutW, C].</param>
    /// <param name="g">The geometry.</param>
    internal static void AvgForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolShape g)
    {
        int i = index.X;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int ow = pixel % g.OutW, rest = pixel / g.OutW;
        int oh = rest % g.OutH, n = rest / g.OutH;
        Window(oh, g.StrideH, g.PadTop, g.PoolH, g.InH, out int h0, out int h1);
        Window(ow, g.StrideW, g.PadLeft, g.PoolW, g.InW, out int w0, out int w1);
        int cells = (h1 > h0 ? h1 - h0 : 0) * (w1 > w0 ? w1 - w0 : 0);
        float inv = cells > 0 ? 1f / cells : 0f;
        float s = 0f;
        int baseN = n * g.InH;
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
                s += x[((baseN + ih) * g.InW + iw) * g.Channels + c];
        y[i] = s * inv;
    }

    /// <summary>dx[n, ih, iw, c] = Σ dy / cells over the windows that cover this cell.</summary>
    /// <param name="index">Input element, [batch·InH·InW·C].</param>
    /// <param name="dy">Output gradient [batch, OutH, OutW, C].</param>
    /// <param name="dx">Input gradient [batch, InH, InW, C] (overwritten).</param>
    /// <param name="g">The geometry.</param>
    internal static void AvgBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PoolShape g)
    {
        int i = index.X;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int iw = pixel % g.InW, rest = pixel / g.InW;
        int ih = rest % g.InH, n = rest / g.InH;
        Covering(ih, g.StrideH, g.PadTop, g.PoolH, g.OutH, out int oh0, out int oh1);
        Covering(iw, g.StrideW, g.PadLeft, g.PoolW, g.OutW, out int ow0, out int ow1);
        float sum = g.Accumulate != 0 ? dx[i] : 0f; // added to in the CPU backend's order
        for (int oh = oh0; oh <= oh1; oh++)
        {
            Window(oh, g.StrideH, g.PadTop, g.PoolH, g.InH, out int h0, out int h1);
            for (int ow = ow0; ow <= ow1; ow++)
            {
                Window(ow, g.StrideW, g.PadLeft, g.PoolW, g.InW, out int w0, out int w1);
                int cells = (h1 - h0) * (w1 - w0);
                sum += dy[((n * g.OutH + oh) * g.OutW + ow) * g.Channels + c] * (1f / cells);
            }
        }
        dx[i] = sum;
    }
}
