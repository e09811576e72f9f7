using ILGPU;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="BatchNormKernels.FinishStatistics"/>.</summary>
internal struct BatchNormStatsParams(int rows, int channels, int blocks, float momentum, float epsilon, bool unbiased,
    bool hasGamma, bool hasBeta, bool hasSavedMean, bool hasSavedInvStd)
{
    /// <summary>Rows (batch·H·W) and channels.</summary>
    public int Rows = rows, Channels = channels;
    /// <summary>Number of row blocks of partial sums.</summary>
    public int Blocks = blocks;
    /// <summary>Momentum of the moving statistics.</summary>
    public float Momentum = momentum;
    /// <summary>ε added to the variance.</summary>
    public float Epsilon = epsilon;
    /// <summary>1 when the moving variance takes the unbiased batch variance.</summary>
    public int Unbiased = unbiased ? 1 : 0;
    /// <summary>Presence flags of γ, β and the saved statistics.</summary>
    public int HasGamma = hasGamma ? 1 : 0, HasBeta = hasBeta ? 1 : 0, HasSavedMean = hasSavedMean ? 1 : 0, HasSavedInvStd = hasSavedInvStd ? 1 : 0;
}

/// <summary>Parameters of <see cref="BatchNormKernels.Fold"/>.</summary>
internal struct FoldParams(int channels, int inner, float epsilon, bool hasBias, bool hasGamma, bool hasBeta)
{
    /// <summary>Output channels: the kernel is [fanIn, Channels, Inner].</summary>
    public int Channels = channels;
    /// <summary>Weights per (row, channel) after the channel axis: 1, or the input channels of a transposed convolution.</summary>
    public int Inner = inner;
    /// <summary>ε added to the moving variance.</summary>
    public float Epsilon = epsilon;
    /// <summary>Presence flags of the layer's bias, γ and β.</summary>
    public int HasBias = hasBias ? 1 : 0, HasGamma = hasGamma ? 1 : 0, HasBeta = hasBeta ? 1 : 0;
}

/// <summary>Parameters of <see cref="BatchNormKernels.FinishBackward"/>.</summary>
internal struct BatchNormBackwardParams(int rows, int channels, int blocks, bool hasGamma, bool hasDGamma, bool hasDBeta)
{
    /// <summary>Rows (batch·H·W) and channels.</summary>
    public int Rows = rows, Channels = channels;
    /// <summary>Number of row blocks of partial sums.</summary>
    public int Blocks = blocks;
    /// <summary>Presence flags of γ, dγ and dβ.</summary>
    public int HasGamma = hasGamma ? 1 : 0, HasDGamma = hasDGamma ? 1 : 0, HasDBeta = hasDBeta ? 1 : 0;
}

/// <summary>
/// Batch normalisation over the last axis (rows = batch·H·W), with the numerics of the CPU backend: per-channel
/// sums are taken in float over blocks of <see cref="BlockRows"/> rows and in double across blocks, the forward
/// statistics are shifted by the first row (no cancellation for data far from 0), and the per-channel
/// coefficients are computed in double. Per-channel coefficients live in a [4, channels] float array:
/// a (scale), b (shift after scaling), mean (subtracted first), c (a second, small subtraction or the dx term).
/// </summary>
internal static class BatchNormKernels
{
    /// <summary>Rows per float block (the CPU backend's <c>BnBlockRows</c>).</summary>
    internal const int BlockRows = 64;

    /// <summary>partial[b, c] = Σ (x - x[0]) and partial[blocks + b, c] = Σ (x - x[0])² over the rows of block b.</summary>
    /// <param name="index">(block, channel) as block·channels + channel, [blocks·channels].</param>
    /// <param name="x">Input [rows, channels].</param>
    /// <param name="partial">Sums [2, blocks, channels].</param>
    /// <param name="rows">Rows.</param>
    /// <param name="channels">Channels.</param>
    internal static void StatisticsPartials(Index1D index, ArrayView<float> x, ArrayView<double> partial, int rows, int channels)
    {
        int i = index.X;
        int b = i / channels, c = i - b * channels;
        int blocks = (rows + BlockRows - 1) / BlockRows;
        int r0 = b * BlockRows, r1 = r0 + BlockRows < rows ? r0 + BlockRows : rows;
        float shift = x[c];
        float s1 = 0f, s2 = 0f;
        for (int r = r0; r < r1; r++)
        {
            float d = x[r * channels + c] - shift;
            s1 += d;
            s2 += d * d;
        }
        partial[i] = s1;
        partial[blocks * channels + i] = s2;
    }

    /// <summary>
    /// Per channel: batch mean and biased variance from the partials, saved mean and 1/√(var+ε), the moving
    /// statistics update, and the coefficients of <see cref="Apply{TAct}"/>.
    /// </summary>
    /// <param name="index">Channel, [channels].</param>
    /// <param name="x">Input [rows, channels] (row 0 is the shift).</param>
    /// <param name="partial">Sums [2, blocks, channels].</param>
    /// <param name="gamma">γ [channels], or any view.</param>
    /// <param name="beta">β [channels], or any view.</param>
    /// <param name="movingMean">Moving mean [channels], updated.</param>
    /// <param name="movingVariance">Moving variance [channels], updated.</param>
    /// <param name="savedMean">Batch mean [channels], or any view.</param>
    /// <param name="savedInvStd">1/√(var+ε) [channels], or any view.</param>
    /// <param name="coefficients">[4, channels]: a, b, mean, c.</param>
    /// <param name="p">Sizes, momentum, ε and flags.</param>
    internal static void FinishStatistics(Index1D index, ArrayView<float> x, ArrayView<double> partial, ArrayView<float> gamma,
        ArrayView<float> beta, ArrayView<float> movingMean, ArrayView<float> movingVariance, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> coefficients, BatchNormStatsParams p)
    {
        int c = index.X;
        int channels = p.Channels;
        double s1 = 0, s2 = 0;
        for (int b = 0; b < p.Blocks; b++)
        {
            s1 += partial[b * channels + c];
            s2 += partial[(p.Blocks + b) * channels + c];
        }
        float shift = x[c];
        double m1 = s1 / p.Rows;
        double mean = shift + m1;
        double variance = s2 / p.Rows - m1 * m1;
        if (variance < 0.0) variance = 0.0;
        double invStd = 1.0 / Math.Sqrt(variance + p.Epsilon);
        if (p.HasSavedMean != 0) savedMean[c] = (float)mean;
        if (p.HasSavedInvStd != 0) savedInvStd[c] = (float)invStd;
        double decay = 1.0 - p.Momentum;
        double bessel = p.Unbiased != 0 && p.Rows > 1 ? (double)p.Rows / (p.Rows - 1) : 1.0;
        float mm = movingMean[c], mv = movingVariance[c];
        movingMean[c] = (float)(mm - (mm - mean) * decay);
        movingVariance[c] = (float)(mv - (mv - variance * bessel) * decay);
        double scale = (p.HasGamma != 0 ? gamma[c] : 1.0) * invStd;
        coefficients[c] = (float)scale;
        coefficients[channels + c] = p.HasBeta != 0 ? beta[c] : 0f;
        coefficients[2 * channels + c] = shift;
        coefficients[3 * channels + c] = (float)m1;
    }

    /// <summary>Per channel, for inference: a = γ/√(moving variance + ε), b = β, mean = moving mean, c = 0.</summary>
    /// <param name="index">Channel, [channels].</param>
    /// <param name="gamma">γ [channels], or any view.</param>
    /// <param name="beta">β [channels], or any view.</param>
    /// <param name="movingMean">Moving mean [channels].</param>
    /// <param name="movingVariance">Moving variance [channels].</param>
    /// <param name="coefficients">[4, channels]: a, b, mean, c.</param>
    /// <param name="p">Channels, ε and the γ/β flags.</param>
    internal static void InferenceCoefficients(Index1D index, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> movingMean,
        ArrayView<float> movingVariance, ArrayView<float> coefficients, BatchNormStatsParams p)
    {
        int c = index.X;
        int channels = p.Channels;
        coefficients[c] = (float)((p.HasGamma != 0 ? gamma[c] : 1.0) / Math.Sqrt((double)movingVariance[c] + p.Epsilon));
        coefficients[channels + c] = p.HasBeta != 0 ? beta[c] : 0f;
        coefficients[2 * channels + c] = movingMean[c];
        coefficients[3 * channels + c] = 0f;
    }

    /// <summary>
    /// z = ((x - mean) - c)·a + b; pre = z (when stored); y = act(z), times the fused dropout's m/(1-rate) (the mask of
    /// <see cref="ElementwiseKernels.Dropout"/>) when its threshold is not 0. y may alias x.
    /// </summary>
    /// <param name="index">Element, [rows·channels].</param>
    /// <param name="x">Input [rows, channels].</param>
    /// <param name="coefficients">[4, channels]: a, b, mean, c.</param>
    /// <param name="pre">Pre-activation [rows, channels], or any view.</param>
    /// <param name="y">Output [rows, channels].</param>
    /// <param name="p">Channels and whether pre is stored (EpilogueParams.Cols and HasPreActivation).</param>
    /// <param name="drop">The fused dropout's key, threshold (0: none) and scale.</param>
    /// <param name="act">The activation functor.</param>
    internal static void Apply<TAct>(Index1D index, ArrayView<float> x, ArrayView<float> coefficients, ArrayView<float> pre,
        ArrayView<float> y, EpilogueParams p, DropoutParams drop, TAct act)
        where TAct : struct, IActivation
    {
        int i = index.X;
        int channels = p.Cols;
        int c = i % channels;
        float v = (x[i] - coefficients[2 * channels + c] - coefficients[3 * channels + c]) * coefficients[c] + coefficients[channels + c];
        if (p.HasPreActivation != 0) pre[i] = v;
        float a = act.Forward(v);
        if (drop.Threshold != 0) a = (CounterRng.Bits(drop.Key, (ulong)i) >> 40) >= drop.Threshold ? a * drop.Scale : 0f;
        y[i] = a;
    }

    /// <summary>
    /// The backward of a dropout fused after the activation: dz = act'(z)·dy·m/(1-rate) in place, with act(z)
    /// recomputed from the pre-activation (y holds the masked output). Without a pre-activation (linear) z is not read.
    /// </summary>
    /// <param name="index">Element, [rows·channels].</param>
    /// <param name="pre">Pre-activation [rows, channels], or any view when <see cref="ActivationBackwardParams.HasInput"/> is 0.</param>
    /// <param name="dy">Gradient of the dropout's output, overwritten with the pre-activation's [rows, channels].</param>
    /// <param name="drop">The fused dropout's key, threshold and scale.</param>
    /// <param name="p">Whether pre is present.</param>
    /// <param name="act">The activation functor.</param>
    internal static void DropoutActivationBackward<TAct>(Index1D index, ArrayView<float> pre, ArrayView<float> dy, DropoutParams drop,
        ActivationBackwardParams p, TAct act)
        where TAct : struct, IActivation
    {
        int i = index.X;
        float g = (CounterRng.Bits(drop.Key, (ulong)i) >> 40) >= drop.Threshold ? dy[i] * drop.Scale : 0f;
        float z = p.HasInput != 0 ? pre[i] : 0f;
        dy[i] = act.Backward(g, z, act.Forward(z));
    }

    /// <summary>partial[b, c] = Σ dz and partial[blocks + b, c] = Σ dz·(x - mean) over the rows of block b.</summary>
    /// <param name="index">(block, channel) as block·channels + channel, [blocks·channels].</param>
    /// <param name="x">Forward input [rows, channels].</param>
    /// <param name="dz">Gradient of the normalised output [rows, channels].</param>
    /// <param name="savedMean">Batch mean [channels].</param>
    /// <param name="partial">Sums [2, blocks, channels].</param>
    /// <param name="rows">Rows.</param>
    /// <param name="channels">Channels.</param>
    internal static void BackwardPartials(Index1D index, ArrayView<float> x, ArrayView<float> dz, ArrayView<float> savedMean,
        ArrayView<double> partial, int rows, int channels)
    {
        int i = index.X;
        int b = i / channels, c = i - b * channels;
        int blocks = (rows + BlockRows - 1) / BlockRows;
        int r0 = b * BlockRows, r1 = r0 + BlockRows < rows ? r0 + BlockRows : rows;
        float mean = savedMean[c];
        float s1 = 0f, s2 = 0f;
        for (int r = r0; r < r1; r++)
        {
            float g = dz[r * channels + c];
            s1 += g;
            s2 += g * (x[r * channels + c] - mean);
        }
        partial[i] = s1;
        partial[blocks * channels + i] = s2;
    }

    /// <summary>
    /// Per channel: dγ = Σ dz·x̂, dβ = Σ dz, and the coefficients of <see cref="BackwardDx"/>:
    /// dx = a·(dz − b − (x − mean)·c) with a = γ·invStd, b = Σdz/N, c = Σ(dz·x̂)·invStd/N.
    /// </summary>
    /// <param name="index">Channel, [channels].</param>
    /// <param name="partial">Sums [2, blocks, channels].</param>
    /// <param name="gamma">γ [channels], or any view.</param>
    /// <param name="savedMean">Batch mean [channels].</param>
    /// <param name="savedInvStd">1/√(var+ε) [channels].</param>
    /// <param name="dGamma">dγ [channels], or any view.</param>
    /// <param name="dBeta">dβ [channels], or any view.</param>
    /// <param name="coefficients">[4, channels]: a, b, mean, c.</param>
    /// <param name="p">Sizes and flags.</param>
    internal static void FinishBackward(Index1D index, ArrayView<double> partial, ArrayView<float> gamma, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> dGamma, ArrayView<float> dBeta, ArrayView<float> coefficients,
        BatchNormBackwardParams p)
    {
        int c = index.X;
        int channels = p.Channels;
        double s1 = 0, s2 = 0;
        for (int b = 0; b < p.Blocks; b++)
        {
            s1 += partial[b * channels + c];
            s2 += partial[(p.Blocks + b) * channels + c];
        }
        double invStd = savedInvStd[c];
        double sumDzXhat = s2 * invStd;
        if (p.HasDGamma != 0) dGamma[c] = (float)sumDzXhat;
        if (p.HasDBeta != 0) dBeta[c] = (float)s1;
        coefficients[c] = (float)((p.HasGamma != 0 ? gamma[c] : 1.0) * invStd);
        coefficients[channels + c] = (float)(s1 / p.Rows);
        coefficients[2 * channels + c] = savedMean[c];
        coefficients[3 * channels + c] = (float)(sumDzXhat * invStd / p.Rows);
    }

    /// <summary>dx = a·(dz − b − (x − mean)·c) per channel, or dx += that.</summary>
    /// <param name="index">Element, [rows·channels].</param>
    /// <param name="x">Forward input [rows, channels].</param>
    /// <param name="dz">Gradient of the normalised output [rows, channels].</param>
    /// <param name="coefficients">[4, channels]: a, b, mean, c.</param>
    /// <param name="dx">Input gradient [rows, channels].</param>
    /// <param name="channels">Channels.</param>
    /// <param name="accumulate">1: add to what dx holds.</param>
    internal static void BackwardDx(Index1D index, ArrayView<float> x, ArrayView<float> dz, ArrayView<float> coefficients,
        ArrayView<float> dx, int channels, int accumulate)
    {
        int i = index.X;
        int c = i % channels;
        float v = coefficients[c] * (dz[i] - coefficients[channels + c] - (x[i] - coefficients[2 * channels + c]) * coefficients[3 * channels + c]);
        dx[i] = accumulate != 0 ? dx[i] + v : v;
    }

    /// <summary>
    /// Folds inference batch normalisation into the layer before it (see <c>IBackend.FoldBatchNorm</c>): element
    /// (r, c, j) of the kernel becomes kernel·s[c], and the elements (0, c, 0) also write the folded bias, with
    /// s = γ / √(movingVariance + ε) computed in double as the other batch-norm kernels do.
    /// </summary>
    /// <param name="index">Kernel element, [fanIn·channels·inner].</param>
    /// <param name="kernel">Kernel [fanIn, channels, inner].</param>
    /// <param name="bias">Bias [channels], or any view when <see cref="FoldParams.HasBias"/> is 0.</param>
    /// <param name="gamma">γ [channels], or any view.</param>
    /// <param name="beta">β [channels], or any view.</param>
    /// <param name="movingMean">Moving mean [channels].</param>
    /// <param name="movingVariance">Moving variance [channels].</param>
    /// <param name="foldedKernel">Folded kernel [fanIn, channels, inner].</param>
    /// <param name="foldedBias">Folded bias [channels].</param>
    /// <param name="p">Channels, ε and the bias/γ/β flags.</param>
    internal static void Fold(Index1D index, ArrayView<float> kernel, ArrayView<float> bias, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> movingMean, ArrayView<float> movingVariance, ArrayView<float> foldedKernel, ArrayView<float> foldedBias,
        FoldParams p)
    {
        int c = index.X / p.Inner % p.Channels;
        float scale = (float)((p.HasGamma != 0 ? gamma[c] : 1.0) / Math.Sqrt((double)movingVariance[c] + p.Epsilon));
        foldedKernel[index] = kernel[index] * scale;
        if (index.X < p.Channels * p.Inner && index.X % p.Inner == 0)
            foldedBias[c] = (float)(((p.HasBias != 0 ? bias[c] : 0.0) - movingMean[c]) * scale + (p.HasBeta != 0 ? beta[c] : 0.0));
    }
}
