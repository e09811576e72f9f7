using System.Runtime.CompilerServices;

namespace NetGen.Backends;

/// <summary>Scalar forms of every activation and its derivative, with Keras 2 constants. Kernels use these for the rare functions.</summary>
public static class Activations
{
    private const float SeluAlpha = 1.67326324f, SeluScale = 1.05070098f;

    /// <summary>f(x). Softmax is not element-wise and is handled by the kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Forward(ActivationFunction f, float alpha, float x) => f switch
    {
        ActivationFunction.Linear => x,
        ActivationFunction.Relu => x <= 0 ? 0 : x, // keeps a NaN
        ActivationFunction.Sigmoid => Cpu.VectorMath.Sigmoid(x),
        ActivationFunction.Tanh => Cpu.VectorMath.Tanh(x),
        ActivationFunction.Elu => x > 0 ? x : MathF.Exp(x) - 1,
        ActivationFunction.Selu => x > 0 ? SeluScale * x : SeluScale * SeluAlpha * (MathF.Exp(x) - 1),
        ActivationFunction.Softplus => Softplus(x),
        ActivationFunction.Softsign => x / (1 + MathF.Abs(x)),
        ActivationFunction.HardSigmoid => Math.Clamp(0.2f * x + 0.5f, 0f, 1f),
        ActivationFunction.Swish => x / (1f + MathF.Exp(-x)),
        ActivationFunction.Gelu => 0.5f * x * (1f + Erf(x * 0.70710678f)),
        ActivationFunction.Exponential => Cpu.VectorMath.Exp(x),
        ActivationFunction.LeakyRelu => x > 0 ? x : alpha * x,
        ActivationFunction.EluAlpha => x > 0 ? x : alpha * (MathF.Exp(x) - 1),
        _ => float.NaN,
    };

    /// <summary>f'(x) given the input x (NaN when not stored) and the output y; each function uses what it needs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Derivative(ActivationFunction f, float alpha, float x, float y) => f switch
    {
        ActivationFunction.Linear => 1,
        ActivationFunction.Relu => y > 0 ? 1 : 0,
        ActivationFunction.Sigmoid => y * (1 - y),
        ActivationFunction.Tanh => 1 - y * y,
        ActivationFunction.Elu => y > 0 ? 1 : y + 1,
        ActivationFunction.Selu => y < 0 ? y + SeluScale * SeluAlpha : SeluScale, // TensorFlow's SeluGrad: selu'(0) = scale
        ActivationFunction.Softplus => 1f / (1f + MathF.Exp(-x)),
        ActivationFunction.Softsign => (1 - MathF.Abs(y)) * (1 - MathF.Abs(y)),
        ActivationFunction.HardSigmoid => HardSigmoidDerivative(x, y),
        ActivationFunction.Swish => Swish(x),
        ActivationFunction.Gelu => 0.5f * (1f + Erf(x * 0.70710678f)) + x * 0.39894228f * MathF.Exp(-0.5f * x * x),
        ActivationFunction.Exponential => y,
        ActivationFunction.LeakyRelu => float.IsNaN(x) ? (y > 0 ? 1 : alpha) : (x > 0 ? 1 : alpha),
        ActivationFunction.EluAlpha => (float.IsNaN(x) ? y > 0 : x > 0) ? 1 : y + alpha,
        _ => float.NaN,
    };

    /// <summary>log(1 + eˣ) in double: accurate where float's 1 + eˣ would drop eˣ's digits (x below about −8); eˣ below −20.</summary>
    private static float Softplus(float x)
    {
        if (x > 20) return x;
        if (x < -20) return MathF.Exp(x); // log1p(u) = u(1 − u/2 + ...): u alone is within 1e-9
        double u = Math.Exp(x), w = 1 + u;
        return (float)(Math.Log(w) * u / (w - 1)); // log1p(u), exact to double rounding (Goldberg's correction)
    }

    /// <summary>
    /// Keras 2's hard_sigmoid gradient: clip_by_value passes it where 0 ≤ 0.2x + 0.5 ≤ 1, ends included (0.2 at
    /// x = ±2.5). From x where it was kept; from y otherwise, which cannot tell the end from beyond it.
    /// </summary>
    private static float HardSigmoidDerivative(float x, float y)
    {
        if (float.IsNaN(x)) return y > 0 && y < 1 ? 0.2f : 0;
        float v = 0.2f * x + 0.5f;
        return v >= 0 && v <= 1 ? 0.2f : 0;
    }

    private static float Swish(float x)
    {
        float s = 1f / (1f + MathF.Exp(-x));
        return s + x * s * (1 - s);
    }

    /// <summary>erf(x) within 1.5e-7 (Abramowitz and Stegun 7.1.26, evaluated in double).</summary>
    public static float Erf(float x)
    {
        double ax = Math.Abs((double)x);
        double t = 1.0 / (1.0 + 0.3275911 * ax);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        double r = 1.0 - poly * Math.Exp(-ax * ax);
        return (float)(x < 0 ? -r : r);
    }
}
