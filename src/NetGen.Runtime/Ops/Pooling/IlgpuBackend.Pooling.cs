using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetGen.Kernels;

namespace NetGen.Backends;

// Max and average pooling on the GPU (PoolKernels).
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2DForward(in Pool2DGeometry g, int batch, int x, int y)
    {
        if (batch <= 0 || g.OutSize == 0) return;
        _k.Convolution.MaxForward(checked(batch * g.OutSize), V(x, (long)batch * g.InSize), V(y, (long)batch * g.OutSize), new PoolShape(g));
    }

    /// <inheritdoc/>
    public void MaxPool2DBackward(in Pool2DGeometry g, int batch, int x, int y, int dy, int dx, bool accumulateDx = false)
    {
        if (batch <= 0 || g.InSize == 0) return;
        long inCount = (long)batch * g.InSize, outCount = (long)batch * g.OutSize;
        _k.Convolution.MaxBackward(checked((int)inCount), V(x, inCount), V(y, outCount), V(dy, outCount), V(dx, inCount),
            new PoolShape(g) { Accumulate = accumulateDx ? 1 : 0 });
    }

    /// <inheritdoc/>
    public void AvgPool2DForward(in Pool2DGeometry g, int batch, int x, int y)
    {
        if (batch <= 0 || g.OutSize == 0) return;
        _k.Convolution.AvgForward(checked(batch * g.OutSize), V(x, (long)batch * g.InSize), V(y, (long)batch * g.OutSize), new PoolShape(g));
    }

    /// <inheritdoc/>
    public void AvgPool2DBackward(in Pool2DGeometry g, int batch, int dy, int dx, bool accumulateDx = false)
    {
        if (batch <= 0 || g.InSize == 0) return;
        long inCount = (long)batch * g.InSize;
        _k.Convolution.AvgBackward(checked((int)inCount), V(dy, (long)batch * g.OutSize), V(dx, inCount),
            new PoolShape(g) { Accumulate = accumulateDx ? 1 : 0 });
    }
}
