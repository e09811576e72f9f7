using System;

namespace NetGen
{
    /// <summary>Applies an activation function. Keras equivalent: <c>Activation(activation)</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ActivationAttribute : LayerAttribute
    {
        /// <param name="activation">The function to apply element-wise (softmax: over the last axis).</param>
        public ActivationAttribute(Activation activation) => Function = activation;

        /// <summary>The function to apply.</summary>
        public Activation Function { get; }
    }
}
