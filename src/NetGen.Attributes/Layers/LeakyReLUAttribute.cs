using System;

namespace NetGen
{
    /// <summary>Leaky ReLU: <c>x</c> if <c>x &gt; 0</c>, else <c>alpha·x</c>. Keras equivalent: <c>LeakyReLU(alpha=0.3)</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class LeakyReLUAttribute : LayerAttribute
    {
        /// <param name="alpha">Slope for negative inputs; Keras's default is 0.3 (PyTorch's is 0.01).</param>
        public LeakyReLUAttribute(double alpha = 0.3) => Alpha = alpha;

        /// <summary>Slope for negative inputs.</summary>
        public double Alpha { get; }
    }
}
