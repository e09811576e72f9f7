using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// What users see in a build: the samples are clean, an invalid declaration gives NetGen's errors and nothing else,
/// and odd but legal declarations still produce code that compiles.
/// </summary>
public class CompilationTests
{
    [Theory]
    [MemberData(nameof(Samples.All), MemberType = typeof(Samples))]
    public void Sample_networks_produce_no_diagnostics(string sample)
    {
        var result = GeneratorTest.Run([Samples.Get(sample)], runtime: true, out var compilation);

        Assert.Empty(result.Diagnostics);
        Assert.Single(result.GeneratedTrees);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    /// <summary>The files under samples/ as they are in the repository, with the SDK's implicit usings.</summary>
    [Fact]
    public void Sample_projects_produce_no_diagnostics()
    {
        string samples = Path.Combine(DiagnosticTests.RepositoryRoot(), "samples");
        var files = Directory.GetFiles(samples, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files);
        const string implicitUsings = """
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Net.Http;
            global using System.Threading;
            global using System.Threading.Tasks;
            """;
        foreach (string file in files)
        {
            var result = GeneratorTest.Run([File.ReadAllText(file), implicitUsings], runtime: true, out var compilation);
            var exe = compilation.WithOptions(compilation.Options.WithOutputKind(OutputKind.ConsoleApplication));

            Assert.Empty(result.Diagnostics);
            Assert.NotEmpty(result.GeneratedTrees);
            Assert.Empty(exe.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        }
    }

    /// <summary>One invalid declaration per kind of check: no source at all, and no compiler error besides NetGen's.</summary>
    [Theory]
    [InlineData("[Network(4)] [Dense(2)] public class Net { }", "NG0001")]
    [InlineData("[Network(4)] public partial class Net;", "NG0002")]
    [InlineData("[Network(4, 0)] [Dense(2)] public partial class Net;", "NG0004")]
    [InlineData("[Network(4)] [Dense(2)] public partial class Net<T>;", "NG0005")]
    [InlineData("[Network(4)] [Dense(0)] public partial class Net;", "NG0010")]
    [InlineData("[Network(4)] [Dense(2, Activation = (Activation)99)] public partial class Net;", "NG0012")]
    [InlineData("[Network(4)] [Dense(3)] [Reshape(2, 2)] [Dense(1)] public partial class Net;", "NG0101")]
    public void An_invalid_declaration_generates_no_source(string declaration, string id)
    {
        var result = GeneratorTest.Run(["using NetGen;\n" + declaration], runtime: true, out var compilation);

        Assert.Empty(result.GeneratedTrees);
        Assert.Equal(id, Assert.Single(result.Diagnostics).Id);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    /// <summary>
    /// A name is written into comments, a string literal and the XML docs: line breaks of any kind (CR, LF, NEL,
    /// U+2028) must not end a comment or a literal. This used to turn the rest of the name into code.
    /// </summary>
    [Fact]
    public async Task Names_with_line_breaks_still_compile()
    {
        var test = GeneratorTest.Create("""
            using NetGen;

            [Network(4, Name = "two\r\nlines\u2028and <more> & \"quotes\"")]
            [Dense(3, Name = "a\nb", Activation = Activation.Gelu)]
            [Dropout(0.5, Name = "c\rd")]
            [Dense(2, Name = "e\u0085f\u2029g")]
            public partial class Net;
            """);
        test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.CompilerDiagnostics = CompilerDiagnostics.Warnings;
        await test.RunAsync();

        var code = GeneratorTest.Run(test.TestState.Sources[0].content.ToString()).GeneratedTrees.Single().ToString();
        Assert.Contains("name: \"two\\r\\nlines\\u2028and <more> & \\\"quotes\\\"\",", code);
        Assert.Contains("// [1] a b (Dense, gelu): (None, 4) -> (None, 3), 15 params", code);
    }

    /// <summary>Keyword-named types and namespaces are declared with '@'; the hint name drops it.</summary>
    [Fact]
    public async Task A_network_named_after_a_keyword_compiles()
    {
        var test = GeneratorTest.Create("""
            using NetGen;

            namespace @event.@class;

            [Network(4)]
            [Dense(2)]
            public partial class @checked;
            """);
        test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.CompilerDiagnostics = CompilerDiagnostics.Warnings;
        await test.RunAsync();

        var result = GeneratorTest.Run(test.TestState.Sources[0].content.ToString());
        Assert.Empty(result.Diagnostics);
        Assert.Equal("event.class.checked.g.cs", result.Results.Single().GeneratedSources.Single().HintName);
    }

    [Fact]
    public void Several_networks_in_one_compilation_get_one_file_each()
    {
        var result = GeneratorTest.Run([Samples.FashionMlp, Samples.Autoencoder, Samples.DeepAutoencoder, Samples.EveryLayer],
            runtime: true, out var compilation);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(
            ["FashionMlp.g.cs", "Kitchen.Sink.EveryLayer.g.cs", "Seeds.Fraud.Autoencoder.g.cs", "Seeds.Fraud.DeepAutoencoder.g.cs"],
            result.Results.Single().GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }
}
