using ILGPU;
using NetGen.Backends;

namespace NetGen.Kernels;

/// <summary>Parameters of <see cref="MergeKernels.Backward"/>.</summary>
internal struct MergeBackwardParams(MergeOperation operation, float scale, int accumulate)
{
    /// <summary>The merge, as its enum value.</summary>
    public int Operation = (int)operation;
    /// <summary>Add/Subtract/Average: the factor on dy (1, −1 or 1/n).</summary>
    public float Scale = scale;
    /// <summary>1: dx += gradient; 0: dx = gradient.</summary>
    public int Accumulate = accumulate;
}

/// <summary>Geometry of <see cref="MergeKernels.ConcatForward"/> and <see cref="MergeKernels.ConcatBackward"/>.</summary>
internal struct ConcatParams(int width, int total, int offset, int accumulate)
{
    /// <summary>Columns of this input.</summary>
    public int Width = width;
    /// <summary>Columns of the output.</summary>
    public int Total = total;
    /// <summary>This input's first column in the output.</summary>
    public int Offset = offset;
    /// <summary>Backward: 1 adds to dx.</summary>
    public int Accumulate = accumulate;
}

/// <summary>
/// Merge layers, one thread per element. An n-ary merge runs as n − 1 binary passes (the first reads x₀ and x₁, the
/// others fold into y), the CPU backend's order, so both give the same floats. Multiply's and Maximum/Minimum's
/// backward take the other inputs two at a time through <see cref="Product"/> and <see cref="FirstHolder"/>.
/// </summary>
internal static class MergeKernels
{
    /// <summary>y = op(a, b) for Add (also Average's sum), Subtract, Multiply, Maximum, Minimum.</summary>
    /// <param name="index">Element.</param>
    /// <param name="a">Left operand [count].</param>
    /// <param name="b">Right operand [count].</param>
    /// <param name="y">Result [count]; may be a.</param>
    /// <param name="operation">The <see cref="MergeOperation"/> value.</param>
    internal static void Binary(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int operation)
    {
        float u = a[index], v = b[index];
        y[index] = operation switch
        {
            (int)MergeOperation.Subtract => u - v,
            (int)MergeOperation.Multiply => u * v,
            (int)MergeOperation.Maximum => u >= v ? u : v,
            (int)MergeOperation.Minimum => u <= v ? u : v,
            _ => u + v,
        };
    }

    /// <summary>y = y·s (Average's division by n).</summary>
    /// <param name="index">Element.</param>
    /// <param name="y">[count], scaled in place.</param>
    /// <param name="s">The factor.</param>
    internal static void Scale(Index1D index, ArrayView<float> y, float s) => y[index] = y[index] * s;

    /// <summary>
    /// The gradient of one input for Add, Subtract and Average (dy·Scale), Multiply (dy·p, p the product of the other
    /// inputs, already in <paramref name="aux"/>) and Maximum/Minimum (dy where <paramref name="aux"/> is 1).
    /// </summary>
    /// <param name="index">Element.</param>
    /// <param name="dy">Output gradient [count].</param>
    /// <param name="aux">Multiply: the product of the other inputs; Maximum/Minimum: 1 where this input takes the gradient; else unused.</param>
    /// <param name="dx">Input gradient [count], written or added to; may be dy.</param>
    /// <param name="p">Operation, scale and accumulate flag.</param>
    internal static void Backward(Index1D index, ArrayView<float> dy, ArrayView<float> aux, ArrayView<float> dx, MergeBackwardParams p)
    {
        float g = dy[index];
        float v = p.Operation switch
        {
            (int)MergeOperation.Multiply => g * aux[index],
            (int)MergeOperation.Maximum or (int)MergeOperation.Minimum => aux[index] != 0f ? g : 0f,
            _ => g * p.Scale,
        };
        dx[index] = p.Accumulate != 0 ? dx[index] + v : v;
    }

    /// <summary>p = first ? x : p·x: the product of the inputs other than the one whose gradient is wanted.</summary>
    /// <param name="index">Element.</param>
    /// <param name="x">One other input [count].</param>
    /// <param name="p">Running product [count].</param>
    /// <param name="first">1 for the first factor.</param>
    internal static void Product(Index1D index, ArrayView<float> x, ArrayView<float> p, int first) =>
        p[index] = first != 0 ? x[index] : p[index] * x[index];

    /// <summary>
    /// Walks the inputs in order for Maximum/Minimum: <paramref name="state"/> is 0 until an input equals y; the input
    /// that first does gets 1 in <paramref name="mask"/> when it is the one whose gradient is wanted.
    /// </summary>
    /// <param name="index">Element.</param>
    /// <param name="x">Input k [count].</param>
    /// <param name="y">Merge output [count].</param>
    /// <param name="state">[count]: 1 once an earlier input held y (reset with <paramref name="k"/> = 0).</param>
    /// <param name="mask">[count]: set to 1 where input k is the wanted one and the first holder.</param>
    /// <param name="k">Input position, and in the high bits whether it is the wanted one: k·2 + wanted.</param>
    internal static void FirstHolder(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> state, ArrayView<float> mask, int k)
    {
        int position = k >> 1;
        bool wanted = (k & 1) != 0;
        float before = position == 0 ? 0f : state[index];
        bool holds = before == 0f && x[index] == y[index];
        if (wanted) mask[index] = holds ? 1f : 0f;
        state[index] = before != 0f || holds ? 1f : 0f;
    }

    /// <summary>y[r, Offset + c] = x[r, c].</summary>
    /// <param name="index">Element of x, [rows·Width].</param>
    /// <param name="x">One input [rows, Width].</param>
    /// <param name="y">Output [rows, Total].</param>
    /// <param name="g">Geometry.</param>
    internal static void ConcatForward(Index1D index, ArrayView<float> x, ArrayView<float> y, ConcatParams g)
    {
        int r = index / g.Width, c = index - r * g.Width;
        y[(long)r * g.Total + g.Offset + c] = x[index];
    }

    /// <summary>dx[r, c] = dy[r, Offset + c], or added.</summary>
    /// <param name="index">Element of dx, [rows·Width].</param>
    /// <param name="dy">Output gradient [rows, Total].</param>
    /// <param name="dx">Input gradient [rows, Width].</param>
    /// <param name="g">Geometry and accumulate flag.</param>
    internal static void ConcatBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, ConcatParams g)
    {
        int r = index / g.Width, c = index - r * g.Width;
        float v = dy[(long)r * g.Total + g.Offset + c];
        dx[index] = g.Accumulate != 0 ? dx[index] + v : v;
    }

    /// <summary>y += x.</summary>
    /// <param name="index">Element.</param>
    /// <param name="x">Added [count].</param>
    /// <param name="y">Accumulated into [count].</param>
    internal static void Accumulate(Index1D index, ArrayView<float> x, ArrayView<float> y) => y[index] = y[index] + x[index];
}
