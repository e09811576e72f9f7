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
/// MaxPooling2D and AveragePooling2D (pool size, strides, 0 for the pool size as Keras's None, padding valid or same;
/// a `same` average counts only the cells inside the input, as Keras), and their global forms (one window over the
/// whole height and width). What they write, e.g. for MaxPooling2D(2) on 28x28x32:
/// <code>
///   private static readonly global::NetGen.Backends.Pool2DGeometry G4 = new(28, 28, 32, 14, 14, 2, 2, 2, 2, 0, 0);
///   b.MaxPool2DForward(G4, batch, x: Slot(training, T3, I3, batch), y: Slot(training, T4, I4, batch));
///   b.MaxPool2DBackward(G4, batch, x: Train(T3, batch), y: Train(T4, batch), dy: Train(D0, batch), dx: Train(D1, batch));
/// </code>
/// A max pooling after a non-decreasing activation layer applies that activation to the pooled values in inference
/// (the fusion planner decides it; max commutes with the activation). The 1-D kinds (MaxPooling1D, AveragePooling1D
/// and their global forms) pool (steps, channels) samples: the same kernels on (steps, 1, channels).
/// </summary>
internal sealed class PoolingRule(LayerKind layerKind) : LayerRule(layerKind)
{
    private const string GeometryType = "global::NetGen.Backends.Pool2DGeometry";

    private bool Global => Kind is LayerKind.GlobalMaxPooling2D or LayerKind.GlobalAveragePooling2D or LayerKind.GlobalMaxPooling1D or LayerKind.GlobalAveragePooling1D;

    private bool Max => Kind is LayerKind.MaxPooling2D or LayerKind.GlobalMaxPooling2D or LayerKind.MaxPooling1D or LayerKind.GlobalMaxPooling1D;

    /// <summary>A 1-D kind: (steps, channels) samples, seen as (steps, 1, channels).</summary>
    private bool OneD => Kind is LayerKind.MaxPooling1D or LayerKind.AveragePooling1D or LayerKind.GlobalMaxPooling1D or LayerKind.GlobalAveragePooling1D;

    /// <summary>A 2-D max pooling commutes with a non-decreasing activation before it, which it can apply after pooling in inference.</summary>
    public override bool PoolsActivations => Max && !OneD;

    public override string KerasName => Kind switch
    {
        LayerKind.MaxPooling2D => "max_pooling2d",
        LayerKind.AveragePooling2D => "average_pooling2d",
        LayerKind.GlobalAveragePooling2D => "global_average_pooling2d",
        LayerKind.MaxPooling1D => "max_pooling1d",
        LayerKind.AveragePooling1D => "average_pooling1d",
        LayerKind.GlobalAveragePooling1D => "global_average_pooling1d",
        LayerKind.GlobalMaxPooling1D => "global_max_pooling1d",
        _ => "global_max_pooling2d",
    };

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override bool IsImageLayer => !Global && !OneD;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int kh = Global ? 0 : Int(args, 0), kw = Global ? 0 : OneD ? 1 : args.Length > 1 ? Int(args, 1) : kh;
        int padding = 0;
        foreach (var pair in data.NamedArguments)
            if (pair.Key == "Padding" && pair.Value.Value is int p) padding = p;
        var (strides, stridesW) = Global ? (1, null) : ReadStrides(data, 0);
        return new LayerSpec(Kind, name, new PoolArgs(new WindowArgs(kh, kw, strides, OneD ? null : stridesW, 1, padding)));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var w = layer.As<PoolArgs>().Window;
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (OneD)
        {
            if (!ShapeInference.RequireSequence(shape, i, name, index, errors)) return null;
            if (Global) return new[] { shape[1] };
            if (!ShapeInference.CheckWindow(w, i, name, index, errors, pool: true)) return null;
            if (w.Padding == 0 && w.KernelH > shape[0])
            {
                int s = w.Strides == 0 ? w.KernelH : w.Strides;
                errors.Add(new ShapeError(i, Descriptors.EmptyOutputId, new[] { name, index, "pool " + I(w.KernelH) + ", strides " + I(s) + ", Padding.Valid",
                    ShapeMath.Keras(shape), "0 steps", "use Padding = Padding.Same, a pool of at most " + I(shape[0]) + ", or remove the pooling" }));
                return null;
            }
            // (steps, 1, channels), a window of (pool, 1) with strides (s, 1): the width stays 1.
            var steps = ShapeInference.Window(w with { KernelW = 1 }, new[] { shape[0], 1, shape[1] }, w.Strides, 1, 1, i, name, index, errors, isPool: true);
            return steps is null ? null : new[] { steps.Value.OutH, shape[1] };
        }
        if (!ShapeInference.RequireImage(shape, i, name, index, errors)) return null;
        if (Global) return new[] { shape[2] };
        if (!ShapeInference.CheckWindow(w, i, name, index, errors, pool: true)) return null;
        var window = ShapeInference.Window(w, shape, w.Strides, w.WidthStrides, 1, i, name, index, errors, isPool: true);
        return window is null ? null : new[] { window.Value.OutH, window.Value.OutW, shape[2] };
    }

    public override string Describe(ResolvedLayer l)
    {
        var s = l.Spec.As<PoolArgs>().Window;
        return Global ? "" : ", " + (OneD ? I(s.KernelH) : I(s.KernelH) + "x" + I(s.KernelW)) + (s.Padding == 1 ? " same" : " valid");
    }

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        var input = OneD ? new EquatableArray<int>(new[] { l.InputShape[0], 1, l.InputShape[1] }) : l.InputShape;
        var output = OneD ? new[] { Global ? 1 : l.OutputShape[0], 1 } : l.OutputShape.AsSpan().ToArray();
        if (Global)
        {
            w.WriteLine("// " + OneLine(l.Name) + (OneD ? ": one window over all the steps" : ": one window over the whole height and width"));
            w.WriteLine("private static readonly " + GeometryType + " G" + n + " = new(" +
                I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", 1, 1, " + I(input[0]) + ", " + I(input[1]) + ", 1, 1, 0, 0);");
            return;
        }
        var s = l.Spec.As<PoolArgs>().Window;
        int sh = s.Strides == 0 ? s.KernelH : s.Strides, sw = s.WidthStrides == 0 ? s.KernelW : s.WidthStrides;
        if (OneD) sw = 1;
        int padTop = s.Padding == 1 ? ShapeMath.SamePadBefore(input[0], output[0], s.KernelH, sh, 1) : 0;
        int padLeft = s.Padding == 1 ? ShapeMath.SamePadBefore(input[1], output[1], s.KernelW, sw, 1) : 0;
        w.WriteLine("// " + OneLine(l.Name) + ": pool " + I(s.KernelH) + "x" + I(s.KernelW) + ", strides " + I(sh) + "x" + I(sw) +
            ", padding top/left " + I(padTop) + "/" + I(padLeft));
        w.WriteLine("private static readonly " + GeometryType + " G" + n + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(output[0]) + ", " + I(output[1]) + ", " +
            I(s.KernelH) + ", " + I(s.KernelW) + ", " + I(sh) + ", " + I(sw) + ", " + I(padTop) + ", " + I(padLeft) + ");");
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string x = "Slot(training, T" + prev + ", I" + prev + ", batch)";
        w.WriteLine("b." + (Max ? "MaxPool2DForward" : "AvgPool2DForward") + "(G" + n + ", batch, x: " + x + ", y: " + y + ");");
        if (l.PoolsActivationOf < 0) return;
        var act = net.Layers[l.PoolsActivationOf];
        w.WriteLine("// Inference: [" + I(act.Index + 1) + "]'s activation, on the pooled values (max commutes with it).");
        w.WriteLine("if (!unfolded) b.ActivationForward(" + Act(act) + ", " + F(LayerAlpha(act)) + ", " + Emitter.Rows(l) + ", " + I(l.LastOutput) +
            ", x: " + y + ", y: " + y + ");");
    }

    public override bool AddsIntoInputGradient => true;

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string end = BackwardCallEnd(l);
        w.WriteLine(Max
            ? "b.MaxPool2DBackward(G" + n + ", batch, x: Train(T" + prev + ", batch), y: Train(T" + n + ", batch), dy: " + dy + ", dx: " + dx + end
            : "b.AvgPool2DBackward(G" + n + ", batch, dy: " + dy + ", dx: " + dx + end);
    }

}

/// <summary>The poolings: their window (pool size, strides, padding; all 0 for a global pooling, which spans the input).</summary>
internal sealed record PoolArgs(WindowArgs Window) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config) => Window.WriteConfig(config);

    public override LayerArgs WithBlockArguments(Func<int, int> set) => this with { Window = Window.WithBlockArguments(set) };
}
