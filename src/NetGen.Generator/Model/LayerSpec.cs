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
/// One layer attribute as declared, reduced to primitives.
/// This type must be immutable and structurally equatable: the generator relies on it for caching.
/// </summary>
/// <param name="Kind">Which layer.</param>
/// <param name="Name">The user's name, or null for Keras's default.</param>
/// <param name="Units">Units or filters: the output's last axis, where the layer sets it.</param>
/// <param name="Activation">Activation id as declared (may be out of range; inference reports it).</param>
/// <param name="UseBias">Keras's use_bias.</param>
/// <param name="KernelInitializer">Initializer id as declared.</param>
/// <param name="BiasInitializer">Initializer id as declared.</param>
/// <param name="Value">The layer's one real-valued argument, as its rule reads it: a dropout or noise rate or stddev, an
/// activation layer's alpha or max value (NaN: none), a batch norm's momentum.</param>
/// <param name="Target">Reshape target shape.</param>
/// <param name="KernelH">Kernel or pooling window height (a 1-D layer's length).</param>
/// <param name="KernelW">Kernel or pooling window width.</param>
/// <param name="Strides">Convolution or pooling strides (0: the pool size).</param>
/// <param name="Dilation">Convolution dilation rate.</param>
/// <param name="Padding">0 valid, 1 same.</param>
/// <param name="Epsilon">A batch norm's epsilon.</param>
/// <param name="NegativeSlope">ReLU negative slope.</param>
/// <param name="Threshold">ReLU threshold.</param>
/// <param name="Sizes">ZeroPadding2D padding or Cropping2D cropping as (top, bottom, left, right); UpSampling2D size as (rows, cols).</param>
/// <param name="DepthMultiplier">DepthwiseConv2D and SeparableConv2D depth multiplier.</param>
/// <param name="PointwiseInitializer">SeparableConv2D pointwise kernel initializer id as declared.</param>
/// <param name="Inputs">The names of the layers it reads, as declared: a merge layer's constructor arguments, or a
/// layer's <c>Input</c>; empty for "the layer declared before".</param>
/// <param name="Axis">Concatenate's axis, counted as Keras does (-1 last, 1 the first axis after the batch).</param>
/// <param name="Trainable">False for a layer declared <c>Trainable = false</c> (frozen; can change at run time).</param>
/// <param name="InputProperty">True for a merge that also sets <c>Input</c> (its inputs are its arguments: an error).</param>
/// <param name="TimeDistributed">Declared as Keras's TimeDistributed(layer): its name and type, and a step axis required.</param>
/// <param name="StridesW">The horizontal stride when declared apart from the vertical one (StrideWidth); null: the same as <paramref name="Strides"/>.</param>
/// <param name="Regularizers">Regularizer factors (<see cref="Layers.LayerRule.ReadRegularizers"/>); empty for none.</param>
internal sealed record LayerSpec(
    LayerKind Kind,
    string? Name,
    int Units,
    int Activation,
    bool UseBias,
    int KernelInitializer,
    int BiasInitializer,
    double Value,
    EquatableArray<int> Target,
    int KernelH = 0,
    int KernelW = 0,
    int Strides = 1,
    int Dilation = 1,
    int Padding = 0,
    double Epsilon = 0,
    double NegativeSlope = 0,
    double Threshold = 0,
    EquatableArray<int> Sizes = default,
    int DepthMultiplier = 1,
    int PointwiseInitializer = 0,
    EquatableArray<string> Inputs = default,
    int Axis = -1,
    bool Trainable = true,
    bool InputProperty = false,
    EquatableArray<double> Regularizers = default,
    int? StridesW = null,
    bool TimeDistributed = false)
{
    /// <summary>The horizontal stride: <see cref="StridesW"/> where declared apart (Keras's strides=(h, w)), else <see cref="Strides"/>.</summary>
    public int WidthStrides => StridesW ?? Strides;

    /// <summary>The strides as the generated comments show them: "2", or "2x1" when they differ.</summary>
    public string StridesText => Strides == WidthStrides
        ? Strides.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : Strides.ToString(System.Globalization.CultureInfo.InvariantCulture) + "x" + WidthStrides.ToString(System.Globalization.CultureInfo.InvariantCulture);
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
/// run). The backward plan: <c>GradientOut</c> is the gradient buffer holding dL/d(output); per input,
/// <c>GradientIn</c> is the buffer its gradient goes to (-1: none needed) and <c>GradientAccumulate</c> is 1 where
/// another consumer already wrote that gradient (then it is added, through <c>GradientTemp</c> where the operation
/// cannot add by itself). <c>InspectPreActivation</c>: for a layer whose activation layer was fused into it and that
/// keeps no pre-activation in training, where PredictLayers has it write its own output (after the training arena).
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
    EquatableArray<WeightSlot> RuleWeights = default)
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
/// Keras's functional table).
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
    int GradientBufferPerSample,
    int LogitsSlot,
    int InferLogitsSlot,
    ActivationKind OutputActivation,
    EquatableArray<int> Order = default,
    int GradientBufferCount = 2,
    bool IsGraph = false,
    int InspectionArenaPerSample = 0,
    EquatableArray<OutputPlan> Outputs = default)
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
