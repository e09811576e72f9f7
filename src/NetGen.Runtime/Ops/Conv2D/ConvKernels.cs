using ILGPU;
using NetGen.Backends;

namespace NetGen.Kernels;

/// <summary>A <see cref="Conv2DGeometry"/> as plain fields, for kernel parameters.</summary>
internal struct ConvShape(in Conv2DGeometry g)
{
    /// <summary>Input height, width and channels.</summary>
    public int InH = g.InH, InW = g.InW, InC = g.InC;
    /// <summary>Output height, width and channels.</summary>
    public int OutH = g.OutH, OutW = g.OutW, OutC = g.OutC;
    /// <summary>Kernel window.</summary>
    public int KernelH = g.KernelH, KernelW = g.KernelW;
    /// <summary>Strides.</summary>
    public int StrideH = g.StrideH, StrideW = g.StrideW;
    /// <summary>Dilations.</summary>
    public int DilationH = g.DilationH, DilationW = g.DilationW;
    /// <summary>Top and left padding.</summary>
    public int PadTop = g.PadTop, PadLeft = g.PadLeft;
    /// <summary>1: a kernel writing an input gradient adds to what dx holds (the depthwise one reads it).</summary>
    public int Accumulate;

    /// <summary>x[n, ih, iw, ci] of the (virtual) im2col matrix [batch·OutH·OutW, KernelH·KernelW·InC], 0 in the padding.</summary>
    public readonly float Patch(ArrayView<float> x, int pixel, int k)
    {
        int pixels = OutH * OutW;
        int n = pixel / pixels;
        int rem = pixel - n * pixels;
        int oh = rem / OutW, ow = rem - oh * OutW;
        int rowLen = KernelW * InC;
        int kh = k / rowLen;
        int r2 = k - kh * rowLen;
        int kw = r2 / InC, ci = r2 - kw * InC;
        int ih = oh * StrideH - PadTop + kh * DilationH;
        int iw = ow * StrideW - PadLeft + kw * DilationW;
        if (ih < 0 || ih >= InH || iw < 0 || iw >= InW) return 0f;
        return x[((n * InH + ih) * InW + iw) * InC + ci];
    }
}

/// <summary>op(A) = im2col(x): row = output pixel (n, oh, ow), k = (kh, kw, ci). The forward convolution's A.</summary>
internal struct Im2ColOperand(in Conv2DGeometry g) : IGemmOperand
{
    /// <summary>The geometry.</summary>
    public ConvShape Shape = new(g);

    public readonly float Load(ArrayView<float> data, int outer, int k) => Shape.Patch(data, outer, k);

    public readonly bool KFastest => true;
}

/// <summary>op(A) = im2col(x)ᵀ: row = (kh, kw, ci), k = output pixel. The kernel gradient's A (dK = colsᵀ·dz).</summary>
internal struct Im2ColTransposedOperand(in Conv2DGeometry g) : IGemmOperand
{
    /// <summary>The geometry.</summary>
    public ConvShape Shape = new(g);

    public readonly float Load(ArrayView<float> data, int outer, int k) => Shape.Patch(data, k, outer);

    public readonly bool KFastest => false;
}

/// <summary>
/// op(A) for the input gradient as a gather (transposed convolution): row = input pixel (n, ih, iw),
/// k = (kh, kw, co); the value is dz[n, oh, ow, co] for the output pixel whose window puts tap (kh, kw) on
/// (ih, iw), or 0 when there is none.
/// </summary>
internal struct OutputGradientOperand(in Conv2DGeometry g) : IGemmOperand
{
    /// <summary>The geometry.</summary>
    public ConvShape Shape = new(g);

    public readonly float Load(ArrayView<float> data, int outer, int k)
    {
        var s = Shape;
        int plane = s.InH * s.InW;
        int n = outer / plane;
        int rem = outer - n * plane;
        int ih = rem / s.InW, iw = rem - ih * s.InW;
        int rowLen = s.KernelW * s.OutC;
        int kh = k / rowLen;
        int r2 = k - kh * rowLen;
        int kw = r2 / s.OutC, co = r2 - kw * s.OutC;
        int th = ih + s.PadTop - kh * s.DilationH;
        int tw = iw + s.PadLeft - kw * s.DilationW;
        if (th < 0 || tw < 0) return 0f;
        int oh = th / s.StrideH, ow = tw / s.StrideW;
        if (oh * s.StrideH != th || ow * s.StrideW != tw || oh >= s.OutH || ow >= s.OutW) return 0f;
        return data[((n * s.OutH + oh) * s.OutW + ow) * s.OutC + co];
    }

    public readonly bool KFastest => true;
}

/// <summary>op(B) for the input gradient: B[(kh, kw, co), ci] = kernel[kh, kw, ci, co] (HWIO read transposed per tap).</summary>
internal struct KernelTransposedOperand(in Conv2DGeometry g) : IGemmOperand
{
    /// <summary>The geometry.</summary>
    public ConvShape Shape = new(g);

    public readonly float Load(ArrayView<float> data, int outer, int k)
    {
        int outC = Shape.OutC;
        int tap = k / outC, co = k - tap * outC;
        return data[(tap * Shape.InC + outer) * outC + co];
    }

    public readonly bool KFastest => true;
}

/// <summary>Column sums of tall matrices (convolution bias gradients), in float per block of rows and in double across blocks.</summary>
internal static class ConvKernels
{
    /// <summary>Rows summed in float before a block's sum joins the double total (as the CPU backend's 128).</summary>
    internal const int BlockRows = 128;

    /// <summary>partial[b, c] = Σ_{r in block b} m[r, c], summed in float in row order.</summary>
    /// <param name="index">(block, column) as block·cols + column, [⌈rows/BlockRows⌉·cols].</param>
    /// <param name="m">Matrix [rows, cols].</param>
    /// <param name="partial">Block sums [⌈rows/BlockRows⌉, cols].</param>
    /// <param name="rows">Rows of m.</param>
    /// <param name="cols">Columns of m.</param>
    internal static void ColumnBlockSums(Index1D index, ArrayView<float> m, ArrayView<double> partial, int rows, int cols)
    {
        int i = index.X;
        int blockIndex = i / cols, c = i - blockIndex * cols;
        int r0 = blockIndex * BlockRows;
        int r1 = r0 + BlockRows < rows ? r0 + BlockRows : rows;
        float s = 0f;
        for (int r = r0; r < r1; r++) s += m[r * cols + c];
        partial[i] = s;
    }

    /// <summary>out[c] = (float)Σ_b partial[b, c], the blocks added in order in double.</summary>
    /// <param name="index">Column, [cols].</param>
    /// <param name="partial">Block sums [blocks, cols].</param>
    /// <param name="output">Column sums [cols].</param>
    /// <param name="blocks">Number of blocks.</param>
    /// <param name="cols">Columns.</param>
    internal static void FinishColumnSums(Index1D index, ArrayView<double> partial, ArrayView<float> output, int blocks, int cols)
    {
        int c = index.X;
        double s = 0;
        for (int b = 0; b < blocks; b++) s += partial[b * cols + c];
        output[c] = (float)s;
    }
}
