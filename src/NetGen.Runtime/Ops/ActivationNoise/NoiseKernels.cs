using ILGPU;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="NoiseKernels.GaussianNoise"/> and <see cref="NoiseKernels.GaussianDropout"/>.</summary>
internal struct NoiseParams(ulong key, float stddev)
{
    /// <summary>The counter-RNG key of this layer and step.</summary>
    public ulong Key = key;
    /// <summary>Standard deviation of the normal draws.</summary>
    public float Stddev = stddev;
}

/// <summary>Parameters of <see cref="NoiseKernels.SpatialDropout"/>.</summary>
internal struct SpatialDropoutParams(ulong key, ulong threshold, float scale, int pixels, int channels)
{
    /// <summary>The counter-RNG key of this layer and step.</summary>
    public ulong Key = key;
    /// <summary>A channel is kept when its top 24 random bits are at least this (<c>CounterRng.DropThreshold</c>).</summary>
    public ulong Threshold = threshold;
    /// <summary>1 / (1 - rate).</summary>
    public float Scale = scale;
    /// <summary>Height·width of one sample.</summary>
    public int Pixels = pixels;
    /// <summary>Channels (the last axis).</summary>
    public int Channels = channels;
}

/// <summary>
/// Training-time noise layers. Every random number is a pure function of (key, counter) through
/// <see cref="CounterRng"/> (key = seed, step and layer; counter = element, or sample·channels + channel for the
/// spatial mask), so backward regenerates the same noise and the CPU backend draws the same numbers. The spatial
/// mask is integer arithmetic and bit-identical; normal draws (<see cref="CounterRng.StandardNormal"/>) agree to a
/// few float ulps (a GPU may fuse a multiply and an add).
/// </summary>
internal static class NoiseKernels
{
    /// <summary>dst[i] = src[i] + stddev·z(key, i) (Keras's GaussianNoise in training). src and dst may be the same.</summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="src">Input [count].</param>
    /// <param name="dst">Output [count].</param>
    /// <param name="p">Key and standard deviation.</param>
    internal static void GaussianNoise(Index1D index, ArrayView<float> src, ArrayView<float> dst, NoiseParams p)
    {
        int i = index.X;
        dst[i] = src[i] + p.Stddev * CounterRng.StandardNormal(p.Key, (ulong)i);
    }

    /// <summary>
    /// dst[i] = src[i]·(1 + stddev·z(key, i)) (Keras's GaussianDropout in training, and its backward with the same
    /// multiplier). src and dst may be the same.
    /// </summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="src">Input, or the output gradient [count].</param>
    /// <param name="dst">Output, or the input gradient [count].</param>
    /// <param name="p">Key and standard deviation √(rate / (1 - rate)).</param>
    internal static void GaussianDropout(Index1D index, ArrayView<float> src, ArrayView<float> dst, NoiseParams p)
    {
        int i = index.X;
        dst[i] = src[i] * (1f + p.Stddev * CounterRng.StandardNormal(p.Key, (ulong)i));
    }

    /// <summary>
    /// Spatial dropout on NHWC data: element i of sample n and channel c is kept (and scaled) when
    /// <c>CounterRng.Bits(key, n·channels + c) &gt;&gt; 40 ≥ threshold</c>, one draw per (sample, channel), else 0.
    /// Forward and backward alike; src and dst may be the same.
    /// </summary>
    /// <param name="index">Element index, [batch·pixels·channels].</param>
    /// <param name="src">Input [batch, H, W, C], or the output gradient.</param>
    /// <param name="dst">Output [batch, H, W, C], or the input gradient.</param>
    /// <param name="p">Key, threshold, scale, pixels (H·W) and channels.</param>
    internal static void SpatialDropout(Index1D index, ArrayView<float> src, ArrayView<float> dst, SpatialDropoutParams p)
    {
        int i = index.X;
        int sample = i / (p.Pixels * p.Channels);
        int c = i % p.Channels;
        ulong bits = CounterRng.Bits(p.Key, (ulong)sample * (ulong)p.Channels + (ulong)c);
        dst[i] = (bits >> 40) >= p.Threshold ? src[i] * p.Scale : 0f;
    }
}
