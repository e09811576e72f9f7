using System.Numerics.Tensors;

namespace NetGen.Backends;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void MergeForward(MergeOperation operation, int count, int y, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Elementwise(operation, count, inputs.Length);
        float* dst = At(y);
        for (int k = 1; k < inputs.Length; k++)
        {
            float* a = k == 1 ? At(inputs[0]) : dst, b = At(inputs[k]);
            switch (operation)
            {
                case MergeOperation.Add or MergeOperation.Average: RunPointwise(Pointwise.Add, count, a, b, dst); break;
                case MergeOperation.Subtract: RunPointwise(Pointwise.Subtract, count, a, b, dst); break;
                case MergeOperation.Multiply: RunPointwise(Pointwise.Multiply, count, a, b, dst); break;
                case MergeOperation.Maximum: MaxFirst(Span(k == 1 ? inputs[0] : y, count), Span(inputs[k], count), Span(y, count)); break;
                case MergeOperation.Minimum: MinFirst(Span(k == 1 ? inputs[0] : y, count), Span(inputs[k], count), Span(y, count)); break;
            }
        }
        if (operation == MergeOperation.Average) RunPointwise(Pointwise.Scale, count, dst, null, dst, 1f / inputs.Length);
    }

    // Keras folds with backend maximum/minimum; NaN handling follows IEEE maxNum-free comparison: a when a >= b.
    private static void MaxFirst(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = a[i] >= b[i] ? a[i] : b[i];
    }

    private static void MinFirst(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = a[i] <= b[i] ? a[i] : b[i];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Two inputs added, subtracted or multiplied and a ReLU run in one pass (each run of the tensor is merged, then
    /// rectified while it is in cache): the same values as the two passes.
    /// </remarks>
    public void MergeForward(MergeOperation operation, int count, in Epilogue epilogue, int y, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Activation(epilogue);
        MergeChecks.Elementwise(operation, count, inputs.Length);
        if (inputs.Length == 2 && epilogue.Activation == ActivationFunction.Relu && !epilogue.StoresPreActivation &&
            operation is MergeOperation.Add or MergeOperation.Subtract or MergeOperation.Multiply)
        {
            var op = operation switch { MergeOperation.Add => Pointwise.Add, MergeOperation.Subtract => Pointwise.Subtract, _ => Pointwise.Multiply };
            RunPointwise(op, count, At(inputs[0]), At(inputs[1]), At(y), thenRelu: true);
            return;
        }
        MergeForward(operation, count, y, inputs);
        if (epilogue.StoresPreActivation) Copy(y, epilogue.PreActivation, count);
        if (epilogue.Activation != ActivationFunction.Linear) ActivationForward(epilogue.Activation, epilogue.Alpha, count, 1, y, y);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A ReLU's derivative and an Add, Subtract or Average input's gradient into another buffer run in one pass (each
    /// run of dy is masked in place, then copied, scaled or added while it is in cache).
    /// </remarks>
    public void MergeBackward(MergeOperation operation, int count, int index, in Epilogue epilogue, int y, int dy, int dx, bool accumulate,
        params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Activation(epilogue);
        MergeChecks.Elementwise(operation, count, inputs.Length, index);
        if (epilogue.Activation == ActivationFunction.Relu && dx != dy &&
            operation is MergeOperation.Add or MergeOperation.Subtract or MergeOperation.Average)
        {
            PassThroughBackward(operation, count, index, inputs.Length, At(dy), At(dx), accumulate, reluOutput: At(y));
            return;
        }
        if (epilogue.Activation != ActivationFunction.Linear)
            ActivationBackward(epilogue.Activation, epilogue.Alpha, count, 1, epilogue.PreActivation, y, dy, dy);
        MergeBackward(operation, count, index, y, dy, dx, accumulate, inputs);
    }

    /// <summary>
    /// Add's, Subtract's or Average's input gradient: dy scaled by 1, −1 or 1/n, written to dx or added to it; with
    /// <paramref name="reluOutput"/>, dy is first multiplied in place by the ReLU's derivative read from that output.
    /// </summary>
    private void PassThroughBackward(MergeOperation operation, int count, int index, int n, float* g, float* d, bool accumulate,
        float* reluOutput = null)
    {
        float scale = operation == MergeOperation.Average ? 1f / n : operation == MergeOperation.Subtract && index == 1 ? -1f : 1f;
        if (accumulate)
        {
            if (scale == 1f) RunPointwise(Pointwise.Add, count, d, g, d, maskBy: reluOutput, masked: g);
            else RunPointwise(Pointwise.ScaleAdd, count, g, d, d, scale, maskBy: reluOutput, masked: g);
        }
        else if (scale == 1f)
        {
            if (g != d) RunPointwise(Pointwise.Copy, count, g, null, d, maskBy: reluOutput, masked: g);
        }
        else RunPointwise(Pointwise.Scale, count, g, null, d, scale, maskBy: reluOutput, masked: g);
    }

    /// <inheritdoc/>
    public void MergeBackward(MergeOperation operation, int count, int index, int y, int dy, int dx, bool accumulate, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Elementwise(operation, count, inputs.Length, index);
        float* g = At(dy), d = At(dx), o = At(y);
        int n = inputs.Length;
        switch (operation)
        {
            case MergeOperation.Add:
            case MergeOperation.Subtract:
            case MergeOperation.Average:
                PassThroughBackward(operation, count, index, n, g, d, accumulate);
                break;
            case MergeOperation.Multiply:
                for (int i = 0; i < count; i++)
                {
                    // The product of the other inputs in input order, then times dy (the ILGPU kernels' order).
                    float p = 1f;
                    bool first = true;
                    for (int k = 0; k < n; k++)
                    {
                        if (k == index) continue;
                        p = first ? At(inputs[k])[i] : p * At(inputs[k])[i];
                        first = false;
                    }
                    float v = g[i] * p;
                    d[i] = accumulate ? d[i] + v : v;
                }
                break;
            default: // Maximum, Minimum: the first input equal to the output takes the gradient
                for (int i = 0; i < count; i++)
                {
                    int winner = 0;
                    while (winner < n - 1 && At(inputs[winner])[i] != o[i]) winner++;
                    float v = winner == index ? g[i] : 0f;
                    d[i] = accumulate ? d[i] + v : v;
                }
                break;
        }
    }

    /// <inheritdoc/>
    public void ConcatenateForward(int rows, int width, int total, int offset, int x, int y)
    {
        MergeChecks.Concatenate(rows, width, total, offset);
        for (int r = 0; r < rows; r++)
            Span(x + r * width, width).CopyTo(Span(y + r * total + offset, width));
    }

    /// <inheritdoc/>
    public void ConcatenateBackward(int rows, int width, int total, int offset, int dy, int dx, bool accumulate)
    {
        MergeChecks.Concatenate(rows, width, total, offset);
        for (int r = 0; r < rows; r++)
        {
            var src = Span(dy + r * total + offset, width);
            var dst = Span(dx + r * width, width);
            if (accumulate) TensorPrimitives.Add(dst, src, dst);
            else src.CopyTo(dst);
        }
    }

    /// <inheritdoc/>
    public void Accumulate(int count, int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        RunPointwise(Pointwise.Add, count, At(y), At(x), At(y));
    }
}
