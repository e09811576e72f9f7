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
/// The layers that act in training only, with masks and noise from the counter-based RNG keyed by the layer's index:
/// Dropout (inverted, rate), GaussianNoise (additive, stddev), GaussianDropout (multiplicative 1 + N(0, rate/(1−rate)))
/// and SpatialDropout2D (one mask value per sample and channel). In inference each is the identity, its output its
/// input's slot; with a rate or stddev of 0 it is the identity in training too. The backward pass works in place. A
/// Dropout right after a batch norm runs inside the batch-norm kernel instead (the fusion planner decides it). What
/// they write, e.g. for GaussianDropout(0.2) as layer 3:
/// <code>
///   // In inference the layer is the identity: I3 aliases I2.
///   if (training) b.GaussianDropoutForward(batch * 12, 0.5f, DropoutKey(2), x: Train(T2, batch), y: Train(T3, batch));
///   else if (Inspecting) b.Copy(Train(T2, batch), Train(T3, batch), batch * 12);
///   ...
///   b.GaussianDropoutBackward(batch * 12, 0.5f, DropoutKey(2), dy: Train(D0, batch), dx: Train(D0, batch));
/// </code>
/// </summary>
internal sealed class TrainingOnlyRule(LayerKind layerKind) : LayerRule(layerKind)
{
    public override string KerasName => Kind switch
    {
        LayerKind.Dropout => "dropout",
        LayerKind.GaussianNoise => "gaussian_noise",
        LayerKind.GaussianDropout => "gaussian_dropout",
        LayerKind.SpatialDropout1D => "spatial_dropout1d",
        _ => "spatial_dropout2d",
    };

    public override BackwardStyle StyleOf(LayerSpec layer) => Amount(layer) > 0 ? BackwardStyle.InPlace : BackwardStyle.PassThrough;

    /// <summary>Dropout (not the noise layers), with a rate in (0, 1); one that rounds to 1 as a float (the kernels' type) stays its own layer, which outputs zeros.</summary>
    public override bool FusesAsDropout(LayerSpec layer) => Kind == LayerKind.Dropout && Amount(layer) > 0 && (float)Amount(layer) < 1f;

    public override bool TrainingOnly => true;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        double value = args.Length > 0 ? Convert.ToDouble(args[0].Value, CultureInfo.InvariantCulture) : 0;
        return new LayerSpec(Kind, name, Kind == LayerKind.GaussianNoise ? new GaussianNoiseArgs(value) : new DropoutArgs(value));
    }

    /// <summary>With a rate or stddev of 0 it is the identity in training too: its output is its input's slot.</summary>
    public override bool IsIdentity(LayerSpec layer) => Amount(layer) == 0;

    /// <summary>Its rate (the dropouts, GaussianDropout) or standard deviation (GaussianNoise).</summary>
    private static double Amount(LayerSpec layer) => layer.Args is GaussianNoiseArgs noise ? noise.Stddev : layer.As<DropoutArgs>().Rate;

    /// <summary>The input shape; a bad rate or stddev is reported and the layers after it are still checked.</summary>
    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        double v = Amount(layer);
        if (Kind == LayerKind.GaussianNoise)
        {
            if (!(v >= 0) || float.IsNaN((float)v) || float.IsInfinity((float)v))
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "stddev", R(v),
                    "the standard deviation must be a finite number of at least 0, e.g. 0.1" }));
        }
        else if (!(v >= 0 && v < 1))
            errors.Add(new ShapeError(i, Descriptors.BadDropoutRateId, new[] { name, index, R(v) }));
        if (Kind == LayerKind.SpatialDropout2D && !ShapeInference.RequireImage(inputShapes[0], i, name, index, errors)) return null;
        if (Kind == LayerKind.SpatialDropout1D && !ShapeInference.RequireSequence(inputShapes[0], i, name, index, errors)) return null;
        return inputShapes[0];
    }

    public override string Describe(ResolvedLayer l) =>
        (Kind == LayerKind.GaussianNoise ? ", stddev " : ", rate ") + ((float)Amount(l.Spec)).ToString("R", CultureInfo.InvariantCulture);

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        if (!(Amount(l.Spec) > 0))
        {
            w.WriteLine("// Nothing to compute: the output aliases the input.");
            return;
        }
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string count = "batch * " + I(l.OutputSize), key = "DropoutKey(" + I(l.Index) + ")";
        string x = "x: Train(T" + prev + ", batch), y: Train(T" + n + ", batch)";
        string call;
        switch (Kind)
        {
            case LayerKind.Dropout:
                w.WriteLine("// In inference dropout is the identity: I" + n + " aliases I" + prev + ".");
                call = "b.DropoutForward(" + count + ", " + F(Amount(l.Spec)) + ", " + key + ", " + x + ");";
                break;
            case LayerKind.GaussianNoise:
                w.WriteLine("// In inference the layer is the identity: I" + n + " aliases I" + prev + ".");
                call = "b.GaussianNoiseForward(" + count + ", " + F(Amount(l.Spec)) + ", " + key + ", " + x + ");";
                break;
            case LayerKind.GaussianDropout:
                w.WriteLine("// In inference the layer is the identity: I" + n + " aliases I" + prev + ".");
                call = "b.GaussianDropoutForward(" + count + ", " + F(GaussianDropoutStddev(l)) + ", " + key + ", " + x + ");";
                break;
            default:
                w.WriteLine("// One mask value per (sample, channel); in inference the layer is the identity: I" + n + " aliases I" + prev + ".");
                call = "b.SpatialDropout2DForward(batch, " + SpatialArguments(l) + ", " + key + ", " + x + ");";
                break;
        }
        w.WriteLine("if (training) " + call);
        // PredictLayers runs on the training slots, where this layer's output has a slot of its own: the identity there.
        w.WriteLine("else if (Inspecting) b.Copy(Train(T" + prev + ", batch), Train(T" + n + ", batch), " + count + ");");
    }

    /// <summary>In place on dy (the planner hands dy on as the input's gradient).</summary>
    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string count = "batch * " + I(l.OutputSize), key = "DropoutKey(" + I(l.Index) + ")";
        switch (Kind)
        {
            case LayerKind.Dropout:
                w.WriteLine("b.DropoutBackward(" + count + ", " + F(Amount(l.Spec)) + ", " + key + ", dy: " + dy + ", dx: " + dy + ");");
                return;
            case LayerKind.GaussianNoise:
                w.WriteLine("// Additive noise: the gradient passes through unchanged.");
                return;
            case LayerKind.GaussianDropout:
                w.WriteLine("b.GaussianDropoutBackward(" + count + ", " + F(GaussianDropoutStddev(l)) + ", " + key + ", dy: " + dy + ", dx: " + dy + ");");
                return;
            default:
                w.WriteLine("b.SpatialDropout2DBackward(batch, " + SpatialArguments(l) + ", " + key + ", dy: " + dy + ", dx: " + dy + ");");
                return;
        }
    }

    /// <summary>Pixels per channel (height·width), channels and the rate.</summary>
    private static string SpatialArguments(ResolvedLayer l) => l.OutputShape.Length == 2
        ? I(l.OutputShape[0]) + ", " + I(l.OutputShape[1]) + ", " + F(Amount(l.Spec)) // SpatialDropout1D: steps, channels
        : I(l.OutputShape[0] * l.OutputShape[1]) + ", " + I(l.OutputShape[2]) + ", " + F(Amount(l.Spec));

    /// <summary>Keras's <c>np.sqrt(rate / (1.0 - rate))</c>, in double like numpy, then rounded to float.</summary>
    private static double GaussianDropoutStddev(ResolvedLayer l) => Math.Sqrt(Amount(l.Spec) / (1.0 - Amount(l.Spec)));

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Dropout, GaussianDropout, SpatialDropout1D and SpatialDropout2D: the rate.</summary>
internal sealed record DropoutArgs(double Rate) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Rate != 0) config.Real("value", Rate);
    }
}

/// <summary>GaussianNoise: the standard deviation of the noise.</summary>
internal sealed record GaussianNoiseArgs(double Stddev) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Stddev != 0) config.Real("value", Stddev);
    }
}
