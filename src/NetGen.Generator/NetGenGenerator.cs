using System;
using System.Collections.Generic;
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

        // 3. Source: one file per valid network. All networks together, so that file names that differ only in case
        //    (Mlp and MLP) get distinct names on case-insensitive file systems; each network is emitted on its own, and
        //    a failure is a diagnostic on that network, never a lost file for the others.
        var specs = parsed.Select(static (t, _) => t.Network).WithTrackingName(NetGenStepNames.Spec);
        context.RegisterSourceOutput(specs.Collect().Combine(hasRuntime), static (spc, pair) =>
        {
            var (networks, runtime) = pair;
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var network in networks)
            {
                if (network is null) continue;
                if (!runtime)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.Descriptors.MissingRuntime, null, network.Spec.ClassName));
                    continue;
                }
                string hint = Emitter.HintName(network.Spec);
                for (int n = 2; !used.Add(hint); n++) hint = Emitter.HintName(network.Spec, n);
                string source;
                try
                {
                    source = Emitter.Emit(network);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.Descriptors.InternalError, null, network.Spec.ClassName,
                        "emitting the code: " + e.GetType().Name + ": " + e.Message));
                    continue;
                }
                spc.AddSource(hint, source);
            }
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
