namespace NetGen;

/// <summary>Losses, with Keras 2 formulas and its mean-over-samples reduction.</summary>
public enum Loss
{
    /// <summary>-Σ y·log ŷ over the last axis; labels one-hot. Keras <c>categorical_crossentropy</c>.</summary>
    CategoricalCrossEntropy,
    /// <summary>-log ŷ[label]; labels are class indices. Keras <c>sparse_categorical_crossentropy</c>.</summary>
    SparseCategoricalCrossEntropy,
    /// <summary>-[y·log(ŷ+ε) + (1-y)·log(1-ŷ+ε)], mean over the last axis. Keras <c>binary_crossentropy</c>.</summary>
    BinaryCrossEntropy,
    /// <summary>mean((y - ŷ)²) over the last axis. Keras <c>mse</c>.</summary>
    MeanSquaredError,
    /// <summary>mean(|y - ŷ|) over the last axis. Keras <c>mae</c>.</summary>
    MeanAbsoluteError,
}

/// <summary>Metrics reported by <c>Fit</c> and <c>Evaluate</c> besides the loss.</summary>
public enum Metric
{
    /// <summary>Keras's <c>'accuracy'</c>: binary, sparse or categorical, chosen from the shapes as Keras does.</summary>
    Accuracy,
    /// <summary>argmax(y) == argmax(ŷ).</summary>
    CategoricalAccuracy,
    /// <summary>y == argmax(ŷ), y a class index.</summary>
    SparseCategoricalAccuracy,
    /// <summary>(ŷ &gt; 0.5) == y.</summary>
    BinaryAccuracy,
}
