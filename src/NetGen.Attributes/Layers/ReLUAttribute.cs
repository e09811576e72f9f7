using System;

namespace NetGen
{
    /// <summary>
    /// Rectified linear unit with Keras 2's optional ceiling, leak and threshold; no parameters. With the defaults it
    /// is <c>max(x, 0)</c>; otherwise, exactly as Keras 2's <c>backend.relu</c>:
    /// <c>min(x &gt; threshold ? x : 0, maxValue) - negativeSlope·max(threshold - x, 0)</c>, i.e.
    /// <c>maxValue</c> for <c>x ≥ maxValue</c>, <c>x</c> for <c>threshold &lt; x &lt; maxValue</c> and
    /// <c>negativeSlope·(x - threshold)</c> below the threshold.
    /// Keras equivalent: <c>ReLU(max_value=None, negative_slope=0.0, threshold=0.0)</c>.
    /// </summary>
    /// <remarks>
    /// Attribute arguments cannot be null, so Keras's <c>max_value=None</c> is <see cref="double.NaN"/> (the default);
    /// <see cref="double.PositiveInfinity"/> means no ceiling too. Keras rejects a negative <c>max_value</c>,
    /// <c>negative_slope</c> or <c>threshold</c>, and so does NetGen (diagnostic NG0017). <c>[ReLU(MaxValue = 6)]</c> is
    /// ReLU6. Without a ceiling or a threshold the layer runs as a plain or leaky ReLU and is fused into a preceding
    /// <see cref="BatchNormalizationAttribute"/> like the other activation layers.
    /// </remarks>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ReLUAttribute : LayerAttribute
    {
        /// <summary>The ceiling, at least 0; <see cref="double.NaN"/> (the default) for none, as Keras's <c>None</c>.</summary>
        public double MaxValue { get; set; } = double.NaN;
        /// <summary>Slope below the threshold, at least 0; 0 by default.</summary>
        public double NegativeSlope { get; set; }
        /// <summary>Inputs at or below it give <c>negativeSlope·(x - threshold)</c>; at least 0; 0 by default.</summary>
        public double Threshold { get; set; }
    }
}
