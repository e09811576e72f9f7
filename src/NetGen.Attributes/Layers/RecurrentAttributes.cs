using System;

namespace NetGen
{
    /// <summary>
    /// A fully connected recurrent layer over the steps of (steps, features) samples: h_t = activation(x_t·W +
    /// h_{t−1}·U + b). Keras equivalent: <c>SimpleRNN(units, activation='tanh', use_bias=True,
    /// kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal', bias_initializer='zeros',
    /// return_sequences=False)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class SimpleRNNAttribute : LayerAttribute
    {
        /// <param name="units">Size of the state and of each step's output.</param>
        public SimpleRNNAttribute(int units) => Units = units;

        /// <summary>Size of the state and of each step's output.</summary>
        public int Units { get; }
        /// <summary>The activation; tanh by default.</summary>
        public Activation Activation { get; set; } = Activation.Tanh;
        /// <summary>Whether the layer has a bias vector.</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; glorot_uniform by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Recurrent kernel initializer; orthogonal by default.</summary>
        public Initializer RecurrentInitializer { get; set; } = Initializer.Orthogonal;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
        /// <summary>Outputs every step's h (steps, units) instead of the last one; false by default.</summary>
        public bool ReturnSequences { get; set; }
        /// <summary>
        /// Returns the last state h as layer of its own (Keras's <c>return_state=True</c>): <c>{Name}.state_h</c>, each of
        /// (units) values, which other layers read by name, e.g. a decoder's <see cref="InitialState"/>. The layer's output
        /// stays what it was. Not with <see cref="Bidirectional"/>. False by default.
        /// </summary>
        public bool ReturnState { get; set; }
        /// <summary>
        /// The names of the layers holding the state before the first step (Keras's <c>initial_state</c>): h, (units), e.g.
        /// <c>new[] { "encoder.state_h" }</c> for a seq2seq decoder; null (the default) starts from zeros.
        /// </summary>
        public string[]? InitialState { get; set; }
        /// <summary>Runs a second layer, with its own weights, from the last step to the first, and merges the outputs (Keras's <c>Bidirectional</c>).</summary>
        public BidirectionalMerge Bidirectional { get; set; }
        /// <summary>
        /// Fraction of the input features dropped in training, one mask per sample for all steps (Keras's <c>dropout</c>);
        /// 0 by default.
        /// </summary>
        public double Dropout { get; set; }
        /// <summary>
        /// Fraction of the state units dropped from the recurrent product h·U in training, one mask per sample for all
        /// steps (Keras's <c>recurrent_dropout</c>); 0 by default.
        /// </summary>
        public double RecurrentDropout { get; set; }
        /// <summary>L1 factor of the kernel's penalty l1·Σ|w| (Keras's <c>kernel_regularizer=l1(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL1 { get; set; }
        /// <summary>L2 factor of the kernel's penalty l2·Σw² (Keras's <c>kernel_regularizer=l2(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL2 { get; set; }
        /// <summary>L1 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL1 { get; set; }
        /// <summary>L2 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL2 { get; set; }
        /// <summary>L1 factor of the recurrent kernel's penalty (Keras's <c>recurrent_regularizer</c>); 0 by default.</summary>
        public double RecurrentRegularizerL1 { get; set; }
        /// <summary>L2 factor of the recurrent kernel's penalty (Keras's <c>recurrent_regularizer</c>); 0 by default.</summary>
        public double RecurrentRegularizerL2 { get; set; }
    }

    /// <summary>
    /// Gated recurrent unit over the steps of (steps, features) samples, as TF 2 Keras (reset_after=True): update and
    /// reset gates z, r = recurrent_activation(x·W + h·U + b), candidate ĥ = activation(x·W_h + r·(h·U_h + b_h)),
    /// h = z·h + (1 − z)·ĥ; bias (2, 3·units): input and recurrent. Keras equivalent: <c>GRU(units,
    /// activation='tanh', recurrent_activation='sigmoid', use_bias=True, kernel_initializer='glorot_uniform',
    /// recurrent_initializer='orthogonal', bias_initializer='zeros', return_sequences=False, reset_after=True)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GRUAttribute : LayerAttribute
    {
        /// <param name="units">Size of the state and of each step's output.</param>
        public GRUAttribute(int units) => Units = units;

        /// <summary>Size of the state and of each step's output.</summary>
        public int Units { get; }
        /// <summary>The candidate's activation; tanh by default.</summary>
        public Activation Activation { get; set; } = Activation.Tanh;
        /// <summary>The gates' activation; sigmoid by default.</summary>
        public Activation RecurrentActivation { get; set; } = Activation.Sigmoid;
        /// <summary>Whether the layer has biases.</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; glorot_uniform by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Recurrent kernel initializer; orthogonal by default.</summary>
        public Initializer RecurrentInitializer { get; set; } = Initializer.Orthogonal;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
        /// <summary>Outputs every step's h (steps, units) instead of the last one; false by default.</summary>
        public bool ReturnSequences { get; set; }
        /// <summary>
        /// Returns the last state h as layer of its own (Keras's <c>return_state=True</c>): <c>{Name}.state_h</c>, each of
        /// (units) values, which other layers read by name, e.g. a decoder's <see cref="InitialState"/>. The layer's output
        /// stays what it was. Not with <see cref="Bidirectional"/>. False by default.
        /// </summary>
        public bool ReturnState { get; set; }
        /// <summary>
        /// The names of the layers holding the state before the first step (Keras's <c>initial_state</c>): h, (units), e.g.
        /// <c>new[] { "encoder.state_h" }</c> for a seq2seq decoder; null (the default) starts from zeros.
        /// </summary>
        public string[]? InitialState { get; set; }
        /// <summary>Runs a second layer, with its own weights, from the last step to the first, and merges the outputs (Keras's <c>Bidirectional</c>).</summary>
        public BidirectionalMerge Bidirectional { get; set; }
        /// <summary>
        /// Fraction of the input features dropped in training, one mask per sample for all steps (Keras's <c>dropout</c>);
        /// 0 by default.
        /// </summary>
        public double Dropout { get; set; }
        /// <summary>
        /// Fraction of the state units dropped from the recurrent product h·U in training, one mask per sample for all
        /// steps (Keras's <c>recurrent_dropout</c>); 0 by default.
        /// </summary>
        public double RecurrentDropout { get; set; }
        /// <summary>L1 factor of the kernel's penalty l1·Σ|w| (Keras's <c>kernel_regularizer=l1(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL1 { get; set; }
        /// <summary>L2 factor of the kernel's penalty l2·Σw² (Keras's <c>kernel_regularizer=l2(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL2 { get; set; }
        /// <summary>L1 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL1 { get; set; }
        /// <summary>L2 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL2 { get; set; }
        /// <summary>L1 factor of the recurrent kernel's penalty (Keras's <c>recurrent_regularizer</c>); 0 by default.</summary>
        public double RecurrentRegularizerL1 { get; set; }
        /// <summary>L2 factor of the recurrent kernel's penalty (Keras's <c>recurrent_regularizer</c>); 0 by default.</summary>
        public double RecurrentRegularizerL2 { get; set; }
    }
}

namespace NetGen
{
    /// <summary>
    /// Repeats a vector sample n times: (features) → (n, features), the bridge from an encoder's last state to a
    /// sequence decoder (an LSTM autoencoder). Keras equivalent: <c>RepeatVector(n)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class RepeatVectorAttribute : LayerAttribute
    {
        /// <param name="n">How many times to repeat the vector.</param>
        public RepeatVectorAttribute(int n) => N = n;

        /// <summary>How many times to repeat the vector.</summary>
        public int N { get; }
    }
}
