using System.Collections.Generic;
namespace NetGen.Generator.Model;

/// <summary>Activation ids; values mirror <c>NetGen.Activation</c> in NetGen.Attributes.</summary>
internal enum ActivationKind
{
    Linear, Relu, Sigmoid, Tanh, Softmax, Elu, Selu, Softplus, Softsign, HardSigmoid, Swish, Gelu, Exponential,
    LeakyRelu, // not a user-facing enum value: used by the LeakyReLU layer
    EluAlpha, // not a user-facing enum value: the ELU layer, alpha·(e^x - 1) below 0
}

/// <summary>Initializer ids; values mirror <c>NetGen.Initializer</c>.</summary>
internal enum InitializerKind
{
    GlorotUniform, Zeros, Ones, HeNormal, HeUniform, LecunNormal, RandomNormal, GlorotNormal,
}

/// <summary>
/// One layer attribute as declared: what every layer has, and its own arguments as its kind's record.
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
/// <param name="Kind">Which layer.</param>
/// <param name="Name">The user's name, or null for Keras's default.</param>
/// <param name="Args">Its own arguments, as its rule read them (<see cref="LayerArgs"/>: one record per kind or family).</param>
/// <param name="Inputs">The names of the layers it reads, as declared: a merge layer's constructor arguments, or a
/// layer's <c>Input</c>; empty for "the layer declared before".</param>
/// <param name="Trainable">False for a layer declared <c>Trainable = false</c> (frozen; can change at run time).</param>
/// <param name="InputProperty">True for a merge that also sets <c>Input</c> (its inputs are its arguments: an error).</param>
/// <param name="Regularizers">Regularizer factors (<see cref="Layers.LayerRule.ReadRegularizers"/>); empty for none.</param>
/// <param name="TimeDistributed">Declared as Keras's TimeDistributed(layer): its name and type, and a step axis required.</param>
internal sealed record LayerSpec(
    LayerKind Kind,
    string? Name,
    LayerArgs Args,
    EquatableArray<string> Inputs = default,
    bool Trainable = true,
    bool InputProperty = false,
    EquatableArray<double> Regularizers = default,
    bool TimeDistributed = false)
{
    /// <summary>Its arguments as its kind's record (a rule reads its own kind's; any other is a bug, and throws).</summary>
    public T As<T>() where T : LayerArgs => (T)Args;
}

/// <summary>
/// A declared network: the class it lives in, its input shape and its layers in source order.
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
internal sealed record NetworkSpec(
    string? Namespace,
    string ClassName,
    string ModelName,
    EquatableArray<int> InputShape,
    EquatableArray<LayerSpec> Layers,
    EquatableArray<string> Outputs = default);

/// <summary>
/// A layer after shape inference and planning: everything the emitter writes, as primitives.
/// Arena slots are offsets in floats per sample; -1 means "none". <c>TrainMiddle</c>/<c>InferMiddle</c> are a layer's
/// training cache and inference scratch (an LSTM's gates, a separable convolution's depthwise output). <c>Inputs</c> are the layers it reads by
/// declaration index (-1: the network's input); <c>Live</c> is false for a layer the output does not depend on (never
/// run). The backward plan (indices into the network's <c>GradientRegions</c>): <c>GradientOut</c> is the region holding
/// dL/d(output); per input, <c>GradientIn</c> is the region its gradient goes to (-1: none needed) and <c>GradientAccumulate</c> is 1 where
/// another consumer already wrote that gradient (then it is added, through <c>GradientTemp</c> where the operation
/// cannot add by itself). <c>InspectPreActivation</c>: for a layer whose activation layer was fused into it and that
/// keeps no pre-activation in training, where PredictLayers has it write its own output (after the training arena).
/// <c>InspectOutput</c>: for a layer whose output no backward pass reads (its training slot is reused once its forward
/// readers have run), where its output goes while PredictLayers runs (after the training arena), so that it is still
/// there when the pass ends. <c>ResidualAdd</c>: for a layer whose rule <c>AddsResidual</c>, the Add whose sum (and fused activation) its epilogue
/// computes in inference; <c>AddedInto</c>: for that Add, the convolution (its output then aliases the convolution's).
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
internal sealed record ResolvedLayer(
    int Index,
    LayerSpec Spec,
    string Name,
    string TypeName,
    EquatableArray<int> InputShape,
    EquatableArray<int> OutputShape,
    ActivationKind Activation,
    int KernelOffset,
    int KernelCount,
    int TrainInput,
    int TrainOutput,
    int TrainPreActivation,
    int InferInput,
    int InferOutput,
    int StateOffset = -1,
    int StateCount = 0,
    int ScratchOffset = -1,
    int FusedInto = -1,
    int FusedWith = -1,
    int FoldsBatchNorm = -1,
    int FoldedInto = -1,
    int FoldOffset = -1,
    int TrainMiddle = -1,
    int InferMiddle = -1,
    int PooledBy = -1,
    int PoolsActivationOf = -1,
    int FusedDropout = -1,
    EquatableArray<int> Inputs = default,
    bool Live = true,
    int GradientOut = -1,
    EquatableArray<int> GradientIn = default,
    EquatableArray<int> GradientAccumulate = default,
    int GradientTemp = -1,
    int InspectPreActivation = -1,
    EquatableArray<WeightSlot> RuleWeights = default,
    int InspectOutput = -1,
    int ResidualAdd = -1,
    int AddedInto = -1)
{
    public int ParamCount => KernelCount + StateCount;
    public int TrainableCount => KernelCount;
    public int InputSize => Shapes.ShapeMath.Product(InputShape.AsSpan());
    public int OutputSize => Shapes.ShapeMath.Product(OutputShape.AsSpan());
    public int LastInput => InputShape[InputShape.Length - 1];
    public int LastOutput => OutputShape[OutputShape.Length - 1];
    /// <summary>The layer whose output is input <paramref name="k"/>, -1 for the network's input.</summary>
    public int InputLayer(int k = 0) => Inputs[k];
    /// <summary>A merge layer (several inputs).</summary>
    public bool IsMerge => Shapes.ShapeInference.IsMerge(Spec.Kind);
    public bool IsAlias => Layers.LayerRegistry.Get(Spec.Kind)?.OutputAliasesInput == true || FusedInto >= 0;
}

/// <summary>
/// The network ready to emit. <c>Order</c> is the order the live layers run in (topological, declaration order among
/// ready layers, the output last); <c>IsGraph</c> is true when some layer names its inputs (the summary then shows
/// Keras's functional table); <c>Fusions</c> are the fusion planner's decisions, in the order it made them.
/// <c>TrainArenaPerSample</c> covers the tensors training keeps and the <c>GradientRegions</c> (which reuse the blocks of
/// kept tensors the backward pass is done with, then lie above them).
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
internal sealed record ResolvedNetwork(
    NetworkSpec Spec,
    EquatableArray<ResolvedLayer> Layers,
    int ParameterCount,
    int TrainableCount,
    int BufferCount,
    int TrainArenaPerSample,
    int InferArenaPerSample,
    EquatableArray<Shapes.GradientRegion> GradientRegions,
    int LogitsSlot,
    int InferLogitsSlot,
    ActivationKind OutputActivation,
    EquatableArray<int> Order = default,
    bool IsGraph = false,
    int InspectionArenaPerSample = 0,
    EquatableArray<OutputPlan> Outputs = default,
    EquatableArray<Fusion> Fusions = default,
    int KeptArenaPerSample = 0)
{
    /// <summary>The first output layer (the last declared, unless <c>Outputs</c> names others).</summary>
    public ResolvedLayer Output => Layers[Outputs[0].Layer];

    /// <summary>The extra inputs (Input layers) in declaration order; the network's own input comes before them.</summary>
    public IEnumerable<ResolvedLayer> ExtraInputs
    {
        get
        {
            foreach (var l in Layers)
                if (l.Live && l.Spec.Kind == LayerKind.Input) yield return l;
        }
    }

    /// <summary>Several inputs or several outputs: the model info lists them.</summary>
    public bool IsMultiIO => Outputs.Length > 1 || ExtraInputs.GetEnumerator().MoveNext();

    /// <summary>Which output a layer is (its position in <c>Outputs</c>), or -1.</summary>
    public int OutputPosition(int layer)
    {
        for (int k = 0; k < Outputs.Length; k++)
            if (Outputs[k].Layer == layer) return k;
        return -1;
    }
}

/// <summary>What a fusion puts together (<see cref="Fusion"/>).</summary>
internal enum FusionKind
{
    /// <summary>An element-wise activation layer (<c>Second</c>) runs inside the kernel of the layer before it (<c>First</c>): its output aliases that one's.</summary>
    Activation,

    /// <summary>A dropout (<c>Second</c>) is applied by the batch norm before it (<c>First</c>) as it writes its output, in training.</summary>
    Dropout,

    /// <summary>In inference, a batch norm (<c>Second</c>) is folded into the kernel and bias of the layer before it (<c>First</c>), kept at <c>FoldOffset</c>.</summary>
    BatchNormFold,

    /// <summary>In inference, an activation layer (<c>First</c>) runs after the max pooling that follows it (<c>Second</c>), on the pooled values.</summary>
    PoolFirst,

    /// <summary>
    /// In inference, an Add (<c>Second</c>) of the output of a layer that can add a residual (<c>First</c>, its
    /// rule <c>AddsResidual</c>; with its batch norm folded in) and a tensor ready before it runs in that layer's epilogue, with the Add's activation: its output
    /// aliases that layer's.
    /// </summary>
    ResidualAdd,
}

/// <summary>
/// One decision of the fusion planner: two layers, by declaration index, and what runs where
/// (<see cref="FusionKind"/>); a fold's copy of the kernel and bias lies at <c>FoldOffset</c> after the parameters.
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
internal sealed record Fusion(FusionKind Kind, int First, int Second, int FoldOffset = -1);

/// <summary>
/// A trainable weight of a layer (<see cref="Layers.ILayerRule.Weights"/>): Keras's name, the suffix of its
/// offset constant (<c>P3_Kernel</c>), its shape, its initializer id, the fans the initializer scales by, and the
/// attribute property that sets the initializer (null: <c>{Constant}Initializer</c>). A layer's weights lie one after the
/// other from its <c>KernelOffset</c>, in this order.
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
internal sealed record WeightSlot(string Name, string Constant, EquatableArray<int> Shape, int Initializer, int FanIn, int FanOut,
    string? InitializerProperty = null)
{
    /// <summary>The attribute property that sets its initializer, as diagnostics name it.</summary>
    public string InitializerName => InitializerProperty ?? Constant + "Initializer";

    public int Count => Shapes.ShapeMath.Product(Shape.AsSpan());
}

/// <summary>
/// One output of the network: its layer, where the loss reads its logits (-1: the loss reads its output), in training
/// and in inference, and its activation. This type must be immutable and structurally equatable.
/// </summary>
internal sealed record OutputPlan(int Layer, int LogitsSlot, int InferLogitsSlot, ActivationKind Activation);
