using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void Pad2DForward(in Pad2DGeometry g, int batch, int x, int y)
    {
        if (batch <= 0 || g.OutSize == 0) return;
        _k.Resampling.Shift(checked(batch * g.OutSize), V(x, (long)batch * g.InSize), V(y, (long)batch * g.OutSize), new PadShape(g));
    }

    /// <inheritdoc/>
    public void Pad2DBackward(in Pad2DGeometry g, int batch, int dy, int dx) => Pad2DForward(g.Reversed(), batch, dy, dx);

    /// <inheritdoc/>
    public void UpSample2DForward(in UpSample2DGeometry g, int batch, int x, int y)
    {
        if (batch <= 0 || g.OutSize == 0) return;
        _k.Resampling.UpForward(checked(batch * g.OutSize), V(x, (long)batch * g.InSize), V(y, (long)batch * g.OutSize),
            new UpSampleShape(g));
    }

    /// <inheritdoc/>
    public void UpSample2DBackward(in UpSample2DGeometry g, int batch, int dy, int dx)
    {
        if (batch <= 0 || g.InSize == 0) return;
        _k.Resampling.UpBackward(checked(batch * g.InSize), V(dy, (long)batch * g.OutSize), V(dx, (long)batch * g.InSize),
            new UpSampleShape(g));
    }

    internal sealed partial class KernelSet
    {
        private ResamplingKernelSet? _resampling;

        /// <summary>Padding, cropping and upsampling kernels, loaded on first use.</summary>
        public ResamplingKernelSet Resampling
        {
            get
            {
                var set = Volatile.Read(ref _resampling);
                if (set is not null) return set;
                lock (_activations) return _resampling ??= new ResamplingKernelSet(this);
            }
        }
    }

    /// <summary>The launchers of <see cref="ResamplingKernels"/>.</summary>
    internal sealed class ResamplingKernelSet(KernelSet k)
    {
        public Action<Index1D, ArrayView<float>, ArrayView<float>, PadShape> Shift { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, PadShape>(ResamplingKernels.Shift);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, UpSampleShape> UpForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, UpSampleShape>(ResamplingKernels.UpSampleForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, UpSampleShape> UpBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, UpSampleShape>(ResamplingKernels.UpSampleBackward);
    }
}
