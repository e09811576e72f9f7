namespace NetGen.Backends;

/// <summary>Max and average pooling (NHWC).</summary>
public partial interface IBackend
{
    /// <summary>Max pooling; padded cells never win.</summary>
    void MaxPool2DForward(in Pool2DGeometry g, int batch, int x, int y);

    /// <summary>
    /// dx (overwritten) gets each dy at the position of its window's maximum (the first one on ties), recomputed from x
    /// and y; with <paramref name="accumulateDx"/> that gradient is added to what dx holds (another reader of x wrote
    /// its gradient there already).
    /// </summary>
    void MaxPool2DBackward(in Pool2DGeometry g, int batch, int x, int y, int dy, int dx, bool accumulateDx = false);

    /// <summary>Average pooling over the cells inside the input only.</summary>
    void AvgPool2DForward(in Pool2DGeometry g, int batch, int x, int y);

    /// <summary>
    /// dx (overwritten) gets dy / (cells in the window) for every cell of each window; with
    /// <paramref name="accumulateDx"/> that gradient is added to what dx holds.
    /// </summary>
    void AvgPool2DBackward(in Pool2DGeometry g, int batch, int dy, int dx, bool accumulateDx = false);
}
