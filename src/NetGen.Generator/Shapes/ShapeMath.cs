using System;
using System.Globalization;

namespace NetGen.Generator.Shapes;

/// <summary>Pure shape helpers shared by all layer rules.</summary>
internal static class ShapeMath
{
    public static int Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p *= d;
        return p > int.MaxValue ? int.MaxValue : (int)p;
    }

    public static long LongProduct(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p *= d;
        return p;
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
}
