using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// DepthwiseConv2D(kernel[, kernelW]), SeparableConv2D(filters, kernel[, kernelW]) and Conv2DTranspose(filters,
/// kernel[, kernelW]), as Keras 2 (NHWC):
/// <list type="bullet">
/// <item>DepthwiseConv2D: (conv_output(H), conv_output(W), C·dm); kh·kw·C·dm + C·dm params.</item>
/// <item>SeparableConv2D: (conv_output(H), conv_output(W), filters); kh·kw·C·dm + C·dm·filters + filters params. It runs
/// a depthwise convolution into its cache <c>M{n}</c>, then a 1x1 pointwise one with the bias and activation.</item>
/// <item>Conv2DTranspose: valid in·s + max(k − s, 0), same in·s (Keras 2 <c>deconv_output_length</c>,
/// <c>output_padding=None</c>); kh·kw·filters·C + filters params.</item>
/// </list>
/// The depthwise kernel initializer (Keras's <c>depthwise_initializer</c>) is kept in <see cref="ConvArgs.KernelInitializer"/>.
/// What SeparableConv2D(32, 3) on 28x28x16 writes:
/// <code>
///   private const int P1_Depthwise = 0; // separable_conv2d depthwise_kernel (3, 3, 16, 1)
///   private const int P1_Pointwise = 144; // separable_conv2d pointwise_kernel (1, 1, 16, 32)
///   private const int P1_Bias = 656; // separable_conv2d bias (32,)
///   private static readonly global::NetGen.Backends.Conv2DGeometry G1 = new(28, 28, 16, 26, 26, 16, 3, 3, 1, 1, 1, 1, 0, 0);
///   private static readonly global::NetGen.Backends.Conv2DGeometry GP1 = new(26, 26, 16, 26, 26, 32, 1, 1, 1, 1, 1, 1, 0, 0);
///   private const int M1 = 784; // separable_conv2d depthwise output (the pointwise convolution's input)
///
///   // forward: the depthwise convolution (no bias, linear) into M1, then the 1x1 pointwise one with bias and activation
///   b.DepthwiseConv2DForward(G1, batch, new(ActivationFunction.Linear), x: ..., kernel: p + P1_Depthwise, bias: -1,
///       y: Slot(training, M1, MI1, batch));
///   b.Conv2DForward(GP1, batch, new(ActivationFunction.Relu), x: Slot(training, M1, MI1, batch), kernel: p + P1_Pointwise, ...);
///
///   // backward: the pointwise gradient into the other buffer, then the depthwise one back into this buffer
///   b.Conv2DBackward(GP1, ..., x: Train(M1, batch), ..., dy: Train(D0, batch), dx: Train(D1, batch), ...);
///   b.DepthwiseConv2DBackward(G1, ..., dy: Train(D1, batch), dx: Train(D0, batch) or -1, ...);
/// </code>
/// </summary>
internal sealed class ConvolutionFamilyRule(LayerKind kind) : LayerRule(kind), IFoldsBatchNorm
{
    private const string GeometryType = "global::NetGen.Backends.Conv2DGeometry";

    /// <summary>Stream of a SeparableConv2D's pointwise kernel: 2·index and 2·index + 1 are every layer's kernel and bias.</summary>
    private const int PointwiseStreamBase = 0x40000000;

    private bool Depthwise => Kind == LayerKind.DepthwiseConv2D;
    private bool Separable => Kind == LayerKind.SeparableConv2D;
    private bool Transpose => Kind == LayerKind.Conv2DTranspose;

    public override string KerasName => Depthwise ? "depthwise_conv2d" : Separable ? "separable_conv2d" : "conv2d_transpose";

    public override BackwardStyle StyleOf(LayerSpec layer) => Separable ? BackwardStyle.Separable : BackwardStyle.Separate;

    public override bool OwnsActivation => true;

    public override bool IsImageLayer => true;

    public override ActivationKind ActivationOf(LayerSpec layer) => (ActivationKind)layer.As<ConvArgs>().Activation;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int first = Depthwise ? 0 : 1; // the kernel size follows the filters
        int filters = Depthwise ? 0 : Int(args, 0), kernelH = Int(args, first), kernelW = args.Length > first + 1 ? Int(args, first + 1) : kernelH;
        var (windowStrides, stridesW) = ReadStrides(data, 1);
        var window = new WindowArgs(kernelH, kernelW, Transpose ? NamedInt(data, "Strides", 1) : windowStrides, Transpose ? null : stridesW,
            Transpose ? 1 : NamedInt(data, "DilationRate", 1), NamedInt(data, "Padding", 0));
        return new LayerSpec(Kind, name, new ConvArgs(filters, NamedInt(data, "Activation", 0), NamedBool(data, "UseBias", true),
            NamedInt(data, Transpose ? "KernelInitializer" : "DepthwiseInitializer", 0), NamedInt(data, "BiasInitializer", 1), window,
            DepthMultiplier: Transpose ? 1 : NamedInt(data, "DepthMultiplier", 1), PointwiseInitializer: Separable ? NamedInt(data, "PointwiseInitializer", 0) : 0));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var a = layer.As<ConvArgs>();
        var w = a.Window;
        string kind = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (!ShapeInference.RequireImage(shape, i, kind, index, errors) || !ShapeInference.CheckWindow(w, i, kind, index, errors)) return null;
        if (!Transpose && a.DepthMultiplier <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "depth multiplier", I(a.DepthMultiplier),
                "the depth multiplier must be positive, e.g. 1 (one filter per input channel)" }));
            return null;
        }
        if (!Depthwise && a.Filters <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { kind, index, I(a.Filters) }));
            return null;
        }
        int channels = shape[2];
        long outH, outW;
        if (Transpose)
        {
            int s = w.Strides;
            bool same = w.Padding == 1;
            outH = (long)shape[0] * s + (same ? 0 : Math.Max(w.KernelH - s, 0));
            outW = (long)shape[1] * s + (same ? 0 : Math.Max(w.KernelW - s, 0));
        }
        else
        {
            var window = ShapeInference.Window(w, shape, w.Strides, w.WidthStrides, w.Dilation, i, kind, index, errors, isPool: false);
            if (window is null) return null;
            (outH, outW) = (window.Value.OutH, window.Value.OutW);
        }
        long middle = (long)channels * a.DepthMultiplier;
        long outC = Depthwise ? middle : a.Filters;
        long taps = (long)w.KernelH * w.KernelW;
        long kernel = Transpose ? ShapeMath.SaturatingMultiply(ShapeMath.SaturatingMultiply(taps, a.Filters), channels)
            : ShapeMath.SaturatingMultiply(taps, middle) + (Separable ? ShapeMath.SaturatingMultiply(middle, a.Filters) : 0);
        long outputFloats = ShapeMath.SaturatingMultiply(ShapeMath.SaturatingMultiply(outH, outW), outC);
        long middleFloats = Separable ? ShapeMath.SaturatingMultiply(ShapeMath.SaturatingMultiply(outH, outW), middle) : 0;
        long largest = Math.Max(kernel + (a.UseBias ? outC : 0), Math.Max(outputFloats, middleFloats));
        if (outH > int.MaxValue || outW > int.MaxValue || outC > int.MaxValue || largest > int.MaxValue / 4)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, ShapeInference.Thousands(largest), "floats, more than the 536,870,911 one buffer may hold" }));
            return null;
        }
        return new[] { (int)outH, (int)outW, (int)outC };
    }

    /// <summary>
    /// Keras's weights and fans: depthwise (kh, kw, C, dm) → (kh·kw·C, kh·kw·dm); pointwise (1, 1, C·dm, f) → (C·dm, f);
    /// transposed (kh, kw, f, C) → (kh·kw·f, kh·kw·C); then the bias of the output channels.
    /// </summary>
    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var a = layer.As<ConvArgs>();
        int kh = a.Window.KernelH, kw = a.Window.KernelW, taps = kh * kw, c = inputShape[2], dm = a.DepthMultiplier, f = outputShape[2];
        var slots = new List<WeightSlot>();
        if (Transpose)
            slots.Add(new WeightSlot("kernel", "Kernel", new EquatableArray<int>(new[] { kh, kw, f, c }), a.KernelInitializer, taps * f, taps * c));
        else
            slots.Add(new WeightSlot("depthwise_kernel", Separable ? "Depthwise" : "Kernel", new EquatableArray<int>(new[] { kh, kw, c, dm }),
                a.KernelInitializer, taps * c, taps * dm, "DepthwiseInitializer"));
        if (Separable)
            slots.Add(new WeightSlot("pointwise_kernel", "Pointwise", new EquatableArray<int>(new[] { 1, 1, c * dm, f }), a.PointwiseInitializer, c * dm, f));
        if (a.UseBias)
            slots.Add(new WeightSlot("bias", "Bias", new EquatableArray<int>(new[] { f }), a.BiasInitializer, f, f));
        return slots;
    }

    /// <summary>A separable convolution's pointwise kernel draws from its own stream, so its bias keeps stream 2i + 1.</summary>
    public override void WriteInitialize(SourceWriter w, ResolvedLayer l)
    {
        if (!Separable)
        {
            base.WriteInitialize(w, l);
            return;
        }
        var slots = l.RuleWeights;
        WriteWeightInitializer(w, l, slots[0], 2L * l.Index);
        WriteWeightInitializer(w, l, slots[1], PointwiseStreamBase + l.Index);
        if (slots.Length > 2) WriteWeightInitializer(w, l, slots[2], 2L * l.Index + 1);
    }

    /// <summary>A separable convolution's depthwise output, the pointwise convolution's input (its backward reads it).</summary>
    public override int CachePerSample(ResolvedLayer l) => Separable ? l.OutputShape[0] * l.OutputShape[1] * MiddleChannels(l) : 0;

    public override bool CacheHoldsGradient => Separable;

    public override int InferenceScratchPerSample(ResolvedLayer l) => CachePerSample(l);

    public override (string Training, string Inference) CacheDescriptions =>
        ("depthwise output (the pointwise convolution's input)", "depthwise output (inference)");

    /// <summary>Channels of the depthwise output: input channels · depth multiplier.</summary>
    private static int MiddleChannels(ResolvedLayer l) => l.LastInput * l.Spec.As<ConvArgs>().DepthMultiplier;

    public int FoldedKernelCount(ResolvedLayer l)
    {
        var a = l.Spec.As<ConvArgs>();
        return Separable ? MiddleChannels(l) * l.LastOutput : a.Window.KernelH * a.Window.KernelW * l.LastInput * (Depthwise ? a.DepthMultiplier : l.LastOutput);
    }

    /// <summary>A transposed convolution's kernel is [kh, kw, filters, C]: each output channel's weights are runs of C.</summary>
    public int FoldInner(ResolvedLayer l) => Transpose ? l.LastInput : 1;

    public string FoldedKernel => Separable ? "Pointwise" : "Kernel";

    public bool HasBias(LayerSpec layer) => Conv2DRule.UsesBias(layer);

    public override string Describe(ResolvedLayer l)
    {
        var a = l.Spec.As<ConvArgs>();
        var s = a.Window;
        return (Separable ? ", " + I(a.Filters) + " filters" : "") +
            ", " + I(s.KernelH) + "x" + I(s.KernelW) + (s.Padding == 1 ? " same" : " valid") +
            (s.StridesText != "1" ? ", strides " + s.StridesText : "") + (s.Dilation != 1 ? ", dilation " + I(s.Dilation) : "") +
            (a.DepthMultiplier != 1 ? ", depth multiplier " + I(a.DepthMultiplier) : "") +
            ", " + ActivationNames[(int)l.Activation].ToLowerInvariant() + (a.UseBias ? "" : ", no bias");
    }

    /// <summary>
    /// Rows and columns of padding before the input (TensorFlow's `same`; 0 for valid). A transposed convolution's are
    /// those of the forward convolution (output -> input) of which it is the transpose.
    /// </summary>
    internal (int Top, int Left) Pads(ResolvedLayer l)
    {
        var s = l.Spec.As<ConvArgs>().Window;
        var (input, output) = (l.InputShape, l.OutputShape);
        if (s.Padding != 1) return (0, 0);
        return Transpose
            ? (ShapeMath.SamePadBefore(output[0], input[0], s.KernelH, s.Strides, 1), ShapeMath.SamePadBefore(output[1], input[1], s.KernelW, s.Strides, 1))
            : (ShapeMath.SamePadBefore(input[0], output[0], s.KernelH, s.Strides, s.Dilation), ShapeMath.SamePadBefore(input[1], output[1], s.KernelW, s.WidthStrides, s.Dilation));
    }

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        var input = l.InputShape;
        var output = l.OutputShape;
        var s = l.Spec.As<ConvArgs>().Window;
        var (padTop, padLeft) = Pads(l);
        string window = I(s.KernelH) + ", " + I(s.KernelW) + ", " + I(s.Strides) + ", " + I(s.WidthStrides) + ", " + I(s.Dilation) + ", " + I(s.Dilation) + ", " +
            I(padTop) + ", " + I(padLeft);
        if (Transpose)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": the transpose of the convolution " + ShapeMath.Tuple(output.AsSpan()) + " -> " + ShapeMath.Tuple(input.AsSpan()) +
                " (kernel " + I(s.KernelH) + "x" + I(s.KernelW) + ", strides " + I(s.Strides) + ", padding top/left " + I(padTop) + "/" + I(padLeft) + ")");
            w.WriteLine("private static readonly " + GeometryType + " G" + n + " = new(" +
                I(output[0]) + ", " + I(output[1]) + ", " + I(output[2]) + ", " + I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + window + ");");
            return;
        }
        int middle = MiddleChannels(l);
        w.WriteLine("// " + OneLine(l.Name) + ": depthwise kernel " + I(s.KernelH) + "x" + I(s.KernelW) + ", depth multiplier " + I(l.Spec.As<ConvArgs>().DepthMultiplier) +
            ", strides " + s.StridesText + ", dilation " + I(s.Dilation) + ", padding top/left " + I(padTop) + "/" + I(padLeft));
        w.WriteLine("private static readonly " + GeometryType + " G" + n + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(output[0]) + ", " + I(output[1]) + ", " + I(middle) + ", " + window + ");");
        if (Separable)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": pointwise 1x1 convolution");
            w.WriteLine("private static readonly " + GeometryType + " GP" + n + " = new(" +
                I(output[0]) + ", " + I(output[1]) + ", " + I(middle) + ", " + I(output[0]) + ", " + I(output[1]) + ", " + I(output[2]) + ", 1, 1, 1, 1, 1, 1, 0, 0);");
        }
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        WriteForwardCall(w, l, ForwardEpilogue(net, l), "Slot(training, T" + prev + ", I" + prev + ", batch)", y, null, null);
    }

    public void WriteForwardCall(SourceWriter w, ResolvedLayer l, string epilogue, string x, string y, string? kernel, string? bias)
    {
        string n = I(l.Index + 1);
        bias ??= Conv2DRule.UsesBias(l.Spec) ? "p + P" + n + "_Bias" : "-1";
        if (Separable)
        {
            string middle = "Slot(training, M" + n + ", MI" + n + ", batch)";
            w.WriteLine("// The depthwise convolution (no bias, linear), then the 1x1 pointwise convolution with the bias and activation.");
            w.WriteLine("b.DepthwiseConv2DForward(G" + n + ", batch, " + LinearEpilogue + ",");
            w.Indent();
            w.WriteLine("x: " + x + ", kernel: p + P" + n + "_Depthwise, bias: -1, y: " + middle + ");");
            w.Unindent();
            w.WriteLine("b.Conv2DForward(GP" + n + ", batch, " + epilogue + ",");
            w.Indent();
            w.WriteLine("x: " + middle + ", kernel: " + (kernel ?? "p + P" + n + "_Pointwise") + ", bias: " + bias + ", y: " + y + ");");
            w.Unindent();
            return;
        }
        w.WriteLine("b." + (Depthwise ? "DepthwiseConv2DForward" : "Conv2DTransposeForward") + "(G" + n + ", batch, " + epilogue + ",");
        w.Indent();
        w.WriteLine("x: " + x + ", kernel: " + (kernel ?? "p + P" + n + "_Kernel") + ", bias: " + bias + ", y: " + y + ");");
        w.Unindent();
    }

    /// <summary>The epilogue of a separable convolution's depthwise half: linear, nothing stored.</summary>
    private static string LinearEpilogue => Epilogue(ActivationFunctionType + ".Linear", "0f", "-1");

    /// <summary>
    /// The depthwise and separable ones add their dx into a shared input's gradient (the depthwise call's
    /// <c>accumulateDx</c>); a transposed one writes a temporary and adds it.
    /// </summary>
    public override bool AddsIntoInputGradient => Depthwise || Separable;

    /// <summary>dy to dx (-1: none). A separable one passes the depthwise output's gradient through its temporary gradient buffer.</summary>
    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string dBias = Conv2DRule.UsesBias(l.Spec) ? "g + P" + n + "_Bias" : "-1";
        string epilogue = BackwardEpilogue(net, l);
        string fromLogits = FromLogitsFlag(net, l.Index) ?? "false";
        if (Separable)
        {
            string other = Gradient(l.GradientTemp);
            w.WriteLine("// The pointwise gradient into the other buffer (its dx is the depthwise output's gradient), then the depthwise one back into this one.");
            w.WriteLine("b.Conv2DBackward(GP" + n + ", batch, " + epilogue + ", " + fromLogits + ",");
            w.Indent();
            w.WriteLine("x: Train(M" + n + ", batch), kernel: p + P" + n + "_Pointwise, y: Train(T" + n + ", batch),");
            w.WriteLine("dy: " + dy + ", dx: " + other + ", dKernel: g + P" + n + "_Pointwise, dBias: " + dBias + ");");
            w.Unindent();
            w.WriteLine("b.DepthwiseConv2DBackward(G" + n + ", batch, " + LinearEpilogue + ", true,");
            w.Indent();
            w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Depthwise, y: Train(M" + n + ", batch),");
            w.WriteLine("dy: " + other + ", dx: " + dx + ", dKernel: g + P" + n + "_Depthwise, dBias: -1" + BackwardCallEnd(l));
            w.Unindent();
            return;
        }
        w.WriteLine("b." + (Depthwise ? "DepthwiseConv2DBackward" : "Conv2DTransposeBackward") + "(G" + n + ", batch, " + epilogue + ", " + fromLogits + ",");
        w.Indent();
        w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Kernel, y: Train(T" + n + ", batch),");
        w.WriteLine("dy: " + dy + ", dx: " + dx + ", dKernel: g + P" + n + "_Kernel, dBias: " + dBias + (Depthwise ? BackwardCallEnd(l) : ");"));
        w.Unindent();
    }
}
