using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NetGen.Backends;

namespace NetGen.Cpu;

/// <summary>An activation applied to 16 floats at a time (and to one, for the tails) in a fused epilogue.</summary>
internal interface IFastAct
{
    static abstract Vector512<float> Apply(Vector512<float> v, Vector512<float> alpha);
    static abstract float Apply(float v, float alpha);
}

internal struct LinearOp : IFastAct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, Vector512<float> alpha) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float v, float alpha) => v;
}

/// <summary>
/// max(v, 0) that keeps a NaN (zero where v ≤ 0, v elsewhere), as TensorPrimitives.Max and the GPU kernels do: a
/// fused ReLU must not turn a NaN it is given into a 0 that hides it.
/// </summary>
internal struct ReluOp : IFastAct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, Vector512<float> alpha) => Relu(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float v, float alpha) => v <= 0f ? 0f : v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> v) => Vector512.AndNot(v, Vector512.LessThanOrEqual(v, Vector512<float>.Zero));
}

/// <summary>v where v &gt; 0, alpha·v elsewhere (a NaN stays NaN).</summary>
internal struct LeakyOp : IFastAct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, Vector512<float> alpha) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, v * alpha);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Apply(float v, float alpha) => v > 0 ? v : alpha * v;
}

/// <summary>The bias-and-activation epilogue the Dense (inside the GEMM), convolution and batch-norm kernels share.</summary>
internal static unsafe class FastActivation
{
    /// <summary>Whether <paramref name="f"/> has a fused form here (linear, ReLU, leaky ReLU).</summary>
    public static bool Supports(ActivationFunction f) =>
        f is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;

    /// <summary>
    /// Over <paramref name="rows"/> rows of <paramref name="cols"/> (row stride <paramref name="ld"/> for z, y and the
    /// residual): z += b (per column, when b is not null) and z += residual (when not null), stored back to z when y
    /// is elsewhere, and y = act(z).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BiasRows<TAct>(float alpha, float* z, float* y, nint ld, float* b, int rows, int cols, float* residual = null)
        where TAct : struct, IFastAct
    {
        var va = Vector512.Create(alpha);
        bool storeZ = (b != null || residual != null) && z != y;
        for (int r = 0; r < rows; r++)
        {
            float* zr = z + r * ld, yr = y + r * ld;
            int c = 0;
            if (residual != null)
            {
                float* rr = residual + r * ld;
                for (; c <= cols - 16; c += 16)
                {
                    var v = Vector512.Load(zr + c);
                    if (b != null) v += Vector512.Load(b + c);
                    v += Vector512.Load(rr + c);
                    if (storeZ) Vector512.Store(v, zr + c);
                    Vector512.Store(TAct.Apply(v, va), yr + c);
                }
                for (; c < cols; c++)
                {
                    float v = zr[c];
                    if (b != null) v += b[c];
                    v += rr[c];
                    if (storeZ) zr[c] = v;
                    yr[c] = TAct.Apply(v, alpha);
                }
            }
            else if (b != null)
            {
                for (; c <= cols - 16; c += 16)
                {
                    var v = Vector512.Load(zr + c) + Vector512.Load(b + c);
                    if (storeZ) Vector512.Store(v, zr + c);
                    Vector512.Store(TAct.Apply(v, va), yr + c);
                }
                for (; c < cols; c++)
                {
                    float v = zr[c] + b[c];
                    if (storeZ) zr[c] = v;
                    yr[c] = TAct.Apply(v, alpha);
                }
            }
            else
            {
                for (; c <= cols - 16; c += 16) Vector512.Store(TAct.Apply(Vector512.Load(zr + c), va), yr + c);
                for (; c < cols; c++) yr[c] = TAct.Apply(zr[c], alpha);
            }
        }
    }

    /// <summary><see cref="BiasRows{TAct}"/> for <paramref name="f"/>, which <see cref="Supports"/> must accept.</summary>
    public static void BiasRows(ActivationFunction f, float alpha, float* z, float* y, nint ld, float* b, int rows, int cols, float* residual = null)
    {
        switch (f)
        {
            case ActivationFunction.Relu: BiasRows<ReluOp>(alpha, z, y, ld, b, rows, cols, residual); break;
            case ActivationFunction.LeakyRelu: BiasRows<LeakyOp>(alpha, z, y, ld, b, rows, cols, residual); break;
            default: BiasRows<LinearOp>(alpha, z, y, ld, b, rows, cols, residual); break;
        }
    }
}

/// <summary>
/// What a GEMM does to C once it is complete, tile by tile while the tile is in cache: z = C + bias (per column; stored
/// back to C when y is elsewhere), y = act(z), with y at the same offsets as C (same row stride). The default does
/// nothing.
/// </summary>
internal readonly unsafe struct GemmEpilogue
{
    /// <param name="activation">Linear, ReLU or leaky ReLU (<see cref="FastActivation.Supports"/>).</param>
    /// <param name="alpha">Leaky ReLU's slope.</param>
    /// <param name="bias">Per column, or null.</param>
    /// <param name="y">Where act(z) goes: C itself, or a matrix laid out as C.</param>
    /// <param name="residual">A matrix laid out as C added before the activation (after the bias), or null.</param>
    public GemmEpilogue(ActivationFunction activation, float alpha, float* bias, float* y, float* residual = null)
    {
        if (!FastActivation.Supports(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "A GEMM epilogue applies linear, ReLU or leaky ReLU only.");
        ArgumentNullException.ThrowIfNull(y);
        Activation = activation;
        Alpha = alpha;
        Bias = bias;
        Y = y;
        Residual = residual;
    }

    public ActivationFunction Activation { get; }
    public float Alpha { get; }
    public float* Bias { get; }
    public float* Y { get; }
    public float* Residual { get; }

    /// <summary>Whether there is anything to do (false for the default).</summary>
    public bool Active => Y != null;

    /// <summary>Applies it to rows [i, i + rows) × columns [j, j + cols) of C (row-major, row stride ldc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(float* c, nint ldc, int i, int rows, int j, int cols)
    {
        if (Y == null) return;
        nint o = i * ldc + j;
        if (Bias == null && Residual == null && Y == c && Activation == ActivationFunction.Linear) return;
        FastActivation.BiasRows(Activation, Alpha, c + o, Y + o, ldc, Bias == null ? null : Bias + j, rows, cols, Residual == null ? null : Residual + o);
    }
}
