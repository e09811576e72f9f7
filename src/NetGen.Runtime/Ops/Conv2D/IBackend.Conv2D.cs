namespace NetGen.Backends;

/// <summary>Conv2D (NHWC).</summary>
public partial interface IBackend
{
    /// <summary>
    /// Fused convolution: y = act(conv(x, kernel) + bias), x [batch, InH, InW, InC], kernel HWIO, bias [OutC]
    /// (-1: no bias), y [batch, OutH, OutW, OutC]. Stores the pre-activation in <paramref name="preActivation"/> too
    /// when it is not -1. Softmax acts over the channels of each pixel.
    /// </summary>
    void Conv2DForward(in Conv2DGeometry g, int batch, ActivationFunction activation, float alpha,
        int x, int kernel, int bias, int preActivation, int y);

    /// <summary>
    /// Backward of <see cref="Conv2DForward"/>: dz = dy ⊙ act'(z, y) in place in dy (skipped when
    /// <paramref name="gradientIsPreActivation"/>), dKernel, dBias (if not -1) and dx (if not -1), all overwritten
    /// (dKernel may be -1 too, for a frozen layer). x is read again (the im2col is recomputed, not kept).
    /// </summary>
    void Conv2DBackward(in Conv2DGeometry g, int batch, ActivationFunction activation, float alpha, bool gradientIsPreActivation,
        int x, int kernel, int preActivation, int y, int dy, int dx, int dKernel, int dBias);
}
