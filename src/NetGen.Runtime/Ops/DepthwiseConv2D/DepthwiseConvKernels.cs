using ILGPU;

namespace NetGen.Kernels;

/// <summary>
/// Depthwise convolution (NHWC; kernel [KernelH, KernelW, InC, dm], output channel c·dm + m from input channel c and
/// filter m, dm = OutC / InC). Forward runs one thread per output element; the input gradient one thread per input
/// element, gathering from every (output pixel, tap) that reads it (no atomics); the kernel gradient one thread per
/// (block of <see cref="ConvKernels.BlockRows"/> output pixels, kernel element), summed in float within the block and
/// then across blocks in double by <see cref="ConvKernels.FinishColumnSums"/>. Bias and activation are the shared
/// epilogue kernels.
/// </summary>
internal static class DepthwiseConvKernels
{
    /// <summary>z[n, oh, ow, o] = Σ_(kh, kw) x[n, ih, iw, o / dm]·kernel[kh, kw, o] (taps in the padding skipped).</summary>
    /// <param name="index">Output element, [batch·OutH·OutW·OutC].</param>
    /// <param name="x">Input [batch, InH, InW, InC].</param>
    /// <param name="kernel">Kernel [KernelH, KernelW, InC, dm] = [taps, OutC].</param>
    /// <param name="z">Output before bias and activation [batch, OutH, OutW, OutC].</param>
    /// <param name="g">The geometry (OutC = InC·dm).</param>
    internal static void Forward(Index1D index, ArrayView<float> x, ArrayView<float> kernel, ArrayView<float> z, ConvShape g)
    {
        int i = index.X;
        int o = i % g.OutC;
        int pixel = i / g.OutC;
        int ow = pixel % g.OutW, rest = pixel / g.OutW;
        int oh = rest % g.OutH, n = rest / g.OutH;
        int c = o / (g.OutC / g.InC);
        float s = 0f;
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
            if (ih < 0 || ih >= g.InH) continue;
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                if (iw < 0 || iw >= g.InW) continue;
                s += x[((n * g.InH + ih) * g.InW + iw) * g.InC + c] * kernel[(kh * g.KernelW + kw) * g.OutC + o];
            }
        }
        z[i] = s;
    }

    /// <summary>dx[n, ih, iw, c] = Σ over (oh, ow, kh, kw) with oh·s − pad + kh·d = ih (and the same for w) of Σ_m dz[n, oh, ow, c·dm + m]·kernel[kh, kw, c, m].</summary>
    /// <param name="index">Input element, [batch·InH·InW·InC].</param>
    /// <param name="dz">Output gradient (after the activation's derivative) [batch, OutH, OutW, OutC].</param>
    /// <param name="kernel">Kernel [taps, OutC].</param>
    /// <param name="dx">Input gradient [batch, InH, InW, InC] (overwritten, or added to with <see cref="ConvShape.Accumulate"/>).</param>
    /// <param name="g">The geometry.</param>
    internal static void BackwardInput(Index1D index, ArrayView<float> dz, ArrayView<float> kernel, ArrayView<float> dx, ConvShape g)
    {
        int i = index.X;
        int c = i % g.InC;
        int pixel = i / g.InC;
        int iw = pixel % g.InW, rest = pixel / g.InW;
        int ih = rest % g.InH, n = rest / g.InH;
        int dm = g.OutC / g.InC;
        float s = g.Accumulate != 0 ? dx[i] : 0f; // added to in the CPU backend's order
        for (int kh = 0; kh < g.KernelH; kh++)
        {
            int th = ih + g.PadTop - kh * g.DilationH;
            if (th < 0) continue;
            int oh = th / g.StrideH;
            if (oh * g.StrideH != th || oh >= g.OutH) continue;
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int tw = iw + g.PadLeft - kw * g.DilationW;
                if (tw < 0) continue;
                int ow = tw / g.StrideW;
                if (ow * g.StrideW != tw || ow >= g.OutW) continue;
                int dzAt = ((n * g.OutH + oh) * g.OutW + ow) * g.OutC + c * dm;
                int kAt = (kh * g.KernelW + kw) * g.OutC + c * dm;
                for (int m = 0; m < dm; m++) s += dz[dzAt + m] * kernel[kAt + m];
            }
        }
        dx[i] = s;
    }

    /// <summary>
    /// partial[b, j] = Σ over output pixels p of block b of x[p's input pixel for tap j / OutC, channel (j % OutC) / dm]·dz[p, j % OutC],
    /// summed in float in pixel order (j = tap·OutC + o indexes the kernel [taps, OutC]).
    /// </summary>
    /// <param name="index">(block, kernel element) as block·kernelFloats + j, [⌈pixels/BlockRows⌉·taps·OutC].</param>
    /// <param name="x">Input [batch, InH, InW, InC].</param>
    /// <param name="dz">Output gradient [batch·OutH·OutW, OutC].</param>
    /// <param name="partial">Block sums [blocks, taps·OutC].</param>
    /// <param name="g">The geometry.</param>
    /// <param name="pixels">batch·OutH·OutW.</param>
    internal static void KernelGradientPartials(Index1D index, ArrayView<float> x, ArrayView<float> dz, ArrayView<double> partial,
        ConvShape g, int pixels)
    {
        int i = index.X;
        int kernelFloats = g.KernelH * g.KernelW * g.OutC;
        int block = i / kernelFloats, j = i - block * kernelFloats;
        int tap = j / g.OutC, o = j - tap * g.OutC;
        int kh = tap / g.KernelW, kw = tap - kh * g.KernelW;
        int c = o / (g.OutC / g.InC);
        int p0 = block * ConvKernels.BlockRows;
        int p1 = p0 + ConvKernels.BlockRows < pixels ? p0 + ConvKernels.BlockRows : pixels;
        float s = 0f;
        for (int p = p0; p < p1; p++)
        {
            int ow = p % g.OutW, rest = p / g.OutW;
            int oh = rest % g.OutH, n = rest / g.OutH;
            int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
            int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
            if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
            s += x[((n * g.InH + ih) * g.InW + iw) * g.InC + c] * dz[p * g.OutC + o];
        }
        partial[i] = s;
    }
}
