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
/// The activation layers: <c>Activation(f)</c>, <c>LeakyReLU(alpha)</c>, <c>ELU(alpha)</c> and <c>ReLU(MaxValue,
/// NegativeSlope, Threshold)</c>. Each computes one element-wise function in place of its input's gradient; an
/// element-wise one (any but softmax, and a ReLU without a ceiling or threshold) can run inside the Dense, convolution,
/// batch-norm or merge kernel before it (the fusion planner asks <see cref="ILayerRule.FusesAsActivation"/>).
/// What they write, e.g. for LeakyReLU(0.1) on (128,) and ReLU(MaxValue = 6) on (12,):
/// <code>
///   b.ActivationForward(ActivationFunction.LeakyRelu, 0.1f, batch, 128, x: Slot(training, T1, I1, batch), y: Slot(training, T2, I2, batch));
///   b.ActivationBackward(ActivationFunction.LeakyRelu, 0.1f, batch, 128, x: Train(T1, batch), y: Train(T2, batch), dy: ..., dx: ...);
///   b.ReluForward(batch * 12, 6f, 0f, 0f, x: Slot(training, T1, I1, batch), y: Slot(training, T2, I2, batch));
///   b.ReluBackward(batch * 12, 6f, 0f, 0f, x: Train(T1, batch), dy: Train(D0, batch), dx: Train(D0, batch));
/// </code>
/// </summary>
internal sealed class ActivationLayerRule(LayerKind kind) : LayerRule(kind)
{
    public override string KerasName => Kind switch
    {
        LayerKind.LeakyReLU => "leaky_re_lu",
        LayerKind.ELU => "elu",
        LayerKind.ReLU => "re_lu",
        _ => "activation",
    };

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.InPlace;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        switch (Kind)
        {
            case LayerKind.Activation:
                return new LayerSpec(Kind, name, new ActivationArgs(args.Length > 0 && args[0].Value is int a ? a : 0));
            case LayerKind.LeakyReLU:
            case LayerKind.ELU:
                return new LayerSpec(Kind, name, new AlphaArgs(args.Length > 0 ? Convert.ToDouble(args[0].Value, CultureInfo.InvariantCulture) : 0));
            default:
                double maxValue = double.NaN, negativeSlope = 0, threshold = 0; // Keras's max_value=None
                foreach (var pair in data.NamedArguments)
                {
                    double? v = pair.Value.Value switch { double d => d, float f => f, int i => i, _ => null };
                    if (v is not double number) continue;
                    if (pair.Key == "MaxValue") maxValue = number;
                    else if (pair.Key == "NegativeSlope") negativeSlope = number;
                    else if (pair.Key == "Threshold") threshold = number;
                }
                return new LayerSpec(Kind, name, new ReluArgs(maxValue, negativeSlope, threshold));
        }
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors) =>
        inputShapes[0];

    public override ActivationKind ResolveActivation(LayerSpec layer, int i, string kind, string index, List<ShapeError> errors)
    {
        switch (Kind)
        {
            case LayerKind.Activation:
                return ShapeInference.CheckActivation(layer.As<ActivationArgs>().Activation, i, kind, index, errors);
            case LayerKind.LeakyReLU:
            case LayerKind.ELU:
                double alpha = layer.As<AlphaArgs>().Alpha;
                if (!ShapeInference.FiniteAsFloat(alpha)) // 1e300 is finite, but not as the kernels' float
                    errors.Add(new ShapeError(i, Descriptors.BadAlphaId, new[] { kind, index, alpha.ToString("R", CultureInfo.InvariantCulture) }));
                return Kind == LayerKind.LeakyReLU ? ActivationKind.LeakyRelu : ActivationKind.EluAlpha;
            default:
                return CheckRelu(layer.As<ReluArgs>(), i, kind, index, errors);
        }
    }

    /// <summary>
    /// Checks a ReLU layer's Keras arguments (none may be negative; max value NaN or +∞ means none). Returns the
    /// element-wise activation it reduces to without a max value and threshold (Relu, or LeakyRelu with the negative
    /// slope as alpha), which a batch norm can fuse; Linear means the general form (its own kernels).
    /// </summary>
    private static ActivationKind CheckRelu(ReluArgs relu, int i, string kind, string index, List<ShapeError> errors)
    {
        if (relu.MaxValue < 0)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "max value", R(relu.MaxValue),
                "the max value must be at least 0 (Keras rejects a negative max_value), or NaN (the default) for no ceiling, e.g. MaxValue = 6" }));
        if (!(relu.NegativeSlope >= 0) || !ShapeInference.FiniteAsFloat(relu.NegativeSlope))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "negative slope", R(relu.NegativeSlope),
                "the negative slope must be a finite number of at least 0, e.g. 0.1" }));
        if (!(relu.Threshold >= 0) || !ShapeInference.FiniteAsFloat(relu.Threshold))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "threshold", R(relu.Threshold),
                "the threshold must be a finite number of at least 0, e.g. 0 (the default) or 1" }));
        return relu.IsPlain ? (relu.NegativeSlope == 0 ? ActivationKind.Relu : ActivationKind.LeakyRelu) : ActivationKind.Linear;

        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A ReLU with a ceiling or threshold runs its own kernel (ReluForward); the others are one activation function.</summary>
    private static bool IsFunction(ResolvedLayer l) => l.Spec.Kind != LayerKind.ReLU || l.Activation != ActivationKind.Linear;

    public override bool FusesAsActivation(ResolvedLayer l) =>
        Kind == LayerKind.Activation ? l.Activation != ActivationKind.Softmax : IsFunction(l);

    public override bool IsActivationLayer => true;

    public override bool IsOutputActivation => Kind == LayerKind.Activation;

    public override double ActivationAlpha(LayerSpec layer) => Kind switch
    {
        LayerKind.LeakyReLU or LayerKind.ELU => layer.As<AlphaArgs>().Alpha,
        LayerKind.ReLU => layer.As<ReluArgs>().NegativeSlope,
        _ => 0,
    };

    public override string Describe(ResolvedLayer l)
    {
        string R(double v) => ((float)v).ToString("R", CultureInfo.InvariantCulture);
        switch (Kind)
        {
            case LayerKind.Activation:
                return ", " + ActivationNames[(int)l.Activation].ToLowerInvariant();
            case LayerKind.LeakyReLU:
            case LayerKind.ELU:
                return ", alpha " + R(l.Spec.As<AlphaArgs>().Alpha);
            default:
            {
                var relu = l.Spec.As<ReluArgs>();
                string detail = "";
                if (!double.IsNaN(relu.MaxValue) && !double.IsPositiveInfinity(relu.MaxValue)) detail += ", max_value " + R(relu.MaxValue);
                if (relu.NegativeSlope != 0) detail += ", negative_slope " + R(relu.NegativeSlope);
                if (relu.Threshold != 0) detail += ", threshold " + R(relu.Threshold);
                return detail;
            }
        }
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        string x = "Slot(training, T" + prev + ", I" + prev + ", batch)";
        if (IsFunction(l))
            w.WriteLine("b.ActivationForward(" + Act(l) + ", " + F(ActivationAlpha(l.Spec)) + ", " +
                Rows(l) + ", " + I(l.LastOutput) + ", x: " + x + ", y: " + y + ");");
        else
            w.WriteLine("b.ReluForward(batch * " + I(l.OutputSize) + ", " + ReluArguments(l) + ", x: " + x + ", y: " + y + ");");
    }

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        if (!IsFunction(l))
        {
            w.WriteLine("b.ReluBackward(batch * " + I(l.OutputSize) + ", " + ReluArguments(l) + ", x: Train(T" + prev + ", batch), dy: " + dy + ", dx: " + dy + ");");
            return;
        }
        string call = "b.ActivationBackward(" + Act(l) + ", " + F(ActivationAlpha(l.Spec)) + ", " +
            Rows(l) + ", " + I(l.LastOutput) + ", x: Train(T" + prev + ", batch), y: Train(T" + n + ", batch), dy: " + dy + ", dx: " + dy + ");";
        // An output whose activation the loss fuses (softmax + cross-entropy on the logits) skips its derivative then.
        string? logitsFlag = FromLogitsFlag(net, l.Index);
        w.WriteLine(logitsFlag is not null && ShapeInference.IsLogitActivation(l.Activation) ? "if (!" + logitsFlag + ") " + call : call);
    }

    /// <summary>Max value (+∞ for none), negative slope and threshold, as float literals.</summary>
    private static string ReluArguments(ResolvedLayer l)
    {
        var relu = l.Spec.As<ReluArgs>();
        return (double.IsNaN(relu.MaxValue) ? "float.PositiveInfinity" : F(relu.MaxValue)) + ", " + F(relu.NegativeSlope) + ", " + F(relu.Threshold);
    }
}

/// <summary>The Activation layer: its function (id as declared).</summary>
internal sealed record ActivationArgs(int Activation) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config) => config.Common(0, Activation, true);
}

/// <summary>LeakyReLU and ELU: alpha (the negative slope; ELU's scale below 0).</summary>
internal sealed record AlphaArgs(double Alpha) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Alpha != 0) config.Real("value", Alpha);
    }
}

/// <summary>The ReLU layer: Keras's max_value (NaN: none), negative_slope and threshold.</summary>
internal sealed record ReluArgs(double MaxValue, double NegativeSlope, double Threshold) : LayerArgs
{
    /// <summary>Without a max value (NaN or +∞) and with threshold 0: a plain or leaky ReLU.</summary>
    public bool IsPlain => (double.IsNaN(MaxValue) || double.IsPositiveInfinity(MaxValue)) && Threshold == 0;

    public override void WriteConfig(ConfigWriter config)
    {
        if (MaxValue != 0) config.Real("value", MaxValue);
        if (NegativeSlope != 0) config.Real("slope", NegativeSlope);
        if (Threshold != 0) config.Real("threshold", Threshold);
    }
}
