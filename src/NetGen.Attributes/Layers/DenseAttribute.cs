using System;

namespace NetGen
{
    /// <summary>
    /// Fully connected layer: <c>y = activation(x · kernel + bias)</c>, applied to the last axis of its input.
    /// Keras equivalent: <c>Dense(units, activation=None, use_bias=True, kernel_initializer='glorot_uniform',
    /// bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class DenseAttribute : LayerAttribute
    {
        /// <param name="units">Number of output units; must be positive.</param>
        public DenseAttribute(int units) => Units = units;

        /// <summary>Number of output units.</summary>
        public int Units { get; }
        /// <summary>Activation applied after the bias; <see cref="NetGen.Activation.Linear"/> by default.</summary>
        public Activation Activation { get; set; }
        /// <summary>Whether the layer has a bias vector (Keras <c>use_bias</c>).</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; <see cref="Initializer.GlorotUniform"/> by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; <see cref="Initializer.Zeros"/> by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
    }
}
