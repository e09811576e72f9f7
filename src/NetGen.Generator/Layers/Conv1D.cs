using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
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
///   b.Conv2DForward(G1, batch, ActivationFunction.Relu, 0f, x: ..., kernel: p + P1_Kernel, bias: p + P1_Bias, preActivation: -1, y: ...);
///   b.Conv2DBackward(G1, batch, ActivationFunction.Relu, 0f, false, x: ..., kernel: p + P1_Kernel, preActivation: -1, y: ...,
///       dy: GradientBuffer(0, batch), dx: ..., dKernel: g + P1_Kernel, dBias: g + P1_Bias);
/// </code>
/// </summary>
internal sealed class Conv1DRule() : LayerRule(LayerKind.Conv1D)
{
    private const string GeometryType = "global::NetGen.Backends.Conv2DGeometry";
    private const int Causal = 2; // NetGen.Padding.Causal

    public override string KerasName => "conv1d";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override bool OwnsActivation => true;

    public override ActivationKind ActivationOf(LayerSpec layer) => (ActivationKind)layer.Activation;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        return new LayerSpec(Kind, name, Int(args, 0), NamedInt(data, "Activation", 0), NamedBool(data, "UseBias", true),
            NamedInt(data, "KernelInitializer", 0), NamedInt(data, "BiasInitializer", 1), 0, default,
            KernelH: Int(args, 1), KernelW: 1, Strides: NamedInt(data, "Strides", 1), Dilation: NamedInt(data, "DilationRate", 1),
            Padding: NamedInt(data, "Padding", 0), Regularizers: ReadRegularizers(data));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (!ShapeInference.RequireSequence(shape, i, name, index, errors)) return null;
        if (layer.Units <= 0)
        {
            errors.Add(new ShapeError(i, "NG0010", new[] { name, index, I(layer.Units) }));
            return null;
        }
        bool causal = layer.Padding == Causal;
        // The window checks of Conv2D, on (steps, 1, channels); causal padding is checked as `same` (both keep every step).
        var asImage = layer with { Padding = causal ? 1 : layer.Padding };
        if (!ShapeInference.CheckWindow(asImage, i, name, index, errors)) return null;
        long span = ShapeMath.EffectiveKernel(layer.KernelH, layer.Dilation);
        if (layer.Padding == 0 && span > shape[0])
        {
            long maxKernel = (shape[0] - 1) / layer.Dilation + 1;
            errors.Add(new ShapeError(i, "NG0104", new[] { name, index,
                "kernel " + I(layer.KernelH) + ", strides " + I(layer.Strides) + ", dilation " + I(layer.Dilation) + ", Padding.Valid",
                ShapeMath.Keras(shape), "0 steps",
                "use Padding = Padding.Same or Padding.Causal, or a kernel of at most " + maxKernel.ToString(CultureInfo.InvariantCulture) +
                (layer.Dilation > 1 ? " (or a smaller dilation rate)" : "") }));
            return null;
        }
        var window = ShapeInference.Window(asImage, new[] { shape[0], 1, shape[1] }, layer.Strides, 1, layer.Dilation, i, name, index, errors, isPool: false);
        return window is null ? null : new[] { window.Value.OutH, layer.Units };
    }

    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        int k = layer.KernelH, c = inputShape[1], f = layer.Units;
        return DenseRule.KernelAndBias(layer, new[] { k, c, f }, (int)Math.Min(int.MaxValue, (long)k * c), (int)Math.Min(int.MaxValue, (long)k * f));
    }

    public override string Describe(ResolvedLayer l) =>
        ", " + I(l.Spec.KernelH) + " " + PaddingName(l.Spec.Padding) +
        (l.Spec.Strides != 1 ? ", strides " + I(l.Spec.Strides) : "") + (l.Spec.Dilation != 1 ? ", dilation " + I(l.Spec.Dilation) : "") +
        ", " + FusedActivationName(l) + (l.Spec.UseBias ? "" : ", no bias");

    private static string PaddingName(int padding) => padding switch { 1 => "same", Causal => "causal", _ => "valid" };

    /// <summary>Padding before the first step: TensorFlow's for `same`, d·(k − 1) for causal.</summary>
    private static int PadBefore(ResolvedLayer l)
    {
        var s = l.Spec;
        return s.Padding switch
        {
            1 => ShapeMath.SamePadBefore(l.InputShape[0], l.OutputShape[0], s.KernelH, s.Strides, s.Dilation),
            Causal => s.Dilation * (s.KernelH - 1),
            _ => 0,
        };
    }

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        var s = l.Spec;
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
}
