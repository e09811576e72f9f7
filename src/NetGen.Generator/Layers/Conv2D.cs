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
/// Conv2D on (height, width, channels) samples (filters, kernel, strides, dilation, padding valid/same, activation,
/// bias, initializers, kernel and bias regularizers), as Keras 2 with TensorFlow's `same` padding. A batch norm after
/// it folds into its kernel for inference. What it writes, e.g. for Conv2D(32, 3, Activation = Relu) on 28x28x1:
/// <code>
///   // conv2d: kernel 3x3, strides 1, dilation 1, padding top/left 0/0
///   private static readonly global::NetGen.Backends.Conv2DGeometry G1 = new(28, 28, 1, 26, 26, 32, 3, 3, 1, 1, 1, 1, 0, 0);
///   b.Conv2DForward(G1, batch, new(ActivationFunction.Relu), x: ..., kernel: p + P1_Kernel, bias: p + P1_Bias, y: ...);
///   b.Conv2DBackward(G1, batch, new(ActivationFunction.Relu), false, x: ..., kernel: p + P1_Kernel, y: ...,
///       dy: Train(D0, batch), dx: ..., dKernel: g + P1_Kernel, dBias: g + P1_Bias);
/// </code>
/// </summary>
internal sealed class Conv2DRule() : LayerRule(LayerKind.Conv2D), IFoldsBatchNorm
{
    public override bool AddsResidual => true;

    private const string GeometryType = "global::NetGen.Backends.Conv2DGeometry";

    public override string KerasName => "conv2d";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    /// <summary>Linear and without a dropout, Conv2DBackward only reads dy.</summary>
    public override bool BackwardKeepsOutputGradient(ResolvedLayer layer) => layer.Activation == ActivationKind.Linear && layer.FusedDropout < 0;

    public override bool OwnsActivation => true;

    public override bool IsImageLayer => true;

    public override ActivationKind ActivationOf(LayerSpec layer) => (ActivationKind)layer.As<ConvArgs>().Activation;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int kernelH = Int(args, 1), kernelW = args.Length > 2 ? Int(args, 2) : kernelH;
        var (strides, stridesW) = ReadStrides(data, 1);
        var window = new WindowArgs(kernelH, kernelW, strides, stridesW, NamedInt(data, "DilationRate", 1), NamedInt(data, "Padding", 0));
        return new LayerSpec(Kind, name, new ConvArgs(Int(args, 0), NamedInt(data, "Activation", 0), NamedBool(data, "UseBias", true),
            NamedInt(data, "KernelInitializer", 0), NamedInt(data, "BiasInitializer", 1), window), Regularizers: ReadRegularizers(data));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var args = layer.As<ConvArgs>();
        var w = args.Window;
        string kind = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (!ShapeInference.RequireImage(shape, i, kind, index, errors) || !ShapeInference.CheckWindow(w, i, kind, index, errors)) return null;
        if (args.Filters <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { kind, index, I(args.Filters) }));
            return null;
        }
        var window = ShapeInference.Window(w, shape, w.Strides, w.WidthStrides, w.Dilation, i, kind, index, errors, isPool: false);
        if (window is null) return null;
        var output = new[] { window.Value.OutH, window.Value.OutW, args.Filters };
        long parameters = ShapeMath.SaturatingMultiply(ShapeMath.SaturatingMultiply((long)w.KernelH * w.KernelW, shape[2]), args.Filters) +
            (args.UseBias ? args.Filters : 0);
        long largest = Math.Max(parameters, ShapeMath.LongProduct(output));
        if (largest > int.MaxValue / 4)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, ShapeInference.Thousands(largest), "floats, more than the 536,870,911 one buffer may hold" }));
            return null;
        }
        return output;
    }

    /// <summary>Keras's HWIO kernel (kh, kw, in, filters) with fans (kh·kw·in, kh·kw·filters), then the bias (filters).</summary>
    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var args = layer.As<ConvArgs>();
        var w = args.Window;
        int taps = w.KernelH * w.KernelW, c = inputShape[2], f = args.Filters;
        return DenseRule.KernelAndBias(new[] { w.KernelH, w.KernelW, c, f }, taps * c, taps * f, args.UseBias, args.KernelInitializer, args.BiasInitializer);
    }

    public override string Describe(ResolvedLayer l)
    {
        var w = l.Spec.As<ConvArgs>().Window;
        return ", " + I(w.KernelH) + "x" + I(w.KernelW) + (w.Padding == 1 ? " same" : " valid") +
            (w.StridesText != "1" ? ", strides " + w.StridesText : "") + (w.Dilation != 1 ? ", dilation " + I(w.Dilation) : "") +
            ", " + ActivationNames[(int)l.Activation].ToLowerInvariant() + (UsesBias(l.Spec) ? "" : ", no bias");
    }

    /// <summary>Whether a convolution has a bias (Keras's use_bias).</summary>
    internal static bool UsesBias(LayerSpec layer) => layer.As<ConvArgs>().UseBias;

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        var s = l.Spec.As<ConvArgs>().Window;
        var input = l.InputShape;
        bool same = s.Padding == 1;
        int padTop = same ? ShapeMath.SamePadBefore(input[0], l.OutputShape[0], s.KernelH, s.Strides, s.Dilation) : 0;
        int padLeft = same ? ShapeMath.SamePadBefore(input[1], l.OutputShape[1], s.KernelW, s.WidthStrides, s.Dilation) : 0;
        w.WriteLine("// " + OneLine(l.Name) + ": kernel " + I(s.KernelH) + "x" + I(s.KernelW) + ", strides " + s.StridesText +
            ", dilation " + I(s.Dilation) + ", padding top/left " + I(padTop) + "/" + I(padLeft));
        w.WriteLine("private static readonly " + GeometryType + " G" + I(l.Index + 1) + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(l.OutputShape[0]) + ", " + I(l.OutputShape[1]) + ", " + I(l.OutputShape[2]) + ", " +
            I(s.KernelH) + ", " + I(s.KernelW) + ", " + I(s.Strides) + ", " + I(s.WidthStrides) + ", " +
            I(s.Dilation) + ", " + I(s.Dilation) + ", " + I(padTop) + ", " + I(padLeft) + ");");
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y) => WriteConvolution(w, net, l, y);

    /// <summary>The forward call of a layer that runs on the Conv2D kernels with its geometry <c>G{n}</c> (Conv2D, Conv1D).</summary>
    internal static void WriteConvolution(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        WriteCall(w, l, ForwardEpilogue(net, l), "Slot(training, T" + prev + ", I" + prev + ", batch)", y, null, null);
    }

    public void WriteForwardCall(SourceWriter w, ResolvedLayer l, string epilogue, string x, string y, string? kernel, string? bias) =>
        WriteCall(w, l, epilogue, x, y, kernel, bias);

    private static void WriteCall(SourceWriter w, ResolvedLayer l, string epilogue, string x, string y, string? kernel, string? bias)
    {
        string n = I(l.Index + 1);
        w.WriteLine("b.Conv2DForward(G" + n + ", batch, " + epilogue + ",");
        w.Indent();
        w.WriteLine("x: " + x + ", kernel: " + (kernel ?? "p + P" + n + "_Kernel") + ", bias: " + (bias ?? (UsesBias(l.Spec) ? "p + P" + n + "_Bias" : "-1")) +
            ", y: " + y + ");");
        w.Unindent();
    }

    public int FoldedKernelCount(ResolvedLayer l)
    {
        var w = l.Spec.As<ConvArgs>().Window;
        return w.KernelH * w.KernelW * l.LastInput * l.LastOutput;
    }

    public int FoldInner(ResolvedLayer l) => 1;

    public string FoldedKernel => "Kernel";

    public bool HasBias(LayerSpec layer) => UsesBias(layer);

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx) => WriteConvolutionBackward(w, net, l, dy, dx);

    public override bool AddsIntoInputGradient => true;

    /// <summary>
    /// The backward call of a layer that runs on the Conv2D kernels (Conv2D, Conv1D); where another reader of its input
    /// wrote that input's gradient already, dx is that buffer and the call adds to it (<see cref="AddsIntoInputGradient"/>).
    /// </summary>
    internal static void WriteConvolutionBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        w.WriteLine("b.Conv2DBackward(G" + n + ", batch, " + BackwardEpilogue(net, l) + ", " + (FromLogitsFlag(net, l.Index) ?? "false") + ",");
        w.Indent();
        w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Kernel, y: Train(T" + n + ", batch),");
        w.WriteLine("dy: " + dy + ", dx: " + dx + ", dKernel: g + P" + n + "_Kernel, dBias: " + (UsesBias(l.Spec) ? "g + P" + n + "_Bias" : "-1") +
            BackwardCallEnd(l));
        w.Unindent();
    }
}

/// <summary>
/// The convolutions (Conv2D, Conv1D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose): filters (0 for a depthwise
/// one, whose output channels are C·depth multiplier), activation, bias, the window, initializers (a depthwise or
/// separable one's depthwise initializer in <paramref name="KernelInitializer"/>, a separable one's pointwise
/// initializer in <paramref name="PointwiseInitializer"/>) and the depth multiplier.
/// </summary>
internal sealed record ConvArgs(int Filters, int Activation, bool UseBias, int KernelInitializer, int BiasInitializer, WindowArgs Window,
    int DepthMultiplier = 1, int PointwiseInitializer = 0) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        config.Common(Filters, Activation, UseBias);
        Window.WriteConfig(config);
        if (DepthMultiplier != 1) config.Int("depth", DepthMultiplier);
    }

    public override LayerArgs WithBlockArguments(Func<int, int> set) =>
        this with { Filters = set(Filters), Window = Window.WithBlockArguments(set) };
}
