namespace NetGen.Backends;

/// <summary>L1 and L2 penalties (Keras's regularizers). The default implementations work on host copies.</summary>
public partial interface IBackend
{
    /// <summary>Σ l1·|x| + l2·x² over <paramref name="count"/> floats at <paramref name="x"/>.</summary>
    double RegularizationPenalty(int x, int count, float l1, float l2)
    {
        var values = new float[count];
        Download(x, values);
        return RegularizationMath.Penalty(values, l1, l2);
    }

    /// <summary>g += l1·sign(x) + 2·l2·x over <paramref name="count"/> floats: the penalty's gradient, added.</summary>
    void RegularizationGradient(int x, int g, int count, float l1, float l2)
    {
        var values = new float[count];
        var gradient = new float[count];
        Download(x, values);
        Download(g, gradient);
        RegularizationMath.AddGradient(values, gradient, l1, l2);
        Upload(gradient, g);
    }
}

internal static class RegularizationMath
{
    public static double Penalty(ReadOnlySpan<float> x, float l1, float l2)
    {
        double sum = 0;
        foreach (float v in x) sum += l1 * Math.Abs((double)v) + l2 * (double)v * v;
        return sum;
    }

    public static void AddGradient(ReadOnlySpan<float> x, Span<float> g, float l1, float l2)
    {
        for (int i = 0; i < x.Length; i++) g[i] += l1 * MathF.Sign(x[i]) + 2 * l2 * x[i];
    }
}
