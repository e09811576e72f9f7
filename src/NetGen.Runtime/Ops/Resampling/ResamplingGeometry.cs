namespace NetGen.Backends;

/// <summary>
/// Geometry of ZeroPadding2D and Cropping2D on NHWC tensors (the batch size is passed separately): output pixel
/// (oh, ow) is input pixel (oh − <see cref="Top"/>, ow − <see cref="Left"/>), and 0 where that lies outside the input.
/// Positive offsets pad, negative ones crop (ZeroPadding2D(top, …) has Top = top, Cropping2D(top, …) has Top = −top);
/// the bottom and right amounts follow from the output size.
/// </summary>
public readonly record struct Pad2DGeometry(
    int InH, int InW, int Channels,
    int OutH, int OutW,
    int Top, int Left)
{
    /// <summary>Elements of one input sample.</summary>
    public int InSize => InH * InW * Channels;
    /// <summary>Elements of one output sample.</summary>
    public int OutSize => OutH * OutW * Channels;
    /// <summary>The same shift backwards, output to input: the geometry of the gradient (padding's is a crop and vice versa).</summary>
    /// <remarks>A method, not a property: a record's <c>ToString</c> prints its properties, and this one would recurse.</remarks>
    public Pad2DGeometry Reversed() => new(OutH, OutW, Channels, InH, InW, -Top, -Left);
}

/// <summary>
/// Geometry of a nearest-neighbour UpSampling2D on NHWC tensors: output pixel (oh, ow) is input pixel
/// (⌊oh / SizeH⌋, ⌊ow / SizeW⌋), so each input pixel becomes a SizeH × SizeW block.
/// </summary>
public readonly record struct UpSample2DGeometry(int InH, int InW, int Channels, int SizeH, int SizeW)
{
    /// <summary>Output height, InH · SizeH.</summary>
    public int OutH => InH * SizeH;
    /// <summary>Output width, InW · SizeW.</summary>
    public int OutW => InW * SizeW;
    /// <summary>Elements of one input sample.</summary>
    public int InSize => InH * InW * Channels;
    /// <summary>Elements of one output sample.</summary>
    public int OutSize => OutH * OutW * Channels;
}
