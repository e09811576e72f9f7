using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;

namespace NetGen.Generator;

/// <summary>Names of the tracked pipeline steps, for incremental-caching tests.</summary>
internal static class NetGenStepNames
{
    public const string Spec = nameof(Spec);
    public const string Diagnostics = nameof(Diagnostics);
    public const string OrphanLayers = nameof(OrphanLayers);
    public const string HasRuntime = nameof(HasRuntime);
}

/// <summary>
/// Turns a <c>[Network]</c> partial class and its layer attributes into forward and backward passes,
/// a training step, a memory plan and a Keras-style summary.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class NetGenGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // 1. Every class with [Network]: parse, infer shapes and plan memory, all inside the transform, so that
        //    diagnostics carry real source locations and the model holds only primitives.
        var parsed = context.SyntaxProvider.ForAttributeWithMetadataName(
            NetworkAttributeName,
            static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
            static (ctx, ct) => Parse(ctx, ct));

        // 2. Does the compilation reference NetGen.Runtime? Reduced to a bool so it caches.
        var hasRuntime = context.CompilationProvider
            .Select(static (c, _) => c.ReferencedAssemblyNames.Any(static a => a.Name == "NetGen.Runtime"))
            .WithTrackingName(NetGenStepNames.HasRuntime);

        // 3. Source: one file per valid network.
        var specs = parsed.Select(static (t, _) => t.Network).WithTrackingName(NetGenStepNames.Spec);
        context.RegisterSourceOutput(specs.Combine(hasRuntime), static (spc, pair) =>
        {
            var (network, runtime) = pair;
            if (network is null) return;
            if (!runtime)
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.Descriptors.MissingRuntime, null, network.Spec.ClassName));
                return;
            }
            spc.AddSource(Emitter.HintName(network.Spec), Emitter.Emit(network));
        });

        // 4. Diagnostics of [Network] classes.
        var diagnostics = parsed.Select(static (t, _) => t.Diagnostics).WithTrackingName(NetGenStepNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, list) =>
        {
            foreach (var d in list) spc.ReportDiagnostic(d);
        });

        // 5. Layer attributes on classes without [Network]: one provider per layer attribute.
        foreach (var (metadataName, _) in LayerAttributes)
        {
            var orphans = context.SyntaxProvider.ForAttributeWithMetadataName(
                    metadataName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, ct) => ParseOrphanLayer(ctx, ct))
                .WithTrackingName(NetGenStepNames.OrphanLayers);
            context.RegisterSourceOutput(orphans, static (spc, list) =>
            {
                foreach (var d in list) spc.ReportDiagnostic(d);
            });
        }
    }
}
