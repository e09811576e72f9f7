using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace NetGen.Backends;

public sealed unsafe partial class CpuBackend
{
    private const float Epsilon = 1e-7f; // Keras's backend epsilon

    /// <inheritdoc/>
    public double Loss(Loss loss, LossInput input, int rows, int cols, int prediction, int labels, int gradient, float gradientScale)
    {
        float* p = At(prediction), t = At(labels);
        float* g = gradient >= 0 ? At(gradient) : null;
        double sum = 0;
        switch (loss)
        {
            case NetGen.Loss.CategoricalCrossEntropy:
            case NetGen.Loss.SparseCategoricalCrossEntropy:
            {
                bool sparse = loss == NetGen.Loss.SparseCategoricalCrossEntropy;
                for (int r = 0; r < rows; r++)
                {
                    float* pr = p + r * cols, tr = sparse ? null : t + r * cols;
                    float* gr = g == null ? null : g + r * cols;
                    int label = sparse ? (int)t[r] : -1;
                    if (sparse && (uint)label >= (uint)cols)
                        throw new ArgumentException($"Label {t[r]} in row {r} is not a class index in [0, {cols}).");
                    if (input == LossInput.Logits)
                    {
                        // -Σ y·(z - logsumexp z); gradient softmax(z)·Σy - y.
                        var z = new ReadOnlySpan<float>(pr, cols);
                        float max = TensorPrimitives.Max(z);
                        double se = 0;
                        for (int c = 0; c < cols; c++) se += Math.Exp(pr[c] - max);
                        double lse = max + Math.Log(se);
                        double ysum = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            float y = sparse ? (c == label ? 1f : 0f) : tr[c];
                            ysum += y;
                            if (y != 0) sum -= y * (pr[c] - lse);
                        }
                        if (gr != null)
                            for (int c = 0; c < cols; c++)
                            {
                                float y = sparse ? (c == label ? 1f : 0f) : tr[c];
                                gr[c] = (float)(Math.Exp(pr[c] - lse) * ysum - y) * gradientScale;
                            }
                    }
                    else if (sparse)
                    {
                        // Keras: clip ŷ to [ε, 1-ε], log, then the sparse softmax cross-entropy: -log(clip(ŷ_y) / Σ clip(ŷ)).
                        // No gradient flows through a clipped entry: d/dp_c = -[c = y]/p_c + 1/Σ clip(ŷ) where p_c is unclipped.
                        double total = 0;
                        for (int c = 0; c < cols; c++) total += Math.Clamp(pr[c], Epsilon, 1 - Epsilon);
                        sum -= Math.Log(Math.Clamp(pr[label], Epsilon, 1 - Epsilon) / total);
                        if (gr != null)
                            for (int c = 0; c < cols; c++)
                            {
                                bool clipped = pr[c] < Epsilon || pr[c] > 1 - Epsilon;
                                gr[c] = clipped ? 0f : (float)((c == label ? -1.0 / pr[c] : 0) + 1 / total) * gradientScale;
                            }
                    }
                    else
                    {
                        // Keras: ŷ ← ŷ/Σŷ, clipped to [ε, 1-ε]; loss -Σ y·log ŷ.
                        // d/dp_c of -Σ_k y_k log clip(p_k/Σp) = -y_c/p_c (if q_c is unclipped) + Σ_{k unclipped} y_k / Σp.
                        double total = 0;
                        for (int c = 0; c < cols; c++) total += pr[c];
                        double unclippedLabels = 0;
                        for (int c = 0; c < cols; c++)
                        {
                            double q = pr[c] / total;
                            if (tr[c] != 0) sum -= tr[c] * Math.Log(Math.Clamp(q, Epsilon, 1 - Epsilon));
                            if (q >= Epsilon && q <= 1 - Epsilon) unclippedLabels += tr[c];
                        }
                        if (gr != null)
                            for (int c = 0; c < cols; c++)
                            {
                                double q = pr[c] / total;
                                bool clipped = q < Epsilon || q > 1 - Epsilon;
                                gr[c] = (float)((clipped ? 0 : -tr[c] / pr[c]) + unclippedLabels / total) * gradientScale;
                            }
                    }
                }
                break;
            }
            case NetGen.Loss.BinaryCrossEntropy:
            {
                int count = rows * cols;
                float scale = gradientScale / cols;
                for (int i = 0; i < count; i++)
                {
                    float y = t[i];
                    if (input == LossInput.Logits)
                    {
                        // max(z, 0) - z·y + log(1 + e^-|z|); gradient sigmoid(z) - y.
                        float z = p[i];
                        sum += Math.Max(z, 0) - z * y + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                        if (g != null) g[i] = (1f / (1f + MathF.Exp(-z)) - y) * scale;
                    }
                    else
                    {
                        double q = Math.Clamp(p[i], Epsilon, 1 - Epsilon);
                        sum -= y * Math.Log(q + Epsilon) + (1 - y) * Math.Log(1 - q + Epsilon);
                        if (g != null)
                        {
                            bool clipped = p[i] < Epsilon || p[i] > 1 - Epsilon;
                            g[i] = clipped ? 0f : (float)(-y / (q + Epsilon) + (1 - y) / (1 - q + Epsilon)) * scale;
                        }
                    }
                }
                sum /= cols;
                break;
            }
            case NetGen.Loss.MeanSquaredError:
            case NetGen.Loss.MeanAbsoluteError:
            {
                int count = rows * cols;
                float scale = gradientScale / cols;
                bool mse = loss == NetGen.Loss.MeanSquaredError;
                for (int i = 0; i < count; i++)
                {
                    float d = p[i] - t[i];
                    sum += mse ? (double)d * d : Math.Abs(d);
                    if (g != null) g[i] = (mse ? 2 * d : Math.Sign(d)) * scale;
                }
                sum /= cols;
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        }
        return sum;
    }

    /// <inheritdoc/>
    public int CountCorrect(Metric metric, int rows, int cols, int prediction, int labels)
    {
        float* p = At(prediction), t = At(labels);
        int correct = 0;
        for (int r = 0; r < rows; r++)
        {
            var pr = new ReadOnlySpan<float>(p + r * cols, cols);
            switch (metric)
            {
                case Metric.BinaryAccuracy:
                    for (int c = 0; c < cols; c++) correct += (pr[c] > 0.5f ? 1f : 0f) == t[r * cols + c] ? 1 : 0;
                    break;
                case Metric.SparseCategoricalAccuracy:
                    correct += TensorPrimitives.IndexOfMax(pr) == (int)t[r] ? 1 : 0;
                    break;
                default:
                    correct += TensorPrimitives.IndexOfMax(pr) == TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(t + r * cols, cols)) ? 1 : 0;
                    break;
            }
        }
        return metric == Metric.BinaryAccuracy ? correct / Math.Max(1, cols) : correct;
    }

    /// <inheritdoc/>
    public void OptimizerStep(in OptimizerUpdate u, int parameters, int gradients, int state, int count, int slotStride = 0)
    {
        float* w = At(parameters), g = At(gradients), s = At(state);
        int stride = slotStride > 0 ? slotStride : (count + 15) / 16 * 16; // the model aligns each state slot to 16 floats
        switch (u.Kind)
        {
            case OptimizerKind.Sgd:
                Sgd(w, g, s, count, u.LearningRate, u.Momentum, u.Nesterov);
                break;
            case OptimizerKind.Adam:
            {
                double t = u.Step;
                float a = (float)(u.LearningRate * Math.Sqrt(1 - Math.Pow(u.Beta2, t)) / (1 - Math.Pow(u.Beta1, t)));
                Adam(w, g, s, s + stride, u.AmsGrad ? s + 2 * stride : null, count, a, u.Beta1, u.Beta2, u.Epsilon);
                break;
            }
            case OptimizerKind.RmsProp:
            {
                float* mom = u.Momentum > 0 ? s + stride : null;
                float* mg = u.Centered ? s + (u.Momentum > 0 ? 2 : 1) * stride : null;
                RmsProp(w, g, s, mom, mg, count, u.LearningRate, u.Beta1, u.Momentum, u.Epsilon);
                break;
            }
            case OptimizerKind.Adagrad:
                for (int i = 0; i < count; i++)
                {
                    s[i] += g[i] * g[i];
                    w[i] -= u.LearningRate * g[i] / (MathF.Sqrt(s[i]) + u.Epsilon);
                }
                break;
        }
    }

    private static void Sgd(float* w, float* g, float* v, int count, float lr, float momentum, bool nesterov)
    {
        int i = 0;
        if (momentum == 0)
        {
            for (; i <= count - 16; i += 16)
                Vector512.Store(Vector512.Load(w + i) - Vector512.Create(lr) * Vector512.Load(g + i), w + i);
            for (; i < count; i++) w[i] -= lr * g[i];
            return;
        }
        // Keras: v = m·v - lr·g; w += v, or with Nesterov w += m·v - lr·g.
        var m = Vector512.Create(momentum);
        var l = Vector512.Create(lr);
        for (; i <= count - 16; i += 16)
        {
            var gi = Vector512.Load(g + i);
            var vi = m * Vector512.Load(v + i) - l * gi;
            Vector512.Store(vi, v + i);
            var step = nesterov ? m * vi - l * gi : vi;
            Vector512.Store(Vector512.Load(w + i) + step, w + i);
        }
        for (; i < count; i++)
        {
            v[i] = momentum * v[i] - lr * g[i];
            w[i] += nesterov ? momentum * v[i] - lr * g[i] : v[i];
        }
    }

    private static void Adam(float* w, float* g, float* m, float* v, float* vhat, int count, float a, float b1, float b2, float eps)
    {
        // Keras: m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; w -= a·m / (√v + ε), a = lr·√(1-b2ᵗ)/(1-b1ᵗ).
        int i = 0;
        if (vhat == null)
        {
            var vb1 = Vector512.Create(b1); var vc1 = Vector512.Create(1 - b1);
            var vb2 = Vector512.Create(b2); var vc2 = Vector512.Create(1 - b2);
            var va = Vector512.Create(a); var ve = Vector512.Create(eps);
            for (; i <= count - 16; i += 16)
            {
                var gi = Vector512.Load(g + i);
                var mi = vb1 * Vector512.Load(m + i) + vc1 * gi;
                var vi = vb2 * Vector512.Load(v + i) + vc2 * gi * gi;
                Vector512.Store(mi, m + i);
                Vector512.Store(vi, v + i);
                Vector512.Store(Vector512.Load(w + i) - va * mi / (Vector512.Sqrt(vi) + ve), w + i);
            }
        }
        for (; i < count; i++)
        {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            float denom = v[i];
            if (vhat != null) denom = vhat[i] = Math.Max(vhat[i], v[i]);
            w[i] -= a * m[i] / (MathF.Sqrt(denom) + eps);
        }
    }

    private static void RmsProp(float* w, float* g, float* ms, float* mom, float* mg, int count, float lr, float rho, float momentum, float eps)
    {
        int i = 0;
        if (mom == null && mg == null)
        {
            // Keras (OptimizerV2, momentum 0): ms = ρ·ms + (1-ρ)·g²; w -= lr·g / (√ms + ε).
            var vr = Vector512.Create(rho); var vc = Vector512.Create(1 - rho);
            var vl = Vector512.Create(lr); var ve = Vector512.Create(eps);
            for (; i <= count - 16; i += 16)
            {
                var gi = Vector512.Load(g + i);
                var si = vr * Vector512.Load(ms + i) + vc * gi * gi;
                Vector512.Store(si, ms + i);
                Vector512.Store(Vector512.Load(w + i) - vl * gi / (Vector512.Sqrt(si) + ve), w + i);
            }
        }
        for (; i < count; i++)
        {
            ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i];
            float d = ms[i];
            if (mg != null)
            {
                mg[i] = rho * mg[i] + (1 - rho) * g[i];
                d -= mg[i] * mg[i];
            }
            if (mom != null)
            {
                // momentum > 0: mom = μ·mom + lr·g/√(D+ε); w -= mom (ε inside the root).
                mom[i] = momentum * mom[i] + lr * g[i] / MathF.Sqrt(d + eps);
                w[i] -= mom[i];
            }
            else
            {
                w[i] -= lr * g[i] / (MathF.Sqrt(d) + eps);
            }
        }
    }
}
