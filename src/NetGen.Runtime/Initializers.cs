namespace NetGen;

/// <summary>Fills parameter tensors with Keras 2's initializers, drawn from <see cref="CounterRng"/>.</summary>
public static class Initializers
{
    /// <summary>The std of N(0,1) truncated to [-2, 2]; Keras divides σ by it.</summary>
    private const double TruncatedStd = 0.87962566103423978;

    /// <summary>Fills <paramref name="target"/> with <paramref name="initializer"/> for the given fans.</summary>
    /// <param name="target">The tensor's elements.</param>
    /// <param name="initializer">Which initializer.</param>
    /// <param name="fanIn">Keras's fan_in (inputs of a Dense kernel).</param>
    /// <param name="fanOut">Keras's fan_out (units of a Dense kernel).</param>
    /// <param name="seed">The model's seed.</param>
    /// <param name="stream">A number unique to this tensor within the model.</param>
    public static void Fill(Span<float> target, Initializer initializer, int fanIn, int fanOut, ulong seed, int stream)
    {
        ulong key = CounterRng.Key(seed, (ulong)stream, ulong.MaxValue);
        switch (initializer)
        {
            case Initializer.Zeros: target.Clear(); break;
            case Initializer.Ones: target.Fill(1f); break;
            case Initializer.GlorotUniform: Uniform(target, Math.Sqrt(6.0 / (fanIn + fanOut)), key); break;
            case Initializer.HeUniform: Uniform(target, Math.Sqrt(6.0 / fanIn), key); break;
            case Initializer.GlorotNormal: Truncated(target, Math.Sqrt(2.0 / (fanIn + fanOut)) / TruncatedStd, key); break;
            case Initializer.HeNormal: Truncated(target, Math.Sqrt(2.0 / fanIn) / TruncatedStd, key); break;
            case Initializer.LecunNormal: Truncated(target, Math.Sqrt(1.0 / fanIn) / TruncatedStd, key); break;
            case Initializer.RandomNormal:
                for (int i = 0; i < target.Length; i++) target[i] = (float)(0.05 * CounterRng.Normal(key, (ulong)i));
                break;
            case Initializer.RandomUniform: Uniform(target, 0.05, key); break;
            case Initializer.Orthogonal: Orthogonal(target, fanIn, fanOut, key); break;
            default: throw new ArgumentOutOfRangeException(nameof(initializer), initializer, "Unknown initializer.");
        }
    }

    /// <summary>
    /// Keras's Orthogonal (gain 1) for a (rows, cols) matrix, <paramref name="rows"/> = the product of all axes but
    /// the last: the Q of a QR decomposition of a normal matrix (of the transposed shape when rows &lt; cols), its
    /// columns' signs fixed by R's diagonal. Modified Gram-Schmidt in double.
    /// </summary>
    private static void Orthogonal(Span<float> target, int rows, int cols, ulong key)
    {
        if ((long)rows * cols != target.Length)
            throw new ArgumentException($"An orthogonal {rows}x{cols} matrix has {(long)rows * cols} values, not {target.Length}.", nameof(target));
        bool flip = rows < cols;
        int n = flip ? cols : rows, m = flip ? rows : cols; // q is n x m with m <= n orthonormal columns
        var a = new double[n * m];
        for (int i = 0; i < a.Length; i++) a[i] = CounterRng.Normal(key, (ulong)i);
        for (int j = 0; j < m; j++)
        {
            for (int k = 0; k < j; k++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += a[i * m + j] * a[i * m + k];
                for (int i = 0; i < n; i++) a[i * m + j] -= dot * a[i * m + k];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += a[i * m + j] * a[i * m + j];
            norm = Math.Sqrt(norm);
            // R's diagonal is this norm (positive): the sign correction of Keras leaves Gram-Schmidt's Q as it is.
            for (int i = 0; i < n; i++) a[i * m + j] = norm > 0 ? a[i * m + j] / norm : 0;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                target[r * cols + c] = (float)(flip ? a[c * m + r] : a[r * m + c]);
    }

    private static void Uniform(Span<float> target, double limit, ulong key)
    {
        for (int i = 0; i < target.Length; i++)
            target[i] = (float)((2 * CounterRng.Uniform(key, (ulong)i) - 1) * limit);
    }

    /// <summary>Normal with σ, redrawn (from further counters) until within 2σ, as TF's truncated_normal.</summary>
    private static void Truncated(Span<float> target, double sigma, ulong key)
    {
        ulong n = (ulong)target.Length;
        for (int i = 0; i < target.Length; i++)
        {
            double z;
            ulong attempt = 0;
            do z = CounterRng.Normal(key, (ulong)i + n * attempt++);
            while (Math.Abs(z) > 2);
            target[i] = (float)(z * sigma);
        }
    }
}
