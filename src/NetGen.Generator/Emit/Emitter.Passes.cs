using NetGen.Generator.Model;

namespace NetGen.Generator.Emit;

internal static partial class Emitter
{
    // Forward, per layer kind. Example of what it writes for Dense(512, relu) on 784 inputs:
    //   // [1] dense (Dense, relu): (None, 784) -> (None, 512), 401,920 params
    //   b.DenseForward(batch, 784, 512, ActivationFunction.Relu, 0f,
    //       x: Slot(training, T0, I0, batch), kernel: p + P1_Kernel, bias: p + P1_Bias,
    //       preActivation: -1, y: Slot(training, T1, I1, batch));
    private static void WriteForward(SourceWriter w, ResolvedNetwork net)
    {
        w.WriteLine("/// <summary>Runs the layers in order on the batch in the input slot; the output lands in the output slot.</summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock("protected override void Forward(int batch, bool training)");
        w.WriteLine("var b = Backend;");
        w.WriteLine("int p = ParametersOffset;");
        bool folds = HasFolds(net);
        if (folds)
        {
            w.WriteLine("if (training) MarkWeightsChanged(); // batch statistics move the moving ones");
            w.WriteLine("else if (_foldedVersion != WeightsVersion) FoldBatchNorms();");
        }
        if (folds || HasPooledActivations(net))
            w.WriteLine("bool unfolded = training || Inspecting; // every layer as declared: in training, and when PredictLayers reads layer outputs");
        foreach (int index in net.Order)
        {
            var l = net.Layers[index];
            string n = I(l.Index + 1), prev = l.Inputs.Length == 0 ? n : I(l.InputLayer() + 1); // an Input layer reads nothing
            string x = "Slot(training, T" + prev + ", I" + prev + ", batch)";
            string y = "Slot(training, T" + n + ", I" + n + ", batch)";
            string rows = Rows(l);
            w.WriteLine("// " + Describe(l));
            if (l.FusedInto >= 0)
            {
                w.WriteLine(net.Layers[l.FusedInto].FusedDropout == l.Index
                    ? "// Fused into [" + I(l.FusedInto + 1) + "]: its kernel applies this mask in training; its output is this layer's output."
                    : "// Fused into [" + I(l.FusedInto + 1) + "]: its output is this layer's output.");
                continue;
            }
            string preSlot = PreActivationSlot(net, l);
            if (l.FoldsBatchNorm >= 0)
            {
                // Training runs the layer as declared; inference runs it with the folded kernel, the batch norm and its activation.
                var bn = net.Layers[l.FoldsBatchNorm];
                var folding = Layers.LayerRegistry.Get(l.Spec.Kind) as Layers.IFoldsBatchNorm;
                w.OpenBlock("if (unfolded)");
                if (folding is not null)
                    folding.WriteForwardCall(w, l, Act(l), F(FusedAlpha(net, l)), "Train(T" + prev + ", batch)", "Train(T" + n + ", batch)", "-1", null, null);
                else
                    WriteConvolutionFamilyForward(w, l, F(FusedAlpha(net, l)), "Train(T" + prev + ", batch)", "Train(T" + n + ", batch)", "-1");
                w.CloseBlock();
                w.OpenBlock("else");
                w.WriteLine("// Inference: [" + I(bn.Index + 1) + "] " + OneLine(bn.Name) + " folded into the kernel and bias (F" + n + "), with its activation.");
                string foldedBias = "p + F" + n + " + " + I(Shapes.ShapeInference.FoldedKernelCount(l));
                if (folding is not null)
                    folding.WriteForwardCall(w, l, Act(bn), F(FusedAlpha(net, bn)), "Slot(false, T" + prev + ", I" + prev + ", batch)",
                        "Slot(false, T" + n + ", I" + n + ", batch)", "-1", "p + F" + n, foldedBias);
                else
                    WriteConvolutionFamilyForward(w, l, F(FusedAlpha(net, bn)), "Slot(false, T" + prev + ", I" + prev + ", batch)",
                        "Slot(false, T" + n + ", I" + n + ", batch)", "-1", (Act(bn), "p + F" + n, foldedBias));
                w.CloseBlock();
                continue;
            }
            if (l.FoldedInto >= 0)
            {
                w.WriteLine("// In inference folded into [" + I(l.FoldedInto + 1) + "]: I" + n + " aliases its output.");
                w.OpenBlock("if (unfolded)");
            }
            else if (l.PooledBy >= 0)
            {
                w.WriteLine("// In inference applied by [" + I(l.PooledBy + 1) + "] after its max pooling: I" + n + " aliases its input.");
                w.OpenBlock("if (unfolded)");
            }
            var rule = Layers.LayerRegistry.Get(l.Spec.Kind);
            if (rule is not null) rule.WriteForward(w, net, l, y);
            else switch (l.Spec.Kind)
            {
                case LayerKind.DepthwiseConv2D:
                case LayerKind.SeparableConv2D:
                case LayerKind.Conv2DTranspose:
                    WriteConvolutionFamilyForward(w, l, F(FusedAlpha(net, l)), x, y, preSlot);
                    break;
                case LayerKind.BatchNormalization:
                {
                    int c = l.LastOutput;
                    string fused = l.FusedWith >= 0 ? " (fused with [" + I(l.FusedWith + 1) + "])" : "";
                    w.WriteLine("// Training: batch statistics, moving statistics updated; inference: moving statistics" + fused + ".");
                    w.WriteLine("b.BatchNormForward(" + Rows(l) + ", " + I(c) + ", training && LayerTrainable(" + I(l.Index) + "), momentum: " + F(l.Spec.Value) + ", epsilon: " + F(l.Spec.Epsilon) +
                        ", unbiasedMovingVariance: " + (l.InputShape.Length == 3 ? "true" : "false") + ", " + Act(l) + ", " + F(FusedAlpha(net, l)) + ",");
                    w.Indent();
                    w.WriteLine(FusedDropoutArguments(net, l));
                    w.WriteLine("x: " + x + ", gamma: p + P" + n + "_Gamma, beta: p + P" + n + "_Beta, movingMean: p + S" + n + ", movingVariance: p + S" + n + " + " + I(c) + ",");
                    w.WriteLine("savedMean: p + X" + n + ", savedInvStd: p + X" + n + " + " + I(c) + ", preActivation: " + preSlot + ", y: " + y + ");");
                    w.Unindent();
                    if (l.FusedDropout >= 0)
                    {
                        var d = net.Layers[l.FusedDropout];
                        w.WriteLine("// Frozen: the batch norm runs in inference mode, which applies no dropout; [" + I(d.Index + 1) + "]'s mask on its own.");
                        w.WriteLine("if (training && !LayerTrainable(" + I(l.Index) + ")) b.DropoutForward(batch * " + I(l.OutputSize) + ", " + F(d.Spec.Value) +
                            ", DropoutKey(" + I(d.Index) + "), x: Train(T" + n + ", batch), y: Train(T" + n + ", batch));");
                    }
                    break;
                }
                default:
                    w.WriteLine("// Nothing to compute: the output aliases the input.");
                    break;
            }
            if (l.FoldedInto >= 0 || l.PooledBy >= 0) w.CloseBlock();
        }
        w.CloseBlock();
        if (folds) WriteFoldBatchNorms(w, net);
    }

    /// <summary>
    /// Where a layer that applies its own activation writes its pre-activation: the training slot when the backward
    /// pass or the loss reads it, the inference logits slot of an output, and, for a layer with a fused activation
    /// layer, its own output for PredictLayers.
    /// </summary>
    internal static string PreActivationSlot(ResolvedNetwork net, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        return l.TrainPreActivation < 0 ? (l.InspectPreActivation >= 0 ? "Inspecting ? Train(ZX" + n + ", batch) : -1" : "-1")
            : InferLogitsOf(net, l.Index) >= 0 ? "Slot(training, Z" + n + ", ZI" + n + ", batch)"
            : l.FusedWith >= 0 ? "training || Inspecting ? Train(Z" + n + ", batch) : -1"
            : "training ? Train(Z" + n + ", batch) : -1";
    }

    /// <summary>Where the loss reads output layer <paramref name="layer"/>'s logits in inference, or -1 (not an output, or no logits).</summary>
    internal static int InferLogitsOf(ResolvedNetwork net, int layer)
    {
        int k = net.OutputPosition(layer);
        return k < 0 ? -1 : net.Outputs[k].InferLogitsSlot;
    }

    /// <summary>
    /// For an output layer, the expression telling its backward that the loss already gave the gradient of its logits:
    /// the <c>fromLogits</c> argument with one output, <c>FromLogits(k)</c> with several; null for any other layer.
    /// </summary>
    internal static string? FromLogitsFlag(ResolvedNetwork net, int layer)
    {
        int k = net.OutputPosition(layer);
        return k < 0 ? null : net.Outputs.Length == 1 ? "fromLogits" : "FromLogits(" + I(k) + ")";
    }

    private static bool HasPooledActivations(ResolvedNetwork net)
    {
        foreach (var l in net.Layers)
            if (l.PooledBy >= 0) return true;
        return false;
    }

    private static bool HasFolds(ResolvedNetwork net)
    {
        foreach (var l in net.Layers)
            if (l.FoldsBatchNorm >= 0) return true;
        return false;
    }

    // The folded copies of the layers that absorb a batch norm in inference, and when they were made.
    private static void WriteFoldBatchNorms(SourceWriter w, ResolvedNetwork net)
    {
        w.WriteLine();
        w.WriteLine("/// <summary>The WeightsVersion the folded kernels were made from.</summary>");
        w.WriteLine("private long _foldedVersion = -1;");
        w.WriteLine();
        w.WriteLine("/// <summary>");
        w.WriteLine("/// Folds each batch norm into the layer before it for inference: kernel·s and (bias − moving mean)·s + β,");
        w.WriteLine("/// with s = γ / √(moving variance + ε) per channel.");
        w.WriteLine("/// </summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock("private void FoldBatchNorms()");
        w.WriteLine("var b = Backend;");
        w.WriteLine("int p = ParametersOffset;");
        foreach (var l in net.Layers)
        {
            if (l.FoldsBatchNorm < 0) continue;
            var bn = net.Layers[l.FoldsBatchNorm];
            string n = I(l.Index + 1), m = I(bn.Index + 1);
            int c = l.LastOutput, count = Shapes.ShapeInference.FoldedKernelCount(l);
            // A transposed convolution's kernel is [kh, kw, filters, C]: each output channel's weights are runs of C.
            int inner = l.Spec.Kind == LayerKind.Conv2DTranspose ? l.LastInput : 1;
            string kernel = l.Spec.Kind == LayerKind.SeparableConv2D ? "_Pointwise" : "_Kernel";
            w.WriteLine("// [" + m + "] " + OneLine(bn.Name) + " into [" + n + "] " + OneLine(l.Name) + (kernel == "_Pointwise" ? "'s pointwise kernel" : ""));
            w.WriteLine("b.FoldBatchNorm(" + I(count / c / inner) + ", " + I(c) + ", inner: " + I(inner) + ", epsilon: " + F(bn.Spec.Epsilon) + ",");
            w.Indent();
            w.WriteLine("kernel: p + P" + n + kernel + ", bias: " + (l.Spec.UseBias ? "p + P" + n + "_Bias" : "-1") +
                ", gamma: p + P" + m + "_Gamma, beta: p + P" + m + "_Beta,");
            w.WriteLine("movingMean: p + S" + m + ", movingVariance: p + S" + m + " + " + I(c) + ", foldedKernel: p + F" + n +
                ", foldedBias: p + F" + n + " + " + I(count) + ");");
            w.Unindent();
        }
        w.WriteLine("_foldedVersion = WeightsVersion;");
        w.CloseBlock();
    }

    // Backward, in reverse. The loss wrote dL/d(output) into gradient buffer 0; Dense layers write the input
    // gradient into the other buffer, element-wise layers work in place. Layers before the first layer with
    // parameters need no input gradient and are skipped.
    private static void WriteBackward(SourceWriter w, ResolvedNetwork net)
    {
        var layers = net.Layers;

        w.WriteLine("/// <summary>");
        w.WriteLine("/// Back-propagates the output gradient in gradient buffer 0 and writes every parameter's gradient.");
        w.WriteLine("/// With <paramref name=\"fromLogits\"/> the buffer holds the gradient of the output layer's pre-activation");
        w.WriteLine("/// (the loss fused softmax or sigmoid with the cross-entropy).");
        w.WriteLine("/// </summary>");
        w.WriteLine(GeneratedCodeAttribute);
        w.OpenBlock("protected override void Backward(int batch, bool fromLogits)");
        w.WriteLine("var b = Backend;");
        w.WriteLine("int p = ParametersOffset;");
        w.WriteLine("int g = GradientsOffset;");
        for (int o = net.Order.Length - 1; o >= 0; o--)
        {
            var l = layers[net.Order[o]];
            // The planner skipped it: nothing before it has parameters, no gradient is needed here. (A recurrent layer
            // whose returned states alone have a gradient runs with none for its output: GradientOut −1.)
            if (l.GradientIn.Length == 0) continue;
            int i = l.Index;
            string n = I(l.Index + 1), prev = l.Inputs.Length == 0 ? "" : I(l.InputLayer() + 1);
            string? logitsFlag = FromLogitsFlag(net, i);
            string dy = l.GradientOut < 0 ? "-1" : Gradient(l.GradientOut);
            w.WriteLine("// " + Describe(l));
            var rule = Layers.LayerRegistry.Get(l.Spec.Kind);
            if (rule is not null && rule.StyleOf(l.Spec) == Shapes.BackwardStyle.Merge)
            {
                rule.WriteBackward(w, net, l, dy, "-1"); // a merge plans each input's gradient itself
                continue;
            }
            var style = Shapes.GradientPlanner.Style(l);
            int gin = l.GradientIn.Length == 0 ? -1 : l.GradientIn[0];
            bool accumulate = l.GradientIn.Length > 0 && l.GradientAccumulate[0] != 0;
            // Where this layer's dx goes: the input's gradient buffer, or a temporary one when another reader already
            // wrote that gradient (then it is added), or over dy for the in-place layers.
            // At run time a frozen part of the network needs no gradient: Backprop(i) says whether layer i, or any
            // layer before it, has trainable weights now.
            string src = l.Inputs.Length == 0 ? "-1" : I(l.InputLayer());
            string dxOther = gin < 0 ? "-1"
                : "Backprop(" + src + ") ? " + (accumulate && style == Shapes.BackwardStyle.Separate ? Gradient(l.GradientTemp) : Gradient(gin)) + " : -1";
            if (l.FusedInto >= 0)
            {
                w.WriteLine(net.Layers[l.FusedInto].FusedDropout == l.Index
                    ? "// Fused into [" + I(l.FusedInto + 1) + "], whose backward applies this mask first."
                    : "// Fused into [" + I(l.FusedInto + 1) + "], whose backward applies this activation's derivative.");
                WriteAccumulate(w, l, dy);
                continue;
            }
            if (style == Shapes.BackwardStyle.PassThrough)
            {
                w.WriteLine("// Nothing to compute: the gradient passes through unchanged.");
                WriteAccumulate(w, l, dy);
                continue;
            }
            w.OpenBlock("if (Backprop(" + I(i) + "))");
            if (rule is not null) rule.WriteBackward(w, net, l, dy, dxOther);
            else switch (l.Spec.Kind)
            {
                case LayerKind.DepthwiseConv2D:
                case LayerKind.SeparableConv2D:
                case LayerKind.Conv2DTranspose:
                    WriteConvolutionFamilyBackward(w, l, F(FusedAlpha(net, l)), logitsFlag, dy,
                        style == Shapes.BackwardStyle.Separable && gin >= 0 && accumulate ? "Backprop(" + src + ") ? " + dy + " : -1" : dxOther);
                    break;
                case LayerKind.BatchNormalization:
                {
                    string pre = l.TrainPreActivation >= 0 ? "Train(Z" + n + ", batch)" : "-1";
                    w.OpenBlock("if (LayerTrainable(" + I(i) + "))");
                    w.WriteLine("b.BatchNormBackward(" + Rows(l) + ", " + I(l.LastOutput) + ", " + Act(l) + ", " + F(FusedAlpha(net, l)) + ",");
                    w.Indent();
                    w.WriteLine(FusedDropoutArguments(net, l));
                    w.WriteLine("x: Train(T" + prev + ", batch), gamma: p + P" + n + "_Gamma, savedMean: p + X" + n + ", savedInvStd: p + X" + n + " + " + I(l.LastOutput) +
                        ", preActivation: " + pre + ", y: Train(T" + n + ", batch),");
                    w.WriteLine("dy: " + dy + ", dx: " + dxOther + ", dGamma: g + P" + n + "_Gamma, dBeta: g + P" + n + "_Beta);");
                    w.Unindent();
                    w.CloseBlock();
                    w.OpenBlock("else");
                    w.WriteLine("// Frozen: it ran in inference mode, an affine map per channel with the moving statistics.");
                    w.WriteLine("b.BatchNormFrozenBackward(" + Rows(l) + ", " + I(l.LastOutput) + ", " + Act(l) + ", " + F(FusedAlpha(net, l)) + ",");
                    w.Indent();
                    w.WriteLine(FusedDropoutArguments(net, l));
                    w.WriteLine("epsilon: " + F(l.Spec.Epsilon) + ", gamma: p + P" + n + "_Gamma, movingVariance: p + S" + n + " + " + I(l.LastOutput) +
                        ", preActivation: " + pre + ", dy: " + dy + ", dx: " + dxOther + ");");
                    w.Unindent();
                    w.CloseBlock();
                    break;
                }
                default:
                    w.WriteLine("// Nothing to compute: the gradient passes through unchanged.");
                    break;
            }
            WriteAccumulate(w, l, style == Shapes.BackwardStyle.Separate ? Gradient(l.GradientTemp) : dy);
            w.CloseBlock();
        }
        w.CloseBlock();
    }

    /// <summary>A gradient buffer as generated code reads it.</summary>
    internal static string Gradient(int buffer) => "GradientBuffer(" + I(buffer) + ", batch)";

    /// <summary>
    /// Where another reader of this layer's input already wrote that input's gradient, adds the gradient this layer
    /// computed (in <paramref name="computed"/>) to it.
    /// </summary>
    private static void WriteAccumulate(SourceWriter w, ResolvedLayer l, string computed)
    {
        if (l.GradientIn.Length == 0 || l.GradientIn[0] < 0 || l.GradientAccumulate[0] == 0) return;
        int size = l.InputSize;
        w.WriteLine("if (Backprop(" + I(l.InputLayer()) + ")) b.Accumulate(batch * " + I(size) + ", x: " + computed + ", y: " + Gradient(l.GradientIn[0]) +
            "); // another reader of [" + I(l.InputLayer() + 1) + "] wrote its gradient already: add this one");
    }

    /// <summary>The batch-norm calls' dropout arguments: the rate and key of the dropout layer fused into it, or none.</summary>
    private static string FusedDropoutArguments(ResolvedNetwork net, ResolvedLayer bn) => bn.FusedDropout < 0
        ? "dropoutRate: 0f, dropoutKey: 0,"
        : "dropoutRate: " + F(net.Layers[bn.FusedDropout].Spec.Value) + ", dropoutKey: DropoutKey(" + I(bn.FusedDropout) + "), // [" +
          I(bn.FusedDropout + 1) + "] " + OneLine(net.Layers[bn.FusedDropout].Name) + ", in training";

    /// <summary>The alpha of the LeakyReLU, ELU or leaky ReLU fused into a layer (0 otherwise).</summary>
    internal static double FusedAlpha(ResolvedNetwork net, ResolvedLayer l) =>
        l.FusedWith >= 0 ? LayerAlpha(net.Layers[l.FusedWith]) : 0;

    /// <summary>The alpha an activation layer passes to the kernels: LeakyReLU's and ELU's alpha, ReLU's negative slope.</summary>
    internal static double LayerAlpha(ResolvedLayer l) => Layers.LayerRegistry.Get(l.Spec.Kind)?.ActivationAlpha(l.Spec) ?? 0;

    /// <summary>Rows a layer processes: the batch times every axis but the last (Keras's Dense on rank &gt; 1).</summary>
    internal static string Rows(ResolvedLayer l)
    {
        int perSample = l.OutputSize / l.LastOutput;
        return perSample == 1 ? "batch" : "batch * " + I(perSample);
    }

    internal static string Act(ResolvedLayer l) => ActivationFunctionType + "." + ActivationNames[(int)l.Activation];
}
