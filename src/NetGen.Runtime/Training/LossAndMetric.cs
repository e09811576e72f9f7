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
    /// <summary>
    /// Keras's <c>Precision()</c>: tp / (tp + fp) over the epoch, every output value a yes/no prediction (positive above
    /// 0.5) and every label one (positive when not 0). Labels have the output's shape; outputs are probabilities.
    /// </summary>
    Precision,
    /// <summary>Keras's <c>Recall()</c>: tp / (tp + fn) over the epoch, counted as <see cref="Precision"/> counts.</summary>
    Recall,
    /// <summary>
    /// Keras's <c>AUC()</c>: area under the ROC curve over the epoch, from confusion counts at 200 thresholds joined by
    /// trapezoids (an approximation of the exact <see cref="Curves.RocAuc"/>). Logged as <c>auc</c>.
    /// </summary>
    Auc,
    /// <summary>
    /// Keras's <c>AUC(curve='PR', name='pr_auc')</c>: area under the precision-recall curve from the same 200 thresholds,
    /// interpolated as Davis and Goadrich (Keras's default for PR). Logged as <c>pr_auc</c>.
    /// </summary>
    PrAuc,
}

/// <summary>
/// A loss written in C#, for <see cref="Model.Compile(Optimizer, CustomLoss, Metric[])"/> (Keras's
/// <c>compile(loss=my_function)</c>). It sees a batch's outputs (the output layer's activations, [rows, cols] with rows
/// the batch times every output axis but the last) and labels of the same shape, returns the batch's loss and writes
/// its gradient with respect to each output value. Keras averages a loss over the batch: a loss of the form
/// mean over rows of f(row) has gradient ∂f/∂output / rows. Runs on the host (the outputs are copied to it).
/// </summary>
/// <example>
/// A Huber loss (δ = 1) in a few lines:
/// <code>
/// public sealed class Huber : CustomLoss
/// {
///     public override double Compute(ReadOnlySpan&lt;float&gt; predicted, ReadOnlySpan&lt;float&gt; labels, Span&lt;float&gt; gradient, int rows, int cols)
///     {
///         double sum = 0;
///         for (int i = 0; i &lt; predicted.Length; i++)
///         {
///             double e = predicted[i] - labels[i];
///             sum += Math.Abs(e) &lt;= 1 ? 0.5 * e * e : Math.Abs(e) - 0.5;
///             gradient[i] = (float)(Math.Clamp(e, -1, 1) / predicted.Length);
///         }
///         return sum / predicted.Length;
///     }
/// }
/// </code>
/// </example>
public abstract class CustomLoss
{
    /// <summary>The loss's name in messages (the class name by default).</summary>
    public virtual string Name => GetType().Name;

    /// <summary>
    /// The loss of a batch of <paramref name="rows"/> rows of <paramref name="cols"/> values, and its gradient with
    /// respect to each value of <paramref name="predicted"/> (written into <paramref name="gradient"/>, same shape).
    /// </summary>
    public abstract double Compute(ReadOnlySpan<float> predicted, ReadOnlySpan<float> labels, Span<float> gradient, int rows, int cols);
}
