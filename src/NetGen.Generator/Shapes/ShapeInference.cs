using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>A problem found by shape inference; <see cref="LayerIndex"/> is -1 for the network itself.</summary>
internal sealed record ShapeError(int LayerIndex, string Id, string[] Args);

/// <summary>
/// Walks a declared network layer by layer: checks arguments, infers every output shape, assigns parameter
/// offsets and plans the activation arena. Pure: no Roslyn types, so it is unit-testable on its own.
/// </summary>
internal static partial class ShapeInference
{
    private const int ActivationCount = 13; // members of NetGen.Activation
    private const int InitializerCount = 10; // members of NetGen.Initializer

    public static (ResolvedNetwork? Network, List<ShapeError> Errors) Run(NetworkSpec spec)
    {
        var errors = new List<ShapeError>();
        var input = spec.InputShape.AsSpan().ToArray();
        if (input.Length == 0)
            errors.Add(new ShapeError(-1, Descriptors.BadInputShapeId, new[] { "()", spec.ClassName, "give the shape of one sample, e.g. [Network(784)] or [Network(28, 28, 1)]" }));
        else if (Array.Exists(input, d => d <= 0))
            errors.Add(new ShapeError(-1, Descriptors.BadInputShapeId, new[] { ShapeMath.Tuple(input), spec.ClassName, "every dimension must be positive (the batch axis is not part of the shape)" }));
        else if (ShapeMath.LongProduct(input) > Limits.TensorFloats)
            errors.Add(new ShapeError(-1, Descriptors.BadInputShapeId, new[] { ShapeMath.Tuple(input), spec.ClassName, "one sample has more than 536,870,911 elements" }));
        if (spec.Layers.Length == 0)
            errors.Add(new ShapeError(-1, Descriptors.NoLayersId, new[] { spec.ClassName }));
        if (errors.Count > 0) return (null, errors);

        // As Keras: only a layer without a name of its own draws the next default name of its kind.
        int count = spec.Layers.Length;
        var names = new string[count];
        var defaults = new Dictionary<string, int>(StringComparer.Ordinal);
        var taken = new Dictionary<string, int>(StringComparer.Ordinal); // layer name -> index of the layer
        for (int i = 0; i < count; i++)
        {
            var layer = spec.Layers[i];
            string? name = layer.Name;
            if (name is null && layer.Kind == LayerKind.Input)
            {
                // Keras numbers the inputs: the network's own is input_1, the next input_2, ...
                defaults.TryGetValue("\0input", out int inputs);
                defaults["\0input"] = inputs + 1;
                name = "input_" + Invariant(inputs + 2);
            }
            else if (name is null && Layers.LayerRegistry.IsImplicit(layer.Kind) && layer.Inputs.Length == 1 &&
                Graph.ParseIndexReference(layer.Inputs[0]) is int owner && owner >= 0 && owner < i)
            {
                name = Layers.RecurrentStateRule.DefaultName(layer, names[owner]);
            }
            else if (name is null)
            {
                string baseName = layer.TimeDistributed ? "time_distributed" : KerasName(layer.Kind);
                defaults.TryGetValue(baseName, out int seen);
                defaults[baseName] = seen + 1;
                name = seen == 0 ? baseName : baseName + "_" + Invariant(seen);
            }
            names[i] = name;
            if (taken.TryGetValue(name, out int first))
                errors.Add(new ShapeError(i, Descriptors.DuplicateNameId, new[] { layer.Kind.ToString(), Invariant(i + 1), name, spec.Layers[first].Kind.ToString(), Invariant(first + 1) }));
            else taken[name] = i;
        }
        var graph = Graph.Build(spec, names, errors);
        if (graph is null) return (null, errors);

        var resolved = new ResolvedLayer?[count];
        var outputs = new int[count][];
        var sawImage = new bool[count]; // a layer on the last axis after convolutions probably wanted a Flatten (NG0106)
        long paramOffset = 0;

        foreach (int i in graph.Order)
        {
            LayerSpec layer = spec.Layers[i];
            string kind = layer.Kind.ToString();
            string index = (i + 1).ToString(CultureInfo.InvariantCulture);
            int[] sources = graph.Inputs[i];
            int[] shape = sources.Length == 0 ? Layers.InputRule.ShapeOf(layer) // an Input layer: its own shape
                : sources[0] < 0 ? input : outputs[sources[0]];
            bool sawImageLayer = Layers.LayerRegistry.Get(layer.Kind)?.IsImageLayer == true;
            foreach (int source in sources) sawImageLayer |= source >= 0 && sawImage[source];
            sawImage[i] = sawImageLayer;
            int errorsBefore = errors.Count;

            // Every kind the parser reads has a rule (Layers/LayerRegistry): its own shape rule, on every input's shape.
            var rule = Layers.LayerRegistry.Get(layer.Kind)!;
            if (rule.IndexLimit(layer) > 0 && sources.Length == 1 && sources[0] >= 0 && spec.Layers[sources[0]].Kind != LayerKind.Input)
            {
                // Integer indices come only from the data: a layer's output is floats.
                errors.Add(new ShapeError(i, Descriptors.IndicesFromLayerId, new[] { kind, index, names[sources[0]], spec.Layers[sources[0]].Kind.ToString() }));
                break;
            }
            var shapes = new int[sources.Length][];
            var sourceNames = new string[sources.Length];
            for (int k = 0; k < sources.Length; k++)
            {
                shapes[k] = sources[k] < 0 ? input : outputs[sources[k]];
                sourceNames[k] = sources[k] < 0 ? "input" : names[sources[k]];
            }
            // null: no output shape to go on with (an error was reported); a rule may report an argument error and
            // still give a shape, so that later layers are checked too.
            var output = rule.InferShape(layer, i, shapes, sourceNames, errors);
            if (output is null) break;
            var activation = rule.ResolveActivation(layer, i, kind, index, errors);
            var weights = rule.Weights(layer, shape, output);
            // The kernel regularizer is named after the first weight (Keras's embeddings_regularizer for an Embedding).
            if (layer.Regularizers.Length >= 7)
                CheckRegularizers(layer, i, kind, index, Array.IndexOf(graph.Outputs, i) >= 0, weights.Count > 0 ? weights[0].Constant : "Kernel", errors);
            if (rule.WarnsAfterImage && shape.Length == 3 && sawImageLayer)
                errors.Add(new ShapeError(i, Descriptors.DenseOnImageId, new[] { index, ShapeMath.Keras(shape), ShapeMath.Keras(output) }));
            long kernel = 0, state = 0;
            foreach (var slot in weights)
            {
                CheckInitializer(slot.Initializer, slot.InitializerName, i, kind, index, errors);
                kernel = Math.Min(ShapeMath.Huge, kernel + ShapeMath.LongProduct(slot.Shape.AsSpan()));
            }
            foreach (var slot in rule.NonTrainableWeights(layer, output))
                state = Math.Min(ShapeMath.Huge, state + ShapeMath.LongProduct(slot.Shape.AsSpan()));

            // Every layer: its weights (and moving statistics) and its output must fit the flat buffers, whatever the
            // kind; a kind's own check may have said so already.
            if (errors.Count == errorsBefore &&
                (paramOffset + kernel + 3 * state > Limits.TensorFloats || ShapeMath.LongProduct(output) > Limits.TensorFloats))
            {
                bool tooMany = paramOffset + kernel + 3 * state > Limits.TensorFloats;
                errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index,
                    Thousands(tooMany ? Math.Min(ShapeMath.Huge, paramOffset + kernel + 3 * state) : ShapeMath.LongProduct(output)),
                    tooMany ? "floats of parameters and scratch, more than the 536,870,911 that fit with their gradients and optimizer state"
                        : "output floats per sample, more than the 536,870,911 one tensor may hold" }));
                break;
            }
            outputs[i] = output;
            resolved[i] = new ResolvedLayer(i, layer, names[i], layer.Kind == LayerKind.Input ? "InputLayer" : layer.TimeDistributed ? "TimeDistributed" : kind, new EquatableArray<int>(shape), new EquatableArray<int>(output),
                activation, (int)paramOffset, (int)kernel, 0, 0, -1, 0, 0,
                StateCount: (int)state, Inputs: new EquatableArray<int>(sources), Live: graph.Live[i],
                RuleWeights: new EquatableArray<WeightSlot>(weights.ToArrayFast()));
            paramOffset += kernel;
        }

        if (!errors.Exists(e => !IsWarning(e.Id)) && Array.IndexOf(resolved, null) >= 0)
        {
            // A rule that gave no shape without saying why: never lose the file silently.
            int missing = Array.IndexOf(resolved, null);
            errors.Add(new ShapeError(-1, Descriptors.InternalErrorId, new[] { spec.ClassName, "no output shape for layer #" + Invariant(missing + 1) + " (" + spec.Layers[missing].Kind + ")" }));
        }
        if (errors.Exists(e => !IsWarning(e.Id)) || Array.IndexOf(resolved, null) >= 0) return (null, errors);
        var layers = new List<ResolvedLayer>(count);
        foreach (var l in resolved) layers.Add(l!);

        // Non-trainable parameters (a batch norm's moving statistics) follow the trainable ones, so the optimizer
        // runs over one contiguous block; per-step scratch (saved batch statistics) follows all parameters.
        int trainable = (int)paramOffset;
        long next = paramOffset;
        for (int i = 0; i < layers.Count; i++)
            if (layers[i].StateCount > 0)
            {
                layers[i] = layers[i] with { StateOffset = (int)next };
                next += layers[i].StateCount;
            }
        int parameters = (int)next;
        for (int i = 0; i < layers.Count; i++)
        {
            int scratch = Layers.LayerRegistry.Get(layers[i].Spec.Kind)?.ScratchCount(layers[i]) ?? 0;
            if (scratch == 0) continue;
            layers[i] = layers[i] with { ScratchOffset = (int)next };
            next += scratch;
        }
        var network = Plan(spec, graph, layers, parameters, trainable, (int)next, errors);
        return (errors.Exists(e => !IsWarning(e.Id)) ? null : network, errors);
    }

    /// <summary>Keras's merge layers: several inputs, no parameters.</summary>
    public static bool IsMerge(LayerKind kind) => Layers.LayerRegistry.Get(kind)?.InputsFromArguments == true;

    /// <summary>Whether a shape-inference id is a warning (code is still generated).</summary>
    public static bool IsWarning(string id) => id is Descriptors.DenseOnImageId or Descriptors.UnusedLayerId;

    /// <summary>A 1-D layer needs (steps, channels) samples; NG0108 says how to get them otherwise.</summary>
    internal static bool RequireSequence(int[] shape, int i, string kind, string index, List<ShapeError> errors)
    {
        if (shape.Length == 2) return true;
        string fix = shape.Length == 1
            ? "add [Reshape(" + Invariant(shape[0]) + ", 1)] before it to read the values as " + Invariant(shape[0]) + " steps of one channel"
            : shape.Length == 3
                ? "use the 2-D layer, or [Reshape(" + Invariant(shape[0]) + ", " + Invariant(ShapeMath.Product(new[] { shape[1], shape[2] })) + ")] to read each row as one step"
                : "reshape the samples to (steps, channels)";
        errors.Add(new ShapeError(i, Descriptors.NeedsSequenceId, new[] { kind, index, ShapeMath.Keras(shape), fix }));
        return false;
    }

    internal static bool RequireImage(int[] shape, int i, string kind, string index, List<ShapeError> errors)
    {
        if (shape.Length == 3) return true;
        errors.Add(new ShapeError(i, Descriptors.NeedsImageId, new[] { kind, index, ShapeMath.Keras(shape) }));
        return false;
    }

    /// <summary>A window's kernel (or <paramref name="pool"/> size), strides, dilation and padding, checked: false after errors that name the fix.</summary>
    internal static bool CheckWindow(WindowArgs layer, int i, string kind, string index, List<ShapeError> errors, bool pool = false)
    {
        string what = pool ? "pool size" : "kernel size";
        int before = errors.Count;
        if (layer.KernelH <= 0 || layer.KernelW <= 0)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, what, Invariant(layer.KernelH) + "x" + Invariant(layer.KernelW), "both dimensions must be positive, e.g. 3" }));
        if (layer.Strides < 0 || (!pool && layer.Strides == 0))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "strides", Invariant(layer.Strides), pool ? "strides must be positive, or 0 for the pool size" : "strides must be positive, e.g. 1 or 2" }));
        else if (layer.WidthStrides < 0 || (!pool && layer.WidthStrides == 0))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "strides", layer.StridesText, pool ? "strides must be positive, or 0 for the pool size" : "strides must be positive, e.g. 1 or 2" }));
        if (layer.Dilation <= 0)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "dilation rate", Invariant(layer.Dilation), "the dilation rate must be positive, e.g. 1" }));
        else if (layer.Dilation > 1 && ShapeMath.EffectiveKernel(Math.Max(layer.KernelH, layer.KernelW), layer.Dilation) > Limits.TensorFloats)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "dilation rate", Invariant(layer.Dilation),
                "the dilated kernel would span more than 536,870,911 cells; use a dilation rate of at most " +
                Invariant(Math.Max(1, (Limits.TensorFloats - 1) / Math.Max(1, Math.Max(layer.KernelH, layer.KernelW) - 1))) }));
        if (layer.Padding is not (0 or 1))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "padding value", Invariant(layer.Padding),
                kind == "Conv1D" ? "use Padding.Valid, Padding.Same or Padding.Causal"
                : layer.Padding == 2 ? "use Padding.Valid or Padding.Same (Padding.Causal is for Conv1D)" : "use Padding.Valid or Padding.Same" }));
        if (errors.Count == before && (layer.Strides > 1 || layer.WidthStrides > 1) && layer.Dilation > 1)
            errors.Add(new ShapeError(i, Descriptors.StridesWithDilationId, new[] { kind, index, layer.StridesText, Invariant(layer.Dilation) }));
        return errors.Count == before;
    }

    internal static (int OutH, int OutW, int PadTop, int PadLeft)? Window(WindowArgs layer, int[] shape, int strides, int stridesW, int dilation,
        int i, string kind, string index, List<ShapeError> errors, bool isPool)
    {
        int kh = layer.KernelH, kw = layer.KernelW;
        int sh = strides == 0 ? kh : strides, sw = stridesW == 0 ? kw : stridesW;
        bool same = layer.Padding == 1;
        long outH = same ? (shape[0] + (long)sh - 1) / sh : FloorDiv(shape[0] - ShapeMath.EffectiveKernel(kh, dilation), sh) + 1;
        long outW = same ? (shape[1] + (long)sw - 1) / sw : FloorDiv(shape[1] - ShapeMath.EffectiveKernel(kw, dilation), sw) + 1;
        if (outH <= 0 || outW <= 0)
        {
            string settings = (isPool ? "pool " : "kernel ") + Invariant(kh) + "x" + Invariant(kw) + ", strides " +
                (sh == sw ? Invariant(sh) : Invariant(sh) + "x" + Invariant(sw)) + (isPool ? "" : ", dilation " + Invariant(dilation)) + ", Padding.Valid";
            long maxH = (shape[0] - 1) / dilation + 1, maxW = (shape[1] - 1) / dilation + 1;
            string fix = isPool
                ? "use Padding = Padding.Same, a pool of at most " + Invariant(Math.Min(shape[0], shape[1])) + ", or remove the pooling"
                : "use Padding = Padding.Same or a kernel of at most " + Invariant(maxH) + "x" + Invariant(maxW) + (dilation > 1 ? " (or a smaller dilation rate)" : "");
            errors.Add(new ShapeError(i, Descriptors.EmptyOutputId, new[] { kind, index, settings, ShapeMath.Keras(shape), Invariant(outH) + "x" + Invariant(outW), fix }));
            return null;
        }
        int padTop = same ? ShapeMath.SamePadBefore(shape[0], (int)outH, kh, sh, dilation) : 0;
        int padLeft = same ? ShapeMath.SamePadBefore(shape[1], (int)outW, kw, sw, dilation) : 0;
        return ((int)outH, (int)outW, padTop, padLeft);
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>
    /// Plans the arena in floats per sample. Training keeps every tensor the backward pass reads (each layer's
    /// output, and the pre-activation where the derivative needs it); inference ping-pongs between two slots.
    /// Flatten, Reshape, and (in inference) dropout and the noise layers alias their input.
    /// </summary>
    private static ResolvedNetwork? Plan(NetworkSpec spec, Graph graph, List<ResolvedLayer> layers, int parameterCount, int trainableCount,
        int bufferCount, List<ShapeError> errors)
    {
        var isOutput = new bool[layers.Count];
        foreach (int o in graph.Outputs) isOutput[o] = true;
        (var fusions, bufferCount) = PlanFusions(graph, layers, isOutput, bufferCount);

        int inputSize = ShapeMath.Product(spec.InputShape.AsSpan());
        int max = inputSize;
        foreach (var l in layers) max = Math.Max(max, Math.Max(l.OutputSize, GradientCacheSize(l)));

        // Training keeps every tensor the backward pass reads, one after the other. Inference reuses memory: a block is
        // free once every reader of the values in it has run (ArenaPlanner: a chain ping-pongs between two blocks of
        // the largest tensor; a graph packs exact sizes). Aliases (Flatten, Reshape, fused layers, dropout in
        // inference) share their input's block.
        long trainTop = inputSize; // long: the sum of all kept tensors can pass int.MaxValue (reported below)
        var trainSlot = new int[layers.Count];
        var inferSlot = new int[layers.Count];
        var arena = new ArenaPlanner(graph.IsChain ? max : 0, inputSize, CountReaders(-1, layers, graph));
        int inferTop = 0;
        var logitsOf = new Dictionary<int, (int Train, int Infer)>(); // output layer -> its logits slots (-2: placed below)
        // An extra input (Input layer) is written before the pass starts: its block is placed before any other tensor's.
        var inputSlot = new Dictionary<int, (int Train, int Infer)>();
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            if (!l.Live || l.Inputs.Length > 0) continue;
            inputSlot[i] = ((int)trainTop, arena.Allocate(l.OutputSize, CountReaders(i, layers, graph)));
            trainTop += l.OutputSize;
        }
        // Tensors that no backward pass reads (a batch norm's output that only an Add reads) are kept only while their
        // forward readers run: they share a region of their own, placed by the same liveness as inference's arena.
        var shortLived = PlanShortLived(graph, layers, isOutput, out int shortLivedSize);
        int shortLivedBase = (int)trainTop;
        trainTop += shortLivedSize;
        // The kept tensors' blocks, and the layer after whose backward pass each is free for gradients (GradientPlanner).
        var kept = new List<KeptRegion> { new(shortLivedBase, shortLivedSize, -2) };
        // A state a recurrent layer returns is written by that layer's kernel: its slots are placed when that layer runs.
        var stateSlot = new Dictionary<int, (int Train, int Infer)>();
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            if (!l.Live) continue;
            if (stateSlot.TryGetValue(i, out var state))
            {
                int owner = l.Inputs[0];
                layers[i] = l with { TrainInput = trainSlot[owner], TrainOutput = state.Train, InferInput = inferSlot[owner], InferOutput = state.Infer };
                trainSlot[i] = state.Train;
                inferSlot[i] = state.Infer;
                arena.Read(inferSlot[owner]);
                continue;
            }
            bool last = isOutput[i];
            // The loss reads an output's logits only when no layer reads that output (else its gradient would mix
            // the logits' with the probabilities').
            bool lossLogits = last && CountReaders(i, layers, graph) == 0;
            if (inputSlot.TryGetValue(i, out var at))
            {
                layers[i] = l with { TrainInput = at.Train, TrainOutput = at.Train, InferInput = at.Infer, InferOutput = at.Infer };
                trainSlot[i] = at.Train;
                inferSlot[i] = at.Infer;
                continue;
            }
            int source = l.Inputs[0];
            int trainCurrent = source < 0 ? 0 : trainSlot[source];
            int inferCurrent = source < 0 ? 0 : inferSlot[source];
            int trainOut, inferOut, pre = -1;
            bool alias = l.IsAlias || Layers.LayerRegistry.Of(l.Spec.Kind).IsIdentity(l.Spec);
            bool inferAlias = alias || AppliesInTrainingOnly(l.Spec.Kind) || l.FoldedInto >= 0 || l.PooledBy >= 0 || l.AddedInto >= 0;
            // An Add computed by the convolution before it (in its epilogue) shares that convolution's output.
            if (l.AddedInto >= 0) inferCurrent = inferSlot[l.Inputs[ProducerOperand(l, k => layers[k])]];
            if (alias)
            {
                trainOut = trainCurrent;
            }
            else
            {
                // A layer that took an activation layer of any kind (batch norm) keeps its pre-activation where the
                // derivative cannot be read from its output: a negative slope or alpha (the activation is not monotone),
                // or a dropout fused after the activation (the output is masked and scaled).
                bool bnWithActivation = Layers.LayerRegistry.Get(l.Spec.Kind)?.TakesAnyActivation == true && l.FusedWith >= 0;
                bool bnKeepsPreActivation = bnWithActivation && (l.FusedDropout >= 0 ||
                    Layers.LayerRegistry.Of(layers[l.FusedWith].Spec.Kind).ActivationAlpha(layers[l.FusedWith].Spec) < 0);
                bool computesActivation = OwnsActivation(l.Spec.Kind) || bnWithActivation;
                // An output stays (the metrics read it after the step), and so does a tensor whose activity is regularized.
                int owner = last || HasActivityRegularizer(l.Spec) ? -1 : i;
                if (MiddleSize(l) > 0)
                {
                    // A SeparableConv2D's depthwise output (the pointwise convolution's input, which its backward reads),
                    // or a rule's training cache (an LSTM's gates and states).
                    l = l with { TrainMiddle = (int)trainTop };
                    kept.Add(new((int)trainTop, MiddleSize(l), owner));
                    trainTop += MiddleSize(l);
                }
                if (computesActivation && (NeedsPreActivation(l.Activation) || bnKeepsPreActivation || (lossLogits && IsLogitActivation(l.Activation))))
                {
                    pre = (int)trainTop;
                    kept.Add(new(pre, l.OutputSize, owner));
                    trainTop += l.OutputSize;
                }
                if (shortLived.TryGetValue(i, out int shared)) trainOut = shortLivedBase + shared;
                else
                {
                    trainOut = (int)trainTop;
                    kept.Add(new(trainOut, l.OutputSize, owner));
                    trainTop += l.OutputSize;
                }
                if (trainTop > Limits.ArenaFloats)
                {
                    errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { l.TypeName, (i + 1).ToString(CultureInfo.InvariantCulture),
                        Thousands(trainTop), "floats of activations per sample in training" }));
                    return null;
                }
            }
            // In inference dropout and the noise layers are the identity, and a folded batch norm was computed by the
            // layer before it: they alias their input's slot. Any other layer takes the first free slot.
            // An output is never freed; nor is an output whose activity is regularized (Evaluate reads it after the pass).
            int readersOfOutput = last || HasActivityRegularizer(l.Spec) ? int.MaxValue / 2 : CountReaders(i, layers, graph);
            if (inferAlias)
            {
                inferOut = inferCurrent;
                arena.Share(inferOut, readersOfOutput);
            }
            else
            {
                inferOut = arena.Allocate(l.OutputSize, readersOfOutput);
            }
            if (lossLogits && IsLogitActivation(l.Activation))
            {
                // The loss reads the logits in inference too (Evaluate, validation), as Keras's compiled evaluate does:
                // a layer that owns its activation keeps them in one extra slot after the others.
                bool own = OwnsActivation(l.Spec.Kind);
                logitsOf[i] = (own ? pre : trainCurrent, own ? -2 : inferCurrent); // -2: placed after the slots, below
            }
            foreach (var s in Layers.RecurrentStateRule.StatesOf(layers, i))
            {
                stateSlot[s.Index] = ((int)trainTop, arena.Allocate(s.OutputSize, isOutput[s.Index] ? int.MaxValue / 2 : CountReaders(s.Index, layers, graph)));
                kept.Add(new((int)trainTop, s.OutputSize, last || isOutput[s.Index] ? -1 : i));
                trainTop += s.OutputSize;
            }
            layers[i] = l with
            {
                TrainInput = trainCurrent, TrainOutput = trainOut, TrainPreActivation = pre,
                InferInput = inferCurrent, InferOutput = inferOut,
            };
            trainSlot[i] = trainOut;
            inferSlot[i] = inferOut;
            // This layer has read its inputs: free the slots nobody reads any more.
            foreach (int s in Graph.Distinct(l.Inputs.AsSpan().ToArray()))
            {
                arena.Read(s < 0 ? 0 : inferSlot[s]);
            }
        }
        inferTop = graph.IsChain ? Math.Max(arena.Top, 2 * max) : arena.Top; // a chain always had two blocks: keep its layout
        var outputPlans = new OutputPlan[graph.Outputs.Length];
        for (int k = 0; k < outputPlans.Length; k++)
        {
            var output = layers[graph.Outputs[k]];
            var (logits, inferLogits) = logitsOf.TryGetValue(output.Index, out var found) ? found : (-1, -1);
            if (inferLogits == -2)
            {
                inferLogits = inferTop;
                inferTop += output.OutputSize;
            }
            var activation = AppliesOutputActivation(output.Spec.Kind) ? output.Activation : ActivationKind.Linear;
            outputPlans[k] = new OutputPlan(output.Index, logits, inferLogits, activation);
        }
        inferTop = PlanInferenceMiddles(layers, inferTop);
        // Two placements of the gradients, the smaller kept: exact sizes (more reuse where the large tensors come first)
        // and regions all of the largest tensor's size (never worse than two ping-pong buffers above the kept tensors).
        var exact = new List<ResolvedLayer>(layers);
        var exactRegions = GradientPlanner.Plan(exact, graph, graph.Outputs, kept, (int)trainTop, 0, out long exactTop);
        var gradientRegions = GradientPlanner.Plan(layers, graph, graph.Outputs, kept, (int)trainTop, max, out long gradientTop);
        if (exactTop < gradientTop)
        {
            layers.Clear();
            layers.AddRange(exact);
            (gradientRegions, gradientTop) = (exactRegions, exactTop);
        }
        if (gradientTop > Limits.ArenaFloats)
        {
            errors.Add(new ShapeError(-1, Descriptors.TooLargeId, new[] { "Network", "0", Thousands(gradientTop), "floats of activations and gradients per sample in training" }));
            return null;
        }
        // PredictLayers reads each layer's own output: a layer with a fused activation layer writes its pre-activation
        // too, into its training pre-activation slot or, where it keeps none, into a slot after the training arena.
        long inspectTop = trainTop;
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            if (!l.Live || l.FusedWith < 0 || l.TrainPreActivation >= 0) continue;
            layers[i] = l with { InspectPreActivation = (int)inspectTop };
            inspectTop += l.OutputSize;
        }
        // A short-lived tensor's slot is reused within the pass: PredictLayers, which reads every output after it, has
        // it written to a slot of its own.
        foreach (int i in graph.Order)
        {
            if (!shortLived.ContainsKey(i)) continue;
            layers[i] = layers[i] with { InspectOutput = (int)inspectTop };
            inspectTop += layers[i].OutputSize;
        }
        if (inspectTop > Limits.ArenaFloats)
        {
            errors.Add(new ShapeError(-1, Descriptors.TooLargeId, new[] { "Network", "0", Thousands(inspectTop), "floats of activations per sample to read every layer's output" }));
            return null;
        }
        var order = new List<int>();
        foreach (int i in graph.Order)
            if (layers[i].Live) order.Add(i);
        return new ResolvedNetwork(spec, new EquatableArray<ResolvedLayer>(layers.ToArray()), parameterCount, trainableCount, bufferCount,
            (int)gradientTop, inferTop, new EquatableArray<GradientRegion>(gradientRegions), outputPlans[0].LogitsSlot, outputPlans[0].InferLogitsSlot,
            outputPlans[0].Activation, new EquatableArray<int>(order.ToArray()), !graph.IsChain, (int)inspectTop, new EquatableArray<OutputPlan>(outputPlans),
            new EquatableArray<Fusion>(fusions.ToArray()), (int)trainTop);
    }

    /// <summary>
    /// The tensors no backward pass reads, with their offsets in a region of their own (<paramref name="size"/> floats
    /// per sample): a layer output that is not an output of the network, not regularized, not an alias, that its own
    /// backward does not read and that only layers whose backward does not read their inputs read (Add, Subtract,
    /// Average, Concatenate). Each is placed when its layer runs and freed after its last reader.
    /// </summary>
    private static Dictionary<int, int> PlanShortLived(Graph graph, List<ResolvedLayer> layers, bool[] isOutput, out int size)
    {
        bool IsShortLived(int i)
        {
            var l = layers[i];
            var rule = Layers.LayerRegistry.Of(l.Spec.Kind);
            if (l.Inputs.Length == 0 || isOutput[i] || HasActivityRegularizer(l.Spec) || MiddleSize(l) > 0 || l.IsAlias ||
                rule.IsIdentity(l.Spec) || rule.Implicit || rule.BackwardReadsOutput(l))
                return false;
            foreach (var _ in Layers.RecurrentStateRule.StatesOf(layers, i)) return false; // it writes states too
            int readers = 0;
            foreach (var r in layers)
            {
                if (!r.Live || r.Inputs.AsSpan().IndexOf(i) < 0) continue;
                if (Layers.LayerRegistry.Of(r.Spec.Kind).BackwardReadsInputs(r)) return false;
                readers++;
            }
            return readers > 0;
        }

        var offsets = new Dictionary<int, int>();
        var region = new ArenaPlanner(0, 0, 0);
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            if (!l.Live) continue;
            if (IsShortLived(i)) offsets[i] = region.Allocate(l.OutputSize, CountReaders(i, layers, graph));
            foreach (int source in Graph.Distinct(l.Inputs.AsSpan().ToArray()))
                if (source >= 0 && offsets.TryGetValue(source, out int at)) region.Read(at);
        }
        size = region.Top;
        return offsets;
    }

    /// <summary>How many live layers read layer <paramref name="i"/>'s output (-1: the network's input), counting a layer once.</summary>
    private static int CountReaders(int i, List<ResolvedLayer> layers, Graph graph)
    {
        int n = 0;
        foreach (var l in layers)
            if (l.Live && l.Inputs.AsSpan().IndexOf(i) >= 0) n++;
        return n;
    }

    /// <summary>
    /// Layers that are the identity in inference (and, with a rate or stddev of 0, in training too): dropout,
    /// GaussianNoise, GaussianDropout, SpatialDropout2D. Their inference output aliases their input.
    /// </summary>
    public static bool AppliesInTrainingOnly(LayerKind kind) => Layers.LayerRegistry.Get(kind)?.TrainingOnly == true;

    private static readonly string[] RegularizerNames =
        { "KernelRegularizerL1", "KernelRegularizerL2", "BiasRegularizerL1", "BiasRegularizerL2", "ActivityRegularizerL1", "ActivityRegularizerL2", "ContractiveRegularizer",
          "RecurrentRegularizerL1", "RecurrentRegularizerL2" };

    /// <summary>Regularizer factors are finite floats of at least 0; an activity regularizer is not on an output layer.</summary>
    private static void CheckRegularizers(LayerSpec layer, int i, string kind, string index, bool isOutput, string kernelName, List<ShapeError> errors)
    {
        var r = layer.Regularizers;
        for (int k = 0; k < r.Length; k++)
            if (!(r[k] >= 0) || !FiniteAsFloat(r[k]))
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index,
                    k < 2 ? kernelName + RegularizerNames[k].Substring("Kernel".Length) : RegularizerNames[k], Invariant(r[k]),
                    "a regularization factor is a finite number of at least 0, e.g. 1e-4" }));
        if (isOutput && HasActivityRegularizer(layer))
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "an activity regularizer on", "the output",
                "regularize a hidden layer's activity (the code layer of a sparse autoencoder), or use a kernel regularizer here" }));
        if (Contractive(layer) != 0 && Layers.LayerRegistry.Of(layer.Kind).ActivationOf(layer) is var activation && activation != ActivationKind.Sigmoid)
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "a contractive regularizer with activation", activation.ToString(),
                "the contractive penalty is written for a sigmoid encoder: use Activation = Activation.Sigmoid" }));
    }

    /// <summary>Whether a layer's output has an activity (or contractive) regularizer (no activation layer may be fused into it then).</summary>
    internal static bool HasActivityRegularizer(LayerSpec layer) =>
        layer.Regularizers.Length >= 7 && (layer.Regularizers[4] != 0 || layer.Regularizers[5] != 0 || layer.Regularizers[6] != 0);

    /// <summary>A layer's contractive λ (0: none).</summary>
    internal static double Contractive(LayerSpec layer) => layer.Regularizers.Length >= 7 ? layer.Regularizers[6] : 0;

    /// <summary>Finite once rounded to float, as the kernels see it (1e300 is not).</summary>
    internal static bool FiniteAsFloat(double v) => !float.IsNaN((float)v) && !float.IsInfinity((float)v);

    /// <summary>
    /// Floats of the kernel a batch norm folds into (<see cref="Layers.IFoldsBatchNorm.FoldedKernelCount"/>).
    /// </summary>
    public static int FoldedKernelCount(ResolvedLayer l) =>
        ((Layers.IFoldsBatchNorm)Layers.LayerRegistry.Of(l.Spec.Kind)).FoldedKernelCount(l); // only layers that take a fold ask

    /// <summary>An element-wise activation layer whose function never decreases, so that it commutes with max pooling.</summary>
    private static bool IsNonDecreasingActivationLayer(ResolvedLayer l)
    {
        if (Layers.LayerRegistry.Get(l.Spec.Kind) is not { IsActivationLayer: true } rule || !rule.FusesAsActivation(l)) return false;
        double slope = rule.ActivationAlpha(l.Spec);
        return l.Activation switch
        {
            ActivationKind.Relu or ActivationKind.Sigmoid or ActivationKind.Tanh or ActivationKind.Elu or ActivationKind.Selu or
                ActivationKind.Softplus or ActivationKind.Softsign or ActivationKind.HardSigmoid or ActivationKind.Exponential => true,
            ActivationKind.LeakyRelu or ActivationKind.EluAlpha => slope >= 0,
            _ => false, // linear needs no pass; swish, gelu and softmax do not commute with max
        };
    }

    /// <summary>Activations whose derivative needs the input, not only the output.</summary>
    /// <remarks>HardSigmoid: its Keras gradient at x = ±2.5 (the ends of the clip) is 0.2, which the output alone cannot tell from beyond.</remarks>
    public static bool NeedsPreActivation(ActivationKind a) => a is ActivationKind.Gelu or ActivationKind.Swish or ActivationKind.Softplus or ActivationKind.HardSigmoid;

    /// <summary>Activations whose pre-activation Keras feeds to the loss as logits.</summary>
    public static bool IsLogitActivation(ActivationKind a) => a is ActivationKind.Softmax or ActivationKind.Sigmoid;

    /// <summary>An activation id as declared, checked: an unknown one is NG0012 (and linear, so that checking goes on).</summary>
    internal static ActivationKind CheckActivation(int activation, int i, string kind, string index, List<ShapeError> errors)
    {
        if (activation < 0 || activation >= ActivationCount)
        {
            errors.Add(new ShapeError(i, Descriptors.UnknownActivationId, new[] { kind, index, Invariant(activation) }));
            return ActivationKind.Linear;
        }
        return (ActivationKind)activation;
    }

    private static void CheckInitializer(int value, string property, int i, string kind, string index, List<ShapeError> errors)
    {
        if (value < 0 || value >= InitializerCount)
            errors.Add(new ShapeError(i, Descriptors.UnknownInitializerId, new[] { kind, index, property, Invariant(value) }));
    }

    /// <summary>Keras's default layer name stem (<c>keras.backend.unique_object_name</c> of the snake-cased class).</summary>
    public static string KerasName(LayerKind kind) => Layers.LayerRegistry.Get(kind)?.KerasName ?? "layer";

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
    /// <summary>A size with thousands separators; a saturated one (<see cref="ShapeMath.Huge"/>, where the true count would overflow) as "more than" it.</summary>
    internal static string Thousands(long v) => v >= ShapeMath.Huge
        ? "more than " + (ShapeMath.Huge - 1).ToString("N0", CultureInfo.InvariantCulture)
        : v.ToString("N0", CultureInfo.InvariantCulture);
    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
