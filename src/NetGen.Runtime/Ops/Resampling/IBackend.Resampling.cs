namespace NetGen.Backends;

/// <summary>Padding, cropping and upsampling (NHWC); no parameters, so the backward passes only move gradients.</summary>
public partial interface IBackend
{
    /// <summary>
    /// ZeroPadding2D and Cropping2D: y[n, oh, ow, c] = x[n, oh − Top, ow − Left, c], or 0 where that pixel lies outside
    /// x. y [batch, OutH, OutW, C] is overwritten; x [batch, InH, InW, C] and y must not overlap.
    /// </summary>
    void Pad2DForward(in Pad2DGeometry g, int batch, int x, int y);

    /// <summary>
    /// Backward of <see cref="Pad2DForward"/>: dx[n, ih, iw, c] = dy[n, ih + Top, iw + Left, c], or 0 for input pixels
    /// that the forward pass cropped away. dx [batch, InH, InW, C] is overwritten and must not overlap dy.
    /// </summary>
    void Pad2DBackward(in Pad2DGeometry g, int batch, int dy, int dx);

    /// <summary>
    /// Nearest-neighbour UpSampling2D: y[n, oh, ow, c] = x[n, ⌊oh / SizeH⌋, ⌊ow / SizeW⌋, c]. y [batch, OutH, OutW, C] is
    /// overwritten and must not overlap x.
    /// </summary>
    void UpSample2DForward(in UpSample2DGeometry g, int batch, int x, int y);

    /// <summary>
    /// Backward of <see cref="UpSample2DForward"/>: dx[n, ih, iw, c] = Σ dy over the SizeH × SizeW block of (ih, iw), added
    /// row by row, left to right (the same order on every backend). dx is overwritten and must not overlap dy.
    /// </summary>
    void UpSample2DBackward(in UpSample2DGeometry g, int batch, int dy, int dx);
}
