namespace NetGen;

/// <summary>
/// Confusion counts at fixed thresholds, accumulated over batches: the state of Keras's <c>Precision</c>,
/// <c>Recall</c> and <c>AUC</c> metrics. A prediction counts as positive at threshold t when it is above t; a label is
/// positive when it is not 0 (Keras casts labels to bool). Predictions must be probabilities in [0, 1], as Keras
/// asserts.
/// </summary>
internal sealed class ThresholdCounts
{
    private readonly float[] _thresholds; // ascending
    private readonly long[] _positives, _negatives; // per bucket: how many predictions lie above exactly b thresholds

    private ThresholdCounts(float[] thresholds)
    {
        _thresholds = thresholds;
        _positives = new long[thresholds.Length + 1];
        _negatives = new long[thresholds.Length + 1];
    }

    /// <summary>One threshold, 0.5: Keras's <c>Precision()</c> and <c>Recall()</c>.</summary>
    public static ThresholdCounts AtHalf() => new([0.5f]);

    /// <summary>
    /// Keras's <c>AUC(num_thresholds=200)</c> thresholds: -1e-7, then i/(n-1) for i = 1 … n-2, then 1 + 1e-7, so that
    /// the curve runs from the point where everything is positive to the point where nothing is.
    /// </summary>
    public static ThresholdCounts ForAuc(int count = 200)
    {
        var t = new float[count];
        t[0] = -1e-7f;
        for (int i = 1; i < count - 1; i++) t[i] = (float)(i / (double)(count - 1));
        t[count - 1] = 1 + 1e-7f;
        return new ThresholdCounts(t);
    }

    /// <summary>Adds a batch of predictions and labels (same length); the first prediction outside [0, 1] is an error.</summary>
    public void Add(ReadOnlySpan<float> predictions, ReadOnlySpan<float> labels, string metric, string output)
    {
        for (int i = 0; i < predictions.Length; i++)
        {
            float p = predictions[i];
            if (!(p >= 0f && p <= 1f))
                throw new InvalidOperationException(
                    $"The '{metric}' metric needs probabilities in [0, 1] (as Keras asserts), but output '{output}' gave {p.ToString(System.Globalization.CultureInfo.InvariantCulture)}; give that output a sigmoid or softmax activation.");
            // Number of thresholds strictly below p (binary search on the ascending thresholds).
            int lo = 0, hi = _thresholds.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (p > _thresholds[mid]) lo = mid + 1; else hi = mid;
            }
            if (labels[i] != 0) _positives[lo]++; else _negatives[lo]++;
        }
    }

    /// <summary>True and false positives at each threshold (predictions above it), and the label totals.</summary>
    private (double[] Tp, double[] Fp, double Positives, double Negatives) Cumulative()
    {
        int n = _thresholds.Length;
        var tp = new double[n];
        var fp = new double[n];
        double above = 0, aboveNegative = 0;
        for (int j = n - 1; j >= 0; j--)
        {
            above += _positives[j + 1]; // a prediction in bucket b is above thresholds 0 … b-1
            aboveNegative += _negatives[j + 1];
            tp[j] = above;
            fp[j] = aboveNegative;
        }
        return (tp, fp, above + _positives[0], aboveNegative + _negatives[0]);
    }

    private static double Ratio(double a, double b) => b == 0 ? 0 : a / b; // tf.math.divide_no_nan

    /// <summary>tp / (tp + fp) at the first threshold; 0 when nothing is predicted positive.</summary>
    public double Precision()
    {
        var (tp, fp, _, _) = Cumulative();
        return Ratio(tp[0], tp[0] + fp[0]);
    }

    /// <summary>tp / (tp + fn) at the first threshold; 0 when no label is positive.</summary>
    public double Recall()
    {
        var (tp, _, positives, _) = Cumulative();
        return Ratio(tp[0], positives);
    }

    /// <summary>
    /// Keras's <c>AUC(curve='ROC', summation_method='interpolation')</c>: the trapezoid sum of the true positive rate over
    /// the false positive rate, through the points at each threshold.
    /// </summary>
    public double RocAuc()
    {
        var (tp, fp, positives, negatives) = Cumulative();
        double sum = 0;
        for (int j = 0; j + 1 < tp.Length; j++)
        {
            double x0 = Ratio(fp[j], negatives), x1 = Ratio(fp[j + 1], negatives);
            double y0 = Ratio(tp[j], positives), y1 = Ratio(tp[j + 1], positives);
            sum += (x0 - x1) * (y0 + y1) / 2;
        }
        return sum;
    }

    /// <summary>
    /// Keras's <c>AUC(curve='PR', summation_method='interpolation')</c>: Davis and Goadrich's interpolation of precision
    /// between thresholds (precision varies as tp / (tp + fp) with tp linear in tp + fp), integrated over recall.
    /// </summary>
    public double PrAuc()
    {
        var (tp, fp, positives, _) = Cumulative();
        double sum = 0;
        for (int j = 0; j + 1 < tp.Length; j++)
        {
            double dtp = tp[j] - tp[j + 1], pA = tp[j] + fp[j], pB = tp[j + 1] + fp[j + 1], dp = pA - pB;
            double slope = Ratio(dtp, Math.Max(dp, 0));
            double intercept = tp[j + 1] - slope * pB;
            double ratio = pA > 0 && pB > 0 ? Ratio(pA, Math.Max(pB, 0)) : 1;
            sum += Ratio(slope * (dtp + intercept * Math.Log(ratio)), Math.Max(positives, 0)); // tp + fn = every positive
        }
        return sum;
    }
}
