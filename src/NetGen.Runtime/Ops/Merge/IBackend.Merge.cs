namespace NetGen.Backends;

/// <summary>Keras's element-wise merge layers.</summary>
public enum MergeOperation
{
    /// <summary>y = Σ xᵢ.</summary>
    Add,
    /// <summary>y = x₀ − x₁.</summary>
    Subtract,
    /// <summary>y = Π xᵢ.</summary>
    Multiply,
    /// <summary>y = (Σ xᵢ) / n.</summary>
    Average,
    /// <summary>y = max xᵢ; the gradient goes to the first input holding it.</summary>
    Maximum,
    /// <summary>y = min xᵢ; the gradient goes to the first input holding it.</summary>
    Minimum,
}

/// <summary>
/// Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and gradient accumulation, for
/// networks whose layers read several inputs or whose outputs several layers read. Checks: <see cref="MergeChecks"/>.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// y[i] = op(x₀[i], x₁[i], ...) for i &lt; <paramref name="count"/>, folding left to right in float
    /// (Average divides the sum by n at the end). y may be one of the inputs.
    /// </summary>
    void MergeForward(MergeOperation operation, int count, int y, params ReadOnlySpan<int> inputs);

    /// <summary>
    /// The gradient of input <paramref name="index"/>: Add dy, Subtract ±dy, Average dy/n, Multiply dy·Π_{j≠index} xⱼ,
    /// Maximum/Minimum dy where input <paramref name="index"/> is the first holding y, else 0. Written to dx, or added
    /// to it with <paramref name="accumulate"/>. dx may be dy.
    /// </summary>
    void MergeBackward(MergeOperation operation, int count, int index, int y, int dy, int dx, bool accumulate, params ReadOnlySpan<int> inputs);

    /// <summary>
    /// <see cref="MergeForward(MergeOperation, int, int, ReadOnlySpan{int})"/> with an element-wise activation layer
    /// fused after it (ResNet's Add + ReLU): y = act(op(x₀, x₁, ...)), and the merged value before the activation kept at
    /// the epilogue's pre-activation slot where it has one. No dropout, no softmax (<see cref="MergeChecks.Activation"/>).
    /// This default runs the merge, then the activation; a backend may do both in one pass over the tensor.
    /// </summary>
    void MergeForward(MergeOperation operation, int count, in Epilogue epilogue, int y, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Activation(epilogue);
        MergeForward(operation, count, y, inputs);
        if (epilogue.StoresPreActivation) Copy(y, epilogue.PreActivation, count);
        if (epilogue.Activation != ActivationFunction.Linear) ActivationForward(epilogue.Activation, epilogue.Alpha, count, 1, y, y);
    }

    /// <summary>
    /// <see cref="MergeBackward(MergeOperation, int, int, int, int, int, bool, ReadOnlySpan{int})"/> of a merge with an
    /// activation fused after it (<see cref="MergeForward(MergeOperation, int, in Epilogue, int, ReadOnlySpan{int})"/>):
    /// first dy = dy·act'(y) in place, with y the merge's activated output (and its pre-activation where the epilogue
    /// keeps one), then input <paramref name="index"/>'s gradient from that dy. Pass the epilogue on the first of the
    /// merge's backward calls only: the later ones read the dy it left. This default runs the two one after the other; a
    /// backend may do both in one pass.
    /// </summary>
    void MergeBackward(MergeOperation operation, int count, int index, in Epilogue epilogue, int y, int dy, int dx, bool accumulate,
        params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Activation(epilogue);
        MergeChecks.Elementwise(operation, count, inputs.Length, index);
        if (epilogue.Activation != ActivationFunction.Linear)
            ActivationBackward(epilogue.Activation, epilogue.Alpha, count, 1, epilogue.PreActivation, y, dy, dy);
        MergeBackward(operation, count, index, y, dy, dx, accumulate, inputs);
    }

    /// <summary>
    /// One input of a concatenation: y[r, offset + c] = x[r, c] for r &lt; rows, c &lt; width, where y's rows are
    /// <paramref name="total"/> long. x and y must not overlap.
    /// </summary>
    void ConcatenateForward(int rows, int width, int total, int offset, int x, int y);

    /// <summary>
    /// Backward of <see cref="ConcatenateForward"/>: dx[r, c] = dy[r, offset + c], or added to dx with
    /// <paramref name="accumulate"/>. dx and dy must not overlap.
    /// </summary>
    void ConcatenateBackward(int rows, int width, int total, int offset, int dy, int dx, bool accumulate);

    /// <summary>y[i] += x[i] for i &lt; <paramref name="count"/>: a gradient from one more reader of a tensor.</summary>
    void Accumulate(int count, int x, int y);
}

/// <summary>Argument checks of the merge operations, shared by every backend (the wrapper checks, the kernel trusts).</summary>
public static class MergeChecks
{
    /// <summary>Checks an element-wise merge's arguments.</summary>
    public static void Elementwise(MergeOperation operation, int count, int inputCount, int index = 0)
    {
        if ((uint)operation > (uint)MergeOperation.Minimum)
            throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown merge operation.");
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (inputCount < 2 || (operation == MergeOperation.Subtract && inputCount != 2))
            throw new ArgumentException(
                $"{operation} takes {(operation == MergeOperation.Subtract ? "exactly 2" : "at least 2")} inputs; got {inputCount}.");
        if (index < 0 || index >= inputCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The input index must be below the {inputCount} inputs.");
    }

    /// <summary>Checks the activation fused into an element-wise merge: element-wise (not softmax), no dropout.</summary>
    public static void Activation(in Epilogue epilogue)
    {
        epilogue.CheckNoDropout("A merge");
        if (epilogue.Activation == ActivationFunction.Softmax)
            throw new ArgumentException("A merge does not fuse a softmax (it normalises each row): run ActivationForward after the merge.", nameof(epilogue));
    }

    /// <summary>Checks one concatenated input's geometry.</summary>
    public static void Concatenate(int rows, int width, int total, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        if (offset < 0 || offset + width > total)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"Columns [{offset}, {offset + width}) do not fit rows of {total}.");
    }
}
