namespace NetGen.Backends;

/// <summary>Operations behind the generator's compile-time fusions.</summary>
public partial interface IBackend
{
    /// <summary>
    /// Folds an inference-mode batch normalisation into the layer before it: s = γ / √(movingVariance + ε),
    /// foldedKernel[r, c, j] = kernel[r, c, j]·s[c] and foldedBias[c] = (bias[c] − movingMean[c])·s[c] + β[c], so
    /// that the layer alone computes BN(layer(x)). The kernel is [fanIn, channels, inner]: inner is 1 where the
    /// output channels are innermost (Dense [in, units], Conv2D HWIO, depthwise [kh, kw, C, dm]) and the input
    /// channels for Conv2DTranspose ([kh, kw, filters, C]). <paramref name="bias"/>, <paramref name="gamma"/> and
    /// <paramref name="beta"/> may be -1 (no bias, γ = 1, β = 0). Outputs must not overlap the inputs.
    /// </summary>
    void FoldBatchNorm(int fanIn, int channels, int inner, float epsilon, int kernel, int bias, int gamma, int beta,
        int movingMean, int movingVariance, int foldedKernel, int foldedBias);
}
