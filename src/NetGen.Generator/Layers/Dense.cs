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
/// Dense (units, activation, bias, initializers, weight and activity regularizers, the contractive penalty; Keras's
/// TimeDistributed(Dense) with <c>TimeDistributed = true</c>) on the last axis, as Keras 2. A batch norm after it folds
/// into its kernel for inference. What it writes, e.g. for Dense(512, relu) on 784 inputs:
/// <code>
///   // [1] dense (Dense, relu): (None, 784) -> (None, 512), 401,920 params
///   b.DenseForward(batch, 784, 512, new(ActivationFunction.Relu),
///       x: Slot(training, T0, I0, batch), kernel: p + P1_Kernel, bias: p + P1_Bias, y: Slot(training, T1, I1, batch));
///   b.DenseBackward(batch, 784, 512, new(ActivationFunction.Relu), false, x: Train(T0, batch), kernel: p + P1_Kernel,
///       y: Train(T1, batch), dy: Train(D0, batch), dx: -1, dKernel: g + P1_Kernel, dBias: g + P1_Bias);
/// </code>
/// </summary>
internal sealed class DenseRule() : LayerRule(LayerKind.Dense), IFoldsBatchNorm
{
    public override bool AddsResidual => true;

    public override string KerasName => "dense";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    /// <summary>Linear, without a dropout or the penalties that add their gradients to dy, DenseBackward only reads dy.</summary>
    public override bool BackwardKeepsOutputGradient(ResolvedLayer layer) =>
        layer.Activation == ActivationKind.Linear && layer.FusedDropout < 0 && !ShapeInference.HasActivityRegularizer(layer.Spec) &&
        ShapeInference.Contractive(layer.Spec) == 0;

    public override bool OwnsActivation => true;

    public override bool WarnsAfterImage => true;

    public override ActivationKind ActivationOf(LayerSpec layer) => (ActivationKind)layer.As<DenseArgs>().Activation;

    public override LayerSpec Read(AttributeData data, string? name) =>
        new(Kind, name, new DenseArgs(Int(data.ConstructorArguments, 0), NamedInt(data, "Activation", 0), NamedBool(data, "UseBias", true),
            NamedInt(data, "KernelInitializer", 0), NamedInt(data, "BiasInitializer", 1)),
            Regularizers: ReadRegularizers(data), TimeDistributed: NamedBool(data, "TimeDistributed", false));

    /// <summary>Whether it has a bias (Keras's use_bias).</summary>
    internal static bool UsesBias(LayerSpec layer) => layer.As<DenseArgs>().UseBias;

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var args = layer.As<DenseArgs>();
        string kind = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (args.Units <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { kind, index, I(args.Units) }));
            return null;
        }
        if (layer.TimeDistributed && shape.Length < 2)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "TimeDistributed on an input of shape", ShapeMath.Keras(shape),
                "TimeDistributed applies the Dense to every step of (steps, features) samples; on a vector, drop TimeDistributed (or add a RepeatVector or an LSTM with ReturnSequences before it)" }));
        var output = (int[])shape.Clone();
        output[output.Length - 1] = args.Units;
        long parameters = (long)shape[shape.Length - 1] * args.Units + (args.UseBias ? args.Units : 0);
        if (parameters > Limits.TensorFloats)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, ShapeInference.Thousands(parameters),
                "parameters, more than the 536,870,911 that fit with their gradients and optimizer state" }));
            return null;
        }
        if (ShapeMath.LongProduct(output) > Limits.TensorFloats)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, ShapeInference.Thousands(ShapeMath.LongProduct(output)),
                "output floats per sample, more than the 536,870,911 one tensor may hold" }));
            return null;
        }
        return output;
    }

    /// <summary>Keras's kernel (in, units) with fans (in, units), then the bias (units).</summary>
    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var args = layer.As<DenseArgs>();
        int c = inputShape[inputShape.Length - 1], f = args.Units;
        return KernelAndBias(new[] { c, f }, c, f, args.UseBias, args.KernelInitializer, args.BiasInitializer);
    }

    /// <summary>A kernel of this shape and fans, then, with a bias, a bias of the last axis (fans its length each).</summary>
    internal static IReadOnlyList<WeightSlot> KernelAndBias(int[] kernelShape, int fanIn, int fanOut, bool useBias, int kernelInitializer, int biasInitializer)
    {
        int f = kernelShape[kernelShape.Length - 1];
        var kernel = new WeightSlot("kernel", "Kernel", new EquatableArray<int>(kernelShape), kernelInitializer, fanIn, fanOut);
        if (!useBias) return new[] { kernel };
        return new[] { kernel, new WeightSlot("bias", "Bias", new EquatableArray<int>(new[] { f }), biasInitializer, f, f) };
    }

    public override string Describe(ResolvedLayer l) =>
        ", " + ActivationNames[(int)l.Activation].ToLowerInvariant() + (UsesBias(l.Spec) ? "" : ", no bias");

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        WriteForwardCall(w, l, ForwardEpilogue(net, l), "Slot(training, T" + prev + ", I" + prev + ", batch)", y, null, null);
    }

    public void WriteForwardCall(SourceWriter w, ResolvedLayer l, string epilogue, string x, string y, string? kernel, string? bias)
    {
        string n = I(l.Index + 1);
        w.WriteLine("b.DenseForward(" + Rows(l) + ", " + I(l.LastInput) + ", " + I(l.LastOutput) + ", " + epilogue + ",");
        w.Indent();
        w.WriteLine("x: " + x + ", kernel: " + (kernel ?? "p + P" + n + "_Kernel") + ", bias: " + (bias ?? (UsesBias(l.Spec) ? "p + P" + n + "_Bias" : "-1")) +
            ", y: " + y + ");");
        w.Unindent();
    }

    public int FoldedKernelCount(ResolvedLayer l) => l.LastInput * l.LastOutput;

    public int FoldInner(ResolvedLayer l) => 1;

    public string FoldedKernel => "Kernel";

    public bool HasBias(LayerSpec layer) => UsesBias(layer);

    public override bool AddsIntoInputGradient => true;

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        var r = l.Spec.Regularizers;
        if (ShapeInference.HasActivityRegularizer(l.Spec) && (r[4] != 0 || r[5] != 0))
            w.WriteLine("b.RegularizationGradient(x: Train(T" + n + ", batch), g: " + dy + ", count: batch * " + I(l.OutputSize) +
                ", l1: " + F(r[4]) + " / batch, l2: " + F(r[5]) + " / batch); // activity regularizer");
        double contractive = ShapeInference.Contractive(l.Spec);
        if (contractive != 0)
            w.WriteLine("b.ContractiveGradient(h: Train(T" + n + ", batch), kernel: p + P" + n + "_Kernel, dh: " + dy + ", dKernel: -1, batch, " +
                I(l.LastInput) + ", " + I(l.LastOutput) + ", " + F(contractive) + " / batch); // the contractive penalty's gradient through h");
        w.WriteLine("b.DenseBackward(" + Rows(l) + ", " + I(l.LastInput) + ", " + I(l.LastOutput) + ", " + BackwardEpilogue(net, l) + ", " +
            (FromLogitsFlag(net, l.Index) ?? "false") + ",");
        w.Indent();
        w.WriteLine("x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Kernel, y: Train(T" + n + ", batch),");
        w.WriteLine("dy: " + dy + ", dx: " + dx + ", dKernel: g + P" + n + "_Kernel, dBias: " + (UsesBias(l.Spec) ? "g + P" + n + "_Bias" : "-1") +
            BackwardCallEnd(l));
        w.Unindent();
        if (contractive != 0)
            w.WriteLine("b.ContractiveGradient(h: Train(T" + n + ", batch), kernel: p + P" + n + "_Kernel, dh: -1, dKernel: g + P" + n + "_Kernel, batch, " +
                I(l.LastInput) + ", " + I(l.LastOutput) + ", " + F(contractive) + " / batch); // and through the kernel");
    }
}

/// <summary>Dense: units, its activation (id as declared), bias and initializers (ids as declared).</summary>
internal sealed record DenseArgs(int Units, int Activation, bool UseBias, int KernelInitializer, int BiasInitializer) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config) => config.Common(Units, Activation, UseBias);

    public override LayerArgs WithBlockArguments(Func<int, int> set) => this with { Units = set(Units) };
}
