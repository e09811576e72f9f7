using System.Collections.Immutable;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// Builds generator tests that run without any NuGet access: the framework references come from the installed
/// Microsoft.NETCore.App.Ref targeting pack (or, failing that, the running runtime), never from a download.
/// </summary>
internal static class GeneratorTest
{
    /// <summary>Set to 1 to rewrite the files under Baselines/ in the source tree from the generator's output.</summary>
    public const string UpdateBaselinesVariable = "NETGEN_UPDATE_BASELINES";

    /// <summary>
    /// An empty reference set: with no package to resolve, <see cref="ReferenceAssemblies.ResolveAsync"/> makes no
    /// NuGet request. The real references are <see cref="FrameworkReferences"/>, added as additional references.
    /// </summary>
    public static readonly ReferenceAssemblies NoDownload = new("net10.0");

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_framework = new(LoadFrameworkReferences);

    /// <summary>The net10.0 reference assemblies of the installed targeting pack.</summary>
    public static ImmutableArray<MetadataReference> FrameworkReferences => s_framework.Value;

    public static readonly MetadataReference AttributesReference =
        MetadataReference.CreateFromFile(typeof(NetGen.NetworkAttribute).Assembly.Location);

    public static readonly MetadataReference RuntimeReference =
        MetadataReference.CreateFromFile(typeof(global::NetGen.Model).Assembly.Location);

    /// <summary>Framework, NetGen.Attributes and (unless <paramref name="runtime"/> is false) NetGen.Runtime.</summary>
    public static ImmutableArray<MetadataReference> References(bool runtime = true) =>
        runtime ? [.. FrameworkReferences, AttributesReference, RuntimeReference] : [.. FrameworkReferences, AttributesReference];

    /// <summary>A generator test on <paramref name="source"/>; the caller adds expected sources and diagnostics.</summary>
    public static CSharpSourceGeneratorTest<NetGenGenerator, DefaultVerifier> Create(string source, bool runtime = true)
    {
        var test = new CSharpSourceGeneratorTest<NetGenGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = NoDownload,
            TestState = { Sources = { source } },
        };
        test.TestState.AdditionalReferences.AddRange(References(runtime));
        return test;
    }

    /// <summary>
    /// Runs the generator on <paramref name="source"/> and compares every generated file with
    /// <c>Baselines/{testName}/{hint}.txt</c>; the generated code must also compile without errors or warnings.
    /// With <c>NETGEN_UPDATE_BASELINES=1</c> the baselines are rewritten first.
    /// </summary>
    public static async Task VerifySnapshotAsync(string source, [CallerMemberName] string testName = "")
    {
        if (Environment.GetEnvironmentVariable(UpdateBaselinesVariable) == "1")
        {
            var run = Run(source);
            string directory = Path.Combine(SourceDirectory(), "Baselines", testName);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            Directory.CreateDirectory(directory);
            foreach (var generated in run.Results.Single().GeneratedSources)
                File.WriteAllText(Path.Combine(directory, generated.HintName + ".txt"), generated.SourceText.ToString());
        }

        var test = Create(source);
        // Warnings too: generated code with malformed XML docs or unused members would show up here.
        test.CompilerDiagnostics = CompilerDiagnostics.Warnings;
        foreach (var (hintName, text) in LoadBaselines(testName))
            test.TestState.GeneratedSources.Add((typeof(NetGenGenerator), hintName, SourceText.From(text, Encoding.UTF8)));
        Assert.NotEmpty(test.TestState.GeneratedSources);
        await test.RunAsync();
    }

    /// <summary>The baselines of a test, from the copy next to the test assembly (or the source tree after an update).</summary>
    public static IEnumerable<(string HintName, string Text)> LoadBaselines(string testName)
    {
        string updated = Path.Combine(SourceDirectory(), "Baselines", testName);
        string copied = Path.Combine(AppContext.BaseDirectory, "Baselines", testName);
        string directory = Environment.GetEnvironmentVariable(UpdateBaselinesVariable) == "1" || !Directory.Exists(copied) ? updated : copied;
        Assert.True(Directory.Exists(directory),
            $"No baselines for {testName} in {directory}; run the tests once with {UpdateBaselinesVariable}=1 and review the files.");
        foreach (string file in Directory.GetFiles(directory, "*.txt").Order(StringComparer.Ordinal))
        {
            string hintName = Path.GetFileNameWithoutExtension(file); // "N.g.cs.txt" -> "N.g.cs"
            yield return (hintName, File.ReadAllText(file).ReplaceLineEndings("\n"));
        }
    }

    /// <summary>A compilation of <paramref name="sources"/> (C# latest) with <see cref="References"/>.</summary>
    public static CSharpCompilation Compilation(IEnumerable<string> sources, bool runtime = true) =>
        CSharpCompilation.Create("Tests",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"/0/Test{i}.cs")),
            References(runtime),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    /// <summary>Runs the generator directly (no workspace) and returns the result and the compilation with its output.</summary>
    public static GeneratorDriverRunResult Run(string source, bool runtime = true) => Run([source], runtime, out _);

    public static GeneratorDriverRunResult Run(IEnumerable<string> sources, bool runtime, out Compilation output)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new NetGenGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
        driver = driver.RunGeneratorsAndUpdateCompilation(Compilation(sources, runtime), out output, out _);
        return driver.GetRunResult();
    }

    /// <summary>What NetGen's analyzers (beside the generator) report on a compilation.</summary>
    public static ImmutableArray<Diagnostic> AnalyzerDiagnostics(Compilation compilation) =>
        Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzerExtensions.WithAnalyzers(compilation, [new NetGen.Generator.Analyzers.LossMismatchAnalyzer()])
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

    /// <summary>The directory of this source file: the test project in the source tree.</summary>
    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private static ImmutableArray<MetadataReference> LoadFrameworkReferences()
    {
        // typeof(object) lives in <dotnet>/shared/Microsoft.NETCore.App/<version>/.
        string runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        string runtimeVersion = Path.GetFileName(runtimeDirectory);
        string packs = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", "..", "packs", "Microsoft.NETCore.App.Ref"));
        string? referenceDirectory = null;
        if (Directory.Exists(packs))
        {
            var candidates = Directory.GetDirectories(packs)
                .Select(d => (Directory: Path.Combine(d, "ref", "net10.0"), Version: Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : null))
                .Where(c => c.Version is not null && Directory.Exists(c.Directory))
                .OrderByDescending(c => Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(c.Directory))) == runtimeVersion)
                .ThenByDescending(c => c.Version)
                .ToList();
            referenceDirectory = candidates.Count > 0 ? candidates[0].Directory : null;
        }

        // Without a targeting pack, the runtime's own (implementation) assemblies compile the same code.
        string directory = referenceDirectory ?? runtimeDirectory;
        var references = ImmutableArray.CreateBuilder<MetadataReference>();
        foreach (string file in Directory.GetFiles(directory, "*.dll").Order(StringComparer.Ordinal))
        {
            if (referenceDirectory is null && !IsManaged(file)) continue;
            references.Add(MetadataReference.CreateFromFile(file));
        }
        Assert.True(references.Count > 100, $"Found only {references.Count} framework assemblies in {directory}.");
        return references.ToImmutable();
    }

    private static bool IsManaged(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var reader = new PEReader(stream);
            return reader.HasMetadata;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
