using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator;

public sealed partial class NetGenGenerator
{
    internal const string NetworkAttributeName = "NetGen.NetworkAttribute";

    /// <summary>Layer attribute metadata names: UseBlock's, then those of the rules in <see cref="Layers.LayerRegistry"/>.</summary>
    internal static readonly ImmutableArray<(string MetadataName, LayerKind Kind)> LayerAttributes = ImmutableArray.Create(
        ("NetGen.UseBlockAttribute", LayerKind.UseBlock))
        .AddRange(Layers.LayerRegistry.Rules.Select(static r => (r.AttributeName, r.Kind))); // every other kind has a rule

    /// <summary>Reads a [Network] class into a resolved network, or diagnostics. Never throws.</summary>
    internal static (ResolvedNetwork? Network, EquatableArray<Diagnostic> Diagnostics) Parse(
        GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        var diagnostics = new List<Diagnostic>();
        var symbol = (INamedTypeSymbol)context.TargetSymbol;
        var networkAttribute = context.Attributes[0];
        Location networkLocation = LocationOf(networkAttribute, ct) ?? context.TargetNode.GetLocation();
        try
        {
            var declaration = (TypeDeclarationSyntax)context.TargetNode;
            if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                diagnostics.Add(Diagnostic.Create(Descriptors.NotPartial, declaration.Identifier.GetLocation(), symbol.Name));
                return (null, diagnostics.ToEquatableArray());
            }
            string? unsupported =
                declaration is RecordDeclarationSyntax ? "a record" :
                declaration.Modifiers.Any(SyntaxKind.FileKeyword) ? "file-local" :
                symbol.ContainingType is not null ? "nested in another type" :
                symbol.IsGenericType ? "generic" :
                symbol.IsStatic ? "static" :
                symbol.BaseType is { SpecialType: not SpecialType.System_Object } b && b.ToDisplayString() != "NetGen.Model" ? "derived from " + b.ToDisplayString() :
                null;
            if (unsupported is not null)
            {
                diagnostics.Add(Diagnostic.Create(Descriptors.UnsupportedClass, declaration.Identifier.GetLocation(), symbol.Name, unsupported));
                return (null, diagnostics.ToEquatableArray());
            }

            // [Network] on two partial declarations (the compiler reports CS0579): the first one generates, once.
            if (symbol.DeclaringSyntaxReferences.Length > 1 &&
                symbol.GetAttributes().Count(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName) > 1 &&
                FirstNetworkDeclaration(symbol, ct) is { } first && first != context.TargetNode)
                return (null, diagnostics.ToEquatableArray());
            if (NameClashes(symbol, declaration, ct) is { Count: > 0 } clashes)
            {
                diagnostics.AddRange(clashes);
                return (null, diagnostics.ToEquatableArray());
            }

            var layerAttributes = LayerAttributesOf(symbol, ct);
            if (layerAttributes is null)
            {
                diagnostics.Add(Diagnostic.Create(Descriptors.LayersInSeveralParts, networkLocation, symbol.Name));
                return (null, diagnostics.ToEquatableArray());
            }
            ct.ThrowIfCancellationRequested();
            var origins = new List<AttributeData>();
            var blockErrors = new List<(AttributeData Origin, string[] Args)>();
            var spec = SpecOf(symbol, networkAttribute, layerAttributes, origins, blockErrors, ct);
            foreach (var (origin, args) in blockErrors)
                diagnostics.Add(Diagnostic.Create(Descriptors.BadBlock, LocationOf(origin, ct) ?? networkLocation, args.Cast<object>().ToArray()));
            if (spec is null || blockErrors.Count > 0) return (null, diagnostics.ToEquatableArray()); // the compiler reports a broken attribute

            ct.ThrowIfCancellationRequested();
            var (network, errors) = ShapeInference.Run(spec);
            foreach (var error in errors)
            {
                // A layer of a block is reported on the [UseBlock] that inserted it.
                Location location = error.LayerIndex < 0 ? networkLocation : LocationOf(origins[error.LayerIndex], ct) ?? networkLocation;
                diagnostics.Add(Diagnostic.Create(Descriptors.ById(error.Id), location, error.Args.Cast<object>().ToArray()));
            }
            return (network, diagnostics.ToEquatableArray());
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            diagnostics.Add(Diagnostic.Create(Descriptors.InternalError, networkLocation, symbol.Name, e.GetType().Name + ": " + e.Message));
            return (null, diagnostics.ToEquatableArray());
        }
    }

    /// <summary>The first declaration (in source order) of a class that carries a [Network] attribute.</summary>
    private static SyntaxNode? FirstNetworkDeclaration(INamedTypeSymbol symbol, CancellationToken ct) =>
        symbol.GetAttributes()
            .Where(a => a.AttributeClass?.ToDisplayString() == NetworkAttributeName && a.ApplicationSyntaxReference is not null)
            .Select(a => a.ApplicationSyntaxReference!.GetSyntax(ct).Parent?.Parent)
            .Where(n => n is not null)
            .OrderBy(n => n!.SyntaxTree.FilePath, StringComparer.Ordinal).ThenBy(n => n!.SpanStart)
            .FirstOrDefault();

    /// <summary>
    /// The names the generated code declares or calls on the class (besides its per-layer constants, see
    /// <see cref="IsGeneratedConstantName"/>): a user member with one of these names would collide with a generated one
    /// or be called instead of NetGen.Model's, and a class with one of them could not hold a member of that name.
    /// </summary>
    internal static readonly ImmutableHashSet<string> ReservedNames = ImmutableHashSet.Create(StringComparer.Ordinal,
        // generated members
        "InputSize", "OutputSize", "ParameterCount", "TrainableParameterCount", "ParameterBufferSize", "TrainingArenaPerSample",
        "InferenceArenaPerSample", "SummaryText", "s_info", "Plan", "Info", "InitializeParameters",
        "Forward", "Backward", "TrainStep", "FoldBatchNorms", "_foldedVersion",
        // NetGen.Model members the generated code calls
        "Backend", "ParametersOffset", "GradientsOffset", "Train", "Slot", "DropoutKey", "LossUsesLogits",
        "FromLogits", "LossAndGradient", "WeightsVersion", "MarkWeightsChanged", "ApplyOptimizer", "Inspecting", "Backprop",
        "LayerTrainable",
        // a type named like this would capture the generated code's `var`
        "var");

    /// <summary>The per-layer constants of the generated code: P3_Kernel, S3, X3, F3, G3, T3, TX3, I3, Z3, ZI3, ZX3, M3, MI3, and the gradient regions D0, D1, ...</summary>
    internal static bool IsGeneratedConstantName(string name)
    {
        int i = 0;
        if (name.StartsWith("ZI", StringComparison.Ordinal) || name.StartsWith("ZX", StringComparison.Ordinal) ||
            name.StartsWith("TX", StringComparison.Ordinal)) i = 2;
        else if (name.StartsWith("MI", StringComparison.Ordinal) || name.StartsWith("GB", StringComparison.Ordinal)) i = 2;
        else if (name.Length > 0 && "PSXFGTIZMD".IndexOf(name[0]) >= 0) i = 1;
        else return false;
        int digits = i;
        while (digits < name.Length && char.IsDigit(name[digits])) digits++;
        if (digits == i) return false;
        return digits == name.Length || (name[0] == 'P' && i == 1 && name[digits] == '_');
    }

    /// <summary>NG0008 for the class name and for each member the user declared with a name the generated code uses.</summary>
    private static List<Diagnostic> NameClashes(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, CancellationToken ct)
    {
        var list = new List<Diagnostic>();
        static bool Reserved(string name) => ReservedNames.Contains(name) || IsGeneratedConstantName(name);
        if (Reserved(symbol.Name))
            list.Add(Diagnostic.Create(Descriptors.NameClash, declaration.Identifier.GetLocation(), symbol.Name, "the class name", symbol.Name,
                "rename the class, e.g. " + symbol.Name + "Net"));
        foreach (var member in symbol.GetMembers())
        {
            if (member.IsImplicitlyDeclared || !Reserved(member.Name) || member.Locations.Length == 0 || !member.Locations[0].IsInSource) continue;
            list.Add(Diagnostic.Create(Descriptors.NameClash, member.Locations[0], member.Name, "a member of the class", symbol.Name,
                "rename the member, e.g. " + (member.Name.StartsWith("_", StringComparison.Ordinal) ? member.Name + "Value" : "My" + member.Name)));
        }
        return list;
    }

    /// <summary>The layer attributes of a class in source order, or null when they sit on several partial declarations.</summary>
    internal static List<(AttributeData Data, LayerKind Kind, SyntaxReference Ref)>? LayerAttributesOf(INamedTypeSymbol symbol, CancellationToken ct)
    {
        // GetAttributes() does not promise source order across partial declarations: sort by position.
        var layerAttributes = new List<(AttributeData Data, LayerKind Kind, SyntaxReference Ref)>();
        foreach (var attribute in symbol.GetAttributes())
        {
            var kind = LayerKindOf(attribute.AttributeClass);
            if (kind is null || attribute.ApplicationSyntaxReference is not { } reference) continue;
            layerAttributes.Add((attribute, kind.Value, reference));
        }
        if (layerAttributes.Select(a => a.Ref.SyntaxTree.FilePath + "|" + a.Ref.GetSyntax(ct).Parent?.Parent?.SpanStart).Distinct().Count() > 1)
            return null;
        layerAttributes.Sort((x, y) => x.Ref.Span.Start.CompareTo(y.Ref.Span.Start));
        return layerAttributes;
    }

    /// <summary>The declared network as primitives, or null when an attribute does not bind (the compiler reports it).</summary>
    internal static NetworkSpec? SpecOf(INamedTypeSymbol symbol, AttributeData networkAttribute,
        List<(AttributeData Data, LayerKind Kind, SyntaxReference Ref)> layerAttributes, CancellationToken ct) =>
        SpecOf(symbol, networkAttribute, layerAttributes, new List<AttributeData>(), new List<(AttributeData, string[])>(), ct);

    /// <summary>
    /// The declared network as primitives, with every [UseBlock] expanded into its block's layers; <paramref name="origins"/>
    /// gets, per layer, the attribute to report its problems on (the outermost [UseBlock] for a block's layers), and
    /// <paramref name="blockErrors"/> the NG0207 problems of the block uses.
    /// </summary>
    internal static NetworkSpec? SpecOf(INamedTypeSymbol symbol, AttributeData networkAttribute,
        List<(AttributeData Data, LayerKind Kind, SyntaxReference Ref)> layerAttributes, List<AttributeData> origins,
        List<(AttributeData Origin, string[] Args)> blockErrors, CancellationToken ct)
    {
        var layers = new List<LayerSpec>(layerAttributes.Count);
        var scope = new BlockScope(null, null, null, null, new Dictionary<string, string>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal));
        if (!ReadLayers(layerAttributes, scope, layers, origins, blockErrors, new List<INamedTypeSymbol>(), ct)) return null;
        var input = networkAttribute.ConstructorArguments.Length == 1 ? ReadInts(networkAttribute.ConstructorArguments[0]) : Array.Empty<int>();
        if (HasBadArguments(networkAttribute)) return null;
        string modelName = LayerName(networkAttribute) ?? symbol.Name;
        string? ns = symbol.ContainingNamespace.IsGlobalNamespace ? null : symbol.ContainingNamespace.ToDisplayString();
        var outputs = Named(networkAttribute, "Outputs") is { Kind: TypedConstantKind.Array, IsNull: false } o
            ? o.Values.Select(v => v.Value as string ?? "").ToArray()
            : Array.Empty<string>();
        return new NetworkSpec(ns, symbol.Name, modelName, new EquatableArray<int>(input), layers.ToEquatableArray(), new EquatableArray<string>(outputs));
    }

    internal const string BlockAttributeName = "NetGen.BlockAttribute";
    private const int FiltersArg = -1_000_001, StridesArg = -1_000_002, KernelSizeArg = -1_000_003; // NetGen.BlockArg

    /// <summary>
    /// Where layers are read: at the top of the network (no prefix), or inside a block use, whose layers are named
    /// <c>{Prefix}{name}</c>, whose <c>"input"</c> is <see cref="Input"/>, and whose arguments replace the BlockArg constants.
    /// </summary>
    private sealed record BlockScope(string? Prefix, string? Input, int[]? Args, AttributeData? Origin,
        Dictionary<string, string> Names, Dictionary<string, int> Defaults);

    /// <summary>Reads layer attributes into <paramref name="layers"/>, expanding block uses; false when an attribute does not bind.</summary>
    private static bool ReadLayers(List<(AttributeData Data, LayerKind Kind, SyntaxReference Ref)> attributes, BlockScope scope,
        List<LayerSpec> layers, List<AttributeData> origins, List<(AttributeData, string[])> errors, List<INamedTypeSymbol> active, CancellationToken ct)
    {
        // Inside a block, every layer's final name first, so that inputs (also forward ones) can be renamed.
        var finalNames = new string?[attributes.Count];
        if (scope.Prefix is not null)
        {
            for (int i = 0; i < attributes.Count; i++)
            {
                var (data, kind, _) = attributes[i];
                string inner = LayerName(data) ?? DefaultName(kind == LayerKind.UseBlock ? BlockStem(data)
                    : NamedBool(data, "TimeDistributed") ?? false ? "time_distributed" : ShapeInference.KerasName(kind), scope.Defaults);
                finalNames[i] = i == attributes.Count - 1 ? scope.Prefix.Substring(0, scope.Prefix.Length - 1) : scope.Prefix + inner;
                scope.Names[inner] = finalNames[i]!;
            }
        }
        for (int i = 0; i < attributes.Count; i++)
        {
            var (data, kind, _) = attributes[i];
            if (layers.Count % 16 == 15) ct.ThrowIfCancellationRequested();
            if (HasBadArguments(data)) return false;
            var origin = scope.Origin ?? data;
            string? declaredInput = NamedString(data, "Input");
            // The block's first layer without an Input reads the block's input (which may be a named layer).
            string? input = declaredInput is not null ? Rename(declaredInput, scope) : i == 0 && scope.Input is not null ? scope.Input : null;
            if (kind == LayerKind.UseBlock)
            {
                if (!ExpandBlock(data, finalNames[i], input ?? PreviousLayer(layers), scope, layers, origins, errors, active, origin, ct)) return false;
                continue;
            }
            // Its rule reads the attribute. Inputs come from a merge's arguments, or from the Input every layer attribute has.
            var rule = Layers.LayerRegistry.Of(kind);
            var layer = rule.Read(data, LayerName(data));
            if (rule.InputsFromArguments)
            {
                if (declaredInput is not null) layer = layer with { InputProperty = true };
                if (scope.Prefix is not null)
                    layer = layer with { Inputs = new EquatableArray<string>(layer.Inputs.AsSpan().ToArray().Select(n => Rename(n, scope)).ToArray()) };
            }
            else if (input is not null) layer = layer with { Inputs = new EquatableArray<string>(new[] { input }) };
            // A recurrent layer's InitialState: the state layers follow its input among its inputs.
            if (Named(data, "InitialState") is { Kind: TypedConstantKind.Array, IsNull: false } states && states.Values.Length > 0)
            {
                var inputs = new List<string> { input ?? PreviousLayer(layers) };
                foreach (var v in states.Values) inputs.Add(Rename(v.Value as string ?? "", scope));
                layer = layer with { Inputs = new EquatableArray<string>(inputs.ToArray()) };
            }
            if (NamedBool(data, "Trainable") == false) layer = layer with { Trainable = false };
            if (scope.Prefix is not null)
            {
                layer = Substitute(layer, scope.Args!) with { Name = finalNames[i] };
                bool unset = false;
                layer.Args.WithBlockArguments(v => { unset |= v == FiltersArg; return v; });
                if (unset)
                    errors.Add((origin, new[] { BlockName(scope), "uses BlockArg.Filters, but this [UseBlock] sets no Filters", "add Filters = ..., e.g. [UseBlock(typeof(...), Filters = 64)]" }));
            }
            layers.Add(layer);
            origins.Add(origin);
            // ReturnState: the states follow as layers of their own, named after this one (Layers/RecurrentState.cs).
            if (NamedBool(data, "ReturnState") == true)
                for (int which = 0; which < Layers.RecurrentRule.ReturnedStates(kind); which++)
                {
                    layers.Add(Layers.RecurrentStateRule.For(layers.Count - (which + 1), Layers.RecurrentRule.Args(layer).Units, which));
                    origins.Add(origin);
                }
        }
        return true;
    }

    /// <summary>Inserts the layers of the block a [UseBlock] names, or reports why it cannot (NG0207).</summary>
    private static bool ExpandBlock(AttributeData data, string? finalName, string blockInput, BlockScope outer, List<LayerSpec> layers,
        List<AttributeData> origins, List<(AttributeData, string[])> errors, List<INamedTypeSymbol> active, AttributeData origin, CancellationToken ct)
    {
        if (data.ConstructorArguments.Length != 1 || data.ConstructorArguments[0].Value is not INamedTypeSymbol block) return false;
        string useName = finalName ?? LayerName(data) ?? DefaultName(BlockStem(data), outer.Defaults);
        string label = "[UseBlock(typeof(" + block.Name + "))]";
        if (!block.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == BlockAttributeName))
        {
            errors.Add((origin, new[] { label, "names '" + block.Name + "', which is not a block", "add [Block] to " + block.Name + " (a class whose layer attributes form the block)" }));
            return true;
        }
        if (active.Any(b => SymbolEqualityComparer.Default.Equals(b, block)) || active.Count >= 8)
        {
            errors.Add((origin, new[] { label, active.Count >= 8 ? "nests blocks more than 8 deep" : "uses itself, directly or through another block", "a block may use other blocks, but not itself" }));
            return true;
        }
        var attributes = LayerAttributesOf(block, ct);
        if (attributes is null || attributes.Count == 0)
        {
            errors.Add((origin, new[] { label, attributes is null ? "has layer attributes on several partial declarations" : "has no layers", "declare the block's layers on one declaration of " + block.Name }));
            return true;
        }
        int[] args = { NamedInt(data, "Filters") ?? FiltersArg, NamedInt(data, "Strides") ?? 1, NamedInt(data, "KernelSize") ?? 3 };
        var scope = new BlockScope(useName + "_", blockInput, args, origin, new Dictionary<string, string>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal));
        scope.Names["input"] = blockInput;
        scope.Names["input_1"] = blockInput;
        active.Add(block);
        bool ok = ReadLayers(attributes, scope, layers, origins, errors, active, ct);
        active.RemoveAt(active.Count - 1);
        return ok;
    }

    /// <summary>A reference to the layer read last, by index (-1: the network's input), for inputs that have no name yet.</summary>
    private static string PreviousLayer(List<LayerSpec> layers) => // passing over the states a recurrent layer returns
        Shapes.Graph.IndexReference(Layers.LayerRegistry.DeclaredBefore(layers.Count, k => layers[k].Kind));

    private static string Rename(string name, BlockScope scope)
    {
        if (scope.Prefix is null) return name;
        if (scope.Names.TryGetValue(name, out var renamed)) return renamed;
        // A returned state of a layer in the block: 'lstm.state_h' -> 'use_lstm.state_h'.
        int dot = name.LastIndexOf('.');
        return dot > 0 && scope.Names.TryGetValue(name.Substring(0, dot), out var owner) ? owner + name.Substring(dot) : name;
    }

    private static string BlockName(BlockScope scope) => "The block used as '" + scope.Prefix!.Substring(0, scope.Prefix.Length - 1) + "'";

    private static LayerSpec Substitute(LayerSpec l, int[] args)
    {
        int S(int v) => v == FiltersArg ? args[0] : v == StridesArg ? args[1] : v == KernelSizeArg ? args[2] : v;
        return l with { Args = l.Args.WithBlockArguments(S) };
    }

    /// <summary>Keras's default name: the stem for the first use in a scope, then stem_1, stem_2, ...</summary>
    private static string DefaultName(string stem, Dictionary<string, int> counters)
    {
        counters.TryGetValue(stem, out int seen);
        counters[stem] = seen + 1;
        return seen == 0 ? stem : stem + "_" + seen.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The default name stem of a block use: the block class's name in snake case (ResidualBlock: residual_block).</summary>
    private static string BlockStem(AttributeData data)
    {
        string name = data.ConstructorArguments.Length == 1 && data.ConstructorArguments[0].Value is INamedTypeSymbol t ? t.Name : "block";
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1])) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    /// <summary>A layer attribute on a class without [Network]: one diagnostic per such attribute.</summary>
    internal static EquatableArray<Diagnostic> ParseOrphanLayer(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        var symbol = context.TargetSymbol;
        foreach (var attribute in symbol.GetAttributes())
            if (attribute.AttributeClass?.ToDisplayString() is NetworkAttributeName or BlockAttributeName)
                return default;
        var list = new List<Diagnostic>();
        foreach (var attribute in context.Attributes)
        {
            string shortName = attribute.AttributeClass?.Name ?? "layer";
            if (shortName.EndsWith("Attribute", StringComparison.Ordinal)) shortName = shortName.Substring(0, shortName.Length - 9);
            list.Add(Diagnostic.Create(Descriptors.LayerWithoutNetwork, LocationOf(attribute, ct) ?? context.TargetNode.GetLocation(), shortName, symbol.Name));
        }
        return list.ToEquatableArray();
    }

    private static int Int(ImmutableArray<TypedConstant> args, int index) =>
        args.Length > index && args[index].Value is int i ? i : 0;

    private static double? NamedDouble(AttributeData data, string name) => Named(data, name)?.Value switch
    {
        double d => d,
        float f => f,
        int i => i,
        _ => null,
    };

    private static LayerKind? LayerKindOf(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null) return null;
        string name = attributeClass.ToDisplayString();
        foreach (var (metadataName, kind) in LayerAttributes)
            if (name == metadataName) return kind;
        return null;
    }

    private static int[] ReadInts(TypedConstant constant) =>
        constant.Kind == TypedConstantKind.Array && !constant.IsNull
            ? constant.Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : Array.Empty<int>();

    private static TypedConstant? Named(AttributeData data, string name)
    {
        foreach (var pair in data.NamedArguments)
            if (pair.Key == name) return pair.Value;
        return null;
    }

    private static int? NamedInt(AttributeData data, string name) => Named(data, name)?.Value is int i ? i : null;
    private static bool? NamedBool(AttributeData data, string name) => Named(data, name)?.Value is bool b ? b : null;
    private static string? NamedString(AttributeData data, string name) => Named(data, name)?.Value as string;

    /// <summary>The layer's Name; an empty or blank one means Keras's default name, as in Keras.</summary>
    private static string? LayerName(AttributeData data) => NamedString(data, "Name") is { } name && name.Trim().Length > 0 ? name : null;

    /// <summary>
    /// Whether an argument did not bind to a constant (CS0182 for <c>[Conv1D(K.Units)]</c>, a wrong type): the compiler
    /// reports it, and NetGen says nothing more about that declaration rather than guess at a value.
    /// </summary>
    private static bool HasBadArguments(AttributeData data) =>
        data.AttributeConstructor is null ||
        data.ConstructorArguments.Any(static a => a.Kind == TypedConstantKind.Error) ||
        data.NamedArguments.Any(static a => a.Value.Kind == TypedConstantKind.Error);

    private static Location? LocationOf(AttributeData attribute, CancellationToken ct) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(ct).GetLocation();
}
