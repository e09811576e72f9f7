using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Emit;

// DepthwiseConv2D, SeparableConv2D and Conv2DTranspose. What they write, e.g. for SeparableConv2D(32, 3) on 28x28x16:
//
//   private const int P1_Depthwise = 0; // separable_conv2d depthwise kernel (3, 3, 16, 1)
//   private const int P1_Pointwise = 144; // separable_conv2d pointwise kernel (1, 1, 16, 32)
//   private const int P1_Bias = 656; // separable_conv2d bias (32,)
//   private static readonly global::NetGen.Backends.Conv2DGeometry G1 = new(28, 28, 16, 26, 26, 16, 3, 3, 1, 1, 1, 1, 0, 0);
//   private static readonly global::NetGen.Backends.Conv2DGeometry GP1 = new(26, 26, 16, 26, 26, 32, 1, 1, 1, 1, 1, 1, 0, 0);
//   private const int M1 = 784; // separable_conv2d depthwise output (the pointwise convolution's input)
//
//   // forward: the depthwise convolution (no bias, linear) into M1, then the 1x1 pointwise one with bias and activation
//   b.DepthwiseConv2DForward(G1, batch, ActivationFunction.Linear, 0f, x: ..., kernel: p + P1_Depthwise, bias: -1,
//       preActivation: -1, y: Slot(training, M1, MI1, batch));
//   b.Conv2DForward(GP1, batch, ActivationFunction.Relu, 0f, x: Slot(training, M1, MI1, batch), kernel: p + P1_Pointwise, ...);
//
//   // backward: the pointwise gradient into the other buffer, then the depthwise one back into this buffer
//   b.Conv2DBackward(GP1, ..., x: Train(M1, batch), ..., dy: GradientBuffer(0, batch), dx: GradientBuffer(1, batch), ...);
//   b.DepthwiseConv2DBackward(G1, ..., dy: GradientBuffer(1, batch), dx: GradientBuffer(0, batch) or -1, ...);
internal static partial class Emitter
{
    private const string Conv2DGeometryType = "global::NetGen.Backends.Conv2DGeometry";

    /// <summary>Stream of a SeparableConv2D's pointwise kernel: 2·index and 2·index + 1 are every layer's kernel and bias.</summary>
    private const int PointwiseStreamBase = 0x40000000;

    private static void WriteConvolutionFamilyOffsets(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1), name = OneLine(l.Name);
        int c = l.LastInput, dm = l.Spec.DepthMultiplier, kh = l.Spec.KernelH, kw = l.Spec.KernelW;
        switch (l.Spec.Kind)
        {
            case LayerKind.DepthwiseConv2D:
                w.WriteLine("private const int P" + n + "_Kernel = " + I(l.KernelOffset) + "; // " + name + " depthwise kernel " + ShapeMath.Tuple(new[] { kh, kw, c, dm }));
                break;
            case LayerKind.SeparableConv2D:
                w.WriteLine("private const int P" + n + "_Depthwise = " + I(l.KernelOffset) + "; // " + name + " depthwise kernel " + ShapeMath.Tuple(new[] { kh, kw, c, dm }));
                w.WriteLine("private const int P" + n + "_Pointwise = " + I(l.KernelOffset + DepthwiseCount(l)) + "; // " + name + " pointwise kernel " +
                    ShapeMath.Tuple(new[] { 1, 1, c * dm, l.LastOutput }));
                break;
            default:
                w.WriteLine("private const int P" + n + "_Kernel = " + I(l.KernelOffset) + "; // " + name + " kernel " + ShapeMath.Tuple(new[] { kh, kw, l.LastOutput, c }));
                break;
        }
        if (l.BiasCount > 0)
            w.WriteLine("private const int P" + n + "_Bias = " + I(l.BiasOffset) + "; // " + name + " bias " + ShapeMath.Tuple(new[] { l.BiasCount }));
    }

    /// <summary>Floats of a depthwise kernel: kh·kw·C·dm.</summary>
    private static int DepthwiseCount(ResolvedLayer l) => l.Spec.KernelH * l.Spec.KernelW * ShapeInference.MiddleChannels(l);

    /// <summary>The arena slots of a SeparableConv2D's depthwise output, in training and in inference.</summary>
    private static void WriteMiddleSlots(SourceWriter w, ResolvedLayer l)
    {
        if (l.TrainMiddle < 0) return;
        string n = I(l.Index + 1);
        if (l.Spec.Kind != LayerKind.SeparableConv2D)
        {
            w.WriteLine("private const int M" + n + " = " + I(l.TrainMiddle) + "; // " + OneLine(l.Name) + " training cache (kept from its forward pass for its backward)");
            if (l.InferMiddle >= 0)
                w.WriteLine("private const int MI" + n + " = " + I(l.InferMiddle) + "; // " + OneLine(l.Name) + " inference scratch");
            return;
        }
        w.WriteLine("private const int M" + n + " = " + I(l.TrainMiddle) + "; // " + OneLine(l.Name) + " depthwise output (the pointwise convolution's input)");
        w.WriteLine("private const int MI" + n + " = " + I(l.InferMiddle) + "; // " + OneLine(l.Name) + " depthwise output (inference)");
    }

    private static void WriteConvolutionFamilyGeometry(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        var input = l.InputShape;
        var output = l.OutputShape;
        var s = l.Spec;
        string window = I(s.KernelH) + ", " + I(s.KernelW) + ", " + I(s.Strides) + ", " + I(s.WidthStrides) + ", " + I(s.Dilation) + ", " + I(s.Dilation) + ", " +
            I(l.PadTop) + ", " + I(l.PadLeft);
        if (s.Kind == LayerKind.Conv2DTranspose)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": the transpose of the convolution " + ShapeMath.Tuple(output.AsSpan()) + " -> " + ShapeMath.Tuple(input.AsSpan()) +
                " (kernel " + I(s.KernelH) + "x" + I(s.KernelW) + ", strides " + I(s.Strides) + ", padding top/left " + I(l.PadTop) + "/" + I(l.PadLeft) + ")");
            w.WriteLine("private static readonly " + Conv2DGeometryType + " G" + n + " = new(" +
                I(output[0]) + ", " + I(output[1]) + ", " + I(output[2]) + ", " + I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + window + ");");
            return;
        }
        int middle = ShapeInference.MiddleChannels(l);
        w.WriteLine("// " + OneLine(l.Name) + ": depthwise kernel " + I(s.KernelH) + "x" + I(s.KernelW) + ", depth multiplier " + I(s.DepthMultiplier) +
            ", strides " + s.StridesText + ", dilation " + I(s.Dilation) + ", padding top/left " + I(l.PadTop) + "/" + I(l.PadLeft));
        w.WriteLine("private static readonly " + Conv2DGeometryType + " G" + n + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(output[0]) + ", " + I(output[1]) + ", " + I(middle) + ", " + window + ");");
        if (s.Kind == LayerKind.SeparableConv2D)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": pointwise 1x1 convolution");
            w.WriteLine("private static readonly " + Conv2DGeometryType + " GP" + n + " = new(" +
                I(output[0]) + ", " + I(output[1]) + ", " + I(middle) + ", " + I(output[0]) + ", " + I(output[1]) + ", " + I(output[2]) + ", 1, 1, 1, 1, 1, 1, 0, 0);");
        }
    }

    /// <summary>Keras's fans: depthwise (kh, kw, C, dm) → (kh·kw·C, kh·kw·dm); pointwise (1, 1, C·dm, f) → (C·dm, f); transposed (kh, kw, f, C) → (kh·kw·f, kh·kw·C).</summary>
    private static void WriteConvolutionFamilyInitialize(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        var s = l.Spec;
        int taps = s.KernelH * s.KernelW, c = l.LastInput;
        void Fill(string slot, int count, int initializer, int fanIn, int fanOut, int stream) =>
            w.WriteLine(InitializersType + ".Fill(p.Slice(" + slot + ", " + I(count) + "), " + InitializerType + "." + InitializerNames[initializer] +
                ", fanIn: " + I(fanIn) + ", fanOut: " + I(fanOut) + ", seed, stream: " + I(stream) + ");");
        switch (s.Kind)
        {
            case LayerKind.DepthwiseConv2D:
                Fill("P" + n + "_Kernel", l.KernelCount, s.KernelInitializer, taps * c, taps * s.DepthMultiplier, 2 * l.Index);
                break;
            case LayerKind.SeparableConv2D:
            {
                int middle = ShapeInference.MiddleChannels(l);
                Fill("P" + n + "_Depthwise", DepthwiseCount(l), s.KernelInitializer, taps * c, taps * s.DepthMultiplier, 2 * l.Index);
                Fill("P" + n + "_Pointwise", l.KernelCount - DepthwiseCount(l), s.PointwiseInitializer, middle, l.LastOutput, PointwiseStreamBase + l.Index);
                break;
            }
            default:
                Fill("P" + n + "_Kernel", l.KernelCount, s.KernelInitializer, taps * l.LastOutput, taps * c, 2 * l.Index);
                break;
        }
        if (l.BiasCount > 0)
            Fill("P" + n + "_Bias", l.BiasCount, s.BiasInitializer, l.BiasCount, l.BiasCount, 2 * l.Index + 1);
    }

    /// <summary>
    /// The forward call(s) of a depthwise, separable or transposed convolution; <paramref name="folded"/> replaces the
    /// activation, the (pointwise) kernel and the bias with those of a batch norm folded in for inference.
    /// </summary>
    private static void WriteConvolutionFamilyForward(SourceWriter w, ResolvedLayer l, string alpha, string x, string y, string preSlot,
        (string Activation, string Kernel, string Bias)? folded = null)
    {
        string n = I(l.Index + 1);
        string bias = folded?.Bias ?? (l.BiasCount > 0 ? "p + P" + n + "_Bias" : "-1");
        string act = folded?.Activation ?? Act(l);
        string kernel = folded?.Kernel ?? "p + P" + n + "_Kernel";
        string pointwise = folded?.Kernel ?? "p + P" + n + "_Pointwise";
        switch (l.Spec.Kind)
        {
            case LayerKind.DepthwiseConv2D:
                w.WriteLine("b.DepthwiseConv2DForward(G" + n + ", batch, " + act + ", " + alpha + ",");
                w.Indent();
                w.WriteLine("x: " + x + ", kernel: " + kernel + ", bias: " + bias + ",");
                w.WriteLine("preActivation: " + preSlot + ", y: " + y + ");");
                w.Unindent();
                break;
            case LayerKind.SeparableConv2D:
            {
                string middle = "Slot(training, M" + n + ", MI" + n + ", batch)";
                w.WriteLine("// The depthwise convolution (no bias, linear), then the 1x1 pointwise convolution with the bias and activation.");
                w.WriteLine("b.DepthwiseConv2DForward(G" + n + ", batch, " + ActivationFunctionType + ".Linear, 0f,");
                w.Indent();
                w.WriteLine("x: " + x + ", kernel: p + P" + n + "_Depthwise, bias: -1,");
                w.WriteLine("preActivation: -1, y: " + middle + ");");
                w.Unindent();
                w.WriteLine("b.Conv2DForward(GP" + n + ", batch, " + act + ", " + alpha + ",");
                w.Indent();
                w.WriteLine("x: " + middle + ", kernel: " + pointwise + ", bias: " + bias + ",");
                w.WriteLine("preActivation: " + preSlot + ", y: " + y + ");");
                w.Unindent();
                break;
            }
            default:
                w.WriteLine("b.Conv2DTransposeForward(G" + n + ", batch, " + act + ", " + alpha + ",");
                w.Indent();
                w.WriteLine("x: " + x + ", kernel: " + kernel + ", bias: " + bias + ",");
                w.WriteLine("preActivation: " + preSlot + ", y: " + y + ");");
                w.Unindent();
                break;
        }
    }

    /// <summary>
    /// Writes the backward of a depthwise, separable or transposed convolution: dy to dx (-1: none). A separable one
    /// passes the depthwise output's gradient through its temporary gradient buffer.
    /// </summary>
    private static void WriteConvolutionFamilyBackward(SourceWriter w, ResolvedLayer l, string alpha, string? logitsFlag, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string other = "GradientBuffer(" + I(l.GradientTemp) + ", batch)";
        string dBias = l.BiasCount > 0 ? "g + P" + n + "_Bias" : "-1";
        string pre = l.TrainPreActivation >= 0 ? "Train(Z" + n + ", batch)" : "-1";
        string fromLogits = logitsFlag ?? "false";
        switch (l.Spec.Kind)
        {
            case LayerKind.SeparableConv2D:
                w.WriteLine("// The pointwise gradient into the other buffer (its dx is the depthwise output's gradient), then the depthwise one back into this one.");
                w.WriteLine("b.Conv2DBackward(GP" + n + ", batch, " + Act(l) + ", " + alpha + ", " + fromLogits + ",");
                w.Indent();
                w.WriteLine("x: Train(M" + n + ", batch), kernel: p + P" + n + "_Pointwise, preActivation: " + pre + ", y: Train(T" + n + ", batch),");
                w.WriteLine("dy: " + dy + ", dx: " + other + ", dKernel: g + P" + n + "_Pointwise, dBias: " + dBias + ");");
                w.Unindent();
                w.WriteLine("b.DepthwiseConv2DBackward(G" + n + ", batch, " + ActivationFunctionType + ".Linear, 0f, true,");
                w.Indent();
                w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Depthwise, preActivation: -1, y: Train(M" + n + ", batch),");
                w.WriteLine("dy: " + other + ", dx: " + dx + ", dKernel: g + P" + n + "_Depthwise, dBias: -1);");
                w.Unindent();
                return;
            default:
            {
                string op = l.Spec.Kind == LayerKind.DepthwiseConv2D ? "DepthwiseConv2DBackward" : "Conv2DTransposeBackward";
                w.WriteLine("b." + op + "(G" + n + ", batch, " + Act(l) + ", " + alpha + ", " + fromLogits + ",");
                w.Indent();
                w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Kernel, preActivation: " + pre + ", y: Train(T" + n + ", batch),");
                w.WriteLine("dy: " + dy + ", dx: " + dx + ", dKernel: g + P" + n + "_Kernel, dBias: " + dBias + ");");
                w.Unindent();
                return;
            }
        }
    }

    private static string DescribeConvolutionFamily(ResolvedLayer l)
    {
        var s = l.Spec;
        return (s.Kind == LayerKind.SeparableConv2D ? ", " + I(s.Units) + " filters" : "") +
            ", " + I(s.KernelH) + "x" + I(s.KernelW) + (s.Padding == 1 ? " same" : " valid") +
            (s.StridesText != "1" ? ", strides " + s.StridesText : "") + (s.Dilation != 1 ? ", dilation " + I(s.Dilation) : "") +
            (s.DepthMultiplier != 1 ? ", depth multiplier " + I(s.DepthMultiplier) : "") +
            ", " + ActivationNames[(int)l.Activation].ToLowerInvariant() + (s.UseBias ? "" : ", no bias");
    }
}
