using ILGPU;
using NetGen.Backends;

namespace NetGen.Kernels;

/// <summary>A <see cref="Pad2DGeometry"/> as plain fields, for kernel parameters.</summary>
internal struct PadShape(in Pad2DGeometry g)
{
    /// <summary>Source height, width and channels.</summary>
    public int InH = g.InH, InW = g.InW, Channels = g.Channels;
    /// <summary>Destination height and width.</summary>
    public int OutH = g.OutH, OutW = g.OutW;
    /// <summary>Rows and columns the source is moved down and right by (negative: up and left, a crop).</summary>
    public int Top = g.Top, Left = g.Left;
}

/// <summary>An <see cref="UpSample2DGeometry"/> as plain fields, for kernel parameters.</summary>
internal struct UpSampleShape(in UpSample2DGeometry g)
{
    /// <summary>Input height, width and channels.</summary>
    public int InH = g.InH, InW = g.InW, Channels = g.Channels;
    /// <summary>Upsampling factors of the rows and the columns.</summary>
    public int SizeH = g.SizeH, SizeW = g.SizeW;
}

/// <summary>
/// ZeroPadding2D, Cropping2D and nearest UpSampling2D (NHWC), one thread per element written, so no atomics are
/// needed. Padding and cropping are one kernel, a shift with zero fill, run forward with the layer's geometry and
/// backward with the reversed one. The upsampling backward gathers its block's gradients in the CPU backend's order
/// (rows top to bottom, each left to right), so both backends give bit-identical sums.
/// </summary>
internal static class ResamplingKernels
{
    /// <summary>dst[n, oh, ow, c] = src[n, oh − Top, ow − Left, c], or 0 where that pixel lies outside src.</summary>
    /// <param name="index">Destination element, [batch·OutH·OutW·C].</param>
    /// <param name="src">Source [batch, InH, InW, C] (the input forward, the output gradient backward).</param>
    /// <param name="dst">Destination [batch, OutH, OutW, C] (overwritten).</param>
    /// <param name="g">The shift.</param>
    internal static void Shift(Index1D index, ArrayView<float> src, ArrayView<float> dst, PadShape g)
    {
        int i = index.X;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int ow = pixel % g.OutW, rest = pixel / g.OutW;
        int oh = rest % g.OutH, n = rest / g.OutH;
        int ih = oh - g.Top, iw = ow - g.Left;
        float v = 0f;
        if (ih >= 0 && ih < g.InH && iw >= 0 && iw < g.InW)
            v = src[((n * g.InH + ih) * g.InW + iw) * g.Channels + c];
        dst[i] = v;
    }

    /// <summary>y[n, oh, ow, c] = x[n, ⌊oh / SizeH⌋, ⌊ow / SizeW⌋, c].</summary>
    /// <param name="index">Output element, [batch·InH·SizeH·InW·SizeW·C].</param>
    /// <param name="x">Input [batch, InH, InW, C].</param>
    /// <param name="y">Output [batch, InH·SizeH, InW·SizeW, C] (overwritten).</param>
    /// <param name="g">The factors.</param>
    internal static void UpSampleForward(Index1D index, ArrayView<float> x, ArrayView<float> y, UpSampleShape g)
    {
        int i = index.X;
        int outW = g.InW * g.SizeW, outH = g.InH * g.SizeH;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int ow = pixel % outW, rest = pixel / outW;
        int oh = rest % outH, n = rest / outH;
        y[i] = x[((n * g.InH + oh / g.SizeH) * g.InW + ow / g.SizeW) * g.Channels + c];
    }

    /// <summary>dx[n, ih, iw, c] = Σ_a Σ_b dy[n, ih·SizeH + a, iw·SizeW + b, c], a outer, b inner.</summary>
    /// <param name="index">Input element, [batch·InH·InW·C].</param>
    /// <param name="dy">Output gradient [batch, InH·SizeH, InW·SizeW, C].</param>
    /// <param name="dx">Input gradient [batch, InH, InW, C] (overwritten).</param>
    /// <param name="g">The factors.</param>
    internal static void UpSampleBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, UpSampleShape g)
    {
        int i = index.X;
        int outW = g.InW * g.SizeW;
        int c = i % g.Channels;
        int pixel = i / g.Channels;
        int iw = pixel % g.InW, row = pixel / g.InW; // row = n·InH + ih
        float s = 0f;
        for (int a = 0; a < g.SizeH; a++)
        {
            int o = ((row * g.SizeH + a) * outW + iw * g.SizeW) * g.Channels + c;
            for (int b = 0; b < g.SizeW; b++)
                s += dy[o + b * g.Channels];
        }
        dx[i] = s;
    }
}
