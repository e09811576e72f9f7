using System;
using System.Collections.Generic;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

// Shape rules of DepthwiseConv2D, SeparableConv2D and Conv2DTranspose (Keras 2, NHWC).
internal static partial class ShapeInference
{
    /// <summary>The depthwise, separable and transposed convolutions.</summary>
    public static bool IsConvolutionFamily(LayerKind kind) =>
        kind is LayerKind.DepthwiseConv2D or LayerKind.SeparableConv2D or LayerKind.Conv2DTranspose;

    /// <summary>Layers that apply their own activation after a bias (and keep the pre-activation when needed).</summary>
    public static bool OwnsActivation(LayerKind kind) => IsConvolutionFamily(kind) ||
        Layers.LayerRegistry.Get(kind)?.OwnsActivation == true;

    /// <summary>Whether the layer's activation, as the network's output, is the output's for the loss (Dense-like layers, Activation).</summary>
    public static bool AppliesOutputActivation(LayerKind kind) => OwnsActivation(kind) || Layers.LayerRegistry.Get(kind)?.IsOutputActivation == true;

    /// <summary>Floats per sample of a SeparableConv2D's depthwise output (0 for other layers).</summary>
    public static int MiddleSize(ResolvedLayer l) =>
        l.Spec.Kind == LayerKind.SeparableConv2D ? SeparableMiddleSize(l) : Layers.LayerRegistry.Get(l.Spec.Kind)?.CachePerSample(l) ?? 0;

    /// <summary>A SeparableConv2D's depthwise output, a tensor like the others (a rule's cache is not one: it never holds a gradient).</summary>
    public static int SeparableMiddleSize(ResolvedLayer l) =>
        l.Spec.Kind == LayerKind.SeparableConv2D ? l.OutputShape[0] * l.OutputShape[1] * MiddleChannels(l) : 0;

    /// <summary>Channels of a SeparableConv2D's depthwise output: input channels · depth multiplier.</summary>
    public static int MiddleChannels(ResolvedLayer l) => l.LastInput * l.Spec.DepthMultiplier;

    /// <summary>
    /// Output shape, kernel and bias counts, top/left padding and activation of a depthwise, separable or transposed
    /// convolution on <paramref name="shape"/>; null (with diagnostics) when the declaration is invalid.
    /// <list type="bullet">
    /// <item>DepthwiseConv2D: (conv_output(H), conv_output(W), C·dm); kh·kw·C·dm + C·dm params.</item>
    /// <item>SeparableConv2D: (conv_output(H), conv_output(W), filters); kh·kw·C·dm + C·dm·filters + filters params.</item>
    /// <item>Conv2DTranspose: valid in·s + max(k − s, 0), same in·s (Keras 2 <c>deconv_output_length</c>,
    /// <c>output_padding=None</c>); kh·kw·filters·C + filters params.</item>
    /// </list>
    /// </summary>
    private static (int[] Output, long Kernel, long Bias, int PadTop, int PadLeft, ActivationKind Activation)? ConvolutionFamily(
        LayerSpec layer, int[] shape, long paramOffset, int i, string kind, string index, List<ShapeError> errors)
    {
        if (!RequireImage(shape, i, kind, index, errors) || !CheckWindow(layer, i, kind, index, errors)) return null;
        bool transpose = layer.Kind == LayerKind.Conv2DTranspose;
        if (!transpose && layer.DepthMultiplier <= 0)
        {
            errors.Add(new ShapeError(i, "NG0017", new[] { kind, index, "depth multiplier", Invariant(layer.DepthMultiplier),
                "the depth multiplier must be positive, e.g. 1 (one filter per input channel)" }));
            return null;
        }
        if (layer.Kind != LayerKind.DepthwiseConv2D && layer.Units <= 0)
        {
            errors.Add(new ShapeError(i, "NG0010", new[] { kind, index, Invariant(layer.Units) }));
            return null;
        }
        var activation = CheckActivation(layer, i, kind, index, errors);
        CheckInitializer(layer.KernelInitializer, transpose ? "KernelInitializer" : "DepthwiseInitializer", i, kind, index, errors);
        if (layer.Kind == LayerKind.SeparableConv2D)
            CheckInitializer(layer.PointwiseInitializer, "PointwiseInitializer", i, kind, index, errors);
        CheckInitializer(layer.BiasInitializer, "BiasInitializer", i, kind, index, errors);

        int channels = shape[2];
        long taps = (long)layer.KernelH * layer.KernelW;
        long outH, outW, kernel, bias;
        int padTop = 0, padLeft = 0;
        if (transpose)
        {
            int s = layer.Strides;
            bool same = layer.Padding == 1;
            outH = (long)shape[0] * s + (same ? 0 : Math.Max(layer.KernelH - s, 0));
            outW = (long)shape[1] * s + (same ? 0 : Math.Max(layer.KernelW - s, 0));
            kernel = Saturating(Saturating(taps, layer.Units), channels);
            bias = layer.UseBias ? layer.Units : 0;
            if (same && outH <= int.MaxValue && outW <= int.MaxValue)
            {
                // TensorFlow pads the forward convolution (outH -> H) of which this is the transpose.
                padTop = ShapeMath.SamePadBefore((int)outH, shape[0], layer.KernelH, s, 1);
                padLeft = ShapeMath.SamePadBefore((int)outW, shape[1], layer.KernelW, s, 1);
            }
        }
        else
        {
            var window = Window(layer, shape, layer.Strides, layer.WidthStrides, layer.Dilation, i, kind, index, errors, isPool: false);
            if (window is null) return null;
            (outH, outW, padTop, padLeft) = (window.Value.OutH, window.Value.OutW, window.Value.PadTop, window.Value.PadLeft);
            long middle = (long)channels * layer.DepthMultiplier;
            kernel = Saturating(taps, middle);
            if (layer.Kind == LayerKind.SeparableConv2D)
            {
                kernel = Math.Min(Huge, kernel + Saturating(middle, layer.Units));
                bias = layer.UseBias ? layer.Units : 0;
            }
            else
                bias = layer.UseBias ? middle : 0;
        }
        long outC = layer.Kind switch
        {
            LayerKind.DepthwiseConv2D => (long)channels * layer.DepthMultiplier,
            _ => layer.Units,
        };
        long outputFloats = Saturating(Saturating(outH, outW), outC);
        long middleFloats = layer.Kind == LayerKind.SeparableConv2D ? Saturating(Saturating(outH, outW), (long)channels * layer.DepthMultiplier) : 0;
        long largest = Math.Max(paramOffset + kernel + bias, Math.Max(outputFloats, middleFloats));
        if (outH > int.MaxValue || outW > int.MaxValue || outC > int.MaxValue || largest > MaxFloats / 4)
        {
            errors.Add(new ShapeError(i, "NG0016", new[] { kind, index, Thousands(largest), "floats, more than the 536,870,911 one buffer may hold" }));
            return null;
        }
        return (new[] { (int)outH, (int)outW, (int)outC }, kernel, bias, padTop, padLeft, activation);
    }

    /// <summary>
    /// The inference slot of SeparableConv2D depthwise outputs: one region after the ping-pong (and logits) slots,
    /// as large as the largest of them, shared by every such layer (each is read only within its own layer).
    /// Returns the new inference arena size.
    /// </summary>
    private static int PlanInferenceMiddles(List<ResolvedLayer> planned, int inferTop)
    {
        int largest = 0;
        foreach (var l in planned)
            largest = Math.Max(largest, Math.Max(SeparableMiddleSize(l), Layers.LayerRegistry.Get(l.Spec.Kind)?.InferenceScratchPerSample(l) ?? 0));
        if (largest == 0) return inferTop;
        for (int i = 0; i < planned.Count; i++)
            if (planned[i].Spec.Kind == LayerKind.SeparableConv2D || (Layers.LayerRegistry.Get(planned[i].Spec.Kind)?.InferenceScratchPerSample(planned[i]) ?? 0) > 0)
                planned[i] = planned[i] with { InferMiddle = inferTop };
        return inferTop + largest;
    }

    /// <summary>Far above any size that fits, and small enough that a few of them add up without overflow.</summary>
    private const long Huge = 1L << 60;

    /// <summary>a·b for non-negative sizes, capped at <see cref="Huge"/> (absurd declarations must not wrap around).</summary>
    private static long Saturating(long a, long b) => a != 0 && b > Huge / a ? Huge : Math.Min(Huge, a * b);
}
