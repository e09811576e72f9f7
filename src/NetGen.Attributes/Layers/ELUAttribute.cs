using System;

namespace NetGen
{
    /// <summary>
    /// Exponential linear unit: <c>x</c> if <c>x &gt; 0</c>, else <c>alpha·(e^x - 1)</c>; no parameters.
    /// Keras equivalent: <c>ELU(alpha=1.0)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ELUAttribute : LayerAttribute
    {
        /// <param name="alpha">Scale of the negative part; Keras's default is 1.0. Must be finite.</param>
        public ELUAttribute(double alpha = 1.0) => Alpha = alpha;

        /// <summary>Scale of the negative part.</summary>
        public double Alpha { get; }
    }
}
