using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void BatchNormFrozenScale(int rows, int channels, float epsilon, int gamma, int movingVariance, int dy, int dx, bool accumulate = false)
    {
        if (rows <= 0 || channels <= 0) return;
        long count = (long)rows * channels;
        _k.BatchNormFrozen(checked((int)count), V(dy, count), V(gamma, channels), V(movingVariance, channels), V(dx, count), channels, epsilon,
            accumulate ? 1 : 0);
    }

    internal sealed partial class KernelSet
    {
        private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int>? _batchNormFrozen;

        /// <summary>The frozen batch norm's gradient scale, loaded on first use.</summary>
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int> BatchNormFrozen
        {
            get
            {
                var k = Volatile.Read(ref _batchNormFrozen);
                if (k is not null) return k;
                lock (_activations)
                    return _batchNormFrozen ??= Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int>(
                        BatchNormFrozenKernels.Scale);
            }
        }
    }
}
