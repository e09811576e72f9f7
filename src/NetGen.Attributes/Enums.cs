namespace NetGen
{
    /// <summary>Element-wise activation functions, with Keras 2 formulas.</summary>
    public enum Activation
    {
        /// <summary>Identity (Keras <c>'linear'</c>, the default).</summary>
        Linear = 0,
        /// <summary>max(x, 0).</summary>
        Relu,
        /// <summary>1 / (1 + e^-x).</summary>
        Sigmoid,
        /// <summary>tanh(x).</summary>
        Tanh,
        /// <summary>Softmax over the last axis.</summary>
        Softmax,
        /// <summary>x if x &gt; 0, else e^x - 1.</summary>
        Elu,
        /// <summary>1.05070098 * elu(x, 1.67326324).</summary>
        Selu,
        /// <summary>log(e^x + 1).</summary>
        Softplus,
        /// <summary>x / (|x| + 1).</summary>
        Softsign,
        /// <summary>Keras 2: clip(0.2x + 0.5, 0, 1).</summary>
        HardSigmoid,
        /// <summary>x * sigmoid(x).</summary>
        Swish,
        /// <summary>Exact GELU: 0.5x(1 + erf(x / sqrt 2)).</summary>
        Gelu,
        /// <summary>e^x.</summary>
        Exponential,
    }

    /// <summary>Weight initializers, with Keras 2 formulas (fan_in/fan_out as Keras computes them).</summary>
    public enum Initializer
    {
        /// <summary>U(-L, L), L = sqrt(6 / (fan_in + fan_out)). Keras's default for kernels.</summary>
        GlorotUniform = 0,
        /// <summary>All zeros. Keras's default for biases.</summary>
        Zeros,
        /// <summary>All ones.</summary>
        Ones,
        /// <summary>Truncated normal, sigma = sqrt(2 / fan_in) / 0.8796...</summary>
        HeNormal,
        /// <summary>U(-L, L), L = sqrt(6 / fan_in).</summary>
        HeUniform,
        /// <summary>Truncated normal, sigma = sqrt(1 / fan_in) / 0.8796...</summary>
        LecunNormal,
        /// <summary>N(0, 0.05).</summary>
        RandomNormal,
        /// <summary>Truncated normal, sigma = sqrt(2 / (fan_in + fan_out)) / 0.8796...</summary>
        GlorotNormal,
        /// <summary>A random orthogonal matrix (rows = the product of all axes but the last). Keras's default for recurrent kernels.</summary>
        Orthogonal,
        /// <summary>U(-0.05, 0.05) (Keras's <c>'uniform'</c>). Keras's default for embeddings.</summary>
        RandomUniform,
    }
}

namespace NetGen
{
    /// <summary>Padding of convolution and pooling windows, as Keras's <c>padding</c>.</summary>
    public enum Padding
    {
        /// <summary>No padding: the window stays inside the input (Keras's default).</summary>
        Valid = 0,
        /// <summary>Output size ceil(in / stride); the odd extra padding goes to the bottom/right, as in TensorFlow.</summary>
        Same,
        /// <summary>
        /// Conv1D only: all the padding before the sequence, so output step t sees input steps up to t and none after
        /// (Keras's <c>padding='causal'</c>, as in WaveNet).
        /// </summary>
        Causal,
    }
}
