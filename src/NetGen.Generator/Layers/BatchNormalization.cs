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
/// BatchNormalization (momentum, epsilon) over the last axis, as Keras 2 (TF 2 semantics: frozen, it runs in inference
/// mode). γ and β are trainable; the moving mean and variance are non-trainable parameters after all trainable ones;
/// the batch mean and 1/std are saved for the backward pass in scratch after the parameters. Its kernel applies any
/// element-wise activation layer after it (keeping its pre-activation) and a dropout after that; in inference it folds
/// into a Dense or convolution before it (<see cref="IFoldsBatchNorm"/>). What it writes, e.g. on 26x26x32:
/// <code>
///   b.BatchNormForward(batch * 676, new(32, gamma: p + P2_Gamma, beta: p + P2_Beta, movingMean: p + S2, movingVariance: p + S2 + 32,
///           savedMean: p + X2, savedInvStd: p + X2 + 32, momentum: 0.99f, epsilon: 0.001f, unbiasedMovingVariance: true),
///       training &amp;&amp; LayerTrainable(1), new(ActivationFunction.Linear),
///       x: ..., y: ...);
/// </code>
/// </summary>
internal sealed class BatchNormalizationRule() : LayerRule(LayerKind.BatchNormalization)
{
    public override string KerasName => "batch_normalization";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    /// <summary>Linear and without a dropout, its backward calls (training and frozen) only read dy.</summary>
    public override bool BackwardKeepsOutputGradient(ResolvedLayer layer) => layer.Activation == ActivationKind.Linear && layer.FusedDropout < 0;

    /// <summary>
    /// dx = a·(dz − b − (x − mean)·c) per element, after the sums over dz: dx may be dz's region, except where the frozen
    /// call computes the activation's derivative through dx (a non-linear activation from the kept pre-activation).
    /// </summary>
    public override bool BackwardWritesDxOverDy(ResolvedLayer layer) => layer.Activation == ActivationKind.Linear || layer.TrainPreActivation < 0;

    // Its backward reads its output only for the derivative of an activation it took (from y), and with a fused dropout
    // (kept out of caution: that path reads the pre-activation).
    public override bool BackwardReadsOutput(ResolvedLayer layer) => layer.Activation != ActivationKind.Linear || layer.FusedDropout >= 0;

    public override bool TakesAnyActivation => true;

    public override bool TakesDropout => true;

    public override bool FoldsIntoPrevious => true;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        double momentum = 0.99, epsilon = 1e-3;
        foreach (var pair in data.NamedArguments)
        {
            double? v = pair.Value.Value switch { double d => d, float f => f, int i => i, _ => null };
            if (v is null) continue;
            if (pair.Key == "Momentum") momentum = v.Value;
            else if (pair.Key == "Epsilon") epsilon = v.Value;
        }
        return new LayerSpec(Kind, name, new BatchNormArgs(momentum, epsilon));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        string kind = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        var a = layer.As<BatchNormArgs>();
        if (!(a.Momentum >= 0 && a.Momentum <= 1))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "momentum", R(a.Momentum), "momentum must be in [0, 1], e.g. 0.99 (Keras's default; PyTorch's momentum 0.01 is Keras's 0.99)" }));
        if (!((float)a.Epsilon > 0) || !ShapeInference.FiniteAsFloat(a.Epsilon)) // 1e-50 is 0 as the kernels' float
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "epsilon", R(a.Epsilon),
                "epsilon must be a small positive number that a float can hold (at least about 1.4e-45), e.g. 0.001 (Keras's default)" }));
        return (int[])inputShapes[0].Clone();
    }

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>γ (ones) and β (zeros), one per channel.</summary>
    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        int c = outputShape[outputShape.Length - 1];
        return new[]
        {
            new WeightSlot("gamma", "Gamma", new EquatableArray<int>(new[] { c }), (int)InitializerKind.Ones, c, c),
            new WeightSlot("beta", "Beta", new EquatableArray<int>(new[] { c }), (int)InitializerKind.Zeros, c, c),
        };
    }

    /// <summary>The moving mean and variance, one per channel, at <c>S{n}</c>.</summary>
    public override IReadOnlyList<WeightSlot> NonTrainableWeights(LayerSpec layer, int[] outputShape)
    {
        int c = outputShape[outputShape.Length - 1];
        return new[]
        {
            new WeightSlot("moving_mean", "", new EquatableArray<int>(new[] { c }), (int)InitializerKind.Zeros, c, c),
            new WeightSlot("moving_variance", "", new EquatableArray<int>(new[] { c }), (int)InitializerKind.Ones, c, c),
        };
    }

    /// <summary>The batch mean and 1/std of the last training step, read by its backward pass.</summary>
    public override int ScratchCount(ResolvedLayer l) => 2 * l.LastOutput;

    public override string ScratchDescription => "batch mean, then 1/std, saved for backward (not a parameter)";

    public override void WriteInitialize(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1), c = I(l.LastOutput);
        w.WriteLine("p.Slice(P" + n + "_Gamma, " + c + ").Fill(1f);");
        w.WriteLine("p.Slice(P" + n + "_Beta, " + c + ").Clear();");
        w.WriteLine("p.Slice(S" + n + ", " + c + ").Clear(); // moving mean");
        w.WriteLine("p.Slice(S" + n + " + " + c + ", " + c + ").Fill(1f); // moving variance");
    }

    public override string Describe(ResolvedLayer l) =>
        (l.FusedWith >= 0 ? ", fused " + FusedActivationName(l) : "") +
        (l.FusedDropout >= 0 ? (l.FusedWith >= 0 ? " + " : ", fused ") + "dropout [" + I(l.FusedDropout + 1) + "]" : "");

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string fused = l.FusedWith >= 0 ? " (fused with [" + I(l.FusedWith + 1) + "])" : "";
        w.WriteLine("// Training: batch statistics, moving statistics updated; inference: moving statistics" + fused + ".");
        WriteCallStart(w, "BatchNormForward", l);
        w.WriteLine("training && LayerTrainable(" + I(l.Index) + "), " + Epilogue(net, l, PreActivationSlot(net, l)));
        w.WriteLine("x: Slot(training, T" + prev + ", I" + prev + ", batch), y: " + y + ");");
        w.Unindent();
        if (l.FusedDropout >= 0)
        {
            var d = net.Layers[l.FusedDropout];
            w.WriteLine("// Frozen: the batch norm runs in inference mode, which applies no dropout; [" + I(d.Index + 1) + "]'s mask on its own.");
            w.WriteLine("if (training && !LayerTrainable(" + I(l.Index) + ")) b.DropoutForward(batch * " + I(l.OutputSize) + ", " + F(d.Spec.As<DropoutArgs>().Rate) +
                ", DropoutKey(" + I(d.Index) + "), x: Train(T" + n + ", batch), y: Train(T" + n + ", batch));");
        }
    }

    /// <summary>
    /// Both calls add into a shared input's gradient, except a frozen one whose activation's derivative comes from the
    /// stored pre-activation (it uses dx as scratch): that one writes the planner's temporary buffer and adds it.
    /// </summary>
    public override bool AddsIntoInputGradient => true;

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string pre = l.TrainPreActivation >= 0 ? "Train(Z" + n + ", batch)" : "-1";
        bool adds = AddsToInputGradient(l);
        w.OpenBlock("if (LayerTrainable(" + I(l.Index) + "))");
        WriteCallStart(w, "BatchNormBackward", l);
        w.WriteLine(Epilogue(net, l, pre));
        w.WriteLine("x: Train(T" + prev + ", batch), y: Train(T" + n + ", batch),");
        w.WriteLine("dy: " + dy + ", dx: " + dx + ", dGamma: g + P" + n + "_Gamma, dBeta: g + P" + n + "_Beta" +
            BackwardCallEnd(l));
        w.Unindent();
        w.CloseBlock();
        w.OpenBlock("else");
        w.WriteLine("// Frozen: it ran in inference mode, an affine map per channel with the moving statistics.");
        WriteCallStart(w, "BatchNormFrozenBackward", l);
        w.WriteLine(Epilogue(net, l, pre));
        bool scratch = l.Activation != ActivationKind.Linear && l.TrainPreActivation >= 0; // IBackend.NeedsScratchForBackward
        string frozenDx = adds && scratch ? "Backprop(" + I(l.InputLayer()) + ") ? " + Gradient(l.GradientTemp) + " : -1" : dx;
        w.WriteLine("y: " + (l.TrainPreActivation < 0 && l.Activation != ActivationKind.Linear ? "Train(T" + n + ", batch)" : "-1") +
            ", dy: " + dy + ", dx: " + frozenDx + (adds && !scratch ? ", accumulateDx: true);" : ");"));
        w.Unindent();
        if (adds && scratch) WriteAccumulate(w, l, Gradient(l.GradientTemp));
        w.CloseBlock();
    }

    private static double Epsilon(LayerSpec bn) => bn.As<BatchNormArgs>().Epsilon;

    /// <summary>
    /// Writes a call's start, <paramref name="call"/> with the rows and the batch norm's <c>BatchNormArguments</c> (the same
    /// in all three calls: channels, weights, moving and saved statistics, momentum, epsilon, and whether the moving
    /// variance is unbiased, as Keras's fused path on 4-D inputs), and indents for the rest.
    /// </summary>
    private static void WriteCallStart(SourceWriter w, string call, ResolvedLayer l)
    {
        string n = I(l.Index + 1), c = I(l.LastOutput);
        w.WriteLine("b." + call + "(" + Rows(l) + ", new(" + c + ", gamma: p + P" + n + "_Gamma, beta: p + P" + n + "_Beta, movingMean: p + S" + n +
            ", movingVariance: p + S" + n + " + " + c + ", savedMean: p + X" + n + ", savedInvStd: p + X" + n + " + " + c + ",");
        w.Indent();
        w.Indent();
        w.WriteLine("momentum: " + F(l.Spec.As<BatchNormArgs>().Momentum) + ", epsilon: " + F(Epsilon(l.Spec)) + ", unbiasedMovingVariance: " +
            (l.InputShape.Length == 3 ? "true" : "false") + "),");
        w.Unindent();
    }

    /// <summary>
    /// The batch-norm calls' epilogue (ending in a comma): its fused activation, <paramref name="preActivation"/>, and the
    /// rate and key of the dropout layer fused into it (applied in training), named in a comment.
    /// </summary>
    private static string Epilogue(ResolvedNetwork net, ResolvedLayer bn, string preActivation)
    {
        string alpha = F(FusedAlpha(net, bn));
        if (bn.FusedDropout < 0) return Emitter.Epilogue(Act(bn), alpha, preActivation) + ",";
        var d = net.Layers[bn.FusedDropout];
        return Emitter.Epilogue(Act(bn), alpha, preActivation, F(d.Spec.As<DropoutArgs>().Rate), "DropoutKey(" + I(bn.FusedDropout) + ")") +
            ", // dropout: [" + I(bn.FusedDropout + 1) + "] " + OneLine(d.Name) + ", in training";
    }

    /// <summary>
    /// The folded copies of the layers that absorb a batch norm in inference (<c>FoldBatchNorms</c>, run when the
    /// weights changed since the last fold): kernel·s and (bias − moving mean)·s + β, with s = γ / √(moving variance + ε)
    /// per channel.
    /// </summary>
    internal static void WriteFolds(SourceWriter w, ResolvedNetwork net, string generatedCodeAttribute)
    {
        w.WriteLine();
        w.WriteLine("/// <summary>The WeightsVersion the folded kernels were made from.</summary>");
        w.WriteLine("private long _foldedVersion = -1;");
        w.WriteLine();
        w.WriteLine("/// <summary>");
        w.WriteLine("/// Folds each batch norm into the layer before it for inference: kernel·s and (bias − moving mean)·s + β,");
        w.WriteLine("/// with s = γ / √(moving variance + ε) per channel.");
        w.WriteLine("/// </summary>");
        w.WriteLine(generatedCodeAttribute);
        w.OpenBlock("private void FoldBatchNorms()");
        w.WriteLine("var b = Backend;");
        w.WriteLine("int p = ParametersOffset;");
        foreach (var l in net.Layers)
        {
            if (l.FoldsBatchNorm < 0) continue;
            var bn = net.Layers[l.FoldsBatchNorm];
            string n = I(l.Index + 1), m = I(bn.Index + 1);
            var folding = (IFoldsBatchNorm)LayerRegistry.Get(l.Spec.Kind)!;
            int c = l.LastOutput, count = folding.FoldedKernelCount(l), inner = folding.FoldInner(l);
            string kernel = "_" + folding.FoldedKernel;
            w.WriteLine("// [" + m + "] " + OneLine(bn.Name) + " into [" + n + "] " + OneLine(l.Name) + (kernel == "_Pointwise" ? "'s pointwise kernel" : ""));
            w.WriteLine("b.FoldBatchNorm(" + I(count / c / inner) + ", " + I(c) + ", inner: " + I(inner) + ", epsilon: " + F(Epsilon(bn.Spec)) + ",");
            w.Indent();
            w.WriteLine("kernel: p + P" + n + kernel + ", bias: " + (folding.HasBias(l.Spec) ? "p + P" + n + "_Bias" : "-1") +
                ", gamma: p + P" + m + "_Gamma, beta: p + P" + m + "_Beta,");
            w.WriteLine("movingMean: p + S" + m + ", movingVariance: p + S" + m + " + " + I(c) + ", foldedKernel: p + F" + n +
                ", foldedBias: p + F" + n + " + " + I(count) + ");");
            w.Unindent();
        }
        w.WriteLine("_foldedVersion = WeightsVersion;");
        w.CloseBlock();
    }
}

/// <summary>BatchNormalization: Keras's momentum of the moving statistics and epsilon.</summary>
internal sealed record BatchNormArgs(double Momentum, double Epsilon) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Momentum != 0) config.Real("value", Momentum);
        if (Epsilon != 0) config.Real("epsilon", Epsilon);
    }
}
