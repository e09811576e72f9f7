using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The pages under docs/diagnostics are checked like code: each page's example triggers its id, and its fixed
/// declaration generates clean code.
/// </summary>
public partial class DocsTests
{
    private static readonly string Docs = Path.Combine(DiagnosticTests.RepositoryRoot(), "docs", "diagnostics");

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private static IEnumerable<string> Ids() =>
        Directory.GetFiles(Docs, "NG*.md").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    public static TheoryData<string> Pages() => new(Ids());

    [Theory]
    [MemberData(nameof(Pages))]
    public void The_example_triggers_the_id_and_the_fix_is_clean(string id)
    {
        string page = File.ReadAllText(Path.Combine(Docs, id + ".md")).ReplaceLineEndings("\n");
        Assert.StartsWith($"# {id}: ", page);
        Assert.Contains($"| Severity | {Severity(id)} |", page);
        Assert.Contains("## How to fix", page);
        if (id is "NG0007" or "NG9999") return; // a project setting, and no known trigger

        var blocks = CodeBlock().Matches(page).Select(m => "using NetGen;\n\n" + m.Groups[1].Value).ToList();
        Assert.Equal(2, blocks.Count);

        var example = GeneratorTest.Run([blocks[0]], runtime: true, out var exampleCompilation);
        var exampleDiagnostics = example.Diagnostics.AddRange(GeneratorTest.AnalyzerDiagnostics(exampleCompilation));
        Assert.Contains(exampleDiagnostics, d => d.Id == id);
        Assert.All(exampleDiagnostics, d => Assert.Equal(id, d.Id));

        var fixedResult = GeneratorTest.Run([blocks[1]], runtime: true, out var compilation);
        Assert.Empty(fixedResult.Diagnostics);
        Assert.Empty(GeneratorTest.AnalyzerDiagnostics(compilation));
        Assert.NotEmpty(fixedResult.GeneratedTrees);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void The_index_lists_every_page()
    {
        string index = File.ReadAllText(Path.Combine(Docs, "README.md"));
        foreach (string id in Ids())
            Assert.Contains($"| [{id}]({id}.md) | {Severity(id)} |", index);
    }

    private static string Severity(string id) =>
        id is NetGen.Generator.Diagnostics.Descriptors.DenseOnImageId or NetGen.Generator.Diagnostics.Descriptors.LossMismatchId or NetGen.Generator.Diagnostics.Descriptors.UnusedLayerId ? "Warning" : "Error";
}
