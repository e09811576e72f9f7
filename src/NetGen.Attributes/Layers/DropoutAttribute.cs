using System;

namespace NetGen
{
    /// <summary>
    /// Inverted dropout: in training, zeroes each element with probability <c>rate</c> and scales the rest by
    /// <c>1 / (1 - rate)</c>; identity in inference. Keras equivalent: <c>Dropout(rate)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class DropoutAttribute : LayerAttribute
    {
        /// <param name="rate">Fraction of elements to drop, in [0, 1).</param>
        public DropoutAttribute(double rate) => Rate = rate;

        /// <summary>Fraction of elements to drop.</summary>
        public double Rate { get; }
    }
}
