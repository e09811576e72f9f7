using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// exp, tanh and sigmoid over spans, accurate to a few ulp everywhere (exp(0) is exactly 1, tanh(1e-6) is 1e-6) and
/// the same for every element whatever its position: the vector bodies and the scalar tail run the same float
/// operations in the same order (fused multiply-adds in all of them, and 2ⁿ applied with one rounding: AVX-512's
/// scalef, or two exact power-of-two factors), so one sample's outputs never depend on the batch around it.
/// TensorPrimitives' versions approximate near 0 (tanh(1e-6) is 4.6% off) and differ between its vector and scalar
/// paths. Cephes's single-precision polynomials (expf, tanhf).
/// </summary>
internal static class VectorMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    // exp's input is clamped to [MinX, MaxX]: exp(89) overflows to +∞ and exp(−104) rounds to 0, as every value
    // beyond does; 2ⁿ then spans 2⁻¹⁵⁰..2¹²⁸.
    private const float MaxX = 89f;
    private const float MinX = -104f;
    private const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f, P3 = 4.1665795894E-2f,
        P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;
    private const float T0 = -5.70498872745E-3f, T1 = 2.06390887954E-2f, T2 = -5.37397155531E-2f, T3 = 1.33314422036E-1f,
        T4 = -3.33332819422E-1f;
    private const float TanhSmall = 0.625f;

    /// <summary>eˣ of one value, exactly as the vector paths compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        float c = MathF.Min(MathF.Max(x, MinX), MaxX);
        float fx = MathF.Round(c * Log2E); // to nearest, ties to even: the vectors' Round
        float r = MathF.FusedMultiplyAdd(fx, -Ln2Hi, c);
        r = MathF.FusedMultiplyAdd(fx, -Ln2Lo, r);
        float z = r * r;
        float p = MathF.FusedMultiplyAdd(P0, r, P1);
        p = MathF.FusedMultiplyAdd(p, r, P2);
        p = MathF.FusedMultiplyAdd(p, r, P3);
        p = MathF.FusedMultiplyAdd(p, r, P4);
        p = MathF.FusedMultiplyAdd(p, r, P5);
        float y = MathF.FusedMultiplyAdd(p, z, r) + 1f;
        return ScaleByPowerOfTwo(y, (int)fx);
    }

    /// <summary>
    /// y·2ⁿ rounded once, for y in [0.7, 1.5] and n in [−150, 128], as AVX-512's scalef: the first factor 2^(n/2)
    /// leaves y·2^(n/2) a normal float (exact), the second rounds the product once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaleByPowerOfTwo(float y, int n)
    {
        int half = n >> 1;
        return y * BitConverter.Int32BitsToSingle((half + 127) << 23) * BitConverter.Int32BitsToSingle((n - half + 127) << 23);
    }

    private static Vector256<float> Exp(Vector256<float> x)
    {
        var c = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(MinX)), Vector256.Create(MaxX)); // a NaN lane is replaced below
        var fx = Vector256.Round(c * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(fx, Vector256.Create(-Ln2Hi), c);
        r = Vector256.FusedMultiplyAdd(fx, Vector256.Create(-Ln2Lo), r);
        var z = r * r;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        var y = Vector256.FusedMultiplyAdd(p, z, r) + Vector256<float>.One;
        if (Avx512F.VL.IsSupported) y = Avx512F.VL.Scale(y, fx);
        else
        {
            var n = Vector256.ConvertToInt32Native(fx); // fx is clamped: no saturation needed
            var half = Vector256.ShiftRightArithmetic(n, 1);
            var bias = Vector256.Create(127);
            y = y * Vector256.ShiftLeft(half + bias, 23).AsSingle() * Vector256.ShiftLeft(n - half + bias, 23).AsSingle();
        }
        return Vector256.ConditionalSelect(Vector256.IsNaN(x), x, y);
    }

    /// <summary>tanh of one value, exactly as the vector path computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float ax = MathF.Abs(x);
        if (ax < TanhSmall)
        {
            float z = x * x;
            float p = MathF.FusedMultiplyAdd(T0, z, T1);
            p = MathF.FusedMultiplyAdd(p, z, T2);
            p = MathF.FusedMultiplyAdd(p, z, T3);
            p = MathF.FusedMultiplyAdd(p, z, T4);
            return MathF.FusedMultiplyAdd(p * z, x, x);
        }
        float t = 1f - 2f / (Exp(ax + ax) + 1f);
        return x < 0 ? -t : float.IsNaN(x) ? x : t;
    }

    private static Vector256<float> Tanh(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var z = x * x;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(T0), z, Vector256.Create(T1));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T2));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T3));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T4));
        var small = Vector256.FusedMultiplyAdd(p * z, x, x);
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
        var c = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(MinX)), Vector512.Create(MaxX)); // a NaN lane is replaced below
        var fx = Vector512.Round(c * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(fx, Vector512.Create(-Ln2Hi), c);
        r = Vector512.FusedMultiplyAdd(fx, Vector512.Create(-Ln2Lo), r);
        var z = r * r;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        var y = Avx512F.Scale(Vector512.FusedMultiplyAdd(p, z, r) + Vector512<float>.One, fx);
        return Vector512.ConditionalSelect(Vector512.IsNaN(x), x, y);
    }

    /// <summary>tanh of 16 values, the same bits as <see cref="Tanh(float)"/> gives each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var z = x * x;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(T0), z, Vector512.Create(T1));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T2));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T3));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T4));
        var small = Vector512.FusedMultiplyAdd(p * z, x, x);
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
