using System;

namespace NetGen
{
    /// <summary>
    /// Looks up a learned vector for each integer index of the input (token ids), appending an axis:
    /// (steps) → (steps, outputDim). The input must be the network's input or an <c>[Input]</c> layer, holding whole
    /// numbers in [0, inputDim); Fit, Evaluate and Predict check them. Keras equivalent:
    /// <c>Embedding(input_dim, output_dim, embeddings_initializer='uniform')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class EmbeddingAttribute : LayerAttribute
    {
        /// <param name="inputDim">The number of distinct indices (vocabulary size): indices are 0 to inputDim − 1.</param>
        /// <param name="outputDim">The length of each vector.</param>
        public EmbeddingAttribute(int inputDim, int outputDim)
        {
            InputDim = inputDim;
            OutputDim = outputDim;
        }

        /// <summary>The number of distinct indices.</summary>
        public int InputDim { get; }
        /// <summary>The length of each vector.</summary>
        public int OutputDim { get; }
        /// <summary>The table's initializer; U(-0.05, 0.05) by default, as Keras's 'uniform'.</summary>
        public Initializer EmbeddingsInitializer { get; set; } = Initializer.RandomUniform;
        /// <summary>L1 factor of the table's penalty (Keras's <c>embeddings_regularizer</c>); 0 by default.</summary>
        public double EmbeddingsRegularizerL1 { get; set; }
        /// <summary>L2 factor of the table's penalty (Keras's <c>embeddings_regularizer</c>); 0 by default.</summary>
        public double EmbeddingsRegularizerL2 { get; set; }
    }
}
