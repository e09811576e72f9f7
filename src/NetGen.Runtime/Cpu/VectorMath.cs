using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetGen.Cpu;

/// <summary>
/// exp, tanh and sigmoid over spans, accurate to a few ulp everywhere (exp(0) is exactly 1, tanh(1e-6) is 1e-6) and
/// the same for every element whatever its position: the vector body and the scalar tail run the same float
/// operations in the same order (no fused multiply-add), so one sample's outputs never depend on the batch around it.
/// TensorPrimitives' versions are faster but approximate near 0 (tanh(1e-6) is 4.6% off) and differ between its
/// vector and scalar paths. Cephes's single-precision polynomials (expf, tanhf).
/// </summary>
internal static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float MaxX = 88.7228391116729996f;   // exp(MaxX) is the largest float
    private const float MinX = -103.972076416015625f;  // exp below it rounds to 0
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f, P3 = 4.1665795894E-2f,
        P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;
    private const float T0 = -5.70498872745E-3f, T1 = 2.06390887954E-2f, T2 = -5.37397155531E-2f, T3 = 1.33314422036E-1f,
        T4 = -3.33332819422E-1f;
    private const float TanhSmall = 0.625f;

    /// <summary>eˣ of one value, exactly as the vector path computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > MaxX) return float.PositiveInfinity;
        if (x < MinX) return 0f;
        float fx = MathF.Floor(x * Log2E + 0.5f);
        float r = x - fx * Ln2Hi;
        r = r - fx * Ln2Lo;
        float z = r * r;
        float p = P0 * r + P1;
        p = p * r + P2;
        p = p * r + P3;
        p = p * r + P4;
        p = p * r + P5;
        float y = p * z + r + 1f;
        int n = (int)fx, half = n >> 1; // 2ⁿ as two factors, each a normal float, so that n = 128 or -149 still works
        return y * BitConverter.Int32BitsToSingle((half + 127) << 23) * BitConverter.Int32BitsToSingle((n - half + 127) << 23);
    }

    private static Vector256<float> Exp(Vector256<float> x)
    {
        var nan = Vector256.IsNaN(x);
        var over = Vector256.GreaterThan(x, Vector256.Create(MaxX));
        var under = Vector256.LessThan(x, Vector256.Create(MinX));
        var c = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(MinX)), Vector256.Create(MaxX)); // a NaN lane is replaced below
        var fx = Vector256.Floor(c * Vector256.Create(Log2E) + Vector256.Create(0.5f));
        var r = c - fx * Vector256.Create(Ln2Hi);
        r = r - fx * Vector256.Create(Ln2Lo);
        var z = r * r;
        var p = Vector256.Create(P0) * r + Vector256.Create(P1);
        p = p * r + Vector256.Create(P2);
        p = p * r + Vector256.Create(P3);
        p = p * r + Vector256.Create(P4);
        p = p * r + Vector256.Create(P5);
        var y = p * z + r + Vector256<float>.One;
        var n = Vector256.ConvertToInt32Native(fx); // fx is clamped: no saturation needed
        var half = Vector256.ShiftRightArithmetic(n, 1);
        var bias = Vector256.Create(127);
        y = y * Vector256.ShiftLeft(half + bias, 23).AsSingle() * Vector256.ShiftLeft(n - half + bias, 23).AsSingle();
        y = Vector256.ConditionalSelect(over, Vector256.Create(float.PositiveInfinity), y);
        y = Vector256.ConditionalSelect(under, Vector256<float>.Zero, y);
        return Vector256.ConditionalSelect(nan, x, y);
    }

    /// <summary>tanh of one value, exactly as the vector path computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float ax = MathF.Abs(x);
        if (ax < TanhSmall)
        {
            float z = x * x;
            float p = T0 * z + T1;
            p = p * z + T2;
            p = p * z + T3;
            p = p * z + T4;
            return p * z * x + x;
        }
        float t = 1f - 2f / (Exp(ax + ax) + 1f);
        return x < 0 ? -t : float.IsNaN(x) ? x : t;
    }

    private static Vector256<float> Tanh(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var z = x * x;
        var p = Vector256.Create(T0) * z + Vector256.Create(T1);
        p = p * z + Vector256.Create(T2);
        p = p * z + Vector256.Create(T3);
        p = p * z + Vector256.Create(T4);
        var small = p * z * x + x;
        var t = Vector256<float>.One - Vector256.Create(2f) / (Exp(ax + ax) + Vector256<float>.One);
        var large = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -t, t);
        large = Vector256.ConditionalSelect(Vector256.IsNaN(x), x, large);
        return Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(TanhSmall)), small, large);
    }

    /// <summary>1 / (1 + e⁻ˣ) of one value, exactly as the vector path computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    private static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    // The 16-wide forms, for AVX-512: the 8-wide ones above, operation for operation (the runtime has no generic vector
    // interface to write them once), so every path gives an element the same bits (VectorMathTests). Inlined: tanh
    // and sigmoid call exp in their loop bodies (tanh took 2.8 ns a value not inlined, 1.2 inlined).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        var nan = Vector512.IsNaN(x);
        var over = Vector512.GreaterThan(x, Vector512.Create(MaxX));
        var under = Vector512.LessThan(x, Vector512.Create(MinX));
        var c = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(MinX)), Vector512.Create(MaxX)); // a NaN lane is replaced below
        var fx = Vector512.Floor(c * Vector512.Create(Log2E) + Vector512.Create(0.5f));
        var r = c - fx * Vector512.Create(Ln2Hi);
        r = r - fx * Vector512.Create(Ln2Lo);
        var z = r * r;
        var p = Vector512.Create(P0) * r + Vector512.Create(P1);
        p = p * r + Vector512.Create(P2);
        p = p * r + Vector512.Create(P3);
        p = p * r + Vector512.Create(P4);
        p = p * r + Vector512.Create(P5);
        var y = p * z + r + Vector512<float>.One;
        var n = Vector512.ConvertToInt32Native(fx); // fx is clamped: no saturation needed
        var half = Vector512.ShiftRightArithmetic(n, 1);
        var bias = Vector512.Create(127);
        y = y * Vector512.ShiftLeft(half + bias, 23).AsSingle() * Vector512.ShiftLeft(n - half + bias, 23).AsSingle();
        y = Vector512.ConditionalSelect(over, Vector512.Create(float.PositiveInfinity), y);
        y = Vector512.ConditionalSelect(under, Vector512<float>.Zero, y);
        return Vector512.ConditionalSelect(nan, x, y);
    }

    /// <summary>tanh of 16 values, the same bits as <see cref="Tanh(float)"/> gives each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var z = x * x;
        var p = Vector512.Create(T0) * z + Vector512.Create(T1);
        p = p * z + Vector512.Create(T2);
        p = p * z + Vector512.Create(T3);
        p = p * z + Vector512.Create(T4);
        var small = p * z * x + x;
        var t = Vector512<float>.One - Vector512.Create(2f) / (Exp(ax + ax) + Vector512<float>.One);
        var large = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -t, t);
        large = Vector512.ConditionalSelect(Vector512.IsNaN(x), x, large);
        return Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(TanhSmall)), small, large);
    }

    /// <summary>1 / (1 + e⁻ˣ) of 16 values, the same bits as <see cref="Sigmoid(float)"/> gives each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => Map<ExpOp>(x, y);

    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map<TanhOp>(x, y);

    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map<SigmoidOp>(x, y);

    private interface IOp
    {
        static abstract float Scalar(float x);
        static abstract Vector256<float> Vector(Vector256<float> x);
        static abstract Vector512<float> Wide(Vector512<float> x);
    }

    private readonly struct ExpOp : IOp
    {
        public static float Scalar(float x) => Exp(x);
        public static Vector256<float> Vector(Vector256<float> x) => Exp(x);
        public static Vector512<float> Wide(Vector512<float> x) => Exp(x);
    }

    private readonly struct TanhOp : IOp
    {
        public static float Scalar(float x) => Tanh(x);
        public static Vector256<float> Vector(Vector256<float> x) => Tanh(x);
        public static Vector512<float> Wide(Vector512<float> x) => Tanh(x);
    }

    private readonly struct SigmoidOp : IOp
    {
        public static float Scalar(float x) => Sigmoid(x);
        public static Vector256<float> Vector(Vector256<float> x) => Sigmoid(x);
        public static Vector512<float> Wide(Vector512<float> x) => Sigmoid(x);
    }

    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : IOp
    {
        if (y.Length < x.Length) throw new ArgumentException("The destination is shorter than the source.", nameof(y));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float src = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float dst = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= x.Length; i += 16)
                    TOp.Wide(Vector512.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
            for (; i + 8 <= x.Length; i += 8)
                TOp.Vector(Vector256.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = TOp.Scalar(x[i]);
    }
}
