using System;

namespace NetGen
{
    /// <summary>
    /// Additive Gaussian noise: in training, <c>y = x + n</c> with <c>n ~ N(0, stddev²)</c> drawn afresh for every
    /// element and step; identity in inference. No parameters. Keras equivalent: <c>GaussianNoise(stddev)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GaussianNoiseAttribute : LayerAttribute
    {
        /// <param name="stddev">Standard deviation of the noise, a finite number ≥ 0 (0 is the identity).</param>
        public GaussianNoiseAttribute(double stddev) => Stddev = stddev;

        /// <summary>Standard deviation of the noise.</summary>
        public double Stddev { get; }
    }

    /// <summary>
    /// Multiplicative Gaussian noise: in training, <c>y = x·n</c> with <c>n ~ N(1, rate / (1 - rate))</c> (standard
    /// deviation <c>√(rate / (1 - rate))</c>) for every element and step; identity in inference and for rate 0.
    /// No parameters. Keras equivalent: <c>GaussianDropout(rate)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GaussianDropoutAttribute : LayerAttribute
    {
        /// <param name="rate">Drop probability of the equivalent dropout, in [0, 1).</param>
        public GaussianDropoutAttribute(double rate) => Rate = rate;

        /// <summary>Drop probability of the equivalent dropout.</summary>
        public double Rate { get; }
    }

    /// <summary>
    /// Spatial (channel-wise) dropout on (height, width, channels) samples: in training, drops whole channels of each
    /// sample with probability <c>rate</c> (one draw per sample and channel, Keras's noise shape (N, 1, 1, C)) and
    /// scales the kept ones by <c>1 / (1 - rate)</c>; identity in inference. No parameters.
    /// Keras equivalent: <c>SpatialDropout2D(rate)</c> (channels_last).
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class SpatialDropout2DAttribute : LayerAttribute
    {
        /// <param name="rate">Fraction of channels to drop, in [0, 1).</param>
        public SpatialDropout2DAttribute(double rate) => Rate = rate;

        /// <summary>Fraction of channels to drop.</summary>
        public double Rate { get; }
    }
}
