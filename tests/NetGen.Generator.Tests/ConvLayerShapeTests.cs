using NetGen.Generator.Emit;
using NetGen.Generator.Layers;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using static NetGen.Generator.Tests.Specs;

namespace NetGen.Generator.Tests;

/// <summary>
/// Shape rules, parameter counts, Keras summaries and the arena plan of DepthwiseConv2D, SeparableConv2D and
/// Conv2DTranspose. The reference rows are Keras 2 printouts of well-known models (MobileNet's conv_dw_1, Xception's
/// block2_sepconv1, the keras.io VAE decoder and DCGAN generator), plus the Keras formulas (notes/keras2-semantics.md §2).
/// </summary>
public class ConvLayerShapeTests
{
    private static LayerSpec Depthwise(int k, int strides = 1, bool same = false, int dm = 1, int dilation = 1, bool bias = true,
        ActivationKind activation = ActivationKind.Linear) =>
        new(LayerKind.DepthwiseConv2D, null, new ConvArgs(0, (int)activation, bias, 0, 1, Specs.Window(k, strides, same, dilation), DepthMultiplier: dm));

    private static LayerSpec Separable(int filters, int k, int strides = 1, bool same = false, int dm = 1, int dilation = 1, bool bias = true,
        ActivationKind activation = ActivationKind.Linear) =>
        new(LayerKind.SeparableConv2D, null, new ConvArgs(filters, (int)activation, bias, 0, 1, Specs.Window(k, strides, same, dilation), DepthMultiplier: dm));

    private static LayerSpec Transpose(int filters, int kh, int kw, int strides = 1, bool same = false, bool bias = true,
        ActivationKind activation = ActivationKind.Linear) =>
        new(LayerKind.Conv2DTranspose, null, new ConvArgs(filters, (int)activation, bias, 0, 1, Specs.Window(kh, strides, same, kernelW: kw)));

    private static ResolvedNetwork Resolve(NetworkSpec spec)
    {
        var (network, errors) = ShapeInference.Run(spec);
        Assert.Empty(errors);
        return network!;
    }

    /// <summary>A summary row's cells: name (Keras 2 keeps 28 characters of "name (Type)"), output shape, parameter count.</summary>
    private static string[] Row(ResolvedNetwork net, int layer)
    {
        string line = SummaryFormatter.Format(net).Split('\n')[4 + 2 * layer];
        return [line.Substring(0, 29).TrimEnd(), line.Substring(29, 26).TrimEnd(), line.Substring(55).TrimEnd()];
    }

    [Fact]
    public void SeparableConv2D_32_3_on_28x28x16_has_688_parameters()
    {
        // 16·9 (depthwise) + 16·32 (pointwise) + 32 (bias)
        var net = Resolve(Network([28, 28, 16], Separable(32, 3)));
        Assert.Equal(["separable_conv2d (SeparableC", "(None, 26, 26, 32)", "688"], Row(net, 0));
        Assert.Equal([16 * 9, 16 * 32, 32], net.Layers[0].RuleWeights.AsSpan().ToArray().Select(w => w.Count));
        Assert.Equal(688, net.ParameterCount);
    }

    [Fact]
    public void MobileNet_conv_dw_1_and_Xception_block2_sepconv1()
    {
        // MobileNet v1: conv_dw_1 (DepthwiseConv2D) (None, 112, 112, 32) 288 (3x3 same, no bias).
        var mobile = Resolve(Network([112, 112, 32], Depthwise(3, same: true, bias: false)));
        Assert.Equal(["depthwise_conv2d (DepthwiseC", "(None, 112, 112, 32)", "288"], Row(mobile, 0));
        // Xception: block2_sepconv1 (SeparableConv2D) (None, 147, 147, 128) 8768 (3x3 same, no bias, on 147x147x64).
        var xception = Resolve(Network([147, 147, 64], Separable(128, 3, same: true, bias: false)));
        Assert.Equal(["separable_conv2d (SeparableC", "(None, 147, 147, 128)", "8768"], Row(xception, 0));
    }

    [Fact]
    public void Keras_VAE_decoder_and_DCGAN_generator_transposed_convolutions()
    {
        // keras.io VAE decoder: Dense(7·7·64) reshaped, then Conv2DTranspose 64 and 32 (3, strides 2, same), then 1 (3, same).
        var vae = Resolve(Network([7, 7, 64], Transpose(64, 3, 3, 2, same: true, activation: ActivationKind.Relu),
            Transpose(32, 3, 3, 2, same: true, activation: ActivationKind.Relu), Transpose(1, 3, 3, same: true, activation: ActivationKind.Sigmoid)));
        Assert.Equal(["conv2d_transpose (Conv2DTran", "(None, 14, 14, 64)", "36928"], Row(vae, 0));
        Assert.Equal(["conv2d_transpose_1 (Conv2DTr", "(None, 28, 28, 32)", "18464"], Row(vae, 1));
        Assert.Equal(["conv2d_transpose_2 (Conv2DTr", "(None, 28, 28, 1)", "289"], Row(vae, 2));
        // keras.io DCGAN generator: Conv2DTranspose(128, kernel_size=4, strides=2, padding="same") on 8x8x128.
        var dcgan = Resolve(Network([8, 8, 128], Transpose(128, 4, 4, 2, same: true)));
        Assert.Equal(["conv2d_transpose (Conv2DTran", "(None, 16, 16, 128)", "262272"], Row(dcgan, 0));
    }

    [Theory]
    // input       kernel  stride same  output         params (kh·kw·C·dm + C·dm)
    [InlineData(7, 5, 3, 3, 1, false, 2, 5, 3, 6, 60)]
    [InlineData(7, 5, 3, 3, 2, true, 2, 4, 3, 6, 60)]
    [InlineData(7, 5, 3, 2, 2, false, 1, 3, 2, 3, 15)]
    [InlineData(28, 28, 16, 3, 1, true, 4, 28, 28, 64, 640)]
    public void DepthwiseConv2D_outputs_channels_times_depth_multiplier(int h, int w, int c, int k, int s, bool same, int dm,
        int oh, int ow, int oc, int parameters)
    {
        var layer = Resolve(Network([h, w, c], Depthwise(k, s, same, dm))).Layers[0];
        Assert.Equal([oh, ow, oc], layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(parameters, layer.ParamCount);
        Assert.Equal(("bias", c * dm), (layer.RuleWeights[^1].Name, layer.RuleWeights[^1].Count));
    }

    [Theory]
    // input       kernel  stride same  output         pad top/left
    [InlineData(7, 5, 3, 3, 2, false, 15, 11, 0, 0)]     // (in − 1)·s + k
    [InlineData(7, 5, 3, 3, 2, true, 14, 10, 0, 0)]      // in·s; TF's odd padding of the 14 -> 7 convolution goes after
    [InlineData(7, 5, 4, 4, 2, true, 14, 10, 1, 1)]      // k = 4: one row/column cropped on each side
    [InlineData(7, 5, 2, 2, 3, false, 21, 15, 0, 0)]     // kernel < stride: in·s + max(k − s, 0) = in·s
    [InlineData(7, 5, 5, 3, 1, true, 7, 5, 2, 1)]
    public void Conv2DTranspose_output_size_and_padding_are_Keras2s(int h, int w, int kh, int kw, int s, bool same, int oh, int ow,
        int padTop, int padLeft)
    {
        var layer = Resolve(Network([h, w, 3], Transpose(4, kh, kw, s, same))).Layers[0];
        Assert.Equal([oh, ow, 4], layer.OutputShape.AsSpan().ToArray());
        Assert.Equal((padTop, padLeft), ((NetGen.Generator.Layers.ConvolutionFamilyRule)NetGen.Generator.Layers.LayerRegistry.Of(LayerKind.Conv2DTranspose)).Pads(layer));
        Assert.Equal(kh * kw * 4 * 3 + 4, layer.ParamCount);
    }

    [Fact]
    public void Separable_depthwise_output_has_its_own_slots_and_its_gradient_a_region_that_fits_it()
    {
        // 6x6x4 -> separable(2, 3, dm 3, same): the depthwise output is 6·6·12 = 432 floats, more than any layer output.
        var net = Resolve(Network([6, 6, 4], Separable(2, 3, same: true, dm: 3, activation: ActivationKind.Softmax)));
        var l = net.Layers[0];
        Assert.Equal(432, ShapeInference.MiddleSize(l));
        Assert.True(l.GradientTemp >= 0 && net.GradientRegions[l.GradientTemp].Size >= 432, "the pointwise input gradient must fit its region");
        // Training keeps input, depthwise output, logits and output apart.
        int[] starts = [0, l.TrainMiddle, l.TrainPreActivation, l.TrainOutput];
        int[] sizes = [144, 432, 72, 72];
        for (int i = 0; i < starts.Length; i++)
            for (int j = i + 1; j < starts.Length; j++)
                Assert.True(starts[i] + sizes[i] <= starts[j] || starts[j] + sizes[j] <= starts[i], $"slots {i} and {j} overlap");
        Assert.True(net.TrainArenaPerSample >= l.TrainOutput + 72);
        // Inference: the depthwise output lies after the ping-pong slots and the logits.
        Assert.True(l.InferMiddle >= 2 * 432);
        Assert.True(l.InferMiddle >= net.InferLogitsSlot + 72);
        Assert.Equal(l.InferMiddle + 432, net.InferArenaPerSample);
        Assert.Equal(l.TrainPreActivation, net.LogitsSlot);
    }

    [Fact]
    public void Keras_default_names_count_per_kind()
    {
        var net = Resolve(Network([9, 9, 2], Depthwise(3), Separable(4, 3), Depthwise(2, dm: 2), Transpose(2, 2, 2), Separable(3, 2)));
        Assert.Equal(["depthwise_conv2d", "separable_conv2d", "depthwise_conv2d_1", "conv2d_transpose", "separable_conv2d_1"],
            net.Layers.AsSpan().ToArray().Select(l => l.Name).ToArray());
    }

    /// <summary>The same counts as users see them: the generated constants and summary text.</summary>
    [Fact]
    public void Generated_code_reports_the_Keras_parameter_count()
    {
        var result = GeneratorTest.Run("""
            using NetGen;

            [Network(28, 28, 16)]
            [SeparableConv2D(32, 3)]
            [DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same, UseBias = false)]
            [Conv2DTranspose(8, 3, Strides = 2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees.Single().ToString();
        // 688 + 3·3·32·2 + 3·3·8·64 + 8
        Assert.Contains("public const int ParameterCount = 5880;", code);
        Assert.Matches(@"/// separable_conv2d \(SeparableC \(None, 26, 26, 32\) +688 *\r?\n", code);
        Assert.Matches(@"/// depthwise_conv2d \(DepthwiseC \(None, 26, 26, 64\) +576 *\r?\n", code);
        Assert.Matches(@"/// conv2d_transpose \(Conv2DTran \(None, 53, 53, 8\) +4616 *\r?\n", code);
        Assert.Contains("/// Total params: 5,880\n", code);
    }

    /// <summary>
    /// A convolution of any kind as the output layer with a softmax or sigmoid keeps its logits for inference too
    /// (<c>ZI</c>); the generated code used to declare that slot for Dense only, so a Conv2D softmax output failed to compile.
    /// </summary>
    [Theory]
    [InlineData("[Conv2D(3, 2, Activation = Activation.Softmax)]")]
    [InlineData("[DepthwiseConv2D(2, DepthMultiplier = 3, Activation = Activation.Sigmoid)]")]
    [InlineData("[SeparableConv2D(3, 2, Activation = Activation.Softmax)]")]
    [InlineData("[Conv2DTranspose(3, 2, Activation = Activation.Sigmoid)]")]
    public void A_convolution_output_layer_with_logits_compiles(string layer)
    {
        var result = GeneratorTest.Run(["using NetGen;\n\n[Network(4, 4, 2)]\n" + layer + "\npublic partial class Net;\n"], runtime: true, out var compilation);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees.Single().ToString();
        Assert.Contains("private const int ZI1 = ", code);
        Assert.Contains("logitsInferenceSlot: ZI1,", code);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
    }
}
