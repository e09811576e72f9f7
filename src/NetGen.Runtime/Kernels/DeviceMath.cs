namespace NetGen.Kernels;

/// <summary>
/// Transcendental functions for kernels, written with nothing but add, multiply, divide, floor and bit casts.
/// ILGPU 1.5.3 without ILGPU.Algorithms has no PTX implementation of <c>MathF.Exp</c>/<c>MathF.Log</c> (nor
/// of their double forms), and its <c>MathF.Tanh</c> becomes <c>tanh.approx.f32</c> (absolute error ~1e-5).
/// These versions compile to plain PTX, give the same results on the CPU accelerator and the GPU (up to
/// ptxas contracting a multiply and an add into an FMA), and are accurate to a few ulp.
/// </summary>
internal static class DeviceMath
{
    // Cody-Waite split of ln 2: the high parts have trailing zero bits, so n·hi is exact for the n we use.
    private const float Ln2HiF = 0.693359375f, Ln2LoF = -2.12194440e-4f;
    private const double Ln2HiD = 6.93147180369123816490e-01, Ln2LoD = 1.90821492927058770002e-10;
    private const float Log2eF = 1.44269504f;
    private const double Log2eD = 1.4426950408889634;

    /// <summary>2^k for k in [-126, 127].</summary>
    private static float Pow2(int k) => BitConverter.Int32BitsToSingle((k + 127) << 23);

    /// <summary>2^k for k in [-1022, 1023].</summary>
    private static double Pow2D(int k) => BitConverter.Int64BitsToDouble((long)(k + 1023) << 52);

    /// <summary>e^x in single precision (Taylor polynomial of degree 7 on |r| ≤ ln2/2; ~1 ulp).</summary>
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > 88.8f) return float.PositiveInfinity;
        if (x < -104f) return 0f;
        float nf = MathF.Floor(x * Log2eF + 0.5f);
        int n = (int)nf;
        float r = x - nf * Ln2HiF;
        r -= nf * Ln2LoF;
        float p = 1f / 5040f;
        p = p * r + 1f / 720f;
        p = p * r + 1f / 120f;
        p = p * r + 1f / 24f;
        p = p * r + 1f / 6f;
        p = p * r + 0.5f;
        p = p * r + 1f;
        p = p * r + 1f;
        // Two factors so that overflow and gradual underflow are rounded once, at the end.
        int half = n / 2;
        return p * Pow2(half) * Pow2(n - half);
    }

    /// <summary>Natural logarithm in single precision (2·atanh(f/(2+f)) series; a few ulp).</summary>
    public static float Log(float x)
    {
        if (!(x > 0f)) return x == 0f ? float.NegativeInfinity : float.NaN;
        if (x == float.PositiveInfinity) return x;
        int bits = BitConverter.SingleToInt32Bits(x);
        int e = 0;
        if (bits < 0x00800000)
        {
            // Subnormal: scale by 2^23 into the normal range.
            x *= 8388608f;
            bits = BitConverter.SingleToInt32Bits(x);
            e = -23;
        }
        e += (bits >> 23) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }
        float f = m - 1f;
        float s = f / (2f + f);
        float z = s * s;
        float q = 1f / 9f;
        q = q * z + 1f / 7f;
        q = q * z + 1f / 5f;
        q = q * z + 1f / 3f;
        q = q * z + 1f;
        float ef = e;
        return ef * Ln2HiF + (2f * s * q + ef * Ln2LoF);
    }

    /// <summary>e^x in double precision (Taylor polynomial of degree 13 on |r| ≤ ln2/2; ~1 ulp).</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > 709.8) return double.PositiveInfinity;
        if (x < -745.2) return 0.0;
        double nf = Math.Floor(x * Log2eD + 0.5);
        int n = (int)nf;
        double r = x - nf * Ln2HiD;
        r -= nf * Ln2LoD;
        double p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        int half = n / 2;
        return p * Pow2D(half) * Pow2D(n - half);
    }

    /// <summary>Natural logarithm in double precision (2·atanh(f/(2+f)) series; a few ulp).</summary>
    public static double Log(double x)
    {
        if (!(x > 0.0)) return x == 0.0 ? double.NegativeInfinity : double.NaN;
        if (x == double.PositiveInfinity) return x;
        long bits = BitConverter.DoubleToInt64Bits(x);
        int e = 0;
        if (bits < 0x0010000000000000L)
        {
            x *= 18014398509481984.0; // 2^54
            bits = BitConverter.DoubleToInt64Bits(x);
            e = -54;
        }
        e += (int)(bits >> 52) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            e++;
        }
        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s;
        double q = 1.0 / 21.0;
        q = q * z + 1.0 / 19.0;
        q = q * z + 1.0 / 17.0;
        q = q * z + 1.0 / 15.0;
        q = q * z + 1.0 / 13.0;
        q = q * z + 1.0 / 11.0;
        q = q * z + 1.0 / 9.0;
        q = q * z + 1.0 / 7.0;
        q = q * z + 1.0 / 5.0;
        q = q * z + 1.0 / 3.0;
        q = q * z + 1.0;
        double ed = e;
        return ed * Ln2HiD + (2.0 * s * q + ed * Ln2LoD);
    }

    /// <summary>tanh(x) in single precision: e^{2|x|}-1 from a Taylor series below |x| = 0.5, from <see cref="Exp(float)"/> above.</summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        float t;
        if (a < 0.5f)
        {
            // expm1(y) for y = 2a ≤ 1, degree 12 (error < 2e-10).
            float y = 2f * a;
            float p = 1f / 479001600f;
            p = p * y + 1f / 39916800f;
            p = p * y + 1f / 3628800f;
            p = p * y + 1f / 362880f;
            p = p * y + 1f / 40320f;
            p = p * y + 1f / 5040f;
            p = p * y + 1f / 720f;
            p = p * y + 1f / 120f;
            p = p * y + 1f / 24f;
            p = p * y + 1f / 6f;
            p = p * y + 0.5f;
            p = p * y + 1f;
            float em = p * y;
            t = em / (em + 2f);
        }
        else
        {
            t = 1f - 2f / (Exp(2f * a) + 1f);
        }
        // Copy the sign bit of x (keeps -0 and NaN as they are).
        return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(t) | (BitConverter.SingleToInt32Bits(x) & int.MinValue));
    }

    /// <summary>erf(x) within 1.5e-7, the same Abramowitz-Stegun 7.1.26 formula in double as <c>Activations.Erf</c>.</summary>
    public static float Erf(float x)
    {
        double ax = Math.Abs((double)x);
        double t = 1.0 / (1.0 + 0.3275911 * ax);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        double r = 1.0 - poly * Exp(-ax * ax);
        return (float)(x < 0 ? -r : r);
    }

    /// <summary>
    /// cos(2πu) for u in [0, 1] in single precision (absolute error below 2e-7). The turn is folded exactly (by
    /// Sterbenz's lemma) into an octant a ∈ [0, 1/8], then cos(2πa) or sin(2π(1/4 - a)) is a Taylor polynomial
    /// on [0, π/4] (truncation error below 2e-10).
    /// </summary>
    public static float CosTwoPi(float u)
    {
        float a = u <= 0.5f ? u : 1f - u; // cos(2πu) = cos(2π(1 - u))
        float sign = 1f;
        if (a > 0.25f)
        {
            a = 0.5f - a; // cos(2π(1/2 - a)) = -cos(2πa)
            sign = -1f;
        }
        if (a > 0.125f)
        {
            // cos(2πa) = sin(2π(1/4 - a)), with 2π(1/4 - a) in [0, π/4).
            float x = (0.25f - a) * 6.28318548f;
            float z = x * x;
            float p = -1f / 39916800f;
            p = p * z + 1f / 362880f;
            p = p * z - 1f / 5040f;
            p = p * z + 1f / 120f;
            p = p * z - 1f / 6f;
            p = p * z + 1f;
            return sign * (p * x);
        }
        else
        {
            float x = a * 6.28318548f;
            float z = x * x;
            float p = -1f / 3628800f;
            p = p * z + 1f / 40320f;
            p = p * z - 1f / 720f;
            p = p * z + 1f / 24f;
            p = p * z - 0.5f;
            p = p * z + 1f;
            return sign * p;
        }
    }
}
