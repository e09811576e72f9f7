using NetGen.Generator.Emit;
using NetGen.Generator.Layers;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using static NetGen.Generator.Tests.Specs;

namespace NetGen.Generator.Tests;

/// <summary>
/// Shape rules of ZeroPadding2D, Cropping2D and UpSampling2D (no Roslyn involved), how the attribute forms are read
/// (through the generator), and the Keras 2 summaries of networks that use them.
/// </summary>
public class ResamplingShapeTests
{
    private static LayerSpec Resample(LayerKind kind, params int[] sizes) =>
        new(kind, null, new ResamplingArgs(new EquatableArray<int>(sizes)));

    private static LayerSpec Resample(string kind, int[] sizes) => Resample(Enum.Parse<LayerKind>(kind), sizes);

    private static LayerSpec Conv(int filters, int k, bool same = false, string? name = null) =>
        Specs.Conv2D(filters, k, same: same, name: name);

    private static LayerSpec Pool(int k, int strides = 0, bool same = false) =>
        Specs.Pool(LayerKind.MaxPooling2D, k, strides, same);

    // Keras: ZeroPadding2D → (H + top + bottom, W + left + right, C); Cropping2D → (H − top − bottom, W − left − right, C);
    // UpSampling2D → (H·rows, W·cols, C). No parameters.
    [Theory]
    //          input              kind                        sizes (top, bottom, left, right) / (rows, cols)   output
    [InlineData(new[] { 7, 5, 3 }, "ZeroPadding2D", new[] { 1, 1, 1, 1 }, new[] { 9, 7, 3 })]
    [InlineData(new[] { 7, 5, 3 }, "ZeroPadding2D", new[] { 2, 0, 0, 3 }, new[] { 9, 8, 3 })]
    [InlineData(new[] { 7, 5, 3 }, "ZeroPadding2D", new[] { 0, 0, 0, 0 }, new[] { 7, 5, 3 })]
    [InlineData(new[] { 224, 224, 3 }, "ZeroPadding2D", new[] { 3, 3, 3, 3 }, new[] { 230, 230, 3 })] // ResNet50 conv1_pad
    [InlineData(new[] { 7, 5, 3 }, "Cropping2D", new[] { 1, 2, 0, 1 }, new[] { 4, 4, 3 })]
    [InlineData(new[] { 7, 5, 3 }, "Cropping2D", new[] { 6, 0, 2, 2 }, new[] { 1, 1, 3 })]              // one pixel left
    [InlineData(new[] { 28, 28, 3 }, "Cropping2D", new[] { 2, 2, 4, 4 }, new[] { 24, 20, 3 })]          // Keras docstring
    [InlineData(new[] { 7, 5, 3 }, "UpSampling2D", new[] { 2, 2 }, new[] { 14, 10, 3 })]
    [InlineData(new[] { 7, 5, 3 }, "UpSampling2D", new[] { 3, 1 }, new[] { 21, 5, 3 })]
    [InlineData(new[] { 2, 1, 3 }, "UpSampling2D", new[] { 1, 2 }, new[] { 2, 2, 3 })]                  // Keras docstring
    public void Output_shapes_and_no_parameters(int[] input, string kind, int[] sizes, int[] output)
    {
        var (network, errors) = ShapeInference.Run(Network(input, Resample(kind, sizes)));
        Assert.Empty(errors);
        var layer = network!.Layers[0];

        Assert.Equal(output, layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(0, layer.ParamCount);
        Assert.NotEqual(layer.TrainInput, layer.TrainOutput); // a real copy, never an alias
        Assert.NotEqual(layer.InferInput, layer.InferOutput);
    }

    [Fact]
    public void Keras_default_names()
    {
        var (network, _) = ShapeInference.Run(Network([8, 8, 1], Resample(LayerKind.ZeroPadding2D, 1, 1, 1, 1),
            Resample(LayerKind.Cropping2D, 1, 1, 1, 1), Resample(LayerKind.UpSampling2D, 2, 2), Resample(LayerKind.ZeroPadding2D, 0, 0, 0, 0),
            Resample(LayerKind.UpSampling2D, 1, 1)));

        Assert.Equal(["zero_padding2d", "cropping2d", "up_sampling2d", "zero_padding2d_1", "up_sampling2d_1"],
            network!.Layers.Select(l => l.Name));
        Assert.Equal(["ZeroPadding2D", "Cropping2D", "UpSampling2D", "ZeroPadding2D", "UpSampling2D"], network.Layers.Select(l => l.TypeName));
    }

    [Theory]
    [InlineData("ZeroPadding2D", new[] { -1, 0, 0, 0 }, "NG0017")]
    [InlineData("Cropping2D", new[] { 0, 0, 0, -1 }, "NG0017")]
    [InlineData("UpSampling2D", new[] { 0, 2 }, "NG0017")]
    [InlineData("Cropping2D", new[] { 4, 3, 0, 0 }, "NG0107")]
    [InlineData("Cropping2D", new[] { 0, 0, 5, 0 }, "NG0107")]
    [InlineData("ZeroPadding2D", new[] { int.MaxValue, int.MaxValue, 0, 0 }, "NG0016")]
    public void Errors(string kind, int[] sizes, string id)
    {
        var (network, errors) = ShapeInference.Run(Network([7, 5, 3], Resample(kind, sizes)));

        Assert.Null(network);
        var error = Assert.Single(errors);
        Assert.Equal(id, error.Id);
        Assert.Equal(0, error.LayerIndex);
    }

    [Theory]
    [InlineData("ZeroPadding2D", new[] { 1, 1, 1, 1 })]
    [InlineData("Cropping2D", new[] { 0, 0, 0, 0 })]
    [InlineData("UpSampling2D", new[] { 2, 2 })]
    public void A_flat_input_is_NG0103(string kind, int[] sizes)
    {
        var (_, errors) = ShapeInference.Run(Network([49], Resample(kind, sizes)));
        Assert.Equal("NG0103", Assert.Single(errors).Id);
    }

    [Fact]
    public void A_dense_right_after_them_warns_as_after_a_convolution()
    {
        var (network, errors) = ShapeInference.Run(Network([8, 8, 1], Resample(LayerKind.UpSampling2D, 2, 2), Dense(3)));
        Assert.NotNull(network);
        Assert.Equal("NG0106", Assert.Single(errors).Id);
    }

    /// <summary>Each constructor maps to Keras's normalised ((top, bottom), (left, right)) or (rows, cols).</summary>
    [Theory]
    [InlineData("ZeroPadding2D", "(None, 9, 7, 3)", "padding ((1, 1), (1, 1))")]              // Keras default padding=(1, 1)
    [InlineData("ZeroPadding2D(2)", "(None, 11, 9, 3)", "padding ((2, 2), (2, 2))")]
    [InlineData("ZeroPadding2D(2, 1)", "(None, 11, 7, 3)", "padding ((2, 2), (1, 1))")]
    [InlineData("ZeroPadding2D(1, 0, 3, 2)", "(None, 8, 10, 3)", "padding ((1, 0), (3, 2))")]
    [InlineData("Cropping2D", "(None, 7, 5, 3)", "cropping ((0, 0), (0, 0))")]                // Keras default: no cropping
    [InlineData("Cropping2D(1)", "(None, 5, 3, 3)", "cropping ((1, 1), (1, 1))")]
    [InlineData("Cropping2D(2, 1)", "(None, 3, 3, 3)", "cropping ((2, 2), (1, 1))")]
    [InlineData("Cropping2D(1, 0, 3, 1)", "(None, 6, 1, 3)", "cropping ((1, 0), (3, 1))")]
    [InlineData("UpSampling2D", "(None, 14, 10, 3)", "size 2x2 nearest")]                      // Keras default size=(2, 2)
    [InlineData("UpSampling2D(3)", "(None, 21, 15, 3)", "size 3x3 nearest")]
    [InlineData("UpSampling2D(1, 4)", "(None, 7, 20, 3)", "size 1x4 nearest")]
    public void Attribute_forms(string attribute, string shape, string detail)
    {
        var result = GeneratorTest.Run($$"""
            using NetGen;
            [Network(7, 5, 3)]
            [{{attribute}}]
            public partial class Net;
            """);

        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees.Single().ToString();
        Assert.Contains("Output Shape", code);
        Assert.Contains(shape + " ", code);
        Assert.Contains("// [1] ", code);
        Assert.Contains(", " + detail + "): (None, 7, 5, 3) -> " + shape + ", 0 params", code);
    }

    private static string Summary(NetworkSpec spec)
    {
        var (network, errors) = ShapeInference.Run(spec);
        Assert.Empty(errors);
        return SummaryFormatter.Format(network!);
    }

    /// <summary>
    /// The convolutional autoencoder of the Keras blog ("Building Autoencoders in Keras"), as a Sequential model:
    /// 4,385 parameters, with the UpSampling2D rows (and their names cut at 28 characters, as Keras 2 prints them).
    /// </summary>
    [Fact]
    public void Keras_blog_convolutional_autoencoder_has_4385_parameters()
    {
        string summary = Summary(Named("sequential", [28, 28, 1],
            Conv(16, 3, same: true), Pool(2, same: true), Conv(8, 3, same: true), Pool(2, same: true), Conv(8, 3, same: true), Pool(2, same: true),
            Conv(8, 3, same: true), Resample(LayerKind.UpSampling2D, 2, 2), Conv(8, 3, same: true), Resample(LayerKind.UpSampling2D, 2, 2),
            Conv(16, 3), Resample(LayerKind.UpSampling2D, 2, 2), Conv(1, 3, same: true)));

        Assert.Equal(
            """
            Model: "sequential"
            _________________________________________________________________
            Layer (type)                 Output Shape              Param #   
            =================================================================
            conv2d (Conv2D)              (None, 28, 28, 16)        160       
            _________________________________________________________________
            max_pooling2d (MaxPooling2D) (None, 14, 14, 16)        0         
            _________________________________________________________________
            conv2d_1 (Conv2D)            (None, 14, 14, 8)         1160      
            _________________________________________________________________
            max_pooling2d_1 (MaxPooling2 (None, 7, 7, 8)           0         
            _________________________________________________________________
            conv2d_2 (Conv2D)            (None, 7, 7, 8)           584       
            _________________________________________________________________
            max_pooling2d_2 (MaxPooling2 (None, 4, 4, 8)           0         
            _________________________________________________________________
            conv2d_3 (Conv2D)            (None, 4, 4, 8)           584       
            _________________________________________________________________
            up_sampling2d (UpSampling2D) (None, 8, 8, 8)           0         
            _________________________________________________________________
            conv2d_4 (Conv2D)            (None, 8, 8, 8)           584       
            _________________________________________________________________
            up_sampling2d_1 (UpSampling2 (None, 16, 16, 8)         0         
            _________________________________________________________________
            conv2d_5 (Conv2D)            (None, 14, 14, 16)        1168      
            _________________________________________________________________
            up_sampling2d_2 (UpSampling2 (None, 28, 28, 16)        0         
            _________________________________________________________________
            conv2d_6 (Conv2D)            (None, 28, 28, 1)         145       
            =================================================================
            Total params: 4,385
            Trainable params: 4,385
            Non-trainable params: 0
            _________________________________________________________________
            """.ReplaceLineEndings("\n"), summary);
    }

    /// <summary>ResNet50's stem (Keras applications): conv1_pad, conv1_conv (9,472), pool1_pad, pool1_pool.</summary>
    [Fact]
    public void ResNet50_stem_pads_before_its_convolution_and_pooling()
    {
        var stemConv = Specs.Conv2D(64, 7, strides: 2, name: "conv1_conv");
        var pool = Specs.Pool(LayerKind.MaxPooling2D, 3, strides: 2) with { Name = "pool1_pool" };
        string[] rows = Summary(Named("resnet50", [224, 224, 3],
            Resample(LayerKind.ZeroPadding2D, 3, 3, 3, 3) with { Name = "conv1_pad" }, stemConv,
            Resample(LayerKind.ZeroPadding2D, 1, 1, 1, 1) with { Name = "pool1_pad" }, pool)).Split('\n');

        Assert.Equal("conv1_pad (ZeroPadding2D)    (None, 230, 230, 3)       0         ", rows[4]);
        Assert.Equal("conv1_conv (Conv2D)          (None, 112, 112, 64)      9472      ", rows[6]);
        Assert.Equal("pool1_pad (ZeroPadding2D)    (None, 114, 114, 64)      0         ", rows[8]);
        Assert.Equal("pool1_pool (MaxPooling2D)    (None, 56, 56, 64)        0         ", rows[10]);
        Assert.Equal("Total params: 9,472", rows[^4]);
    }

    [Fact]
    public void Cropping_rows_show_the_cropped_shape()
    {
        string[] rows = Summary(Named("sequential", [28, 28, 3], Resample(LayerKind.Cropping2D, 2, 2, 4, 4), Conv(4, 3))).Split('\n');

        Assert.Equal("cropping2d (Cropping2D)      (None, 24, 20, 3)         0         ", rows[4]);
        Assert.Equal("conv2d (Conv2D)              (None, 22, 18, 4)         112       ", rows[6]);
    }
}
