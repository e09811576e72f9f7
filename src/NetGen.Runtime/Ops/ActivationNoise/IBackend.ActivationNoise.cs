namespace NetGen.Backends;

/// <summary>
/// The general ReLU layer and the training-time noise layers (GaussianNoise, GaussianDropout, SpatialDropout2D).
/// Random numbers come from <see cref="CounterRng"/> keyed by (seed, step, layer) and the element, so backward
/// regenerates the forward noise and every backend draws the same: spatial-dropout masks bit for bit, normal draws
/// (<see cref="CounterRng.StandardNormal"/>) up to a few float ulps.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// Keras 2's ReLU layer: y = min(x &gt; threshold ? x : 0, maxValue) − negativeSlope·max(threshold − x, 0)
    /// (the slope term only when it is not 0). <paramref name="maxValue"/> is +∞ for none. x and y may be the same.
    /// </summary>
    void ReluForward(int count, float maxValue, float negativeSlope, float threshold, int x, int y);

    /// <summary>
    /// dx = dy where threshold &lt; x &lt; maxValue, negativeSlope·dy where x &lt; threshold, else 0 (0 at the kinks).
    /// x is the forward input; dx and dy may be the same.
    /// </summary>
    void ReluBackward(int count, float maxValue, float negativeSlope, float threshold, int x, int dy, int dx);

    /// <summary>y = x + stddev·z, z = <see cref="CounterRng.StandardNormal"/>(key, i). x and y may be the same.</summary>
    void GaussianNoiseForward(int count, float stddev, ulong key, int x, int y);

    /// <summary>y = x·(1 + stddev·z), z = <see cref="CounterRng.StandardNormal"/>(key, i). x and y may be the same.</summary>
    void GaussianDropoutForward(int count, float stddev, ulong key, int x, int y);

    /// <summary>dx = dy·(1 + stddev·z) with the same draws as <see cref="GaussianDropoutForward"/>. dx and dy may be the same.</summary>
    void GaussianDropoutBackward(int count, float stddev, ulong key, int dy, int dx);

    /// <summary>
    /// Spatial dropout on [batch, pixels, channels] (NHWC with pixels = H·W): channel c of sample n is kept and scaled
    /// by 1/(1 − rate) when <c>CounterRng.Bits(key, n·channels + c) &gt;&gt; 40 ≥ CounterRng.DropThreshold(rate)</c>,
    /// else zeroed in every pixel. x and y may be the same.
    /// </summary>
    void SpatialDropout2DForward(int batch, int pixels, int channels, float rate, ulong key, int x, int y);

    /// <summary>dx = dy masked and scaled like <see cref="SpatialDropout2DForward"/>. dx and dy may be the same.</summary>
    void SpatialDropout2DBackward(int batch, int pixels, int channels, float rate, ulong key, int dy, int dx);
}
