using ILGPU;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="ReluKernels"/>: Keras 2's <c>relu(x, alpha, max_value, threshold)</c>.</summary>
internal struct ReluParams(float maxValue, float negativeSlope, float threshold)
{
    /// <summary>The ceiling; +∞ for none (Keras's <c>max_value=None</c>).</summary>
    public float MaxValue = maxValue;
    /// <summary>Slope below the threshold (Keras's <c>negative_slope</c>, the backend's <c>alpha</c>).</summary>
    public float NegativeSlope = negativeSlope;
    /// <summary>The threshold, at least 0.</summary>
    public float Threshold = threshold;
}

/// <summary>
/// The general ReLU layer (with a max value or a threshold): Keras 2's <c>backend.relu</c> term for term, so the
/// CPU backend (<c>CpuBackend.ReluForward</c>) and these kernels agree bit for bit. The plain and leaky forms run as
/// activation functors instead (<see cref="ReluActivation"/>, <see cref="LeakyReluActivation"/>).
/// </summary>
internal static class ReluKernels
{
    /// <summary>
    /// y = min(x &gt; t ? x : 0, max) − s·max(t − x, 0), the second term only when s ≠ 0 (as Keras, which skips it for
    /// alpha = 0, so that x = −∞ gives 0 and not NaN). NaN propagates. x and y may be the same.
    /// </summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="x">Input [count].</param>
    /// <param name="y">Output [count].</param>
    /// <param name="p">Max value, negative slope and threshold.</param>
    internal static void Forward(Index1D index, ArrayView<float> x, ArrayView<float> y, ReluParams p)
    {
        int i = index.X;
        y[i] = Apply(x[i], p);
    }

    /// <summary>
    /// dx = dy where t &lt; x &lt; max, s·dy where x &lt; t, else 0 (at the kinks x = t and x = max the derivative is
    /// taken as 0, as TensorFlow's relu6 gradient does). dx may alias dy.
    /// </summary>
    /// <param name="index">Element index, [count].</param>
    /// <param name="x">The forward input [count].</param>
    /// <param name="dy">Gradient with respect to y [count].</param>
    /// <param name="dx">Gradient with respect to x [count].</param>
    /// <param name="p">Max value, negative slope and threshold.</param>
    internal static void Backward(Index1D index, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, ReluParams p)
    {
        int i = index.X;
        dx[i] = Gradient(x[i], dy[i], p);
    }

    /// <summary>The forward formula for one element (shared with the CPU backend's scalar tail).</summary>
    internal static float Apply(float x, ReluParams p)
    {
        float pos = x <= p.Threshold ? 0f : x; // NaN stays NaN
        if (pos > p.MaxValue) pos = p.MaxValue;
        if (p.NegativeSlope != 0f)
        {
            float d = p.Threshold - x;
            pos -= p.NegativeSlope * (d > 0f ? d : 0f);
        }
        return pos;
    }

    /// <summary>The backward formula for one element (shared with the CPU backend's scalar tail).</summary>
    internal static float Gradient(float x, float dy, ReluParams p) =>
        x > p.Threshold && x < p.MaxValue ? dy : x < p.Threshold ? p.NegativeSlope * dy : 0f;
}
