using System.Numerics.Tensors;

namespace NetGen.Backends;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void FoldBatchNorm(int fanIn, int channels, int inner, float epsilon, int kernel, int bias, int gamma, int beta,
        int movingMean, int movingVariance, int foldedKernel, int foldedBias)
    {
        if (channels <= 0 || inner <= 0) return;
        float* mm = At(movingMean), mv = At(movingVariance), fb = At(foldedBias);
        float* pg = gamma >= 0 ? At(gamma) : null, pb = beta >= 0 ? At(beta) : null, b = bias >= 0 ? At(bias) : null;
        // The scale goes into foldedBias first (the kernel rows read it), then becomes the bias.
        for (int c = 0; c < channels; c++)
            fb[c] = (float)((pg != null ? pg[c] : 1.0) / Math.Sqrt((double)mv[c] + epsilon));
        var scale = new ReadOnlySpan<float>(fb, channels);
        float* k = At(kernel), fk = At(foldedKernel);
        if (inner == 1)
            for (long r = 0; r < fanIn; r++)
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(k + r * channels, channels), scale, new Span<float>(fk + r * channels, channels));
        else
            for (long r = 0; r < (long)fanIn * channels; r++) // one run of `inner` weights per (row, channel)
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(k + r * inner, inner), scale[(int)(r % channels)],
                    new Span<float>(fk + r * inner, inner));
        for (int c = 0; c < channels; c++)
            fb[c] = (float)(((b != null ? b[c] : 0.0) - mm[c]) * fb[c] + (pb != null ? pb[c] : 0.0));
    }
}
