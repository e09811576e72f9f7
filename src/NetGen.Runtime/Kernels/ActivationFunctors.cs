namespace NetGen.Kernels;

/// <summary>
/// An element-wise activation as a kernel functor: a struct passed to generic kernels
/// (<c>Kernel&lt;TAct&gt; where TAct : struct, IActivation</c>), so ILGPU compiles one specialised kernel per
/// activation with the function inlined. Formulas and constants are those of <see cref="Backends.Activations"/>.
/// </summary>
internal interface IActivation
{
    /// <summary>f(x).</summary>
    float Forward(float x);

    /// <summary>f'(x) from the input x (NaN when it was not stored) and the output y.</summary>
    float Derivative(float x, float y);

    /// <summary>dy·f'(x); most functions multiply, ReLU masks (so that a NaN gradient is cut like the CPU backend does).</summary>
    float Backward(float dy, float x, float y);
}

/// <summary>Identity.</summary>
internal struct LinearActivation : IActivation
{
    public readonly float Forward(float x) => x;
    public readonly float Derivative(float x, float y) => 1f;
    public readonly float Backward(float dy, float x, float y) => dy;
}

/// <summary>max(x, 0), NaN propagating like <c>TensorPrimitives.Max</c>.</summary>
internal struct ReluActivation : IActivation
{
    public readonly float Forward(float x) => float.IsNaN(x) ? x : x > 0f ? x : 0f;
    public readonly float Derivative(float x, float y) => y > 0f ? 1f : 0f;
    public readonly float Backward(float dy, float x, float y) => y > 0f ? dy : 0f;
}

/// <summary>1 / (1 + e^-x).</summary>
internal struct SigmoidActivation : IActivation
{
    public readonly float Forward(float x) => 1f / (1f + DeviceMath.Exp(-x));
    public readonly float Derivative(float x, float y) => y * (1f - y);
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>tanh(x).</summary>
internal struct TanhActivation : IActivation
{
    public readonly float Forward(float x) => DeviceMath.Tanh(x);
    public readonly float Derivative(float x, float y) => 1f - y * y;
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>x if x &gt; 0, else e^x - 1.</summary>
internal struct EluActivation : IActivation
{
    public readonly float Forward(float x) => x > 0f ? x : DeviceMath.Exp(x) - 1f;
    public readonly float Derivative(float x, float y) => y > 0f ? 1f : y + 1f;
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>1.05070098 · elu(x, 1.67326324).</summary>
internal struct SeluActivation : IActivation
{
    private const float Alpha = 1.67326324f, Scale = 1.05070098f;
    public readonly float Forward(float x) => x > 0f ? Scale * x : Scale * Alpha * (DeviceMath.Exp(x) - 1f);
    // As TensorFlow's SeluGrad: the positive branch unless the output is negative, so selu'(0) is the scale.
    public readonly float Derivative(float x, float y) => y < 0f ? y + Scale * Alpha : Scale;
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>log(1 + e^x): linear above 20, and log1p(u) ≈ u − u²/2 (u = e^x) below −8, where 1 + u loses u's digits.</summary>
internal struct SoftplusActivation : IActivation
{
    public readonly float Forward(float x)
    {
        if (x > 20f) return x;
        float u = DeviceMath.Exp(x);
        return x < -8f ? u - 0.5f * u * u : DeviceMath.Log(1f + u);
    }
    public readonly float Derivative(float x, float y) => 1f / (1f + DeviceMath.Exp(-x));
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>x / (1 + |x|).</summary>
internal struct SoftsignActivation : IActivation
{
    public readonly float Forward(float x) => x / (1f + MathF.Abs(x));
    public readonly float Derivative(float x, float y) => (1f - MathF.Abs(y)) * (1f - MathF.Abs(y));
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>clip(0.2x + 0.5, 0, 1) (NaN stays NaN, like <c>Math.Clamp</c>).</summary>
internal struct HardSigmoidActivation : IActivation
{
    public readonly float Forward(float x)
    {
        float v = 0.2f * x + 0.5f;
        return v < 0f ? 0f : v > 1f ? 1f : v;
    }
    // As Keras 2 (clip_by_value passes the gradient where 0 ≤ 0.2x + 0.5 ≤ 1, ends included): from x where it is
    // kept, else from y, which cannot tell x = 2.5 from x = 3.
    public readonly float Derivative(float x, float y)
    {
        if (float.IsNaN(x)) return y > 0f && y < 1f ? 0.2f : 0f; // the input was not kept
        float v = 0.2f * x + 0.5f;
        return v >= 0f && v <= 1f ? 0.2f : 0f;
    }
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>x · sigmoid(x).</summary>
internal struct SwishActivation : IActivation
{
    public readonly float Forward(float x) => x / (1f + DeviceMath.Exp(-x));
    public readonly float Derivative(float x, float y)
    {
        float s = 1f / (1f + DeviceMath.Exp(-x));
        return s + x * s * (1f - s);
    }
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>0.5x(1 + erf(x / √2)).</summary>
internal struct GeluActivation : IActivation
{
    public readonly float Forward(float x) => 0.5f * x * (1f + DeviceMath.Erf(x * 0.70710678f));
    public readonly float Derivative(float x, float y) =>
        0.5f * (1f + DeviceMath.Erf(x * 0.70710678f)) + x * 0.39894228f * DeviceMath.Exp(-0.5f * x * x);
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>e^x.</summary>
internal struct ExponentialActivation : IActivation
{
    public readonly float Forward(float x) => DeviceMath.Exp(x);
    public readonly float Derivative(float x, float y) => y;
    public readonly float Backward(float dy, float x, float y) => dy * y;
}

/// <summary>x if x &gt; 0, else alpha·x; the derivative falls back to the output's sign when x was not stored.</summary>
internal struct LeakyReluActivation(float alpha) : IActivation
{
    /// <summary>The slope for negative inputs.</summary>
    public float Alpha = alpha;
    public readonly float Forward(float x) => x > 0f ? x : Alpha * x;
    public readonly float Derivative(float x, float y) => float.IsNaN(x) ? (y > 0f ? 1f : Alpha) : (x > 0f ? 1f : Alpha);
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}

/// <summary>
/// x if x &gt; 0, else alpha·(e^x - 1) (Keras's ELU layer). The derivative is 1 or y + alpha = alpha·e^x; without the
/// input it tells the branches apart by the output's sign, which holds for alpha ≥ 0.
/// </summary>
internal struct EluAlphaActivation(float alpha) : IActivation
{
    /// <summary>The scale of the negative part.</summary>
    public float Alpha = alpha;
    public readonly float Forward(float x) => x > 0f ? x : Alpha * (DeviceMath.Exp(x) - 1f);
    public readonly float Derivative(float x, float y) => (float.IsNaN(x) ? y > 0f : x > 0f) ? 1f : y + Alpha;
    public readonly float Backward(float dy, float x, float y) => dy * Derivative(x, y);
}
