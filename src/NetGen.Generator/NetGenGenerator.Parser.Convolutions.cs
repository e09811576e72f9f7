using Microsoft.CodeAnalysis;
using NetGen.Generator.Model;

namespace NetGen.Generator;

public sealed partial class NetGenGenerator
{
    /// <summary>
    /// DepthwiseConv2D(kernel[, kernelW]), SeparableConv2D(filters, kernel[, kernelW]) and
    /// Conv2DTranspose(filters, kernel[, kernelW]) with their named arguments. The depthwise kernel initializer
    /// (Keras's <c>depthwise_initializer</c>) goes into <see cref="LayerSpec.KernelInitializer"/>.
    /// </summary>
    private static LayerSpec ReadConvolutionLayer(AttributeData data, LayerKind kind)
    {
        var args = data.ConstructorArguments;
        int filters = 0, kernelH, kernelW, kernelInitializer;
        if (kind == LayerKind.DepthwiseConv2D)
        {
            kernelH = Int(args, 0);
            kernelW = args.Length > 1 ? Int(args, 1) : kernelH;
        }
        else
        {
            filters = Int(args, 0);
            kernelH = Int(args, 1);
            kernelW = args.Length > 2 ? Int(args, 2) : kernelH;
        }
        kernelInitializer = kind == LayerKind.Conv2DTranspose
            ? NamedInt(data, "KernelInitializer") ?? 0
            : NamedInt(data, "DepthwiseInitializer") ?? 0;
        return new LayerSpec(kind, LayerName(data), filters, NamedInt(data, "Activation") ?? 0,
            NamedBool(data, "UseBias") ?? true, kernelInitializer, NamedInt(data, "BiasInitializer") ?? 1, 0, default,
            kernelH, kernelW,
            Strides: kind == LayerKind.Conv2DTranspose ? NamedInt(data, "Strides") ?? 1 : Layers.LayerRule.ReadStrides(data, 1).Strides,
            StridesW: kind == LayerKind.Conv2DTranspose ? null : Layers.LayerRule.ReadStrides(data, 1).StridesW,
            Dilation: kind == LayerKind.Conv2DTranspose ? 1 : NamedInt(data, "DilationRate") ?? 1,
            Padding: NamedInt(data, "Padding") ?? 0,
            DepthMultiplier: kind == LayerKind.Conv2DTranspose ? 1 : NamedInt(data, "DepthMultiplier") ?? 1,
            PointwiseInitializer: kind == LayerKind.SeparableConv2D ? NamedInt(data, "PointwiseInitializer") ?? 0 : 0);
    }
}
