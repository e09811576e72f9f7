namespace NetGen.Backends;

/// <summary>Depthwise and transposed convolutions (NHWC).</summary>
public partial interface IBackend
{
    /// <summary>
    /// Fused depthwise convolution: y = act(depthwise(x, kernel) + bias). The geometry's <c>OutC</c> is
    /// <c>InC</c>·depth_multiplier; output channel c·dm + m is input channel c convolved with filter m. x [batch, InH,
    /// InW, InC], kernel [KernelH, KernelW, InC, dm] (Keras's <c>depthwise_kernel</c>), bias [OutC] (-1: no bias),
    /// y [batch, OutH, OutW, OutC]. Stores z in the <paramref name="epilogue"/>'s pre-activation slot too when it has one.
    /// </summary>
    void DepthwiseConv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y);

    /// <summary>
    /// Backward of <see cref="DepthwiseConv2DForward"/> with the forward pass's epilogue: dz = dy ⊙ act'(z, y)
    /// in place in dy (skipped when <paramref name="gradientIsPreActivation"/>), dKernel, dBias and dx, all overwritten
    /// (each may be -1), except dx with <paramref name="accumulateDx"/>: then the input gradient is added to what dx
    /// holds (another reader of x wrote its gradient there already).
    /// </summary>
    void DepthwiseConv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false);

    /// <summary>
    /// Fused transposed convolution: y = act(convᵀ(x, kernel) + bias), the input gradient of the convolution
    /// <paramref name="g"/> describes, applied to x. So x is [batch, g.OutH, g.OutW, g.OutC] and y [batch, g.InH,
    /// g.InW, g.InC]; the kernel is g's HWIO kernel [KernelH, KernelW, InC, OutC], which is Keras's Conv2DTranspose
    /// layout [kh, kw, filters, channels]; bias [g.InC] (-1: no bias). Stores z in the
    /// <paramref name="epilogue"/>'s pre-activation slot too when it has one.
    /// </summary>
    void Conv2DTransposeForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y);

    /// <summary>
    /// Backward of <see cref="Conv2DTransposeForward"/> with the forward pass's epilogue: dz = dy ⊙ act'(z, y)
    /// in place in dy (skipped when <paramref name="gradientIsPreActivation"/>), dBias = Σ dz, dx = conv(dz, kernel) (the forward convolution of
    /// <paramref name="g"/>) and dKernel = im2col(dz)ᵀ·x, all overwritten; dx, dKernel and dBias may be -1.
    /// </summary>
    void Conv2DTransposeBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias);
}
