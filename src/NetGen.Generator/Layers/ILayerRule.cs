using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Layers;

/// <summary>
/// Everything the generator knows about one layer kind, in one place: reading its attribute, checking its arguments
/// and inferring its output shape, its Keras name and description, how its backward pass hands gradients on, and the
/// forward and backward code it emits. The central steps (parser, shape inference, planners, emitter) ask the
/// <see cref="LayerRegistry"/> for the rule instead of switching on the kind. Every kind has one (docs/contributing.md).
/// </summary>
internal interface ILayerRule
{
    /// <summary>The kind this rule handles.</summary>
    LayerKind Kind { get; }

    /// <summary>The attribute's metadata name, e.g. <c>NetGen.AddAttribute</c>.</summary>
    string AttributeName { get; }

    /// <summary>Keras's default name stem (<c>add</c>, <c>add_1</c>, ...).</summary>
    string KerasName { get; }

    /// <summary>The fewest and most inputs the layer takes (a merge: 2 and more).</summary>
    (int Min, int Max) InputCount { get; }

    /// <summary>True when the inputs are the attribute's constructor arguments (merges); false when the layer reads one layer (its <c>Input</c>).</summary>
    bool InputsFromArguments { get; }

    /// <summary>How its backward pass hands gradients to its inputs (the gradient planner's view of it).</summary>
    BackwardStyle StyleOf(LayerSpec layer);

    /// <summary>Whether it acts in training only (dropout, noise): in inference its output is its input's slot.</summary>
    bool TrainingOnly { get; }

    /// <summary>Whether, as declared, it is the identity in training too (a dropout of rate 0): its output is its input's slot.</summary>
    bool IsIdentity(LayerSpec layer);

    /// <summary>
    /// Whether another layer declares it (a recurrent layer's returned states, <see cref="RecurrentStateRule"/>): the
    /// layer declared after it without an <c>Input</c> reads the layer before it, and nobody reading it is no warning.
    /// </summary>
    bool Implicit { get; }

    /// <summary>Whether it works on (height, width, channels) images (a Dense after one probably wanted a Flatten: NG0106).</summary>
    bool IsImageLayer { get; }

    /// <summary>
    /// Whether it works on the last axis only, so that after an image layer on (height, width, channels) it probably
    /// wanted a Flatten first (the NG0106 warning: Dense).
    /// </summary>
    bool WarnsAfterImage { get; }

    /// <summary>Whether its output is its input's memory, seen with another shape (Flatten, Reshape): nothing runs.</summary>
    bool OutputAliasesInput { get; }

    /// <summary>
    /// Its trainable weights for this input and output shape, in buffer order (empty for a layer without weights). The
    /// generator lays them out, initialises them, lists them in <c>model.Layers</c> and in weights files.
    /// </summary>
    IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape);

    /// <summary>
    /// The activation it applies itself (Dense-like layers), which the fusion planner may replace by a following
    /// activation layer's and the loss may read the logits of; <see cref="ActivationKind.Linear"/> for the others.
    /// </summary>
    ActivationKind ActivationOf(LayerSpec layer);

    /// <summary>Whether it applies an activation of its own (see <see cref="ActivationOf"/>).</summary>
    bool OwnsActivation { get; }

    /// <summary>
    /// The activation it computes, checked (errors name the layer and the fix): a Dense-like layer's own
    /// (<see cref="OwnsActivation"/>), an activation layer's function; <see cref="ActivationKind.Linear"/> for the others.
    /// </summary>
    ActivationKind ResolveActivation(LayerSpec layer, int index, string kind, string number, List<ShapeError> errors);

    /// <summary>Whether it is an activation layer: one element-wise function (or a clipped ReLU) of its input, in place.</summary>
    bool IsActivationLayer { get; }

    /// <summary>
    /// Whether this activation layer's function may run inside the kernel of the layer before it (Dense, convolution,
    /// batch norm, an element-wise merge) or after a max pooling: element-wise, and one activation function.
    /// </summary>
    bool FusesAsActivation(ResolvedLayer layer);

    /// <summary>
    /// Whether this layer is a dropout a batch norm's kernel may apply as it writes its output (Keras's Dropout with a
    /// rate in (0, 1) as a float: the mask is the same, keyed by this layer).
    /// </summary>
    bool FusesAsDropout(LayerSpec layer);

    /// <summary>
    /// Whether its kernel applies any element-wise activation layer after it, keeping its pre-activation for the
    /// backward pass (so negative slopes work too), and names it in its own description (BatchNormalization).
    /// </summary>
    bool TakesAnyActivation { get; }

    /// <summary>
    /// Whether an element-wise activation layer after it may run in place on its output, when its own activation is
    /// linear and the activation's derivative needs no pre-activation (Add, Subtract, Multiply, Average: their backward
    /// takes the derivative from the output first).
    /// </summary>
    bool TakesActivationInPlace { get; }

    /// <summary>Whether, in inference, it applies the non-decreasing activation layer before it after pooling (max pooling: max f(x) = f(max x)).</summary>
    bool PoolsActivations { get; }

    /// <summary>Whether each input's gradient is the output's (Add), so that an input it alone reads may share the output gradient's buffer.</summary>
    bool PassesGradientThrough { get; }

    /// <summary>
    /// Whether its backward pass reads its inputs' values (true unless the rule knows better: Add's does not). A tensor
    /// that neither its own backward nor any reader's reads is not kept for the backward pass (its training slot is
    /// reused once its forward readers have run).
    /// </summary>
    bool BackwardReadsInputs(ResolvedLayer layer);

    /// <summary>Whether its backward pass reads its own output's values (true unless the rule knows better).</summary>
    bool BackwardReadsOutput(ResolvedLayer layer);

    /// <summary>
    /// Whether its backward call adds its input gradient to the buffer where another reader of the input wrote that
    /// input's gradient already (the call gets that buffer as dx, and says it adds), so that no separate
    /// <c>Accumulate</c> runs: the rule's <see cref="WriteBackward"/> then checks <c>GradientAccumulate[0]</c> itself.
    /// </summary>
    bool AddsIntoInputGradient { get; }

    /// <summary>
    /// Whether its backward pass only reads dy (never writes it, not even as scratch), so that dy's buffer may hold
    /// another tensor's gradient at the same time: an Add hands the same buffer to every input it alone reads that
    /// says so (false unless the rule knows better).
    /// </summary>
    bool BackwardKeepsOutputGradient(ResolvedLayer layer);

    /// <summary>
    /// Whether its backward pass (every call the rule writes, trainable or frozen) may get dx and dy as the same region,
    /// each element of dx written only after the element of dy it depends on was read: then a layer of the
    /// <see cref="BackwardStyle.Separate"/> style writes its input's gradient over its output's where that region holds
    /// nothing else (false unless the rule knows better).
    /// </summary>
    bool BackwardWritesDxOverDy(ResolvedLayer layer);

    /// <summary>Whether its kernel applies a dropout after it (and after the activation it took) as it writes its output (<see cref="FusesAsDropout"/>).</summary>
    bool TakesDropout { get; }

    /// <summary>Whether, in inference, it folds into the layer before it when that one can take it (<see cref="IFoldsBatchNorm"/>).</summary>
    bool FoldsIntoPrevious { get; }

    /// <summary>
    /// Whether, in inference, a convolution that computes one of its two inputs may compute it in its epilogue, adding
    /// the other input there (Add: a residual block's sum; <see cref="AddsResidual"/>).
    /// </summary>
    bool RunsInResidualEpilogue { get; }

    /// <summary>
    /// Whether its forward kernel can add a residual tensor before its activation (Conv2D, Dense: <c>Epilogue.Residual</c>);
    /// the rule also implements <see cref="IFoldsBatchNorm"/>, whose forward call the emitter writes with that epilogue.
    /// </summary>
    bool AddsResidual { get; }

    /// <summary>The alpha an activation layer passes to the kernels (LeakyReLU's, ELU's, ReLU's negative slope); 0 otherwise.</summary>
    double ActivationAlpha(LayerSpec layer);

    /// <summary>Whether, as the network's output, its activation is the output's for the loss (Keras's Activation layer).</summary>
    bool IsOutputActivation { get; }

    /// <summary>
    /// Floats per sample it keeps between its training forward and backward passes besides its output (an LSTM's
    /// gates and states), in the training arena at <c>M{n}</c>; 0 for none.
    /// </summary>
    int CachePerSample(ResolvedLayer layer);

    /// <summary>
    /// Whether its training cache is a tensor whose gradient passes through the gradient buffers (a separable
    /// convolution's depthwise output), so that those must hold it too.
    /// </summary>
    bool CacheHoldsGradient { get; }

    /// <summary>What its training cache (<c>M{n}</c>) and inference scratch (<c>MI{n}</c>) hold, for their constants' comments.</summary>
    (string Training, string Inference) CacheDescriptions { get; }

    /// <summary>Floats per sample of scratch its inference forward pass needs, at <c>MI{n}</c> after the inference arena; 0 for none.</summary>
    int InferenceScratchPerSample(ResolvedLayer layer);

    /// <summary>
    /// Its non-trainable weights (a batch norm's moving statistics), in buffer order at <c>S{n}</c>, after all trainable
    /// weights of the network; listed in <c>model.Layers</c> and weights files, never touched by the optimizer.
    /// </summary>
    IReadOnlyList<WeightSlot> NonTrainableWeights(LayerSpec layer, int[] outputShape);

    /// <summary>Floats of per-step scratch after the parameters, at <c>X{n}</c> (a batch norm's saved batch statistics); 0 for none.</summary>
    int ScratchCount(ResolvedLayer layer);

    /// <summary>What its scratch holds, for the <c>X{n}</c> constant's comment.</summary>
    string ScratchDescription { get; }

    /// <summary>
    /// Writes the initialisation of its weights: by default each weight's Keras initializer and fans (streams 2i and
    /// 2i + 1, then from 10⁹ up); a rule adds to it (the LSTM's forget-gate bias of 1) or writes its own.
    /// </summary>
    void WriteInitialize(SourceWriter w, ResolvedLayer layer);

    /// <summary>
    /// For a layer that reads integer indices (Embedding): how many there are, so indices lie in [0, limit); its input
    /// must be the network's input or an [Input] layer (NG0109), whose data the model checks. 0 for the others.
    /// </summary>
    int IndexLimit(LayerSpec layer);

    /// <summary>Reads the attribute into primitives; values stay as declared (<see cref="InferShape"/> reports bad ones).</summary>
    LayerSpec Read(AttributeData data, string? name);

    /// <summary>The output shape for these input shapes, or null after adding errors that name the layer and the fix.</summary>
    int[]? InferShape(LayerSpec layer, int index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors);

    /// <summary>The detail in the layer's comment line, e.g. <c> of [2], [5]</c>.</summary>
    string Describe(ResolvedLayer layer);

    /// <summary>Writes its static geometry (a <c>G{n}</c> field), if it has one, with the other constants.</summary>
    void WriteGeometry(SourceWriter w, ResolvedLayer layer);

    /// <summary>Writes the forward pass; <paramref name="y"/> is the output slot expression.</summary>
    void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string y);

    /// <summary>
    /// Writes the backward pass from <paramref name="dy"/>. A single-input layer writes into <paramref name="dx"/> (an
    /// expression: the planned buffer when a gradient is needed, else -1; the emitter adds it where another reader wrote
    /// one already and skips the layer when nothing before it trains); a merge plans its inputs itself.
    /// </summary>
    void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string dy, string dx);
}

/// <summary>
/// The defaults most rules share: one input (its <c>Input</c>, or the layer declared before), not an image layer, not
/// an alias, not training-only, no geometry; the attribute named after the kind.
/// </summary>
internal abstract class LayerRule(LayerKind kind) : ILayerRule
{
    public LayerKind Kind => kind;

    public string AttributeName => "NetGen." + kind + "Attribute";

    public abstract string KerasName { get; }

    public virtual (int Min, int Max) InputCount => (1, 1);

    public virtual bool InputsFromArguments => false;

    public abstract BackwardStyle StyleOf(LayerSpec layer);

    public virtual bool TrainingOnly => false;

    public virtual bool IsIdentity(LayerSpec layer) => false;

    public virtual bool Implicit => false;

    public virtual bool IsImageLayer => false;

    public virtual bool WarnsAfterImage => false;

    public virtual bool OutputAliasesInput => false;

    public virtual IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape) => System.Array.Empty<WeightSlot>();

    public virtual ActivationKind ActivationOf(LayerSpec layer) => ActivationKind.Linear;

    public virtual bool OwnsActivation => false;

    public virtual ActivationKind ResolveActivation(LayerSpec layer, int index, string kind, string number, List<ShapeError> errors) =>
        OwnsActivation ? ShapeInference.CheckActivation((int)ActivationOf(layer), index, kind, number, errors) : ActivationKind.Linear;

    public virtual bool IsActivationLayer => false;

    public virtual bool FusesAsActivation(ResolvedLayer layer) => false;

    public virtual double ActivationAlpha(LayerSpec layer) => 0;

    public virtual bool FusesAsDropout(LayerSpec layer) => false;

    public virtual bool TakesAnyActivation => false;

    public virtual bool TakesDropout => false;

    public virtual bool TakesActivationInPlace => false;

    public virtual bool PoolsActivations => false;

    public virtual bool PassesGradientThrough => false;

    public virtual bool BackwardReadsInputs(ResolvedLayer layer) => true;

    public virtual bool BackwardReadsOutput(ResolvedLayer layer) => true;

    public virtual bool AddsIntoInputGradient => false;

    public virtual bool BackwardKeepsOutputGradient(ResolvedLayer layer) => false;

    public virtual bool BackwardWritesDxOverDy(ResolvedLayer layer) => false;

    public virtual bool FoldsIntoPrevious => false;

    public virtual bool RunsInResidualEpilogue => false;

    public virtual bool AddsResidual => false;

    public virtual bool IsOutputActivation => false;

    public virtual int CachePerSample(ResolvedLayer layer) => 0;

    public virtual int InferenceScratchPerSample(ResolvedLayer layer) => 0;

    public virtual bool CacheHoldsGradient => false;

    public virtual (string Training, string Inference) CacheDescriptions =>
        ("training cache (kept from its forward pass for its backward)", "inference scratch");

    public virtual IReadOnlyList<WeightSlot> NonTrainableWeights(LayerSpec layer, int[] outputShape) => System.Array.Empty<WeightSlot>();

    public virtual int ScratchCount(ResolvedLayer layer) => 0;

    public virtual string ScratchDescription => "scratch";

    public virtual void WriteInitialize(SourceWriter w, ResolvedLayer layer) => Emitter.WriteWeightInitializers(w, layer);

    public virtual int IndexLimit(LayerSpec layer) => 0;

    public abstract LayerSpec Read(AttributeData data, string? name);

    public abstract int[]? InferShape(LayerSpec layer, int index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors);

    public abstract string Describe(ResolvedLayer layer);

    public virtual void WriteGeometry(SourceWriter w, ResolvedLayer layer) { }

    public abstract void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string y);

    public abstract void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string dy, string dx);

    /// <summary>
    /// A 2-D window's strides: <c>Strides</c> for both directions, or <c>StrideHeight</c> and <c>StrideWidth</c> apart
    /// (Keras's strides=(h, w); 0 or absent takes <c>Strides</c>). The second is null when neither is declared.
    /// </summary>
    internal static (int Strides, int? StridesW) ReadStrides(AttributeData data, int fallback)
    {
        int strides = fallback, height = 0, width = 0;
        foreach (var pair in data.NamedArguments)
        {
            if (pair.Value.Kind == TypedConstantKind.Array) continue; // InitialState
            if (pair.Value.Value is not int v) continue;
            if (pair.Key == "Strides") strides = v;
            else if (pair.Key == "StrideHeight") height = v;
            else if (pair.Key == "StrideWidth") width = v;
        }
        if (height == 0 && width == 0) return (strides, null);
        return (height != 0 ? height : strides, width != 0 ? width : strides);
    }

    /// <summary>
    /// Keras's weight and activity regularizer factors, in <c>LayerSpec.Regularizers</c>' order: kernel L1, L2 (an
    /// Embedding's embeddings), bias L1, L2, activity L1, L2, contractive λ, recurrent kernel L1, L2; empty when all are 0.
    /// </summary>
    internal static EquatableArray<double> ReadRegularizers(AttributeData data)
    {
        var values = new double[9];
        foreach (var pair in data.NamedArguments)
        {
            if (pair.Value.Kind == TypedConstantKind.Array) continue; // InitialState
            if (pair.Value.Value is not double v) continue;
            int at = pair.Key switch
            {
                "KernelRegularizerL1" or "EmbeddingsRegularizerL1" => 0,
                "KernelRegularizerL2" or "EmbeddingsRegularizerL2" => 1,
                "BiasRegularizerL1" => 2,
                "BiasRegularizerL2" => 3,
                "ActivityRegularizerL1" => 4,
                "ActivityRegularizerL2" => 5,
                "ContractiveRegularizer" => 6,
                "RecurrentRegularizerL1" => 7,
                "RecurrentRegularizerL2" => 8,
                _ => -1,
            };
            if (at >= 0) values[at] = v;
        }
        return System.Array.TrueForAll(values, v => v == 0) ? default : new EquatableArray<double>(values);
    }

    /// <summary>Named argument <paramref name="key"/> as an int, or <paramref name="fallback"/> when absent (the compiler reports a wrong type).</summary>
    protected static int NamedInt(AttributeData data, string key, int fallback)
    {
        foreach (var pair in data.NamedArguments)
            if (pair.Key == key && pair.Value.Kind != TypedConstantKind.Array && pair.Value.Value is int v) return v;
        return fallback;
    }

    /// <summary>Named argument <paramref name="key"/> as a bool, or <paramref name="fallback"/> when absent.</summary>
    protected static bool NamedBool(AttributeData data, string key, bool fallback)
    {
        foreach (var pair in data.NamedArguments)
            if (pair.Key == key && pair.Value.Kind != TypedConstantKind.Array && pair.Value.Value is bool v) return v;
        return fallback;
    }

    /// <summary>Constructor argument <paramref name="index"/> as an int, 0 when absent (the compiler reports a wrong type).</summary>
    protected static int Int(System.Collections.Immutable.ImmutableArray<TypedConstant> args, int index) =>
        args.Length > index && args[index].Value is int i ? i : 0;
}

/// <summary>
/// A layer a batch norm right after it folds into for inference (Dense and the convolutions, without an activation):
/// the batch norm scales the kernel's output channels and shifts the bias, refreshed when the weights change.
/// </summary>
internal interface IFoldsBatchNorm
{
    /// <summary>Floats of the kernel the batch norm scales: whole, its output channels innermost (a separable convolution: its pointwise kernel).</summary>
    int FoldedKernelCount(ResolvedLayer l);

    /// <summary>How many consecutive kernel floats share an output channel: 1, or C for a transposed convolution's [kh, kw, filters, C].</summary>
    int FoldInner(ResolvedLayer l);

    /// <summary>The suffix of the kernel it scales (<c>Kernel</c>; a separable convolution's <c>Pointwise</c>).</summary>
    string FoldedKernel { get; }

    /// <summary>Whether it has a bias (Keras's use_bias): the fold shifts it, or writes the batch norm's shift alone.</summary>
    bool HasBias(LayerSpec layer);

    /// <summary>
    /// Writes the forward call with these epilogue and slot expressions; <paramref name="kernel"/> and
    /// <paramref name="bias"/> replace its own (the folded copies in inference), null for its own.
    /// </summary>
    void WriteForwardCall(SourceWriter w, ResolvedLayer l, string epilogue, string x, string y, string? kernel, string? bias);
}

/// <summary>The rules, in one table: adding a layer kind adds one line here.</summary>
internal static class LayerRegistry
{
    public static readonly ILayerRule[] Rules =
    {
        new DenseRule(),
        new Conv2DRule(),
        new BatchNormalizationRule(),
        new ConvolutionFamilyRule(LayerKind.DepthwiseConv2D),
        new ConvolutionFamilyRule(LayerKind.SeparableConv2D),
        new ConvolutionFamilyRule(LayerKind.Conv2DTranspose),
        new MergeRule(LayerKind.Add, 2, int.MaxValue),
        new MergeRule(LayerKind.Subtract, 2, 2),
        new MergeRule(LayerKind.Multiply, 2, int.MaxValue),
        new MergeRule(LayerKind.Average, 2, int.MaxValue),
        new MergeRule(LayerKind.Maximum, 2, int.MaxValue),
        new MergeRule(LayerKind.Minimum, 2, int.MaxValue),
        new MergeRule(LayerKind.Concatenate, 2, int.MaxValue),
        new ResamplingRule(LayerKind.ZeroPadding2D),
        new ResamplingRule(LayerKind.UpSampling2D),
        new ResamplingRule(LayerKind.Cropping2D),
        new AliasRule(LayerKind.Flatten),
        new AliasRule(LayerKind.Reshape),
        new PoolingRule(LayerKind.MaxPooling2D),
        new PoolingRule(LayerKind.AveragePooling2D),
        new PoolingRule(LayerKind.GlobalMaxPooling2D),
        new PoolingRule(LayerKind.GlobalAveragePooling2D),
        new TrainingOnlyRule(LayerKind.Dropout),
        new TrainingOnlyRule(LayerKind.GaussianNoise),
        new TrainingOnlyRule(LayerKind.GaussianDropout),
        new TrainingOnlyRule(LayerKind.SpatialDropout2D),
        new InputRule(),
        new Conv1DRule(),
        new PoolingRule(LayerKind.MaxPooling1D),
        new PoolingRule(LayerKind.AveragePooling1D),
        new PoolingRule(LayerKind.GlobalAveragePooling1D),
        new PoolingRule(LayerKind.GlobalMaxPooling1D),
        new ResamplingRule(LayerKind.UpSampling1D),
        new ResamplingRule(LayerKind.ZeroPadding1D),
        new ResamplingRule(LayerKind.Cropping1D),
        new TrainingOnlyRule(LayerKind.SpatialDropout1D),
        new RecurrentRule(LayerKind.LSTM),
        new EmbeddingRule(),
        new RecurrentRule(LayerKind.SimpleRNN),
        new RecurrentRule(LayerKind.GRU),
        new RepeatVectorRule(),
        new ActivityRegularizationRule(),
        new ActivationLayerRule(LayerKind.Activation),
        new ActivationLayerRule(LayerKind.LeakyReLU),
        new ActivationLayerRule(LayerKind.ELU),
        new ActivationLayerRule(LayerKind.ReLU),
        new RecurrentStateRule(),
    };

    private static readonly Dictionary<LayerKind, ILayerRule> ByKind = Index();

    private static Dictionary<LayerKind, ILayerRule> Index()
    {
        var map = new Dictionary<LayerKind, ILayerRule>();
        foreach (var rule in Rules) map[rule.Kind] = rule;
        return map;
    }

    /// <summary>The rule of a kind, or null for <see cref="LayerKind.UseBlock"/> (the parser expands it into the block's layers).</summary>
    public static ILayerRule? Get(LayerKind kind) => ByKind.TryGetValue(kind, out var rule) ? rule : null;

    /// <summary>The rule of a layer the parser read (every kind but UseBlock has one).</summary>
    public static ILayerRule Of(LayerKind kind) => ByKind[kind];

    /// <summary>Whether layers of this kind are declared by another layer (<see cref="ILayerRule.Implicit"/>).</summary>
    public static bool IsImplicit(LayerKind kind) => Get(kind)?.Implicit == true;

    /// <summary>
    /// The last layer before <paramref name="i"/> that is declared, not implicit (what a layer without an <c>Input</c>
    /// reads); -1 when there is none (the network's input).
    /// </summary>
    public static int DeclaredBefore(int i, System.Func<int, LayerKind> kindAt)
    {
        int previous = i - 1;
        while (previous >= 0 && IsImplicit(kindAt(previous))) previous--;
        return previous;
    }
}
