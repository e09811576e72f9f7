namespace NetGen;

/// <summary>
/// Binary-classification curves and scores for a model's outputs (or any scores, such as an autoencoder's
/// reconstruction errors), as scikit-learn's <c>roc_curve</c>, <c>precision_recall_curve</c>, <c>auc</c> and
/// <c>confusion_matrix</c>, which Keras tutorials call on <c>model.predict</c>'s results. A label is positive when it is
/// 1 (any other value is negative); a higher score means more likely positive.
/// </summary>
public static class Curves
{
    /// <summary>
    /// The ROC curve: false and true positive rates at each distinct score threshold, highest threshold first, with a
    /// first point (0, 0) at threshold +∞ (scikit-learn's <c>roc_curve(drop_intermediate=False)</c>).
    /// </summary>
    public static (double[] FalsePositiveRate, double[] TruePositiveRate, double[] Thresholds) Roc(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        var (thresholds, tp, fp, positives, negatives) = Counts(scores, labels);
        if (positives == 0 || negatives == 0)
            throw new ArgumentException($"A ROC curve needs both classes; the labels hold {positives} positives and {negatives} negatives.", nameof(labels));
        var fpr = new double[thresholds.Length + 1];
        var tpr = new double[thresholds.Length + 1];
        var th = new double[thresholds.Length + 1];
        th[0] = double.PositiveInfinity;
        for (int i = 0; i < thresholds.Length; i++)
        {
            fpr[i + 1] = (double)fp[i] / negatives;
            tpr[i + 1] = (double)tp[i] / positives;
            th[i + 1] = thresholds[i];
        }
        return (fpr, tpr, th);
    }

    /// <summary>
    /// The precision-recall curve at each distinct threshold, as scikit-learn's <c>precision_recall_curve</c>: recall
    /// decreasing, ending with the point (precision 1, recall 0) that has no threshold.
    /// </summary>
    public static (double[] Precision, double[] Recall, double[] Thresholds) PrecisionRecall(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        var (thresholds, tp, fp, positives, _) = Counts(scores, labels);
        if (positives == 0)
            throw new ArgumentException("A precision-recall curve needs positive labels (1); there are none.", nameof(labels));
        // Every distinct threshold, lowest first (scikit-learn 1.1 and later keep those below full recall too).
        int count = thresholds.Length, last = count - 1;
        var precision = new double[count + 1];
        var recall = new double[count + 1];
        var th = new double[count];
        for (int k = 0; k < count; k++)
        {
            int i = last - k; // lowest threshold first
            precision[k] = (double)tp[i] / (tp[i] + fp[i]);
            recall[k] = (double)tp[i] / positives;
            th[k] = thresholds[i];
        }
        precision[count] = 1;
        recall[count] = 0;
        return (precision, recall, th);
    }

    /// <summary>The area under a curve by the trapezoidal rule (scikit-learn's <c>auc(x, y)</c>); x must be monotonic.</summary>
    public static double Auc(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length || x.Length < 2)
            throw new ArgumentException($"A curve needs at least two points and as many x as y; got {x.Length} and {y.Length}.");
        bool up = true, down = true;
        for (int i = 0; i < x.Length; i++)
        {
            if (!double.IsFinite(x[i]) || double.IsNaN(y[i]))
                throw new ArgumentException($"Point {i} is ({x[i]}, {y[i]}); a curve's points must be numbers (x finite).");
            if (i > 0) { up &= x[i] >= x[i - 1]; down &= x[i] <= x[i - 1]; }
        }
        if (!up && !down)
            throw new ArgumentException("x is neither increasing nor decreasing; the trapezoidal area needs a monotonic x (as scikit-learn's auc).", nameof(x));
        double area = 0;
        for (int i = 1; i < x.Length; i++) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        return Math.Abs(area);
    }

    /// <summary>The area under the ROC curve: the chance that a random positive scores above a random negative (ties count half).</summary>
    public static double RocAuc(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        var (fpr, tpr, _) = Roc(scores, labels);
        return Auc(fpr, tpr);
    }

    /// <summary>The area under the precision-recall curve, as scikit-learn's <c>auc(recall, precision)</c>.</summary>
    public static double PrAuc(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        var (precision, recall, _) = PrecisionRecall(scores, labels);
        return Auc(recall, precision);
    }

    /// <summary>
    /// The confusion matrix of class predictions: entry [actual, predicted] counts the samples of class actual
    /// predicted as predicted (scikit-learn's <c>confusion_matrix</c>). Classes are 0 to classes − 1.
    /// </summary>
    public static int[,] ConfusionMatrix(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int classes)
    {
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"Got {actual.Length} labels and {predicted.Length} predictions; they must match.", nameof(predicted));
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), classes, "The number of classes must be positive.");
        var matrix = new int[classes, classes];
        for (int i = 0; i < actual.Length; i++)
        {
            if ((uint)actual[i] >= (uint)classes || (uint)predicted[i] >= (uint)classes)
                throw new ArgumentException($"Sample {i}: class {actual[i]} or prediction {predicted[i]} is outside [0, {classes}).");
            matrix[actual[i], predicted[i]]++;
        }
        return matrix;
    }

    /// <summary>The confusion matrix of scores thresholded at <paramref name="threshold"/> (score ≥ threshold: positive) against 0/1 labels.</summary>
    public static int[,] ConfusionMatrix(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, float threshold)
    {
        if (scores.Length != labels.Length)
            throw new ArgumentException($"Got {scores.Length} scores and {labels.Length} labels; they must match.", nameof(labels));
        var actual = new int[labels.Length];
        var predicted = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            actual[i] = labels[i] == 1 ? 1 : 0;
            predicted[i] = scores[i] >= threshold ? 1 : 0;
        }
        return ConfusionMatrix(actual, predicted, 2);
    }

    /// <summary>Distinct thresholds, highest first, with the true and false positives at or above each.</summary>
    private static (double[] Thresholds, long[] Tp, long[] Fp, long Positives, long Negatives) Counts(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        if (scores.Length != labels.Length)
            throw new ArgumentException($"Got {scores.Length} scores and {labels.Length} labels; they must match.", nameof(labels));
        for (int i = 0; i < scores.Length; i++)
            if (float.IsNaN(scores[i])) throw new ArgumentException($"Score {i} is NaN.", nameof(scores));
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var s = scores.ToArray();
        Array.Sort(order, (a, b) => s[b].CompareTo(s[a]));
        var thresholds = new List<double>();
        var tp = new List<long>();
        var fp = new List<long>();
        long t = 0, f = 0;
        for (int k = 0; k < order.Length; k++)
        {
            if (labels[order[k]] == 1) t++; else f++;
            if (k == order.Length - 1 || s[order[k + 1]] != s[order[k]])
            {
                thresholds.Add(s[order[k]]);
                tp.Add(t);
                fp.Add(f);
            }
        }
        return (thresholds.ToArray(), tp.ToArray(), fp.ToArray(), t, f);
    }
}
