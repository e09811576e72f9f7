using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

// Depthwise and transposed convolutions on ILGPU. The transposed convolution needs no kernel of its own: its forward
// is Conv2D's input-gradient GEMM (the gather operand over x), its input gradient Conv2D's forward GEMM (im2col of dz)
// and its kernel gradient Conv2D's kernel-gradient GEMM with the roles of x and dz swapped.
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void DepthwiseConv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(DepthwiseConv2DForward));
        if (batch <= 0) return;
        g.CheckDepthwise();
        int z = epilogue.StoresPreActivation ? epilogue.PreActivation : y;
        int rows = checked(batch * g.Pixels);
        long outCount = (long)rows * g.OutC;
        if (outCount == 0) return;
        _k.DepthwiseConvolution.Forward(checked((int)outCount), V(x, (long)batch * g.InSize), V(kernel, (long)g.KernelH * g.KernelW * g.OutC),
            V(z, outCount), new ConvShape(g));
        ApplyEpilogue(rows, g.OutC, epilogue, z, bias, y);
    }

    /// <inheritdoc/>
    public void DepthwiseConv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(DepthwiseConv2DBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        g.CheckDepthwise();
        int kernelFloats = checked(g.KernelH * g.KernelW * g.OutC);
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, kernelFloats, 0f);
            if (dBias >= 0) Fill(dBias, g.OutC, 0f);
            return;
        }
        var ck = _k.Convolution;
        var dw = _k.DepthwiseConvolution;
        int pixels = checked(batch * g.Pixels);
        long outCount = (long)pixels * g.OutC;
        if (!gradientIsPreActivation && activation != ActivationFunction.Linear)
            ActivationBackward(activation, alpha, pixels, g.OutC, preActivation, y, dy, dy);
        var dz = V(dy, outCount);
        int blocks = (pixels + ConvKernels.BlockRows - 1) / ConvKernels.BlockRows;
        if (dBias >= 0)
        {
            var partial = Scratch((long)blocks * g.OutC);
            ck.ColumnBlockSums(blocks * g.OutC, dz, partial, pixels, g.OutC);
            ck.FinishColumnSums(g.OutC, partial, V(dBias, g.OutC), blocks, g.OutC);
        }
        if (dKernel >= 0)
        {
            var partial = Scratch((long)blocks * kernelFloats);
            dw.KernelGradientPartials(checked(blocks * kernelFloats), V(x, (long)batch * g.InSize), dz, partial, new ConvShape(g), pixels);
            ck.FinishColumnSums(kernelFloats, partial, V(dKernel, kernelFloats), blocks, kernelFloats);
        }
        if (dx >= 0)
        {
            long inCount = (long)batch * g.InSize;
            dw.BackwardInput(checked((int)inCount), dz, V(kernel, kernelFloats), V(dx, inCount), new ConvShape(g) { Accumulate = accumulateDx ? 1 : 0 });
        }
    }

    /// <inheritdoc/>
    public void Conv2DTransposeForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(Conv2DTransposeForward));
        if (batch <= 0) return;
        var ck = _k.Convolution;
        int z = epilogue.StoresPreActivation ? epilogue.PreActivation : y;
        int rows = checked(batch * g.InH * g.InW);
        // z[n, ih, iw, f] = Σ over (kh, kw, co) of x at the pixel whose window puts tap (kh, kw) on (ih, iw) · kernel[kh, kw, f, co].
        RunGemm(ck.InputGradient, rows, g.InC, g.KernelH * g.KernelW * g.OutC, 1f, V(x, (long)batch * g.OutSize), new OutputGradientOperand(g),
            V(kernel, (long)g.Patch * g.OutC), new KernelTransposedOperand(g), 0f, V(z, (long)batch * g.InSize), g.InC);
        ApplyEpilogue(rows, g.InC, epilogue, z, bias, y);
    }

    /// <inheritdoc/>
    public void Conv2DTransposeBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias)
    {
        epilogue.CheckNoDropout(nameof(Conv2DTransposeBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (batch <= 0)
        {
            if (dKernel >= 0) Fill(dKernel, g.Patch * g.OutC, 0f);
            if (dBias >= 0) Fill(dBias, g.InC, 0f);
            return;
        }
        var ck = _k.Convolution;
        int rows = checked(batch * g.InH * g.InW);
        int pixels = checked(batch * g.Pixels);
        long inCount = (long)batch * g.InSize, outCount = (long)batch * g.OutSize;
        if (!gradientIsPreActivation && activation != ActivationFunction.Linear)
            ActivationBackward(activation, alpha, rows, g.InC, preActivation, y, dy, dy);
        var dz = V(dy, inCount);
        if (dBias >= 0)
        {
            int blocks = (rows + ConvKernels.BlockRows - 1) / ConvKernels.BlockRows;
            var partial = Scratch((long)blocks * g.InC);
            ck.ColumnBlockSums(blocks * g.InC, dz, partial, rows, g.InC);
            ck.FinishColumnSums(g.InC, partial, V(dBias, g.InC), blocks, g.InC);
        }
        // dKernel[Patch, OutC] = im2col(dz)ᵀ · x
        if (dKernel >= 0)
            RunGemm(ck.KernelGradient, g.Patch, g.OutC, pixels, 1f, dz, new Im2ColTransposedOperand(g),
                V(x, outCount), new StridedOperand(g.OutC, true), 0f, V(dKernel, (long)g.Patch * g.OutC), g.OutC);
        // dx[pixels, OutC] = im2col(dz) · kernel[Patch, OutC]
        if (dx >= 0)
            RunGemm(ck.Forward, pixels, g.OutC, g.Patch, 1f, dz, new Im2ColOperand(g),
                V(kernel, (long)g.Patch * g.OutC), new StridedOperand(g.OutC, true), 0f, V(dx, outCount), g.OutC);
    }

    internal sealed partial class KernelSet
    {
        private DepthwiseConvolutionKernels? _depthwise;

        /// <summary>Depthwise convolution kernels, loaded on first use.</summary>
        public DepthwiseConvolutionKernels DepthwiseConvolution
        {
            get
            {
                var set = Volatile.Read(ref _depthwise);
                if (set is not null) return set;
                lock (_activations) return _depthwise ??= new DepthwiseConvolutionKernels(this);
            }
        }
    }

    /// <summary>The depthwise convolution kernels of one accelerator (<see cref="DepthwiseConvKernels"/>).</summary>
    internal sealed class DepthwiseConvolutionKernels
    {
        public DepthwiseConvolutionKernels(KernelSet k)
        {
            Forward = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape>(DepthwiseConvKernels.Forward);
            BackwardInput = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape>(DepthwiseConvKernels.BackwardInput);
            KernelGradientPartials = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<double>, ConvShape, int>(
                DepthwiseConvKernels.KernelGradientPartials);
        }

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> Forward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> BackwardInput { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<double>, ConvShape, int> KernelGradientPartials { get; }
    }
}
