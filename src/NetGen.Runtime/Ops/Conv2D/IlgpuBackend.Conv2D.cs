using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetGen.Kernels;

namespace NetGen.Backends;

// Conv2D on the GPU: its launchers (ConvKernels and the backend's GEMM, with the bias and activation epilogue).
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void Conv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(Conv2DForward), addsResidual: true);
        if (batch <= 0) return;
        if (epilogue.HasResidual) CpuBackend.CheckResidual(epilogue.Residual, y, (long)batch * g.OutSize);
        var ck = _k.Convolution;
        int z = epilogue.StoresPreActivation ? epilogue.PreActivation : y;
        int rows = checked(batch * g.Pixels);
        // z[pixels, OutC] = im2col(x)[pixels, Patch] · kernel[Patch, OutC], the patches gathered inside the GEMM.
        RunGemm(ck.Forward, rows, g.OutC, g.Patch, 1f, V(x, (long)batch * g.InSize), new Im2ColOperand(g),
            V(kernel, (long)g.Patch * g.OutC), new StridedOperand(g.OutC, true), 0f, V(z, (long)rows * g.OutC), g.OutC);
        ApplyEpilogue(rows, g.OutC, epilogue, z, bias, y);
    }

    /// <inheritdoc/>
    public void Conv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(Conv2DBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, g.Patch * g.OutC, 0f);
            if (dBias >= 0) Fill(dBias, g.OutC, 0f);
            return;
        }
        var ck = _k.Convolution;
        int rows = checked(batch * g.Pixels);
        long outCount = (long)rows * g.OutC;
        if (!gradientIsPreActivation && activation != ActivationFunction.Linear)
            ActivationBackward(activation, alpha, rows, g.OutC, preActivation, y, dy, dy);
        var dz = V(dy, outCount);
        if (dBias >= 0)
        {
            int blocks = (rows + ConvKernels.BlockRows - 1) / ConvKernels.BlockRows;
            var partial = Scratch((long)blocks * g.OutC);
            ck.ColumnBlockSums(blocks * g.OutC, dz, partial, rows, g.OutC);
            ck.FinishColumnSums(g.OutC, partial, V(dBias, g.OutC), blocks, g.OutC);
        }
        // dKernel[Patch, OutC] = im2col(x)ᵀ · dz
        if (dKernel >= 0)
            RunGemm(ck.KernelGradient, g.Patch, g.OutC, rows, 1f, V(x, (long)batch * g.InSize), new Im2ColTransposedOperand(g),
                dz, new StridedOperand(g.OutC, true), 0f, V(dKernel, (long)g.Patch * g.OutC), g.OutC);
        // dx[n, ih, iw, ci] = Σ over (kh, kw, co) of dz at the output pixel that tap (kh, kw) maps onto (ih, iw) · kernel[kh, kw, ci, co]
        if (dx >= 0)
        {
            int inPixels = checked(batch * g.InH * g.InW);
            RunGemm(ck.InputGradient, inPixels, g.InC, g.KernelH * g.KernelW * g.OutC, 1f, dz, new OutputGradientOperand(g),
                V(kernel, (long)g.Patch * g.OutC), new KernelTransposedOperand(g), accumulateDx ? 1f : 0f, V(dx, (long)batch * g.InSize), g.InC);
        }
    }
}
