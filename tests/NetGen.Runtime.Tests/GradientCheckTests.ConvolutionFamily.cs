using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

// 7x5x3 -> depthwise 3x3 same, stride 2, depth multiplier 2 (4x3x6) -> depthwise 2x2 valid, dilation 2 (2x1x6).
[Network(7, 5, 3)]
[DepthwiseConv2D(3, Strides = 2, Padding = Padding.Same, DepthMultiplier = 2, Activation = Activation.Tanh)]
[DepthwiseConv2D(2, DilationRate = 2, Activation = Activation.Swish, BiasInitializer = Initializer.RandomNormal)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradDepthwiseNet;

// 7x5x3 -> separable 3x3 same, depth multiplier 2 (7x5x4) -> separable 2x3 valid, stride 2, no bias (3x2x3).
[Network(7, 5, 3)]
[SeparableConv2D(4, 3, Padding = Padding.Same, DepthMultiplier = 2, Activation = Activation.Elu, BiasInitializer = Initializer.RandomNormal)]
[SeparableConv2D(3, 2, 3, Strides = 2, UseBias = false, Activation = Activation.Tanh)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradSeparableNet;

// A separable convolution with a dilated depthwise step, and one as the output layer: softmax over the channels of
// each pixel, fused with the cross-entropy (the logits are its pointwise pre-activation).
[Network(7, 6, 3)]
[SeparableConv2D(5, 2, DilationRate = 2, DepthMultiplier = 2, Activation = Activation.Gelu)]
[DepthwiseConv2D(3, 2, DepthMultiplier = 2, Activation = Activation.Sigmoid)]
[SeparableConv2D(4, 2, Activation = Activation.Softmax)]
public partial class GradSeparableOutputNet;

// 5x4x2 -> transposed 3x3 stride 2 valid (11x9x3) -> transposed 2x2 stride 3 valid, kernel < stride (33x27x2)
// -> transposed 4x3 stride 2 same with odd padding (66x54x2).
[Network(5, 4, 2)]
[Conv2DTranspose(3, 3, Strides = 2, Activation = Activation.Tanh, BiasInitializer = Initializer.RandomNormal)]
[Conv2DTranspose(2, 2, Strides = 3, Activation = Activation.Swish)]
[Conv2DTranspose(2, 4, 3, Strides = 2, Padding = Padding.Same, UseBias = false, Activation = Activation.Softsign)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradTransposeNet;

// One tensor with a gradient read by a depthwise, a separable and a transposed convolution and a Conv2D: the first
// two add their dx into its gradient, the transposed one writes apart and adds.
[Network(6, 5, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh, Name = "stem")]
[DepthwiseConv2D(3, Padding = Padding.Same, DepthMultiplier = 2, Activation = Activation.Tanh, Name = "dw")]
[GlobalAveragePooling2D(Name = "dw_pool")]
[SeparableConv2D(3, 3, Padding = Padding.Same, Name = "sep", Input = "stem")]
[GlobalAveragePooling2D(Name = "sep_pool")]
[Conv2DTranspose(2, 3, Strides = 2, Activation = Activation.Tanh, Name = "up", Input = "stem")]
[GlobalAveragePooling2D(Name = "up_pool")]
[Conv2D(3, 1, Name = "pointwise", Input = "stem")]
[GlobalAveragePooling2D(Name = "pw_pool")]
[Concatenate("dw_pool", "sep_pool", "up_pool", "pw_pool")]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradSharedConvolutionsNet;

// A transposed convolution as the output layer, with a sigmoid fused with binary cross-entropy.
[Network(3, 3, 2)]
[Conv2D(3, 2, Activation = Activation.Tanh)]
[Conv2DTranspose(2, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Sigmoid)]
public partial class GradTransposeOutputNet;

/// <summary>
/// Central-difference checks of generated networks built from DepthwiseConv2D, SeparableConv2D and Conv2DTranspose
/// (the same criteria as <see cref="GradientCheckTests"/>), and their Keras parameter counts. Not run in parallel with
/// other tests: those that change <see cref="Backends.CpuBackend"/>'s work-splitting settings (<see cref="ConvolutionTests.Tuning"/>)
/// would change the summation order between the +h and −h evaluations and add float noise to the central differences.
/// </summary>
// Activation layers fused into each convolution-family layer before them: ELU into the depthwise, tanh into the
// separable (its pointwise part), softplus (which keeps the pre-activation) into the transposed convolution.
[Network(7, 6, 3)]
[DepthwiseConv2D(3, Padding = Padding.Same, DepthMultiplier = 2)]
[ELU]
[SeparableConv2D(4, 3, Strides = 2)]
[Activation(Activation.Tanh)]
[Conv2DTranspose(3, 2, Strides = 2)]
[Activation(Activation.Softplus)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradFusedConvFamilyNet;

/// <summary>Central-difference checks of networks with DepthwiseConv2D, SeparableConv2D and Conv2DTranspose (same method as the other checks).</summary>
public partial class GradientCheckTests
{
    [Fact]
    public void ActivationLayersFusedIntoDepthwiseSeparableAndTransposedConvolutions()
    {
        using var m = new GradFusedConvFamilyNet { Seed = 51 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 52, 7, 6, 3), OneHot(3, 3, 53));
    }

    [Fact]
    public void DepthwiseAndSeparableAddIntoASharedInputsGradient()
    {
        using var m = new GradSharedConvolutionsNet { Seed = 54 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 55, 6, 5, 2), OneHot(3, 3, 56));
    }

    [Fact]
    public void DepthwiseStrideSameMultiplierAndDilation()
    {
        using var m = new GradDepthwiseNet { Seed = 31 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 32, 7, 5, 3), OneHot(3, 3, 33));
    }

    [Fact]
    public void SeparableSameMultiplierAndStridedWithoutBias()
    {
        using var m = new GradSeparableNet { Seed = 34 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 35, 7, 5, 3), OneHot(3, 3, 36));
    }

    [Fact]
    public void SeparableOutputLayerWithFusedSoftmaxCrossEntropy()
    {
        using var m = new GradSeparableOutputNet { Seed = 37 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 38, 7, 6, 3), OneHot(3, 4, 39, 2, 2));
    }

    [Fact]
    public void SeparableOutputLayerWithMse()
    {
        using var m = new GradSeparableOutputNet { Seed = 40 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(3, 41, 7, 6, 3), new Tensor(Num.Uniform(3 * 2 * 2 * 4, 42, 0, 1), 3, 2, 2, 4));
    }

    [Fact]
    public void TransposeValidSmallKernelAndOddSamePadding()
    {
        using var m = new GradTransposeNet { Seed = 43 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 44, 5, 4, 2), OneHot(3, 3, 45));
    }

    [Fact]
    public void TransposeOutputLayerWithFusedSigmoidBinaryCrossEntropy()
    {
        using var m = new GradTransposeOutputNet { Seed = 46 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        var y = new Tensor(Array.ConvertAll(Num.Uniform(3 * 4 * 4 * 2, 47, 0, 1), v => v > 0.5f ? 1f : 0f), 3, 4, 4, 2);
        Check(m, Inputs(3, 48, 3, 3, 2), y);
    }
}

/// <summary>Summary shapes and parameter counts of the convolution-family networks, as Keras 2 reports them.</summary>
public class ConvLayerSummaryTests
{
    /// <summary>The summary row of a layer: (output shape, parameter count) from Keras 2's columns.</summary>
    private static (string Shape, string Count) Row(string summary, string name)
    {
        string line = summary.Split('\n').Single(l => l.StartsWith(name + " (", StringComparison.Ordinal));
        return (line.Substring(29, 26).Trim(), line.Substring(55).Trim());
    }

    /// <summary>Shapes and parameter counts as Keras 2 reports them (hand-derived from the Keras formulas).</summary>
    [Fact]
    public void ShapesAndParameterCountsAreKeras()
    {
        // depthwise 3·3·3·2 + 6 = 60; 2·2·6·1 + 6 = 30; dense 12·3 + 3 = 39.
        string d = new GradDepthwiseNet().Summary();
        Assert.Equal(("(None, 4, 3, 6)", "60"), Row(d, "depthwise_conv2d"));
        Assert.Equal(("(None, 2, 1, 6)", "30"), Row(d, "depthwise_conv2d_1"));
        Assert.Equal(60 + 30 + 39, GradDepthwiseNet.ParameterCount);
        // separable 9·3·2 + 6·4 + 4 = 82; 6·4·1 + 4·3 = 36 (no bias); dense 3·3 + 3 = 12.
        string s = new GradSeparableNet().Summary();
        Assert.Equal(("(None, 7, 5, 4)", "82"), Row(s, "separable_conv2d"));
        Assert.Equal(("(None, 3, 2, 3)", "36"), Row(s, "separable_conv2d_1"));
        Assert.Equal(82 + 36 + 12, GradSeparableNet.ParameterCount);
        // transposed: 9·3·2 + 3 = 57 -> (11, 9); 4·2·3 + 2 = 26 -> (33, 27); 12·2·2 = 48 -> (66, 54).
        string t = new GradTransposeNet().Summary();
        Assert.Equal(("(None, 11, 9, 3)", "57"), Row(t, "conv2d_transpose"));
        Assert.Equal(("(None, 33, 27, 2)", "26"), Row(t, "conv2d_transpose_1"));
        Assert.Equal(("(None, 66, 54, 2)", "48"), Row(t, "conv2d_transpose_2"));
        Assert.Equal(57 + 26 + 48 + 9, GradTransposeNet.ParameterCount);
    }
}

// Keras's strides=(2, 1) and (1, 2) on every 2-D window layer that takes them.
[Network(7, 6, 2)]
[Conv2D(3, 3, StrideHeight = 2, Padding = Padding.Same, Activation = Activation.Tanh)]         // 4x6x3
[DepthwiseConv2D(2, StrideWidth = 2, Activation = Activation.Sigmoid)]                          // 3x3x3
[SeparableConv2D(4, 2, StrideHeight = 1, StrideWidth = 2, Padding = Padding.Same)]             // 3x2x4
[MaxPooling2D(2, StrideHeight = 1, StrideWidth = 2, Padding = Padding.Same)]                    // 3x1x4
[AveragePooling2D(2, 1, StrideHeight = 1)]                                                       // 2x1x4
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class AsymmetricStrides;

public partial class GradientCheckTests
{
    [Fact]
    public void AsymmetricStridesOnEveryWindowLayer()
    {
        using var m = new AsymmetricStrides { Seed = 31 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Assert.Equal(new[] { 2, 1, 4 }, m.GetLayer("average_pooling2d").OutputShape);
        Check(m, Inputs(3, 32, 7, 6, 2), OneHot(3, 3, 33));
    }
}
