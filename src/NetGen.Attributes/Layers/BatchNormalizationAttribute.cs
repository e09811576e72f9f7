using System;

namespace NetGen
{
    /// <summary>
    /// Batch normalisation over the last axis: in training, normalises with the batch statistics and updates moving
    /// ones (<c>moving = momentum·moving + (1 - momentum)·batch</c>); in inference, uses the moving statistics.
    /// γ and β are trainable; the moving mean and variance are counted as non-trainable parameters, as in Keras.
    /// Keras equivalent: <c>BatchNormalization(momentum=0.99, epsilon=0.001)</c>. (PyTorch's momentum 0.01 is Keras's 0.99.)
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class BatchNormalizationAttribute : LayerAttribute
    {
        /// <summary>Weight of the old moving statistics, in [0, 1]; 0.99 by default.</summary>
        public double Momentum { get; set; } = 0.99;
        /// <summary>Added to the variance before the square root; 1e-3 by default.</summary>
        public double Epsilon { get; set; } = 1e-3;
    }
}
