using System;
using System.Globalization;

namespace NetGen.Generator.Shapes;

/// <summary>
/// The sizes generated code can address, in floats: its offsets are <c>int</c>s (NG0016 reports a network past them).
/// </summary>
internal static class Limits
{
    /// <summary>Training floats per sample: every slot of the training arena, pre-activations and caches included.</summary>
    public const long ArenaFloats = int.MaxValue;

    /// <summary>
    /// One tensor per sample (a layer's output, a kernel's effective window), and all parameters: they sit in one block
    /// with their gradients and two optimizer slots, four times their size.
    /// </summary>
    public const long TensorFloats = int.MaxValue / 4;
}

/// <summary>Pure shape helpers shared by all layer rules.</summary>
internal static class ShapeMath
{
    /// <summary>The element count, saturated at int.MaxValue (callers check sizes with <see cref="LongProduct"/> first).</summary>
    public static int Product(ReadOnlySpan<int> shape)
    {
        long p = LongProduct(shape);
        return p > int.MaxValue ? int.MaxValue : p < int.MinValue ? int.MinValue : (int)p;
    }

    /// <summary>A count far beyond anything that fits: where a product saturates, so that it can never wrap around.</summary>
    public const long Huge = 1L << 62;

    /// <summary>The element count in long, saturated at ±<see cref="Huge"/>: 4194304³ is Huge, never 0 after wrapping.</summary>
    public static long LongProduct(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p = SaturatingMultiply(p, d);
        return p;
    }

    /// <summary>a·b for |a| ≤ Huge, saturated at ±<see cref="Huge"/>.</summary>
    public static long SaturatingMultiply(long a, long b)
    {
        if (a == 0 || b == 0) return 0;
        bool negative = (a < 0) != (b < 0);
        ulong x = (ulong)Math.Abs(a), y = (ulong)Math.Abs(b == long.MinValue ? long.MaxValue : b);
        return x > (ulong)Huge / y ? (negative ? -Huge : Huge) : (negative ? -(long)(x * y) : (long)(x * y));
    }

    /// <summary>A per-sample shape as Keras prints it with the batch axis: <c>(None, 28, 28, 1)</c>.</summary>
    public static string Keras(ReadOnlySpan<int> shape)
    {
        var s = "(None";
        foreach (int d in shape) s += ", " + d.ToString(CultureInfo.InvariantCulture);
        return s + ")";
    }

    /// <summary>A per-sample shape as a tuple: <c>(28, 28, 1)</c>, or <c>(784,)</c> for rank 1.</summary>
    public static string Tuple(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 1) return "(" + shape[0].ToString(CultureInfo.InvariantCulture) + ",)";
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        return "(" + string.Join(", ", parts) + ")";
    }

    /// <summary>Effective kernel extent with dilation: k + (k - 1)(d - 1).</summary>
    public static long EffectiveKernel(int k, int d) => k + (long)(k - 1) * (d - 1);

    /// <summary>Keras's <c>conv_output_length</c>: same → ceil(in / s); valid → floor((in - k_eff) / s) + 1 (may be ≤ 0).</summary>
    public static long ConvOutput(int input, int k, int s, int d, bool same)
    {
        if (same) return (input + (long)s - 1) / s;
        long numerator = input - EffectiveKernel(k, d);
        return numerator < 0 ? 0 : numerator / s + 1;
    }

    /// <summary>TensorFlow's padding before (top/left) for <c>same</c>: floor(max(0, (out - 1)s + k_eff - in) / 2).</summary>
    public static int SamePadBefore(int input, int output, int k, int s, int d)
    {
        long total = Math.Max(0, (long)(output - 1) * s + EffectiveKernel(k, d) - input);
        return (int)(total / 2);
    }
}
