using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

// The general ReLU layer and the noise layers on ILGPU (kernels in Kernels/ReluKernels.cs and Kernels/NoiseKernels.cs).
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void ReluForward(int count, float maxValue, float negativeSlope, float threshold, int x, int y)
    {
        if (count <= 0) return;
        _k.ActivationNoise.ReluForward(count, V(x, count), V(y, count), new ReluParams(maxValue, negativeSlope, threshold));
    }

    /// <inheritdoc/>
    public void ReluBackward(int count, float maxValue, float negativeSlope, float threshold, int x, int dy, int dx)
    {
        if (count <= 0) return;
        _k.ActivationNoise.ReluBackward(count, V(x, count), V(dy, count), V(dx, count), new ReluParams(maxValue, negativeSlope, threshold));
    }

    /// <inheritdoc/>
    public void GaussianNoiseForward(int count, float stddev, ulong key, int x, int y)
    {
        if (count <= 0) return;
        _k.ActivationNoise.GaussianNoise(count, V(x, count), V(y, count), new NoiseParams(key, stddev));
    }

    /// <inheritdoc/>
    public void GaussianDropoutForward(int count, float stddev, ulong key, int x, int y) => GaussianDropout(count, stddev, key, x, y);

    /// <inheritdoc/>
    public void GaussianDropoutBackward(int count, float stddev, ulong key, int dy, int dx) => GaussianDropout(count, stddev, key, dy, dx);

    private void GaussianDropout(int count, float stddev, ulong key, int src, int dst)
    {
        if (count <= 0) return;
        _k.ActivationNoise.GaussianDropout(count, V(src, count), V(dst, count), new NoiseParams(key, stddev));
    }

    /// <inheritdoc/>
    public void SpatialDropout2DForward(int batch, int pixels, int channels, float rate, ulong key, int x, int y) =>
        SpatialDropout(batch, pixels, channels, rate, key, x, y);

    /// <inheritdoc/>
    public void SpatialDropout2DBackward(int batch, int pixels, int channels, float rate, ulong key, int dy, int dx) =>
        SpatialDropout(batch, pixels, channels, rate, key, dy, dx);

    private void SpatialDropout(int batch, int pixels, int channels, float rate, ulong key, int src, int dst)
    {
        long count = (long)batch * pixels * channels;
        if (count <= 0) return;
        _k.ActivationNoise.SpatialDropout(checked((int)count), V(src, count), V(dst, count),
            new SpatialDropoutParams(key, CounterRng.DropThreshold(rate), 1f / (1f - rate), pixels, channels));
    }

    internal sealed partial class KernelSet
    {
        private ActivationNoiseKernels? _activationNoise;

        /// <summary>The general ReLU and noise-layer kernels, loaded on first use.</summary>
        public ActivationNoiseKernels ActivationNoise
        {
            get
            {
                var set = Volatile.Read(ref _activationNoise);
                if (set is not null) return set;
                lock (_activations) return _activationNoise ??= new ActivationNoiseKernels(this);
            }
        }
    }

    /// <summary>The general ReLU and noise-layer kernels of one accelerator.</summary>
    internal sealed class ActivationNoiseKernels
    {
        public ActivationNoiseKernels(KernelSet k)
        {
            ReluForward = k.Elementwise<ArrayView<float>, ArrayView<float>, ReluParams>(ReluKernels.Forward);
            ReluBackward = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ReluParams>(ReluKernels.Backward);
            GaussianNoise = k.Elementwise<ArrayView<float>, ArrayView<float>, NoiseParams>(NoiseKernels.GaussianNoise);
            GaussianDropout = k.Elementwise<ArrayView<float>, ArrayView<float>, NoiseParams>(NoiseKernels.GaussianDropout);
            SpatialDropout = k.Elementwise<ArrayView<float>, ArrayView<float>, SpatialDropoutParams>(NoiseKernels.SpatialDropout);
        }

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ReluParams> ReluForward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ReluParams> ReluBackward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, NoiseParams> GaussianNoise { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, NoiseParams> GaussianDropout { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, SpatialDropoutParams> SpatialDropout { get; }
    }
}
