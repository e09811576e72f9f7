using System;

namespace NetGen
{
    /// <summary>
    /// Long short-term memory over the steps of (steps, features) samples: per step, gates i, f, o =
    /// recurrent_activation(x·W + h·U + b), a candidate g = activation(...), c = f·c + i·g, h = o·activation(c).
    /// Outputs the last step's h (units), or every step's (steps, units) with <see cref="ReturnSequences"/>.
    /// Keras equivalent: <c>LSTM(units, activation='tanh', recurrent_activation='sigmoid', use_bias=True,
    /// kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal', bias_initializer='zeros',
    /// unit_forget_bias=True, return_sequences=False)</c> (TF 2 Keras's defaults).
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class LSTMAttribute : LayerAttribute
    {
        /// <param name="units">Size of the state and of each step's output.</param>
        public LSTMAttribute(int units) => Units = units;

        /// <summary>Size of the state and of each step's output.</summary>
        public int Units { get; }
        /// <summary>The candidate's and the output's activation; tanh by default.</summary>
        public Activation Activation { get; set; } = Activation.Tanh;
        /// <summary>The gates' activation; sigmoid by default (Keras before TF 2 used hard_sigmoid).</summary>
        public Activation RecurrentActivation { get; set; } = Activation.Sigmoid;
        /// <summary>Whether the layer has a bias vector.</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; glorot_uniform by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Recurrent kernel initializer; orthogonal by default.</summary>
        public Initializer RecurrentInitializer { get; set; } = Initializer.Orthogonal;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
        /// <summary>Adds 1 to the forget gate's bias at initialisation (Jozefowicz et al.); true by default.</summary>
        public bool UnitForgetBias { get; set; } = true;
        /// <summary>Outputs every step's h (steps, units) instead of the last one; false by default.</summary>
        public bool ReturnSequences { get; set; }
        /// <summary>
        /// Returns the last states h and c as layers of their own (Keras's <c>return_state=True</c>): <c>{Name}.state_h</c> and <c>{Name}.state_c</c>, each of
        /// (units) values, which other layers read by name, e.g. a decoder's <see cref="InitialState"/>. The layer's output
        /// stays what it was. Not with <see cref="Bidirectional"/>. False by default.
        /// </summary>
        public bool ReturnState { get; set; }
        /// <summary>
        /// The names of the layers holding the states before the first step (Keras's <c>initial_state</c>): h, then c, (units) each, e.g.
        /// <c>new[] { "encoder.state_h", "encoder.state_c" }</c> for a seq2seq decoder; null (the default) starts from zeros.
        /// </summary>
        public string[]? InitialState { get; set; }
        /// <summary>
        /// Runs a second LSTM, with its own weights, from the last step to the first, and merges the two outputs step by
        /// step (Keras's <c>Bidirectional(LSTM(...), merge_mode=...)</c>); <see cref="BidirectionalMerge.None"/> by default.
        /// </summary>
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

    /// <summary>How a bidirectional layer merges its forward and backward outputs (Keras's <c>merge_mode</c>).</summary>
    public enum BidirectionalMerge
    {
        /// <summary>Not bidirectional.</summary>
        None = 0,
        /// <summary>Concatenated along the last axis (Keras's default, <c>'concat'</c>): 2·units features.</summary>
        Concat,
        /// <summary>Added (<c>'sum'</c>).</summary>
        Sum,
        /// <summary>Multiplied (<c>'mul'</c>).</summary>
        Multiply,
        /// <summary>Averaged (<c>'ave'</c>).</summary>
        Average,
    }
}
