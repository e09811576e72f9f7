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
/// Conv1D on (steps, channels) samples (filters, kernel size, strides, padding valid/same/causal, dilation, activation,
/// bias, initializers), as Keras 2. It runs on the Conv2D kernels: the sample is (steps, 1, channels), the kernel
/// (k, 1, channels, filters), whose memory is Keras's (k, channels, filters). Causal padding puts d·(k − 1) zeros
/// before the sequence and none after. What it writes, e.g. for Conv1D(64, 3, Activation = Relu) on (28, 28):
/// <code>
///   private static readonly global::NetGen.Backends.Conv2DGeometry G1 = new(28, 1, 28, 26, 1, 64, 3, 1, 1, 1, 1, 1, 0, 0);
///   b.Conv2DForward(G1, batch, new(ActivationFunction.Relu), x: ..., kernel: p + P1_Kernel, bias: p + P1_Bias, y: ...);
///   b.Conv2DBackward(G1, batch, new(ActivationFunction.Relu), false, x: ..., kernel: p + P1_Kernel, y: ...,
///       dy: Train(D0, batch), dx: ..., dKernel: g + P1_Kernel, dBias: g + P1_Bias);
/// </code>
/// </summary>
internal sealed class Conv1DRule() : LayerRule(LayerKind.Conv1D)
{
    private const string GeometryType = "global::NetGen.Backends.Conv2DGeometry";
    private const int Causal = 2; // NetGen.Padding.Causal

    public override string KerasName => "conv1d";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override bool OwnsActivation => true;

    public override ActivationKind ActivationOf(LayerSpec layer) => (ActivationKind)layer.As<ConvArgs>().Activation;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        // The kernel's length is the window's height: steps are rows of width 1.
        var window = new WindowArgs(Int(args, 1), 1, NamedInt(data, "Strides", 1), null, NamedInt(data, "DilationRate", 1), NamedInt(data, "Padding", 0));
        return new LayerSpec(Kind, name, new ConvArgs(Int(args, 0), NamedInt(data, "Activation", 0), NamedBool(data, "UseBias", true),
            NamedInt(data, "KernelInitializer", 0), NamedInt(data, "BiasInitializer", 1), window), Regularizers: ReadRegularizers(data));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var a = layer.As<ConvArgs>();
        var w = a.Window;
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (!ShapeInference.RequireSequence(shape, i, name, index, errors)) return null;
        if (a.Filters <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { name, index, I(a.Filters) }));
            return null;
        }
        bool causal = w.Padding == Causal;
        // The window checks of Conv2D, on (steps, 1, channels); causal padding is checked as `same` (both keep every step).
        var asImage = w with { Padding = causal ? 1 : w.Padding };
        if (!ShapeInference.CheckWindow(asImage, i, name, index, errors)) return null;
        long span = ShapeMath.EffectiveKernel(w.KernelH, w.Dilation);
        if (w.Padding == 0 && span > shape[0])
        {
            long maxKernel = (shape[0] - 1) / w.Dilation + 1;
            errors.Add(new ShapeError(i, Descriptors.EmptyOutputId, new[] { name, index,
                "kernel " + I(w.KernelH) + ", strides " + I(w.Strides) + ", dilation " + I(w.Dilation) + ", Padding.Valid",
                ShapeMath.Keras(shape), "0 steps",
                "use Padding = Padding.Same or Padding.Causal, or a kernel of at most " + maxKernel.ToString(CultureInfo.InvariantCulture) +
                (w.Dilation > 1 ? " (or a smaller dilation rate)" : "") }));
            return null;
        }
        var window = ShapeInference.Window(asImage, new[] { shape[0], 1, shape[1] }, w.Strides, 1, w.Dilation, i, name, index, errors, isPool: false);
        return window is null ? null : new[] { window.Value.OutH, a.Filters };
    }

    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var a = layer.As<ConvArgs>();
        int k = a.Window.KernelH, c = inputShape[1], f = a.Filters;
        return DenseRule.KernelAndBias(new[] { k, c, f }, (int)Math.Min(int.MaxValue, (long)k * c), (int)Math.Min(int.MaxValue, (long)k * f),
            a.UseBias, a.KernelInitializer, a.BiasInitializer);
    }

    public override string Describe(ResolvedLayer l)
    {
        var s = l.Spec.As<ConvArgs>().Window;
        return ", " + I(s.KernelH) + " " + PaddingName(s.Padding) +
            (s.Strides != 1 ? ", strides " + I(s.Strides) : "") + (s.Dilation != 1 ? ", dilation " + I(s.Dilation) : "") +
            ", " + FusedActivationName(l) + (Conv2DRule.UsesBias(l.Spec) ? "" : ", no bias");
    }

    private static string PaddingName(int padding) => padding switch { 1 => "same", Causal => "causal", _ => "valid" };

    /// <summary>Padding before the first step: TensorFlow's for `same`, d·(k − 1) for causal.</summary>
    private static int PadBefore(ResolvedLayer l)
    {
        var s = l.Spec.As<ConvArgs>().Window;
        return s.Padding switch
        {
            1 => ShapeMath.SamePadBefore(l.InputShape[0], l.OutputShape[0], s.KernelH, s.Strides, s.Dilation),
            Causal => s.Dilation * (s.KernelH - 1),
            _ => 0,
        };
    }

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        var s = l.Spec.As<ConvArgs>().Window;
        int pad = PadBefore(l);
        w.WriteLine("// " + OneLine(l.Name) + ": kernel " + I(s.KernelH) + ", strides " + I(s.Strides) + ", dilation " + I(s.Dilation) +
            ", " + PaddingName(s.Padding) + " padding (" + I(pad) + " before); steps as rows of width 1");
        w.WriteLine("private static readonly " + GeometryType + " G" + I(l.Index + 1) + " = new(" +
            I(l.InputShape[0]) + ", 1, " + I(l.InputShape[1]) + ", " + I(l.OutputShape[0]) + ", 1, " + I(l.OutputShape[1]) + ", " +
            I(s.KernelH) + ", 1, " + I(s.Strides) + ", 1, " + I(s.Dilation) + ", 1, " + I(pad) + ", 0);");
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y) => Conv2DRule.WriteConvolution(w, net, l, y);

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx) =>
        Conv2DRule.WriteConvolutionBackward(w, net, l, dy, dx);

    public override bool AddsIntoInputGradient => true;
}
