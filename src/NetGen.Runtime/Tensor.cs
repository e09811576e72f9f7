using System.Globalization;

namespace NetGen;

/// <summary>
/// A dense, row-major host tensor of <see cref="float"/>: what a user passes to <c>Fit</c>, <c>Evaluate</c>
/// and <c>Predict</c>, like a NumPy array in Keras. Axis 0 is the sample axis.
/// </summary>
public sealed class Tensor
{
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="data"/> (no copy) with the given shape.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from <c>data.Length</c>.</exception>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0)
            throw new ArgumentException("A tensor needs at least one axis.", nameof(shape));
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape {Format(shape)} has a negative dimension.", nameof(shape));
            count = count > Array.MaxLength ? count : count * d; // saturates: 65536⁴ must not wrap around to 0
        }
        if (Array.IndexOf(shape, 0) >= 0) count = 0;
        if (count != data.Length)
            throw new ArgumentException(
                $"Shape {Format(shape)} holds {count} elements but the data has {data.Length}.", nameof(shape));
        Data = data;
        _shape = (int[])shape.Clone();
    }

    /// <summary>A zero-filled tensor of the given shape.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {Format(shape)} has a negative dimension.", nameof(shape));
            count = count > Array.MaxLength ? count : count * d;
        }
        if (Array.IndexOf(shape, 0) >= 0) count = 0;
        if (count > Array.MaxLength)
            throw new ArgumentException($"Shape {Format(shape)} has more elements than one array can hold ({Array.MaxLength:N0}).", nameof(shape));
        return new Tensor(new float[count], shape);
    }

    /// <summary>The elements, row-major.</summary>
    public float[] Data { get; }

    /// <summary>The shape, axis 0 first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of samples (the size of axis 0).</summary>
    public int Count => _shape[0];

    /// <summary>Elements per sample (the product of all axes but the first).</summary>
    public int SampleSize => _shape[0] == 0 ? 0 : Data.Length / _shape[0];

    /// <summary>Element at a flat row-major index.</summary>
    public float this[int flatIndex]
    {
        get => Data[flatIndex];
        set => Data[flatIndex] = value;
    }

    /// <summary>The same data with another shape (no copy); one dimension may be -1.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int inferred = Array.IndexOf(shape, -1);
        if (inferred >= 0)
        {
            long known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != inferred) known *= shape[i];
            shape = (int[])shape.Clone();
            shape[inferred] = known == 0 ? 0 : (int)(Data.Length / known);
        }
        return new Tensor(Data, shape);
    }

    /// <summary>Copies samples <c>[start, start + count)</c> into a new tensor.</summary>
    public Tensor Slice(int start, int count)
    {
        if (start < 0 || count < 0 || (long)start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"Samples [{start}, {(long)start + count}) are outside a tensor of shape {ShapeString}.");
        int size = SampleSize;
        var data = new float[(long)count * size];
        Array.Copy(Data, (long)start * size, data, 0, data.Length);
        var shape = (int[])_shape.Clone();
        shape[0] = count;
        return new Tensor(data, shape);
    }

    /// <summary>Element-wise multiplication by a scalar, into a new tensor (e.g. <c>x * (1f / 255)</c>).</summary>
    public static Tensor operator *(Tensor t, float s)
    {
        var data = new float[t.Data.Length];
        System.Numerics.Tensors.TensorPrimitives.Multiply(t.Data, s, data);
        return new Tensor(data, t._shape);
    }

    /// <summary>Element-wise division by a scalar, into a new tensor (e.g. <c>x / 255f</c>).</summary>
    public static Tensor operator /(Tensor t, float s) => t * (1f / s);

    /// <summary>The shape as Keras prints it, e.g. <c>(60000, 28, 28)</c>.</summary>
    public string ShapeString => Format(_shape);

    /// <inheritdoc/>
    public override string ToString() => $"Tensor{ShapeString}";

    internal static string Format(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        return shape.Length == 1 ? $"({parts[0]},)" : "(" + string.Join(", ", parts) + ")";
    }
}
