using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The generated code of a network with every depthwise, separable and transposed form, compared with
/// Baselines/ConvolutionFamily (rewrite with NETGEN_UPDATE_BASELINES=1 and review the diff); it must compile without
/// warnings. The separable softmax output covers the inference logits slot of a convolution output layer.
/// </summary>
public class ConvLayerSnapshotTests
{
    public const string ConvolutionFamilySource = """
        using NetGen;

        namespace Vision.Blocks;

        [Network(12, 10, 3, Name = "mobile_block")]
        [DepthwiseConv2D(3, Strides = 2, Padding = Padding.Same, DepthMultiplier = 2, Activation = Activation.Relu, UseBias = false)]
        [SeparableConv2D(16, 3, Padding = Padding.Same, DilationRate = 2, Activation = Activation.Swish,
            DepthwiseInitializer = Initializer.HeUniform, PointwiseInitializer = Initializer.LecunNormal, BiasInitializer = Initializer.Ones)]
        [Conv2DTranspose(8, 4, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Elu, KernelInitializer = Initializer.HeNormal)]
        [Conv2DTranspose(6, 2, Strides = 3, Name = "upsample")]
        [SeparableConv2D(5, 3, 2, Strides = 2, Activation = Activation.Softmax)]
        public partial class MobileBlock;
        """;

    [Fact]
    public Task ConvolutionFamily() => GeneratorTest.VerifySnapshotAsync(ConvolutionFamilySource);
}
