namespace NetGen.Backends;

/// <summary>
/// Geometry of a 2-D convolution on NHWC tensors (the batch size is passed separately). The kernel is HWIO,
/// [KernelH, KernelW, InC, OutC], as in Keras. Padding is explicit: Keras's <c>same</c> puts the odd extra
/// row/column at the bottom/right, so only top and left are needed (the rest is implied by the output size).
/// </summary>
public readonly record struct Conv2DGeometry(
    int InH, int InW, int InC,
    int OutH, int OutW, int OutC,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int DilationH, int DilationW,
    int PadTop, int PadLeft)
{
    /// <summary>Elements of one input sample.</summary>
    public int InSize => InH * InW * InC;
    /// <summary>Elements of one output sample.</summary>
    public int OutSize => OutH * OutW * OutC;
    /// <summary>Rows of the im2col matrix per sample (one per output pixel).</summary>
    public int Pixels => OutH * OutW;
    /// <summary>Columns of the im2col matrix (kernel window × input channels).</summary>
    public int Patch => KernelH * KernelW * InC;

    /// <summary>Throws unless this describes a depthwise convolution: OutC a multiple of InC (the depth multiplier).</summary>
    public void CheckDepthwise()
    {
        if (InC <= 0 || OutC % InC != 0)
            throw new ArgumentException($"A depthwise convolution needs OutC ({OutC}) to be a multiple of InC ({InC}).", "g");
    }
}

/// <summary>
/// Geometry of a 2-D pooling window on NHWC tensors (channels are pooled independently). Padded cells never win
/// a max and are not counted by an average (Keras's <c>same</c> semantics).
/// </summary>
public readonly record struct Pool2DGeometry(
    int InH, int InW, int Channels,
    int OutH, int OutW,
    int PoolH, int PoolW,
    int StrideH, int StrideW,
    int PadTop, int PadLeft)
{
    /// <summary>Elements of one input sample.</summary>
    public int InSize => InH * InW * Channels;
    /// <summary>Elements of one output sample.</summary>
    public int OutSize => OutH * OutW * Channels;
}
