using ILGPU;

namespace NetGen.Kernels;

/// <summary>Flags of <see cref="ElementwiseKernels.ActivationBackward{TAct}"/>.</summary>
internal struct ActivationBackwardParams(int hasInput)
{
    /// <summary>1 when the pre-activation input x is stored; 0 makes the functor see x = NaN.</summary>
    public int HasInput = hasInput;
}

/// <summary>Parameters of <see cref="ElementwiseKernels.Dropout"/>.</summary>
internal struct DropoutParams(ulong key, ulong threshold, float scale)
{
    /// <summary>The counter-RNG key of this layer and step.</summary>
    public ulong Key = key;
    /// <summary>An element is kept when its top 24 random bits are at least this (<c>CounterRng.DropThreshold</c>).</summary>
    public ulong Threshold = threshold;
    /// <summary>1 / (1 - rate).</summary>
    public float Scale = scale;
}

/// <summary>Parameters of <see cref="ElementwiseKernels.ScaleMatrix"/>.</summary>
internal struct ScaleParams(int cols, int ld, float beta)
{
    /// <summary>Columns of the matrix.</summary>
    public int Cols = cols;
    /// <summary>Leading dimension (row stride) of the matrix.</summary>
    public int Ld = ld;
    /// <summary>The factor; 0 writes zeros without reading (the old values may be NaN).</summary>
    public float Beta = beta;
}

/// <summary>Parameters of <see cref="ElementwiseKernels.BiasActivation{TAct}"/>.</summary>
internal struct EpilogueParams(int cols, bool hasBias, bool hasPreActivation, bool hasResidual = false)
{
    /// <summary>Length of the last axis (the bias length).</summary>
    public int Cols = cols;
    /// <summary>1 when a bias is added.</summary>
    public int HasBias = hasBias ? 1 : 0;
    /// <summary>1 when z + bias is also stored into the pre-activation view.</summary>
    public int HasPreActivation = hasPreActivation ? 1 : 0;
    /// <summary>1 when the pre-activation view instead holds a residual added after the bias (never both; <see cref="NetGen.Backends.Epilogue.Residual"/>).</summary>
    public int HasResidual = hasResidual ? 1 : 0;
}

/// <summary>Element-wise and row-wise kernels: fill, scale, the fused bias + activation epilogue and its backward, softmax, dropout.</summary>
internal static class ElementwiseKernels
{
    /// <summary>y[i] = value.</summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="y">Output [count].</param>
    /// <param name="value">The value.</param>
    internal static void Fill(Index1D index, ArrayView<float> y, float value)
    {
        y[index.X] = value;
    }

    /// <summary>C[r, c] = beta·C[r, c] over an m×n row-major matrix with leading dimension ld (GEMM with k = 0).</summary>
    /// <param name="index">Element index, [m·n] (r = index / n, c = index % n).</param>
    /// <param name="c">The matrix, [(m-1)·ld + n].</param>
    /// <param name="p">Columns, leading dimension and beta.</param>
    internal static void ScaleMatrix(Index1D index, ArrayView<float> c, ScaleParams p)
    {
        int r = index.X / p.Cols, col = index.X - r * p.Cols;
        int at = r * p.Ld + col;
        c[at] = p.Beta == 0f ? 0f : p.Beta * c[at];
    }

    /// <summary>
    /// The fused epilogue of a dense or convolution layer: v = z + bias[i % cols] (+ residual[i]); pre = v (when
    /// stored); y = act(v). z may alias pre or y; the residual may alias neither.
    /// </summary>
    /// <param name="index">Element index, [rows·cols].</param>
    /// <param name="z">The GEMM result [rows, cols].</param>
    /// <param name="bias">Bias [cols], or any view when absent.</param>
    /// <param name="preOrResidual">Pre-activation output [rows, cols]; with <see cref="EpilogueParams.HasResidual"/>
    /// the residual input [rows, cols] instead; any view when absent.</param>
    /// <param name="y">Activation output [rows, cols].</param>
    /// <param name="p">Row length and flags.</param>
    /// <param name="act">The activation functor.</param>
    internal static void BiasActivation<TAct>(Index1D index, ArrayView<float> z, ArrayView<float> bias,
        ArrayView<float> preOrResidual, ArrayView<float> y, EpilogueParams p, TAct act)
        where TAct : struct, IActivation
    {
        int i = index.X;
        float v = z[i];
        if (p.HasBias != 0) v += bias[i % p.Cols];
        if (p.HasResidual != 0) v += preOrResidual[i];
        else if (p.HasPreActivation != 0) preOrResidual[i] = v;
        y[i] = act.Forward(v);
    }

    /// <summary>dx[i] = dy[i]·f'(x[i], y[i]) for an element-wise activation. dx may alias dy.</summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="x">Pre-activation [count], or any view when <see cref="ActivationBackwardParams.HasInput"/> is 0.</param>
    /// <param name="y">Activation output [count].</param>
    /// <param name="dy">Gradient with respect to y [count].</param>
    /// <param name="dx">Gradient with respect to x [count].</param>
    /// <param name="p">Whether x is present.</param>
    /// <param name="act">The activation functor.</param>
    internal static void ActivationBackward<TAct>(Index1D index, ArrayView<float> x, ArrayView<float> y,
        ArrayView<float> dy, ArrayView<float> dx, ActivationBackwardParams p, TAct act)
        where TAct : struct, IActivation
    {
        int i = index.X;
        float xi = p.HasInput != 0 ? x[i] : float.NaN;
        dx[i] = act.Backward(dy[i], xi, y[i]);
    }

    /// <summary>Numerically stable softmax of one row: y = e^(x - max) / Σ. x and y may be the same.</summary>
    /// <param name="index">Row index, [rows].</param>
    /// <param name="x">Logits [rows, cols].</param>
    /// <param name="y">Probabilities [rows, cols].</param>
    /// <param name="cols">Row length.</param>
    internal static void SoftmaxForward(Index1D index, ArrayView<float> x, ArrayView<float> y, int cols)
    {
        int start = index.X * cols;
        float max = x[start];
        for (int c = 1; c < cols; c++)
        {
            float v = x[start + c];
            if (v > max || float.IsNaN(v)) max = v;
        }
        float sum = 0f;
        for (int c = 0; c < cols; c++)
        {
            float e = DeviceMath.Exp(x[start + c] - max);
            y[start + c] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int c = 0; c < cols; c++) y[start + c] *= inv;
    }

    /// <summary>Softmax backward of one row: dx = y ⊙ (dy - Σ dy·y). dx may alias dy.</summary>
    /// <param name="index">Row index, [rows].</param>
    /// <param name="y">Softmax output [rows, cols].</param>
    /// <param name="dy">Gradient with respect to y [rows, cols].</param>
    /// <param name="dx">Gradient with respect to the logits [rows, cols].</param>
    /// <param name="cols">Row length.</param>
    internal static void SoftmaxBackward(Index1D index, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int cols)
    {
        int start = index.X * cols;
        float dot = 0f;
        for (int c = 0; c < cols; c++) dot += dy[start + c] * y[start + c];
        for (int c = 0; c < cols; c++) dx[start + c] = y[start + c] * (dy[start + c] - dot);
    }

    /// <summary>
    /// Inverted dropout: dst[i] = src[i]·scale when <c>CounterRng.Bits(key, i) &gt;&gt; 40 ≥ threshold</c>, else 0.
    /// The mask is a pure function of (key, i), so it is bit-identical to the CPU backend's and backward
    /// recomputes it. src and dst may be the same.
    /// </summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="src">Input [count].</param>
    /// <param name="dst">Output [count].</param>
    /// <param name="p">Key, threshold and scale.</param>
    internal static void Dropout(Index1D index, ArrayView<float> src, ArrayView<float> dst, DropoutParams p)
    {
        int i = index.X;
        ulong bits = CounterRng.Bits(p.Key, (ulong)i);
        dst[i] = (bits >> 40) >= p.Threshold ? src[i] * p.Scale : 0f;
    }
}
