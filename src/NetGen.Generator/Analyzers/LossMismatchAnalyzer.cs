using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Analyzers;

/// <summary>
/// NG0110: <c>model.Compile(optimizer, Loss.X)</c> on a [Network] class whose output layer cannot produce what that
/// loss reads, e.g. a 10-way softmax with binary cross-entropy. The loss is a run-time argument, so this is an
/// analyzer on the call (with a constant loss), not part of the generator.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LossMismatchAnalyzer : DiagnosticAnalyzer
{
    // Values of NetGen.Loss (NetGen.Runtime).
    private const int CategoricalCrossEntropy = 0, SparseCategoricalCrossEntropy = 1, BinaryCrossEntropy = 2;

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.LossMismatch);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var model = start.Compilation.GetTypeByMetadataName("NetGen.Model");
            var network = start.Compilation.GetTypeByMetadataName(NetGenGenerator.NetworkAttributeName);
            if (model is null || network is null) return;
            start.RegisterOperationAction(c => Analyze(c, model, network), OperationKind.Invocation);
        });
    }

    private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol model, INamedTypeSymbol networkAttribute)
    {
        var call = (IInvocationOperation)context.Operation;
        var method = call.TargetMethod;
        if (method.Name != "Compile" || !SymbolEqualityComparer.Default.Equals(method.ContainingType, model)) return;
        if (call.Instance?.Type is not INamedTypeSymbol type) return;
        IArgumentOperation? lossArgument = null;
        foreach (var argument in call.Arguments)
            if (argument.Parameter?.Name == "loss") lossArgument = argument;
        if (lossArgument?.Value.ConstantValue is not { HasValue: true, Value: int loss }) return;

        AttributeData? attribute = null;
        foreach (var a in type.GetAttributes())
            if (SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkAttribute)) attribute = a;
        if (attribute is null) return;
        var network = Resolve(type, attribute, context.CancellationToken);
        if (network is null) return; // the generator reports what is wrong with the declaration

        if (network.Outputs.Length != 1) return; // several outputs: a loss per output, checked at run time
        var output = network.Output;
        if (!ShapeInference.AppliesOutputActivation(output.Spec.Kind)) return;
        string? problem = Problem(loss, output.Activation, output.LastOutput, out string lossName, out string fix);
        if (problem is null) return;
        string ends = output.LastOutput == 1
            ? "a single " + Name(output.Activation) + " output"
            : "a " + output.LastOutput.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-way " + Name(output.Activation) + " output";
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.LossMismatch, lossArgument.Value.Syntax.GetLocation(),
            type.Name, ends, lossName, problem, fix));
    }

    private static string? Problem(int loss, ActivationKind activation, int units, out string lossName, out string fix)
    {
        lossName = loss switch
        {
            CategoricalCrossEntropy => "CategoricalCrossEntropy",
            SparseCategoricalCrossEntropy => "SparseCategoricalCrossEntropy",
            BinaryCrossEntropy => "BinaryCrossEntropy",
            _ => "",
        };
        fix = "";
        bool categorical = loss is CategoricalCrossEntropy or SparseCategoricalCrossEntropy;
        if (categorical && units == 1)
        {
            fix = "for two classes use one sigmoid unit with Loss.BinaryCrossEntropy, or as many softmax units as classes";
            return "needs one probability per class, and one output is always the same class";
        }
        if (categorical && activation != ActivationKind.Softmax)
        {
            fix = "give the last layer Activation = Activation.Softmax (NetGen then computes the loss from the logits, as Keras does)";
            return "reads a probability distribution over the classes, which only softmax produces";
        }
        if (loss == BinaryCrossEntropy && activation == ActivationKind.Softmax)
        {
            fix = units == 1
                ? "use Activation = Activation.Sigmoid on the single output unit"
                : "use Loss.CategoricalCrossEntropy (one-hot labels) or Loss.SparseCategoricalCrossEntropy (class indices); for independent labels, use sigmoid outputs";
            return units == 1
                ? "reads a probability, and a softmax over one unit is always 1"
                : "treats every output as an independent yes/no probability, while softmax makes them compete and sum to 1";
        }
        // Hard sigmoid also stays in [0, 1] (it only gives up the logits fusion).
        if (loss == BinaryCrossEntropy && activation is not (ActivationKind.Sigmoid or ActivationKind.HardSigmoid))
        {
            fix = "give the last layer Activation = Activation.Sigmoid";
            return "reads probabilities in [0, 1], which " + Name(activation) + " does not produce";
        }
        return null;
    }

    private static string Name(ActivationKind a) => a switch
    {
        ActivationKind.Linear => "linear",
        ActivationKind.LeakyRelu => "leaky relu",
        ActivationKind.HardSigmoid => "hard sigmoid",
        _ => a.ToString().ToLowerInvariant(),
    };

    private static ResolvedNetwork? Resolve(INamedTypeSymbol type, AttributeData attribute, CancellationToken ct)
    {
        try
        {
            var layers = NetGenGenerator.LayerAttributesOf(type, ct);
            if (layers is null || layers.Count == 0) return null;
            var spec = NetGenGenerator.SpecOf(type, attribute, layers, ct);
            return spec is null ? null : ShapeInference.Run(spec).Network;
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            return null; // the generator reports the failure (NG9999) on the declaration; an analyzer must never throw (AD0001)
        }
    }
}
