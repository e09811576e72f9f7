using System.Runtime.CompilerServices;

namespace NetGen;

/// <summary>
/// A counter-based random number generator: every number is a pure function of (key, counter), where the key
/// mixes the seed, the step and the layer. There is no state, so any backend (CPU or GPU) draws identical
/// numbers for the same element, a mask can be regenerated in the backward pass instead of stored, and a run
/// is reproducible from its seed. The mixer is SplitMix64's finalizer.
/// </summary>
public static class CounterRng
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>SplitMix64's 64-bit finalizer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The key for one (seed, stream, step) triple, e.g. stream = layer index and step = iteration.</summary>
    public static ulong Key(ulong seed, ulong stream, ulong step) =>
        Mix(Mix(seed + Golden) ^ Mix((stream + 1) * Golden) ^ Mix((step + 0x632BE59BD9B4E019UL) * 0xD1B54A32D192ED03UL));

    /// <summary>64 random bits for element <paramref name="counter"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bits(ulong key, ulong counter) => Mix(key + (counter + 1) * Golden);

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(ulong key, ulong counter) => (Bits(key, counter) >> 40) * (1f / (1 << 24));

    /// <summary>The same mixer on eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static System.Runtime.Intrinsics.Vector512<ulong> Mix(System.Runtime.Intrinsics.Vector512<ulong> z)
    {
        z = (z ^ System.Runtime.Intrinsics.Vector512.ShiftRightLogical(z, 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ System.Runtime.Intrinsics.Vector512.ShiftRightLogical(z, 27)) * 0x94D049BB133111EBUL;
        return z ^ System.Runtime.Intrinsics.Vector512.ShiftRightLogical(z, 31);
    }

    /// <summary>
    /// Dropout keeps element i when <c>Bits(key, i) &gt;&gt; 40 ≥ DropThreshold(rate)</c>, which is exactly
    /// <c>Uniform(key, i) ≥ rate</c>, in integers so that every backend agrees bit for bit.
    /// </summary>
    public static ulong DropThreshold(float rate) => (ulong)Math.Ceiling(rate * 16777216.0);

    /// <summary>A uniform double in (0, 1) with 53 random bits (never 0, so it is safe under a logarithm).</summary>
    public static double UniformOpen(ulong key, ulong counter) => ((Bits(key, counter) >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>A standard normal draw (Box-Muller on two counters).</summary>
    public static double Normal(ulong key, ulong counter)
    {
        double u1 = UniformOpen(key, 2 * counter), u2 = UniformOpen(key, 2 * counter + 1);
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>
    /// A standard normal float for element <paramref name="counter"/>, from the one 64-bit draw
    /// <c>Bits(key, counter)</c>: Box-Muller, z = √(−2 ln u₁)·cos(2πu₂), with u₁ ∈ (0, 1] from the top 24 bits and
    /// u₂ ∈ [0, 1) from the next 24, in single precision with <c>DeviceMath</c>'s hand-written logarithm and cosine.
    /// The CPU backend and the ILGPU kernels call this same code; a GPU may contract a multiply and an add into one
    /// FMA, which moves z by a few float ulps (|Δz| ≲ 1e-6), never the draw itself. |z| ≤ √(48 ln 2) ≈ 5.77: the
    /// tails beyond have probability below 1e-8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float StandardNormal(ulong key, ulong counter)
    {
        ulong bits = Bits(key, counter);
        float u1 = ((int)(bits >> 40) + 1) * (1f / 16777216f);
        float u2 = (int)((bits >> 16) & 0xFFFFFF) * (1f / 16777216f);
        return MathF.Sqrt(-2f * Kernels.DeviceMath.Log(u1)) * Kernels.DeviceMath.CosTwoPi(u2);
    }
}
