using ILGPU;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="LossKernels.LossRows"/>.</summary>
internal struct LossParams(Loss loss, bool logits, int cols, bool hasGradient, float gradientScale)
{
    /// <summary>The loss, as its <see cref="NetGen.Loss"/> value.</summary>
    public int Loss = (int)loss;
    /// <summary>1 when the prediction holds logits.</summary>
    public int Logits = logits ? 1 : 0;
    /// <summary>Length of the last axis.</summary>
    public int Cols = cols;
    /// <summary>1 when the gradient is written.</summary>
    public int HasGradient = hasGradient ? 1 : 0;
    /// <summary>Factor of the gradient (1/rows for Keras's mean); the element-wise losses divide it by cols too.</summary>
    public float GradientScale = gradientScale;
}

/// <summary>Parameters of <see cref="LossKernels.Reduce"/>.</summary>
internal struct ReduceParams(int count, bool hasFlags)
{
    /// <summary>Number of values.</summary>
    public int Count = count;
    /// <summary>1 to also find the first non-zero flag.</summary>
    public int HasFlags = hasFlags ? 1 : 0;
}

/// <summary>
/// Loss, accuracy and reduction kernels. A loss is computed per row (one thread per row, double
/// accumulation, the gradient written on the way), then <see cref="Reduce"/> sums the rows in a fixed order
/// in one group, so the result is deterministic. Formulas follow <c>CpuBackend.Loss</c> line by line.
/// </summary>
internal static class LossKernels
{
    /// <summary>The largest group <see cref="Reduce"/> supports (its shared-memory size).</summary>
    internal const int MaxReduceGroup = 256;

    private const float Epsilon = 1e-7f; // Keras's backend epsilon
    private const int Cce = (int)NetGen.Loss.CategoricalCrossEntropy;
    private const int Sparse = (int)NetGen.Loss.SparseCategoricalCrossEntropy;
    private const int Bce = (int)NetGen.Loss.BinaryCrossEntropy;
    private const int Mse = (int)NetGen.Loss.MeanSquaredError;

    private static float Clip(float v) => v < Epsilon ? Epsilon : v > 1 - Epsilon ? 1 - Epsilon : v;

    private static double Clip(double v) => v < Epsilon ? Epsilon : v > 1 - Epsilon ? 1 - Epsilon : v;

    /// <summary>
    /// The loss of one row (summed over its columns; the element-wise losses are divided by cols on the host)
    /// and, when asked, dL/d(prediction) for that row. A sparse label outside [0, cols) sets flags[r] = 1.
    /// </summary>
    /// <param name="index">Row index, [rows].</param>
    /// <param name="prediction">Probabilities or logits [rows, cols].</param>
    /// <param name="labels">[rows, cols], or [rows] class indices for the sparse loss.</param>
    /// <param name="gradient">Gradient [rows, cols], or any view when not written.</param>
    /// <param name="rowLoss">Per-row loss [rows].</param>
    /// <param name="flags">Invalid-label flags [rows] (sparse loss only).</param>
    /// <param name="p">Loss, input kind, row length and gradient scale.</param>
    internal static void LossRows(Index1D index, ArrayView<float> prediction, ArrayView<float> labels, ArrayView<float> gradient,
        ArrayView<double> rowLoss, ArrayView<double> flags, LossParams p)
    {
        int r = index.X;
        int cols = p.Cols;
        int start = r * cols;
        bool grad = p.HasGradient != 0;
        double sum = 0;
        if (p.Loss == Cce || p.Loss == Sparse)
        {
            bool sparse = p.Loss == Sparse;
            int label = -1;
            if (sparse)
            {
                float t = labels[r];
                bool bad = float.IsNaN(t) || !(t > -1f && t < cols);
                flags[r] = bad ? 1.0 : 0.0;
                if (bad)
                {
                    rowLoss[r] = 0;
                    return;
                }
                label = (int)t;
            }
            if (p.Logits != 0)
            {
                // -Σ y·(z - logsumexp z); gradient softmax(z)·Σy - y.
                float max = prediction[start];
                for (int c = 1; c < cols; c++)
                {
                    float v = prediction[start + c];
                    if (v > max || float.IsNaN(v)) max = v;
                }
                double se = 0;
                for (int c = 0; c < cols; c++) se += DeviceMath.Exp((double)(prediction[start + c] - max));
                double lse = max + DeviceMath.Log(se);
                double ysum = 0;
                for (int c = 0; c < cols; c++)
                {
                    float y = sparse ? (c == label ? 1f : 0f) : labels[start + c];
                    ysum += y;
                    if (y != 0) sum -= y * (prediction[start + c] - lse);
                }
                if (grad)
                    for (int c = 0; c < cols; c++)
                    {
                        float y = sparse ? (c == label ? 1f : 0f) : labels[start + c];
                        gradient[start + c] = (float)(DeviceMath.Exp(prediction[start + c] - lse) * ysum - y) * p.GradientScale;
                    }
            }
            else if (sparse)
            {
                // -log(clip(ŷ_y) / Σ clip(ŷ)); no gradient through a clipped entry.
                double total = 0;
                for (int c = 0; c < cols; c++) total += Clip(prediction[start + c]);
                sum -= DeviceMath.Log(Clip(prediction[start + label]) / total);
                if (grad)
                    for (int c = 0; c < cols; c++)
                    {
                        float pc = prediction[start + c];
                        bool clipped = pc < Epsilon || pc > 1 - Epsilon;
                        gradient[start + c] = clipped ? 0f : (float)((c == label ? -1.0 / pc : 0) + 1 / total) * p.GradientScale;
                    }
            }
            else
            {
                // ŷ ← ŷ/Σŷ clipped; -Σ y·log ŷ.
                double total = 0;
                for (int c = 0; c < cols; c++) total += prediction[start + c];
                double unclippedLabels = 0;
                for (int c = 0; c < cols; c++)
                {
                    float t = labels[start + c];
                    double q = prediction[start + c] / total;
                    if (t != 0) sum -= t * DeviceMath.Log(Clip(q));
                    if (q >= Epsilon && q <= 1 - Epsilon) unclippedLabels += t;
                }
                if (grad)
                    for (int c = 0; c < cols; c++)
                    {
                        float pc = prediction[start + c], t = labels[start + c];
                        double q = pc / total;
                        bool clipped = q < Epsilon || q > 1 - Epsilon;
                        gradient[start + c] = (float)((clipped ? 0 : -t / pc) + unclippedLabels / total) * p.GradientScale;
                    }
            }
        }
        else if (p.Loss == Bce)
        {
            float scale = p.GradientScale / cols;
            for (int c = 0; c < cols; c++)
            {
                int i = start + c;
                float y = labels[i];
                if (p.Logits != 0)
                {
                    // max(z, 0) - z·y + log(1 + e^-|z|); gradient sigmoid(z) - y.
                    float z = prediction[i];
                    float lin = (z > 0f ? z : 0f) - z * y;
                    sum += lin + DeviceMath.Log(1 + DeviceMath.Exp((double)-MathF.Abs(z)));
                    if (grad) gradient[i] = (1f / (1f + DeviceMath.Exp(-z)) - y) * scale;
                }
                else
                {
                    float pi = prediction[i];
                    double q = Clip(pi);
                    sum -= y * DeviceMath.Log(q + Epsilon) + (1 - y) * DeviceMath.Log(1 - q + Epsilon);
                    if (grad)
                    {
                        bool clipped = pi < Epsilon || pi > 1 - Epsilon;
                        gradient[i] = clipped ? 0f : (float)(-y / (q + Epsilon) + (1 - y) / (1 - q + Epsilon)) * scale;
                    }
                }
            }
        }
        else
        {
            // Mean squared or absolute error.
            float scale = p.GradientScale / cols;
            bool mse = p.Loss == Mse;
            for (int c = 0; c < cols; c++)
            {
                int i = start + c;
                float d = prediction[i] - labels[i];
                sum += mse ? (double)d * d : MathF.Abs(d);
                if (grad)
                {
                    float sign = d > 0f ? 1f : d < 0f ? -1f : 0f;
                    gradient[i] = (mse ? 2 * d : sign) * scale;
                }
            }
        }
        rowLoss[r] = sum;
    }

    /// <summary>
    /// Correct predictions of one row for an accuracy metric: 0 or 1, or for binary accuracy the number of
    /// correct columns.
    /// </summary>
    /// <param name="index">Row index, [rows].</param>
    /// <param name="prediction">Predictions [rows, cols].</param>
    /// <param name="labels">[rows, cols], or [rows] class indices for sparse accuracy.</param>
    /// <param name="correct">Per-row count [rows].</param>
    /// <param name="metric">The metric, as its <see cref="Metric"/> value.</param>
    /// <param name="cols">Length of the last axis.</param>
    internal static void CorrectRows(Index1D index, ArrayView<float> prediction, ArrayView<float> labels, ArrayView<double> correct,
        int metric, int cols)
    {
        int r = index.X;
        int start = r * cols;
        int n = 0;
        if (metric == (int)Metric.BinaryAccuracy)
        {
            for (int c = 0; c < cols; c++) n += (prediction[start + c] > 0.5f ? 1f : 0f) == labels[start + c] ? 1 : 0;
        }
        else if (metric == (int)Metric.SparseCategoricalAccuracy)
        {
            n = IndexOfMax(prediction, start, cols) == (int)labels[r] ? 1 : 0;
        }
        else
        {
            n = IndexOfMax(prediction, start, cols) == IndexOfMax(labels, start, cols) ? 1 : 0;
        }
        correct[r] = n;
    }

    /// <summary><c>TensorPrimitives.IndexOfMax</c>: the first maximum, the first NaN if any, +0 above -0.</summary>
    private static int IndexOfMax(ArrayView<float> v, int start, int count)
    {
        int best = 0;
        float max = v[start];
        if (float.IsNaN(max)) return 0;
        for (int c = 1; c < count; c++)
        {
            float x = v[start + c];
            if (float.IsNaN(x)) return c;
            if (x > max || (x == max && x == 0f && BitConverter.SingleToInt32Bits(max) < 0 && BitConverter.SingleToInt32Bits(x) >= 0))
            {
                max = x;
                best = c;
            }
        }
        return best;
    }

    /// <summary>
    /// Sums <paramref name="values"/> in one group of a power-of-two size (at most <see cref="MaxReduceGroup"/>):
    /// each thread sums a strided slice, then a shared-memory tree adds the partials. The order is fixed, so the
    /// result is deterministic. result[0] = the sum; result[1] = the first index whose flag is non-zero, or -1.
    /// Launch with one group.
    /// </summary>
    /// <param name="values">Values [count].</param>
    /// <param name="flags">Flags [count], read only when <see cref="ReduceParams.HasFlags"/> is 1.</param>
    /// <param name="result">[2]: sum, first flagged index.</param>
    /// <param name="p">Count and whether flags are read.</param>
    internal static void Reduce(ArrayView<double> values, ArrayView<double> flags, ArrayView<double> result, ReduceParams p)
    {
        var sums = SharedMemory.Allocate<double>(MaxReduceGroup);
        var firsts = SharedMemory.Allocate<int>(MaxReduceGroup);
        int tid = Group.IdxX, threads = Group.DimX;
        double s = 0;
        int first = int.MaxValue;
        for (int i = tid; i < p.Count; i += threads)
        {
            s += values[i];
            if (p.HasFlags != 0 && first == int.MaxValue && flags[i] != 0) first = i;
        }
        sums[tid] = s;
        firsts[tid] = first;
        Group.Barrier();
        for (int half = threads / 2; half > 0; half /= 2)
        {
            if (tid < half)
            {
                sums[tid] += sums[tid + half];
                int other = firsts[tid + half];
                if (other < firsts[tid]) firsts[tid] = other;
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            result[0] = sums[0];
            result[1] = firsts[0] == int.MaxValue ? -1 : firsts[0];
        }
    }

    /// <summary>y[i] = x[i] − x[i], in double: 0 for a finite value, NaN for NaN and ±∞; their sum says whether all are finite.</summary>
    internal static void FiniteDifference(Index1D index, ArrayView<float> x, ArrayView<double> y)
    {
        float v = x[index];
        y[index] = v - v;
    }
}
