using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// Incremental caching (STYLE 6.2 rule 7): edits that cannot change a network must leave the
/// <see cref="NetGenStepNames.Spec"/> step <c>Cached</c> or <c>Unchanged</c>, so the emitter does not run again,
/// and the tracked model must hold no Roslyn object that would keep a compilation alive.
/// </summary>
public class IncrementalTests
{
    private static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new NetGenGenerator().AsSourceGenerator()],
            parseOptions: GeneratorTest.ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun(params string[] sources)
    {
        var compilation = GeneratorTest.Compilation(sources);
        var driver = CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.Empty(first.Diagnostics);
        Assert.All(first.TrackedSteps[NetGenStepNames.Spec].SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
        return (driver, compilation);
    }

    private static void AssertSpecCached(GeneratorDriver driver, int networks)
    {
        var result = driver.GetRunResult().Results.Single();
        var outputs = result.TrackedSteps[NetGenStepNames.Spec].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(networks, outputs.Count);
        Assert.All(outputs, o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
            $"Spec step output was {o.Reason}"));
        // The source output ran on cached values only: nothing was regenerated.
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"an output step was {o.Reason}"));
    }

    [Fact]
    public void A_comment_in_the_network_file_keeps_the_spec_cached()
    {
        var (driver, compilation) = FirstRun(Samples.FashionMlp, Samples.EveryLayer);
        var tree = compilation.SyntaxTrees.First();

        // At the top, so that every location in the file moves: the spec must not depend on positions.
        var edited = tree.WithChangedText(tree.GetText().WithChanges(new TextChange(new TextSpan(0, 0), "// A comment.\n")));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited));

        AssertSpecCached(driver, networks: 2);
    }

    [Fact]
    public void An_unrelated_file_keeps_the_spec_cached()
    {
        var (driver, compilation) = FirstRun(Samples.FashionMlp, Samples.EveryLayer);

        var unrelated = CSharpSyntaxTree.ParseText("namespace Other; public class Helper { public int Twice(int x) => 2 * x; }",
            GeneratorTest.ParseOptions, path: "/0/Unrelated.cs");
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(unrelated));

        AssertSpecCached(driver, networks: 2);
    }

    [Fact]
    public void Changing_a_layer_changes_the_spec()
    {
        var (driver, compilation) = FirstRun(Samples.Autoencoder);
        var tree = compilation.SyntaxTrees.Single();

        var edited = CSharpSyntaxTree.ParseText(Samples.Autoencoder.Replace("[Dense(40,", "[Dense(41,"), GeneratorTest.ParseOptions, tree.FilePath);
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited));

        var output = Assert.Single(driver.GetRunResult().Results.Single().TrackedSteps[NetGenStepNames.Spec].SelectMany(s => s.Outputs));
        Assert.Equal(IncrementalStepRunReason.Modified, output.Reason);
    }

    /// <summary>
    /// Like dotnet/runtime's <c>SourceGenModelDoesNotEncapsulateSymbolsOrCompilationData</c>: walk every object
    /// reachable from the tracked spec outputs and fail on any Roslyn symbol, syntax, compilation or location.
    /// </summary>
    [Theory]
    [MemberData(nameof(Samples.All), MemberType = typeof(Samples))]
    public void The_spec_holds_no_symbols_or_compilation_data(string sample)
    {
        var driver = CreateDriver().RunGenerators(GeneratorTest.Compilation([Samples.Get(sample)]));
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;

        var values = steps[NetGenStepNames.Spec].SelectMany(s => s.Outputs).Select(o => o.Value).ToList();
        Assert.Single(values);
        Assert.NotNull(values[0]);
        int visited = 0;
        foreach (object value in values) Walk(value, new HashSet<object>(ReferenceEqualityComparer.Instance), ref visited, "Spec");
        Assert.True(visited > 20, $"only {visited} objects were visited: the walk did not reach the layers");
    }

    [Fact]
    public void The_walk_finds_a_location_hidden_in_an_array()
    {
        var model = new { Layers = new object[] { 1, new[] { Location.None } } };
        int visited = 0;
        var failure = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() =>
            Walk(model, new HashSet<object>(ReferenceEqualityComparer.Instance), ref visited, "model"));
        Assert.Contains("model.<Layers>i__Field[1][0]", failure.Message);
    }

    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(Location),
        typeof(SemanticModel), typeof(AttributeData), typeof(SyntaxReference), typeof(Diagnostic),
    ];

    private static void Walk(object? value, HashSet<object> seen, ref int visited, string path)
    {
        if (value is null) return;
        var type = value.GetType();
        foreach (var forbidden in Forbidden)
            Assert.False(forbidden.IsAssignableFrom(type), $"{path} is a {type.FullName}, which is a {forbidden.Name}");
        if (type.IsPrimitive || type.IsEnum || value is string || value is decimal) return;
        if (!type.IsValueType && !seen.Add(value)) return;
        visited++;

        if (value is IEnumerable sequence && type.IsArray)
        {
            int i = 0;
            foreach (object? item in sequence) Walk(item, seen, ref visited, $"{path}[{i++}]");
            return;
        }
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Assert.False(field.FieldType.IsPointer, $"{path}.{field.Name} is a pointer");
                Walk(field.GetValue(value), seen, ref visited, $"{path}.{field.Name}");
            }
        }
    }

    [Fact]
    public void Editing_a_block_in_another_file_regenerates_the_network_that_uses_it()
    {
        const string network = """
            using NetGen;
            [Network(8)]
            [UseBlock(typeof(Hidden), Filters = 6)]
            [Dense(2)]
            public partial class Net;
            """;
        const string block = """
            using NetGen;
            [Block]
            [Dense(BlockArg.Filters, Activation = Activation.Relu)]
            public sealed class Hidden;
            """;
        var compilation = GeneratorTest.Compilation([network, block]);
        var driver = CreateDriver().RunGenerators(compilation);
        string before = driver.GetRunResult().GeneratedTrees.Single().ToString();
        Assert.Contains("(Dense, relu): (None, 8) -> (None, 6)", before);

        var tree = compilation.SyntaxTrees.Last();
        var edited = tree.WithChangedText(SourceText.From(block.Replace("Activation.Relu", "Activation.Tanh")));
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited));
        string after = driver.GetRunResult().GeneratedTrees.Single().ToString();
        Assert.Contains("(Dense, tanh): (None, 8) -> (None, 6)", after);
    }
}
