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
        /// <summary>
        /// Declares the layer as Keras's <c>TimeDistributed(Dense(...))</c>: the same computation (a Dense on (steps, ...)
        /// samples applies to every step anyway), named and listed as Keras names the wrapper (<c>time_distributed</c>,
        /// type <c>TimeDistributed</c>), and checked to have a step axis; false by default.
        /// </summary>
        public bool TimeDistributed { get; set; }
        /// <summary>Whether the layer has a bias vector (Keras <c>use_bias</c>).</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; <see cref="Initializer.GlorotUniform"/> by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; <see cref="Initializer.Zeros"/> by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
        /// <summary>L1 factor of Keras's <c>kernel_regularizer</c>: adds factor·Σ|kernel| to the loss; 0 by default.</summary>
        public double KernelRegularizerL1 { get; set; }
        /// <summary>L2 factor of Keras's <c>kernel_regularizer</c>: adds factor·Σ kernel² to the loss; 0 by default.</summary>
        public double KernelRegularizerL2 { get; set; }
        /// <summary>L1 factor of Keras's <c>bias_regularizer</c>; 0 by default.</summary>
        public double BiasRegularizerL1 { get; set; }
        /// <summary>L2 factor of Keras's <c>bias_regularizer</c>; 0 by default.</summary>
        public double BiasRegularizerL2 { get; set; }
        /// <summary>
        /// L1 factor of Keras's <c>activity_regularizer</c>: adds factor·Σ|output| / batch size to the loss (a sparse
        /// autoencoder's code layer); 0 by default. Not on an output layer.
        /// </summary>
        public double ActivityRegularizerL1 { get; set; }
        /// <summary>L2 factor of Keras's <c>activity_regularizer</c>: factor·Σ output² / batch size; 0 by default.</summary>
        public double ActivityRegularizerL2 { get; set; }
        /// <summary>
        /// λ of a contractive autoencoder's penalty on this sigmoid layer (seed 004's contractive loss): λ·‖∂h/∂x‖²_F =
        /// λ·Σ_j (h_j(1 − h_j))²·Σ_i W_ij², averaged over the batch and added to the loss; 0 by default. Needs
        /// <c>Activation = Activation.Sigmoid</c>; not on an output layer.
        /// </summary>
        public double ContractiveRegularizer { get; set; }
    }
}
