using Microsoft.CodeAnalysis;

namespace NetGen.Generator.Diagnostics;

/// <summary>
/// Every diagnostic NetGen reports. Ids: NG00xx declarations, NG01xx shapes, NG02xx graph, NG99xx internal.
/// Each id has a page at docs/diagnostics/{id}.md.
/// </summary>
internal static class Descriptors
{
    private const string Category = "NetGen";
    private const string HelpRoot = "https://github.com/netgen/netgen/blob/main/docs/diagnostics/";

    public const string NotPartialId = "NG0001";
    public const string NoLayersId = "NG0002";
    public const string LayerWithoutNetworkId = "NG0003";
    public const string BadInputShapeId = "NG0004";
    public const string UnsupportedClassId = "NG0005";
    public const string LayersInSeveralPartsId = "NG0006";
    public const string MissingRuntimeId = "NG0007";
    public const string NameClashId = "NG0008";
    public const string BadUnitsId = "NG0010";
    public const string BadDropoutRateId = "NG0011";
    public const string UnknownActivationId = "NG0012";
    public const string UnknownInitializerId = "NG0013";
    public const string BadAlphaId = "NG0014";
    public const string BadReshapeDimensionId = "NG0015";
    public const string TooLargeId = "NG0016";
    public const string BadArgumentId = "NG0017";
    public const string DuplicateNameId = "NG0018";
    public const string NeedsImageId = "NG0103";
    public const string EmptyOutputId = "NG0104";
    public const string StridesWithDilationId = "NG0105";
    public const string DenseOnImageId = "NG0106";
    public const string CroppingEmptiesId = "NG0107";
    public const string NeedsSequenceId = "NG0108";
    public const string IndicesFromLayerId = "NG0109";
    public const string LossMismatchId = "NG0110";
    public const string ReshapeMismatchId = "NG0101";
    public const string ReshapeTwoUnknownsId = "NG0102";
    public const string UnknownInputId = "NG0201";
    public const string CycleId = "NG0202";
    public const string UnusedLayerId = "NG0203";
    public const string MergeShapeMismatchId = "NG0204";
    public const string ConcatenateMismatchId = "NG0205";
    public const string InputCountId = "NG0206";
    public const string BadBlockId = "NG0207";
    public const string BadOutputId = "NG0208";
    public const string InternalErrorId = "NG9999";

    private static DiagnosticDescriptor Error(string id, string title, string format) =>
        new(id, title, format, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: HelpRoot + id + ".md");

    /// <summary>"The network class '{0}' must be declared 'partial' so NetGen can add the generated members"</summary>
    public static readonly DiagnosticDescriptor NotPartial = Error(NotPartialId, "Network class is not partial",
        "The network class '{0}' must be declared 'partial' so NetGen can add the generated members: write 'partial class {0}'");

    /// <summary>"Network '{0}' declares no layers"</summary>
    public static readonly DiagnosticDescriptor NoLayers = Error(NoLayersId, "Network has no layers",
        "Network '{0}' declares no layers: add layer attributes such as [Dense(10, Activation = Activation.Softmax)] below [Network]");

    /// <summary>"[{0}] is on '{1}', which has no [Network] attribute"</summary>
    public static readonly DiagnosticDescriptor LayerWithoutNetwork = Error(LayerWithoutNetworkId,
        "Layer attribute on a class without [Network]",
        "[{0}] is on '{1}', which has no [Network] attribute: add [Network(<input shape>)] to the class, or remove the layer");

    /// <summary>"The input shape {0} of network '{1}' is invalid: {2}"</summary>
    public static readonly DiagnosticDescriptor BadInputShape = Error(BadInputShapeId, "Invalid input shape",
        "The input shape {0} of network '{1}' is invalid: {2}");

    /// <summary>"Network class '{0}' is {1}; NetGen supports ..."</summary>
    public static readonly DiagnosticDescriptor UnsupportedClass = Error(UnsupportedClassId, "Unsupported network class",
        "Network class '{0}' is {1}; declare the network as a top-level, non-generic, non-static, non-file partial class (not a record) without a base class");

    /// <summary>"The layers of network '{0}' are spread over several partial declarations"</summary>
    public static readonly DiagnosticDescriptor LayersInSeveralParts = Error(LayersInSeveralPartsId,
        "Layers spread over several partial declarations",
        "The layers of network '{0}' are spread over several partial declarations, so their order is ambiguous: put [Network] and all layer attributes on one declaration");

    /// <summary>"Network '{0}' needs a reference to NetGen.Runtime"</summary>
    public static readonly DiagnosticDescriptor MissingRuntime = Error(MissingRuntimeId, "NetGen.Runtime is not referenced",
        "Network '{0}' needs a reference to NetGen.Runtime, which holds the kernels and the training loop: add a reference to the NetGen.Runtime project or package");

    /// <summary>"'{0}' ({1}) is a name that the generated code of network '{2}' uses; {3}"</summary>
    public static readonly DiagnosticDescriptor NameClash = Error(NameClashId, "Name used by the generated code",
        "'{0}' ({1}) is a name that the generated code of network '{2}' uses, so it would not compile or would call the wrong member; {3}");

    /// <summary>"{0} #{1} has {2} units; units must be positive"</summary>
    public static readonly DiagnosticDescriptor BadUnits = Error(BadUnitsId, "Invalid number of units",
        "{0} #{1} has {2} units; units must be a positive number such as 64");

    /// <summary>"{0} #{1} has rate {2}; a dropout rate must be in [0, 1)"</summary>
    public static readonly DiagnosticDescriptor BadDropoutRate = Error(BadDropoutRateId, "Invalid dropout rate",
        "{0} #{1} has rate {2}; a dropout rate must be in [0, 1), e.g. 0.2 drops 20% of the elements");

    /// <summary>"{0} #{1} uses activation value {2}, which is not a NetGen.Activation member"</summary>
    public static readonly DiagnosticDescriptor UnknownActivation = Error(UnknownActivationId, "Unknown activation",
        "{0} #{1} uses activation value {2}, which is not a NetGen.Activation member: use one of Linear, Relu, Sigmoid, Tanh, Softmax, Elu, Selu, Softplus, Softsign, HardSigmoid, Swish, Gelu, Exponential");

    /// <summary>"{0} #{1} uses initializer value {2}, which is not a NetGen.Initializer member"</summary>
    public static readonly DiagnosticDescriptor UnknownInitializer = Error(UnknownInitializerId, "Unknown initializer",
        "{0} #{1} uses {2} value {3}, which is not a NetGen.Initializer member: use one of GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, RandomNormal, RandomUniform, Orthogonal, Zeros, Ones");

    /// <summary>"{0} #{1} has alpha {2}; alpha must be a finite number"</summary>
    public static readonly DiagnosticDescriptor BadAlpha = Error(BadAlphaId, "Invalid alpha",
        "{0} #{1} has alpha {2}; alpha must be a finite number, e.g. 0.3 (Keras's default) or 0.1");

    /// <summary>"Reshape #{0} has target shape {1}: {2}"</summary>
    public static readonly DiagnosticDescriptor BadReshapeDimension = Error(BadReshapeDimensionId,
        "Invalid reshape target", "Reshape #{0} has target shape {1}: {2}");

    /// <summary>"{0} #{1} would need {2} {3}; ..."</summary>
    public static readonly DiagnosticDescriptor TooLarge = Error(TooLargeId, "Network too large",
        "{0} #{1} would need {2} {3}; NetGen's flat buffers hold at most 2,147,483,647 floats, so use fewer units or a smaller input");

    /// <summary>"Reshape #{0} cannot reshape {1} ({2} elements) to {3}: ..."</summary>
    public static readonly DiagnosticDescriptor ReshapeMismatch = Error(ReshapeMismatchId, "Reshape element count mismatch",
        "Reshape #{0} cannot reshape {1} ({2} elements) to {3} ({4}); use a target shape whose product is {2}, or put -1 in one dimension to infer it");

    /// <summary>"Reshape #{0} has target shape {1} with more than one -1"</summary>
    public static readonly DiagnosticDescriptor ReshapeTwoUnknowns = Error(ReshapeTwoUnknownsId, "Reshape with two unknown dimensions",
        "Reshape #{0} has target shape {1} with more than one -1; only one dimension can be inferred, so give the others explicitly");

    /// <summary>"{0} #{1} has {2} {3}; {4}"</summary>
    public static readonly DiagnosticDescriptor BadArgument = Error(BadArgumentId, "Invalid layer argument",
        "{0} #{1} has {2} {3}; {4}");

    /// <summary>"{0} #{1} is named '{2}', like {3} #{4}"</summary>
    public static readonly DiagnosticDescriptor DuplicateName = Error(DuplicateNameId, "Duplicate layer name",
        "{0} #{1} is named '{2}', like {3} #{4}; layer names must be unique in a network, as Keras requires: give it another Name, or leave Name out for a default one");

    /// <summary>"{0} #{1} needs a (height, width, channels) input but receives {2}"</summary>
    public static readonly DiagnosticDescriptor NeedsImage = Error(NeedsImageId, "Layer needs an image input",
        "{0} #{1} needs a (height, width, channels) input but receives {2}; reshape the samples first, e.g. [Network(28, 28, 1)] or [Reshape(28, 28, 1)]");

    /// <summary>"{0} #{1} (...) receives {2} and would output {3}"</summary>
    public static readonly DiagnosticDescriptor EmptyOutput = Error(EmptyOutputId, "Output size would be zero or negative",
        "{0} #{1} ({2}) receives {3} and would output {4}: the computed output size would be zero or negative; {5}");

    /// <summary>"{0} #{1} has strides {2} and dilation rate {3}"</summary>
    public static readonly DiagnosticDescriptor StridesWithDilation = Error(StridesWithDilationId, "Strides and dilation together",
        "{0} #{1} has strides {2} and dilation rate {3}; Keras does not support strides > 1 together with dilation > 1: set one of them to 1");

    /// <summary>"Dense #{0} receives {1} and applies to the last axis only"</summary>
    public static readonly DiagnosticDescriptor DenseOnImage = new(DenseOnImageId, "Dense on an image without Flatten",
        "Dense #{0} receives {1} and applies to the last axis only, giving {2}; if it should see the whole sample, add [Flatten] before it",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpRoot + DenseOnImageId + ".md");

    /// <summary>"{0} #{1} (cropping {2}) receives {3} and would output {4}: ..."</summary>
    public static readonly DiagnosticDescriptor CroppingEmpties = Error(CroppingEmptiesId, "Cropping leaves an empty image",
        "{0} #{1} (cropping {2}) receives {3} and would output {4}: the cropping removes every row or every column; {5}");

    /// <summary>"{0} #{1} needs (steps, channels) samples but receives {2}; {3}"</summary>
    public static readonly DiagnosticDescriptor NeedsSequence = Error(NeedsSequenceId, "Layer needs a sequence",
        "{0} #{1} needs (steps, channels) samples but receives {2}; {3}");

    /// <summary>"{0} #{1} reads '{2}' ({3}), ..."</summary>
    public static readonly DiagnosticDescriptor IndicesFromLayer = Error(IndicesFromLayerId, "Embedding needs integer indices",
        "{0} #{1} reads '{2}' ({3}), whose output is floats; an Embedding looks up whole-number indices (token ids): make it read the network's input or an [Input] layer, e.g. put it first");

    /// <summary>"'{0}' ends in {1}, but Loss.{2} {3}; {4}"</summary>
    public static readonly DiagnosticDescriptor LossMismatch = new(LossMismatchId, "Loss does not match the output layer",
        "'{0}' ends in {1}, but Loss.{2} {3}; {4}",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpRoot + LossMismatchId + ".md");

    /// <summary>"{0} #{1} reads '{2}', but no layer has that name; {3}"</summary>
    public static readonly DiagnosticDescriptor UnknownInput = Error(UnknownInputId, "Unknown input name",
        "{0} #{1} reads '{2}', but no layer of this network has that name; {3}");

    /// <summary>"{0} #{1} ('{2}') depends on its own output: {3}"</summary>
    public static readonly DiagnosticDescriptor Cycle = Error(CycleId, "Layers form a cycle",
        "{0} #{1} ('{2}') depends on its own output: {3}; a network must be acyclic: make one of these layers read an earlier layer or \"input\"");

    /// <summary>"{0} #{1} ('{2}') is not connected to the output ('{3}')"</summary>
    public static readonly DiagnosticDescriptor UnusedLayer = new(UnusedLayerId, "Layer output is never used",
        "{0} #{1} ('{2}') is not connected to {3}: nothing reads its output, so it never runs and its weights never train; use it as an input of a later layer, or remove it",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpRoot + UnusedLayerId + ".md");

    /// <summary>"{0} #{1} merges {2} from '{3}' and {4} from '{5}'; {6}"</summary>
    public static readonly DiagnosticDescriptor MergeShapeMismatch = Error(MergeShapeMismatchId, "Merged shapes differ",
        "{0} #{1} merges {2} from '{3}' and {4} from '{5}': an element-wise merge needs inputs of one shape; {6}");

    /// <summary>"{0} #{1} joins along {2}, but {3}"</summary>
    public static readonly DiagnosticDescriptor ConcatenateMismatch = Error(ConcatenateMismatchId, "Concatenate inputs do not fit",
        "{0} #{1} joins along {2}, but {3}");

    /// <summary>"{0} #{1} takes {2} but is given {3}; {4}"</summary>
    public static readonly DiagnosticDescriptor InputCount = Error(InputCountId, "Wrong number of inputs",
        "{0} #{1} takes {2} but is given {3}; {4}");

    /// <summary>"{0} {1}; {2}"</summary>
    public static readonly DiagnosticDescriptor BadBlock = Error(BadBlockId, "Invalid block use",
        "{0} {1}; {2}");

    /// <summary>"Outputs lists '{0}', but {1}; {2}"</summary>
    public static readonly DiagnosticDescriptor BadOutput = Error(BadOutputId, "Invalid output",
        "[Network(Outputs = ...)] lists '{0}', but {1}; {2}");

    /// <summary>The descriptor for an id that shape inference reports.</summary>
    public static DiagnosticDescriptor ById(string id) => id switch
    {
        NoLayersId => NoLayers,
        BadInputShapeId => BadInputShape,
        BadUnitsId => BadUnits,
        BadDropoutRateId => BadDropoutRate,
        UnknownActivationId => UnknownActivation,
        UnknownInitializerId => UnknownInitializer,
        BadAlphaId => BadAlpha,
        BadReshapeDimensionId => BadReshapeDimension,
        TooLargeId => TooLarge,
        BadArgumentId => BadArgument,
        DuplicateNameId => DuplicateName,
        NeedsImageId => NeedsImage,
        EmptyOutputId => EmptyOutput,
        StridesWithDilationId => StridesWithDilation,
        DenseOnImageId => DenseOnImage,
        CroppingEmptiesId => CroppingEmpties,
        NeedsSequenceId => NeedsSequence,
        IndicesFromLayerId => IndicesFromLayer,
        ReshapeMismatchId => ReshapeMismatch,
        ReshapeTwoUnknownsId => ReshapeTwoUnknowns,
        UnknownInputId => UnknownInput,
        CycleId => Cycle,
        UnusedLayerId => UnusedLayer,
        MergeShapeMismatchId => MergeShapeMismatch,
        ConcatenateMismatchId => ConcatenateMismatch,
        InputCountId => InputCount,
        BadOutputId => BadOutput,
        _ => InternalError,
    };

    /// <summary>"NetGen failed on '{0}': {1}"</summary>
    public static readonly DiagnosticDescriptor InternalError = Error(InternalErrorId, "NetGen internal error",
        "NetGen failed on '{0}': {1}; please report this with the declaration that triggers it");
}
