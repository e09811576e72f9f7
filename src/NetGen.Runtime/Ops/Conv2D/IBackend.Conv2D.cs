namespace NetGen.Backends;

/// <summary>Conv2D (NHWC).</summary>
public partial interface IBackend
{
    /// <summary>
    /// Fused convolution: y = act(conv(x, kernel) + bias), x [batch, InH, InW, InC], kernel HWIO, bias [OutC]
    /// (-1: no bias), y [batch, OutH, OutW, OutC], with the <paramref name="epilogue"/>'s activation (softmax over the
    /// channels of each pixel), storing z in its pre-activation slot too when it has one. No dropout. With the
    /// epilogue's residual, y = act(z + bias + residual) (inference: a residual block's Add fused in), where the
    /// residual is shaped as y and must not overlap it.
    /// </summary>
    void Conv2DForward(in Conv2DGeometry g, int batch, in Epilogue epilogue, int x, int kernel, int bias, int y);

    /// <summary>
    /// Backward of <see cref="Conv2DForward"/> with the forward pass's epilogue: dz = dy ⊙ act'(z, y)
    /// in place in dy (skipped when <paramref name="gradientIsPreActivation"/>), dKernel, dBias (if not -1) and dx (if not -1), all overwritten
    /// (dKernel may be -1 too, for a frozen layer), except dx with <paramref name="accumulateDx"/>: then the input
    /// gradient is added to what dx holds (the gradient another reader of the input wrote), with no buffer in between.
    /// x is read again (the im2col is recomputed, not kept). With a linear epilogue dy is only read, never written, not
    /// even as scratch (the generator lets dy's buffer hold another tensor's gradient too).
    /// </summary>
    void Conv2DBackward(in Conv2DGeometry g, int batch, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false);
}
