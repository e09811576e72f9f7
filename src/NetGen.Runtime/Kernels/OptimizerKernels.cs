using ILGPU;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="OptimizerKernels.Sgd"/>.</summary>
internal struct SgdParams(float learningRate, float momentum, bool nesterov)
{
    /// <summary>Learning rate of this step.</summary>
    public float LearningRate = learningRate;
    /// <summary>Momentum; 0 for plain SGD (the velocity view is not touched).</summary>
    public float Momentum = momentum;
    /// <summary>1 for Nesterov momentum.</summary>
    public int Nesterov = nesterov ? 1 : 0;
}

/// <summary>Parameters of <see cref="OptimizerKernels.Adam"/>.</summary>
internal struct AdamParams(float stepSize, float beta1, float beta2, float epsilon, bool amsGrad)
{
    /// <summary>lr·√(1-β2ᵗ)/(1-β1ᵗ), computed on the host in double.</summary>
    public float StepSize = stepSize;
    /// <summary>β1 and β2.</summary>
    public float Beta1 = beta1, Beta2 = beta2;
    /// <summary>ε.</summary>
    public float Epsilon = epsilon;
    /// <summary>1 for AMSGrad (the running maximum of v is kept).</summary>
    public int AmsGrad = amsGrad ? 1 : 0;
}

/// <summary>Parameters of <see cref="OptimizerKernels.RmsProp"/>.</summary>
internal struct RmsPropParams(float learningRate, float rho, float momentum, float epsilon, bool hasMomentum, bool centered)
{
    /// <summary>Learning rate of this step.</summary>
    public float LearningRate = learningRate;
    /// <summary>ρ, the decay of the mean square.</summary>
    public float Rho = rho;
    /// <summary>Momentum factor.</summary>
    public float Momentum = momentum;
    /// <summary>ε.</summary>
    public float Epsilon = epsilon;
    /// <summary>1 when momentum &gt; 0 (a momentum slot is kept).</summary>
    public int HasMomentum = hasMomentum ? 1 : 0;
    /// <summary>1 when centered (a mean-gradient slot is kept).</summary>
    public int Centered = centered ? 1 : 0;
}

/// <summary>
/// Optimizer updates, one thread per parameter, with the formulas of <c>CpuBackend.OptimizerStep</c>
/// (Keras 2 / OptimizerV2 semantics). State slots are separate views (the backend slices them at the model's
/// 16-float-aligned stride).
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>SGD: w -= lr·g; with momentum v = m·v - lr·g, w += v (or m·v - lr·g with Nesterov).</summary>
    /// <param name="index">Parameter index, [count].</param>
    /// <param name="w">Parameters [count].</param>
    /// <param name="g">Gradients [count].</param>
    /// <param name="v">Velocity [count], or any view without momentum.</param>
    /// <param name="p">Rate, momentum, Nesterov.</param>
    internal static void Sgd(Index1D index, ArrayView<float> w, ArrayView<float> g, ArrayView<float> v, SgdParams p)
    {
        int i = index.X;
        float gi = g[i];
        if (p.Momentum == 0f)
        {
            w[i] = w[i] - p.LearningRate * gi;
            return;
        }
        float vi = p.Momentum * v[i] - p.LearningRate * gi;
        v[i] = vi;
        w[i] = w[i] + (p.Nesterov != 0 ? p.Momentum * vi - p.LearningRate * gi : vi);
    }

    /// <summary>Adam / AMSGrad: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; w -= a·m / (√v̂ + ε).</summary>
    /// <param name="index">Parameter index, [count].</param>
    /// <param name="w">Parameters [count].</param>
    /// <param name="g">Gradients [count].</param>
    /// <param name="m">First moment [count].</param>
    /// <param name="v">Second moment [count].</param>
    /// <param name="vhat">Running maximum of v [count] (AMSGrad), or any view.</param>
    /// <param name="p">Step size, betas, ε, AMSGrad.</param>
    internal static void Adam(Index1D index, ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v,
        ArrayView<float> vhat, AdamParams p)
    {
        int i = index.X;
        float gi = g[i];
        float mi = p.Beta1 * m[i] + (1 - p.Beta1) * gi;
        float vi = p.Beta2 * v[i] + (1 - p.Beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = vi;
        if (p.AmsGrad != 0)
        {
            float h = vhat[i];
            denom = h > vi ? h : vi;
            vhat[i] = denom;
        }
        w[i] = w[i] - p.StepSize * mi / (MathF.Sqrt(denom) + p.Epsilon);
    }

    /// <summary>
    /// RMSprop: ms = ρ·ms + (1-ρ)·g²; centered: mg = ρ·mg + (1-ρ)·g and D = ms - mg²; with momentum
    /// mom = μ·mom + lr·g/√(D+ε), w -= mom; without, w -= lr·g/(√D + ε).
    /// </summary>
    /// <param name="index">Parameter index, [count].</param>
    /// <param name="w">Parameters [count].</param>
    /// <param name="g">Gradients [count].</param>
    /// <param name="ms">Mean square [count].</param>
    /// <param name="mom">Momentum [count], or any view.</param>
    /// <param name="mg">Mean gradient [count] (centered), or any view.</param>
    /// <param name="p">Rate, ρ, momentum, ε and flags.</param>
    internal static void RmsProp(Index1D index, ArrayView<float> w, ArrayView<float> g, ArrayView<float> ms, ArrayView<float> mom,
        ArrayView<float> mg, RmsPropParams p)
    {
        int i = index.X;
        float gi = g[i];
        float s = p.Rho * ms[i] + (1 - p.Rho) * gi * gi;
        ms[i] = s;
        float d = s;
        if (p.Centered != 0)
        {
            float a = p.Rho * mg[i] + (1 - p.Rho) * gi;
            mg[i] = a;
            d -= a * a;
        }
        if (p.HasMomentum != 0)
        {
            float mi = p.Momentum * mom[i] + p.LearningRate * gi / MathF.Sqrt(d + p.Epsilon);
            mom[i] = mi;
            w[i] = w[i] - mi;
        }
        else
        {
            w[i] = w[i] - p.LearningRate * gi / (MathF.Sqrt(d) + p.Epsilon);
        }
    }

    /// <summary>Adagrad: s += g²; w -= lr·g / (√s + ε).</summary>
    /// <param name="index">Parameter index, [count].</param>
    /// <param name="w">Parameters [count].</param>
    /// <param name="g">Gradients [count].</param>
    /// <param name="s">Accumulator [count].</param>
    /// <param name="learningRate">Learning rate of this step.</param>
    /// <param name="epsilon">ε.</param>
    internal static void Adagrad(Index1D index, ArrayView<float> w, ArrayView<float> g, ArrayView<float> s, float learningRate,
        float epsilon)
    {
        int i = index.X;
        float gi = g[i];
        float si = s[i] + gi * gi;
        s[i] = si;
        w[i] = w[i] - learningRate * gi / (MathF.Sqrt(si) + epsilon);
    }
}
