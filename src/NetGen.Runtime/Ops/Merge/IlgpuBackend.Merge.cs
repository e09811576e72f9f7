using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void MergeForward(MergeOperation operation, int count, int y, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Elementwise(operation, count, inputs.Length);
        if (count == 0) return;
        var dst = V(y, count);
        int op = operation == MergeOperation.Average ? (int)MergeOperation.Add : (int)operation;
        for (int k = 1; k < inputs.Length; k++)
            _k.Merge.Binary(count, k == 1 ? V(inputs[0], count) : dst, V(inputs[k], count), dst, op);
        if (operation == MergeOperation.Average) _k.Merge.Scale(count, dst, 1f / inputs.Length);
    }

    /// <inheritdoc/>
    public void MergeBackward(MergeOperation operation, int count, int index, int y, int dy, int dx, bool accumulate, params ReadOnlySpan<int> inputs)
    {
        MergeChecks.Elementwise(operation, count, inputs.Length, index);
        if (count == 0) return;
        int n = inputs.Length;
        var aux = _none;
        if (operation == MergeOperation.Multiply)
        {
            aux = ScratchF(count).SubView(0, count);
            bool first = true;
            for (int k = 0; k < n; k++)
            {
                if (k == index) continue;
                _k.Merge.Product(count, V(inputs[k], count), aux, first ? 1 : 0);
                first = false;
            }
        }
        else if (operation is MergeOperation.Maximum or MergeOperation.Minimum)
        {
            var scratch = ScratchF(2L * count);
            aux = scratch.SubView(0, count);
            var state = scratch.SubView(count, count);
            var output = V(y, count);
            for (int k = 0; k <= index; k++)
                _k.Merge.FirstHolder(count, V(inputs[k], count), output, state, aux, k * 2 + (k == index ? 1 : 0));
        }
        float scale = operation == MergeOperation.Average ? 1f / n : operation == MergeOperation.Subtract && index == 1 ? -1f : 1f;
        _k.Merge.Backward(count, V(dy, count), aux, V(dx, count), new MergeBackwardParams(operation, scale, accumulate ? 1 : 0));
    }

    /// <inheritdoc/>
    public void ConcatenateForward(int rows, int width, int total, int offset, int x, int y)
    {
        MergeChecks.Concatenate(rows, width, total, offset);
        long count = (long)rows * width;
        if (count == 0) return;
        _k.Merge.ConcatForward(checked((int)count), V(x, count), V(y, (long)rows * total), new ConcatParams(width, total, offset, 0));
    }

    /// <inheritdoc/>
    public void ConcatenateBackward(int rows, int width, int total, int offset, int dy, int dx, bool accumulate)
    {
        MergeChecks.Concatenate(rows, width, total, offset);
        long count = (long)rows * width;
        if (count == 0) return;
        _k.Merge.ConcatBackward(checked((int)count), V(dy, (long)rows * total), V(dx, count), new ConcatParams(width, total, offset, accumulate ? 1 : 0));
    }

    /// <inheritdoc/>
    public void Accumulate(int count, int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        _k.Merge.Accumulate(count, V(x, count), V(y, count));
    }

    internal sealed partial class KernelSet
    {
        private MergeKernelSet? _merge;

        /// <summary>Merge kernels, loaded on first use.</summary>
        public MergeKernelSet Merge
        {
            get
            {
                var set = Volatile.Read(ref _merge);
                if (set is not null) return set;
                lock (_activations) return _merge ??= new MergeKernelSet(this);
            }
        }
    }

    /// <summary>The launchers of <see cref="MergeKernels"/>.</summary>
    internal sealed class MergeKernelSet(KernelSet k)
    {
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> Binary { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(MergeKernels.Binary);

        public Action<Index1D, ArrayView<float>, float> Scale { get; } =
            k.Elementwise<ArrayView<float>, float>(MergeKernels.Scale);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, MergeBackwardParams> Backward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, MergeBackwardParams>(MergeKernels.Backward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, int> Product { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, int>(MergeKernels.Product);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> FirstHolder { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(MergeKernels.FirstHolder);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ConcatParams> ConcatForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ConcatParams>(MergeKernels.ConcatForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ConcatParams> ConcatBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ConcatParams>(MergeKernels.ConcatBackward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>> Accumulate { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>>(MergeKernels.Accumulate);
    }
}
