namespace NetGen.Backends;

/// <summary>Embedding lookups. The default implementations work on host copies, so every backend has them.</summary>
public partial interface IBackend
{
    /// <summary>
    /// y[r, :] = table[x[r], :] for <paramref name="rows"/> indices x (floats holding whole numbers in
    /// [0, <paramref name="inputDim"/>), checked by the model before the pass) and vectors of <paramref name="dim"/>.
    /// </summary>
    void EmbeddingForward(int rows, int dim, int inputDim, int x, int table, int y)
    {
        var indices = new float[rows];
        Download(x, indices);
        var t = new float[(long)inputDim * dim];
        Download(table, t);
        var output = new float[(long)rows * dim];
        EmbeddingMath.Forward(indices, dim, inputDim, t, output);
        Upload(output, y);
    }

    /// <summary>dTable = Σ over rows r of dy[r, :] added into row x[r] (overwriting dTable first).</summary>
    void EmbeddingBackward(int rows, int dim, int inputDim, int x, int dy, int dTable)
    {
        var indices = new float[rows];
        Download(x, indices);
        var d = new float[(long)rows * dim];
        Download(dy, d);
        var dt = new float[(long)inputDim * dim];
        EmbeddingMath.Backward(indices, dim, inputDim, d, dt);
        Upload(dt, dTable);
    }
}

/// <summary>The managed embedding lookups, on spans (the CPU backend's workspace or host copies).</summary>
internal static class EmbeddingMath
{
    /// <summary>The row of an index, or an error naming it (the model checks indices first; this keeps memory safe).</summary>
    private static int Row(float index, int r, int inputDim)
    {
        int i = (int)index;
        if (i != index || i < 0 || i >= inputDim)
            throw new ArgumentException($"Embedding index {index} at position {r} of the batch is not a whole number in [0, {inputDim}).");
        return i;
    }

    public static void Forward(ReadOnlySpan<float> x, int dim, int inputDim, ReadOnlySpan<float> table, Span<float> y)
    {
        for (int r = 0; r < x.Length; r++)
            table.Slice(Row(x[r], r, inputDim) * dim, dim).CopyTo(y.Slice(r * dim, dim));
    }

    public static void Backward(ReadOnlySpan<float> x, int dim, int inputDim, ReadOnlySpan<float> dy, Span<float> dTable)
    {
        dTable[..(inputDim * dim)].Clear();
        for (int r = 0; r < x.Length; r++)
        {
            var target = dTable.Slice(Row(x[r], r, inputDim) * dim, dim);
            var source = dy.Slice(r * dim, dim);
            for (int j = 0; j < dim; j++) target[j] += source[j];
        }
    }
}
