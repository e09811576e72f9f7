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

/// <summary>The contractive autoencoder's penalty (seed 004), with host-copy defaults.</summary>
public partial interface IBackend
{
    /// <summary>
    /// λ·Σ_samples Σ_j (h_j(1 − h_j))²·Σ_i W_ij² for a sigmoid layer's outputs h [batch, units] and kernel W
    /// [inputs, units]: ‖∂h/∂x‖²_F summed over the batch.
    /// </summary>
    double ContractivePenalty(int h, int kernel, int batch, int inputs, int units, float lambda)
    {
        var hh = new float[(long)batch * units];
        var w = new float[(long)inputs * units];
        Download(h, hh);
        Download(kernel, w);
        return RegularizationMath.ContractivePenalty(hh, w, batch, inputs, units, lambda);
    }

    /// <summary>
    /// Adds the penalty's gradient (times <paramref name="scale"/>): to dh [batch, units] when <paramref name="dh"/> ≥ 0
    /// (2·w_j·h(1 − h)(1 − 2h)), and to dW [inputs, units] when <paramref name="dKernel"/> ≥ 0 (2·W_ij·Σ_s (h(1 − h))²).
    /// </summary>
    void ContractiveGradient(int h, int kernel, int dh, int dKernel, int batch, int inputs, int units, float scale)
    {
        var hh = new float[(long)batch * units];
        var w = new float[(long)inputs * units];
        Download(h, hh);
        Download(kernel, w);
        if (dh >= 0)
        {
            var d = new float[hh.Length];
            Download(dh, d);
            RegularizationMath.ContractiveOutputGradient(hh, w, d, batch, inputs, units, scale);
            Upload(d, dh);
        }
        if (dKernel >= 0)
        {
            var d = new float[w.Length];
            Download(dKernel, d);
            RegularizationMath.ContractiveKernelGradient(hh, w, d, batch, inputs, units, scale);
            Upload(d, dKernel);
        }
    }
}

internal static class RegularizationMath
{
    private static double[] ColumnSquares(ReadOnlySpan<float> w, int inputs, int units)
    {
        var sums = new double[units];
        for (int i = 0; i < inputs; i++)
            for (int j = 0; j < units; j++) sums[j] += (double)w[i * units + j] * w[i * units + j];
        return sums;
    }

    public static double ContractivePenalty(ReadOnlySpan<float> h, ReadOnlySpan<float> w, int batch, int inputs, int units, float lambda)
    {
        var ws = ColumnSquares(w, inputs, units);
        double sum = 0;
        for (int s = 0; s < batch; s++)
            for (int j = 0; j < units; j++)
            {
                double d = h[s * units + j] * (1.0 - h[s * units + j]);
                sum += d * d * ws[j];
            }
        return lambda * sum;
    }

    public static void ContractiveOutputGradient(ReadOnlySpan<float> h, ReadOnlySpan<float> w, Span<float> dh, int batch, int inputs, int units, float scale)
    {
        var ws = ColumnSquares(w, inputs, units);
        for (int s = 0; s < batch; s++)
            for (int j = 0; j < units; j++)
            {
                double v = h[s * units + j];
                dh[s * units + j] += (float)(scale * 2 * ws[j] * v * (1 - v) * (1 - 2 * v));
            }
    }

    public static void ContractiveKernelGradient(ReadOnlySpan<float> h, ReadOnlySpan<float> w, Span<float> dw, int batch, int inputs, int units, float scale)
    {
        var squares = new double[units];
        for (int s = 0; s < batch; s++)
            for (int j = 0; j < units; j++)
            {
                double d = h[s * units + j] * (1.0 - h[s * units + j]);
                squares[j] += d * d;
            }
        for (int i = 0; i < inputs; i++)
            for (int j = 0; j < units; j++) dw[i * units + j] += (float)(scale * 2 * w[i * units + j] * squares[j]);
    }

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
