using NetGen.Backends;

namespace NetGen.Cpu;

/// <summary>
/// A convolution's im2col matrix, the GEMM's A operand: written whole by the CPU backend's im2col stage, or gathered
/// block by block inside the GEMM (<see cref="Sgemm.MultiplyIm2Col"/>). Row r is output pixel <c>row0 + r</c> (sample,
/// line, column; NHWC), column k is tap (kh, kw) and input channel c, with k = (kh·KernelW + kw)·InC + c; padding
/// reads as 0.
/// </summary>
internal readonly unsafe struct Im2ColSource
{
    private readonly float* _x;
    private readonly Conv2DGeometry _g;
    private readonly long _row0;

    /// <param name="x">The input, [batch, InH, InW, InC].</param>
    /// <param name="g">The convolution.</param>
    /// <param name="row0">The output pixel (over the whole batch) of A's first row.</param>
    public Im2ColSource(float* x, in Conv2DGeometry g, long row0)
    {
        _x = x;
        _g = g;
        _row0 = row0;
    }

    /// <summary>Whether this is a source at all (the default is not).</summary>
    public bool Active => _x != null;

    /// <summary>A[i0 + r, pc + j] for r &lt; rows, j &lt; kc, to <paramref name="dst"/> + r·ld + j.</summary>
    public void Rows(int i0, int rows, int pc, int kc, float* dst, nint ld)
    {
        ref readonly Conv2DGeometry g = ref _g;
        int inC = g.InC, kW = g.KernelW, pixels = g.OutH * g.OutW;
        // Where column pc falls in the patch: the same for every row.
        int tap0 = pc / inC, c00 = pc - tap0 * inC, kh0 = tap0 / kW, kw0 = tap0 - kh0 * kW;
        long first = _row0 + i0, n = first / pixels;
        int at = (int)(first - n * pixels), oh = at / g.OutW, ow = at - oh * g.OutW;
        for (int r = 0; r < rows; r++, ow++)
        {
            if (ow == g.OutW)
            {
                ow = 0;
                if (++oh == g.OutH) (oh, n) = (0, n + 1);
            }
            int ihBase = oh * g.StrideH - g.PadTop, iwBase = ow * g.StrideW - g.PadLeft;
            float* xs = _x + n * g.InSize;
            float* d = dst + r * ld;
            int kh = kh0, kw = kw0, c0 = c00, left = kc;
            while (left > 0)
            {
                // The rest of this kernel row's taps (kh fixed), at most what the block still needs.
                int len = Math.Min((kW - kw) * inC - c0, left);
                int ih = ihBase + kh * g.DilationH;
                int lastTap = kw + (c0 + len - 1) / inC;
                if ((uint)ih >= (uint)g.InH)
                    new Span<float>(d, len).Clear();
                else if (g.DilationW == 1 && iwBase + kw >= 0 && iwBase + lastTap < g.InW)
                    CpuBackend.Copy(d, xs + ((long)ih * g.InW + iwBase + kw) * inC + c0, len); // consecutive pixels: one run
                else
                {
                    float* row = xs + (long)ih * g.InW * inC;
                    for (int done = 0, c = c0, w = kw; done < len; c = 0, w++)
                    {
                        int part = Math.Min(inC - c, len - done);
                        int iw = iwBase + w * g.DilationW;
                        if ((uint)iw < (uint)g.InW) CpuBackend.Copy(d + done, row + (long)iw * inC + c, part);
                        else new Span<float>(d + done, part).Clear();
                        done += part;
                    }
                }
                d += len;
                left -= len;
                kh++; // a shorter run ends the block (left is 0 then)
                kw = 0;
                c0 = 0;
            }
        }
    }
}
