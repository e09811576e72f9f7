using NetGen.Generator.Model;

namespace NetGen.Generator.Emit;

internal static partial class Emitter
{
    // Forward, each layer as its rule writes it (Layers/), after a comment line, e.g.
    //   // [2] max_pooling2d (MaxPooling2D, 2x2 valid): (None, 26, 26, 32) -> (None, 13, 13, 32), 0 params
    //   b.DenseForward(batch, 784, 512, new(ActivationFunction.Relu),
    //       x: Slot(training, T0, I0, batch), kernel: p + P1_Kernel, bias: p + P1_Bias, y: Slot(training, T1, I1, batch));
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
        if (folds || HasPooledActivations(net) || HasResidualAdds(net))
            w.WriteLine("bool unfolded = training || Inspecting; // every layer as declared: in training, and when PredictLayers reads layer outputs");
        foreach (int index in net.Order)
        {
            var l = net.Layers[index];
            string n = I(l.Index + 1), prev = l.Inputs.Length == 0 ? n : I(l.InputLayer() + 1); // an Input layer reads nothing
            string y = "Slot(training, T" + n + ", I" + n + ", batch)";
            w.WriteLine("// " + Describe(l));
            if (l.FusedInto >= 0)
            {
                w.WriteLine(net.Layers[l.FusedInto].FusedDropout == l.Index
                    ? "// Fused into [" + I(l.FusedInto + 1) + "]: its kernel applies this mask in training; its output is this layer's output."
                    : "// Fused into [" + I(l.FusedInto + 1) + "]: its output is this layer's output.");
                continue;
            }
            if (l.FoldsBatchNorm >= 0)
            {
                // Training runs the layer as declared; inference runs it with the folded kernel, the batch norm and its activation.
                var bn = net.Layers[l.FoldsBatchNorm];
                var folding = (Layers.IFoldsBatchNorm)Layers.LayerRegistry.Of(l.Spec.Kind);
                w.OpenBlock("if (unfolded)");
                folding.WriteForwardCall(w, l, Epilogue(Act(l), F(FusedAlpha(net, l)), "-1"), "Train(T" + prev + ", batch)", "Train(T" + n + ", batch)", null, null);
                w.CloseBlock();
                w.OpenBlock("else");
                string foldedBias = "p + F" + n + " + " + I(Shapes.ShapeInference.FoldedKernelCount(l));
                if (l.ResidualAdd >= 0)
                {
                    var add = net.Layers[l.ResidualAdd];
                    w.WriteLine("// Inference: [" + I(bn.Index + 1) + "] " + OneLine(bn.Name) + " folded into the kernel and bias (F" + n + "), and [" +
                        I(add.Index + 1) + "] " + OneLine(add.Name) + " added in the epilogue, with its activation.");
                    folding.WriteForwardCall(w, l, ResidualEpilogue(net, add), "Slot(false, T" + prev + ", I" + prev + ", batch)",
                        "Slot(false, T" + n + ", I" + n + ", batch)", "p + F" + n, foldedBias);
                }
                else
                {
                    w.WriteLine("// Inference: [" + I(bn.Index + 1) + "] " + OneLine(bn.Name) + " folded into the kernel and bias (F" + n + "), with its activation.");
                    folding.WriteForwardCall(w, l, Epilogue(Act(bn), F(FusedAlpha(net, bn)), "-1"), "Slot(false, T" + prev + ", I" + prev + ", batch)",
                        "Slot(false, T" + n + ", I" + n + ", batch)", "p + F" + n, foldedBias);
                }
                w.CloseBlock();
                continue;
            }
            if (l.ResidualAdd >= 0)
            {
                // Training runs the convolution as declared; inference adds the Add's other input in its epilogue.
                var add = net.Layers[l.ResidualAdd];
                w.OpenBlock("if (unfolded)");
                Layers.LayerRegistry.Of(l.Spec.Kind).WriteForward(w, net, l, y);
                w.CloseBlock();
                w.OpenBlock("else");
                w.WriteLine("// Inference: [" + I(add.Index + 1) + "] " + OneLine(add.Name) + " added in the epilogue, with its activation.");
                ((Layers.IFoldsBatchNorm)Layers.LayerRegistry.Of(l.Spec.Kind)).WriteForwardCall(w, l, ResidualEpilogue(net, add),
                    "Slot(false, T" + prev + ", I" + prev + ", batch)", "Slot(false, T" + n + ", I" + n + ", batch)", null, null);
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
            else if (l.AddedInto >= 0)
            {
                w.WriteLine("// In inference added by [" + I(l.AddedInto + 1) + "] in its epilogue: I" + n + " aliases its output.");
                w.OpenBlock("if (unfolded)");
            }
            Layers.LayerRegistry.Of(l.Spec.Kind).WriteForward(w, net, l, y);
            if (l.FoldedInto >= 0 || l.PooledBy >= 0 || l.AddedInto >= 0) w.CloseBlock();
        }
        w.CloseBlock();
        if (folds) Layers.BatchNormalizationRule.WriteFolds(w, net, GeneratedCodeAttribute);
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

    /// <summary>
    /// A call's <c>Epilogue</c> argument: the activation, then only what differs from the defaults, e.g.
    /// <c>new(global::NetGen.Backends.ActivationFunction.Relu, preActivation: Train(Z3, batch))</c>.
    /// </summary>
    internal static string Epilogue(string activation, string alpha, string preActivation, string? dropoutRate = null, string? dropoutKey = null,
        string? residual = null) =>
        "new(" + activation + (alpha == "0f" ? "" : ", alpha: " + alpha) + (preActivation == "-1" ? "" : ", preActivation: " + preActivation) +
        (dropoutRate is null ? "" : ", dropoutRate: " + dropoutRate + ", dropoutKey: " + dropoutKey) + (residual is null ? "" : ", residual: " + residual) + ")";

    /// <summary>A layer's forward epilogue: its (fused) activation and its pre-activation slot (<see cref="PreActivationSlot"/>).</summary>
    internal static string ForwardEpilogue(ResolvedNetwork net, ResolvedLayer l) => Epilogue(Act(l), F(FusedAlpha(net, l)), PreActivationSlot(net, l));

    /// <summary>A layer's epilogue in the backward pass: its (fused) activation and its training pre-activation, if kept.</summary>
    internal static string BackwardEpilogue(ResolvedNetwork net, ResolvedLayer l) =>
        Epilogue(Act(l), F(FusedAlpha(net, l)), l.TrainPreActivation >= 0 ? "Train(Z" + I(l.Index + 1) + ", batch)" : "-1");

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

    private static bool HasResidualAdds(ResolvedNetwork net)
    {
        foreach (var l in net.Layers)
            if (l.ResidualAdd >= 0) return true;
        return false;
    }

    /// <summary>
    /// The epilogue of a layer (its rule AddsResidual) that computes <paramref name="add"/> in inference: the Add's activation, and its
    /// other input as the residual.
    /// </summary>
    private static string ResidualEpilogue(ResolvedNetwork net, ResolvedLayer add)
    {
        string other = I(add.Inputs[1 - Shapes.ShapeInference.ProducerOperand(add, k => net.Layers[k])] + 1);
        return Epilogue(Act(add), F(FusedAlpha(net, add)), "-1", residual: "Slot(false, T" + other + ", I" + other + ", batch)");
    }

    private static bool HasFolds(ResolvedNetwork net)
    {
        foreach (var l in net.Layers)
            if (l.FoldsBatchNorm >= 0) return true;
        return false;
    }

    // Backward, in reverse. The loss wrote dL/d(output) into gradient buffer 0; most layers write the input
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
            string dy = l.GradientOut < 0 ? "-1" : Gradient(l.GradientOut);
            w.WriteLine("// " + Describe(l));
            var rule = Layers.LayerRegistry.Of(l.Spec.Kind);
            if (rule.StyleOf(l.Spec) == Shapes.BackwardStyle.Merge)
            {
                rule.WriteBackward(w, net, l, dy, "-1"); // a merge plans each input's gradient itself
                continue;
            }
            var style = Shapes.GradientPlanner.Style(l);
            int gin = l.GradientIn.Length == 0 ? -1 : l.GradientIn[0];
            bool accumulate = l.GradientIn.Length > 0 && l.GradientAccumulate[0] != 0;
            // A layer whose backward adds into the input's gradient buffer itself (the convolutions) writes there, and
            // needs neither the temporary buffer nor the Accumulate after it.
            bool addsInto = accumulate && rule.AddsIntoInputGradient;
            // Where this layer's dx goes: the input's gradient buffer; when another reader already wrote that gradient
            // (then this one is added to it), a temporary buffer, or over dy for the layers that may write there (in
            // place, or a separable convolution, whose own temporary buffer holds its depthwise output's gradient).
            // At run time a frozen part of the network needs no gradient: Backprop(i) says whether layer i, or any
            // layer before it, has trainable weights now.
            string src = l.Inputs.Length == 0 ? "-1" : I(l.InputLayer());
            string dxOther = gin < 0 ? "-1"
                : "Backprop(" + src + ") ? " + (!accumulate || addsInto ? Gradient(gin) : style == Shapes.BackwardStyle.Separate ? Gradient(l.GradientTemp) : dy) + " : -1";
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
            rule.WriteBackward(w, net, l, dy, dxOther);
            if (!addsInto) WriteAccumulate(w, l, style == Shapes.BackwardStyle.Separate ? Gradient(l.GradientTemp) : dy);
            w.CloseBlock();
        }
        w.CloseBlock();
    }

    /// <summary>
    /// Whether another reader of the layer's input wrote that input's gradient already, so that a backward call that can
    /// add (<see cref="Layers.ILayerRule.AddsIntoInputGradient"/>) adds to it.
    /// </summary>
    internal static bool AddsToInputGradient(ResolvedLayer l) => l.GradientIn.Length > 0 && l.GradientIn[0] >= 0 && l.GradientAccumulate[0] != 0;

    /// <summary>How a backward call that can add into its input's gradient ends: <c>accumulateDx: true</c> where it adds.</summary>
    internal static string BackwardCallEnd(ResolvedLayer l) => AddsToInputGradient(l)
        ? ", accumulateDx: true); // another reader of [" + I(l.InputLayer() + 1) + "] wrote its gradient already: this one is added to it"
        : ");";

    /// <summary>A gradient buffer as generated code reads it.</summary>
    internal static string Gradient(int region) => "Train(D" + I(region) + ", batch)";

    /// <summary>
    /// Where another reader of this layer's input already wrote that input's gradient, adds the gradient this layer
    /// computed (in <paramref name="computed"/>) to it.
    /// </summary>
    internal static void WriteAccumulate(SourceWriter w, ResolvedLayer l, string computed)
    {
        if (!AddsToInputGradient(l)) return;
        int size = l.InputSize;
        w.WriteLine("if (Backprop(" + I(l.InputLayer()) + ")) b.Accumulate(batch * " + I(size) + ", x: " + computed + ", y: " + Gradient(l.GradientIn[0]) +
            "); // another reader of [" + I(l.InputLayer() + 1) + "] wrote its gradient already: add this one");
    }

    /// <summary>The alpha of the LeakyReLU, ELU or leaky ReLU fused into a layer (0 otherwise).</summary>
    internal static double FusedAlpha(ResolvedNetwork net, ResolvedLayer l) =>
        l.FusedWith >= 0 ? LayerAlpha(net.Layers[l.FusedWith]) : 0;

    /// <summary>The alpha an activation layer passes to the kernels: LeakyReLU's and ELU's alpha, ReLU's negative slope.</summary>
    internal static double LayerAlpha(ResolvedLayer l) => Layers.LayerRegistry.Get(l.Spec.Kind)?.ActivationAlpha(l.Spec) ?? 0;

    /// <summary>Rows a layer processes: the batch times every axis but the last (a layer on the last axis of rank &gt; 1 samples, as Keras's).</summary>
    internal static string Rows(ResolvedLayer l)
    {
        int perSample = l.OutputSize / l.LastOutput;
        return perSample == 1 ? "batch" : "batch * " + I(perSample);
    }

    internal static string Act(ResolvedLayer l) => ActivationFunctionType + "." + ActivationNames[(int)l.Activation];
}
