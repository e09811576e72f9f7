using System.Text.RegularExpressions;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// One layer = one rule: everything the generator knows about a layer kind is in its rule under Layers/, and the
/// central steps ask the registry. This keeps it so: outside Layers/, generator code names no layer kind but the
/// structural ones (an Input layer starts a branch; UseBlock is expanded by the parser).
/// </summary>
public class GeneratorStructureTests
{
    private static readonly string[] Structural = ["Input", "UseBlock"];

    [Fact]
    public void Only_the_layer_rules_name_layer_kinds()
    {
        string layers = Path.DirectorySeparatorChar + "Layers" + Path.DirectorySeparatorChar;
        var leaks = MatchingLines(file => !file.Contains(layers, StringComparison.Ordinal), line =>
            string.Join(", ", Regex.Matches(line, @"\bLayerKind\.(\w+)").Select(m => m.Groups[1].Value).Where(k => !Structural.Contains(k))));
        Assert.True(leaks.Count == 0, "Layer kinds named outside Layers/ (ask the rule instead):\n" + string.Join("\n", leaks));
    }

    /// <summary>
    /// A diagnostic id is written once, as its constant in Descriptors.cs; the generator's code names the constant. (The
    /// code fixes are another assembly, which cannot see the internal constants.)
    /// </summary>
    [Fact]
    public void Diagnostic_ids_are_written_only_in_the_descriptors()
    {
        string codeFixes = Path.DirectorySeparatorChar + "CodeFixes" + Path.DirectorySeparatorChar;
        var literals = MatchingLines(file => !file.Contains(codeFixes, StringComparison.Ordinal) && Path.GetFileName(file) != "Descriptors.cs",
            line => Regex.IsMatch(line, "\"NG\\d{4}\"") && !line.TrimStart().StartsWith("//", StringComparison.Ordinal) ? line.Trim() : "");
        Assert.True(literals.Count == 0, "Diagnostic ids written as literals (use Descriptors.<Name>Id):\n" + string.Join("\n", literals));
    }

    /// <summary>
    /// "file:line: finding" for every line of the generator's sources (the files <paramref name="keep"/> accepts) where
    /// <paramref name="find"/> returns a finding (not empty).
    /// </summary>
    private static List<string> MatchingLines(Func<string, bool> keep, Func<string, string> find)
    {
        string generator = Path.Combine(DiagnosticTests.RepositoryRoot(), "src", "NetGen.Generator");
        string sep = Path.DirectorySeparatorChar.ToString();
        var files = Directory.GetFiles(generator, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(sep + "obj" + sep) && !f.Contains(sep + "bin" + sep) && keep(f))
            .ToList();
        Assert.True(files.Count > 10, $"found only {files.Count} generator files under {generator}");
        var found = new List<string>();
        foreach (string file in files)
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                if (find(lines[i]) is { Length: > 0 } finding)
                    found.Add($"{Path.GetRelativePath(generator, file)}:{i + 1}: {finding}");
        }
        return found;
    }

    /// <summary>
    /// A layer's own arguments are its kind's record (<c>LayerArgs</c>), so that no field of the declared layer means a
    /// rate for one kind and a momentum for another: <c>LayerSpec</c> keeps only what every layer has.
    /// </summary>
    [Fact]
    public void Layer_specs_hold_only_what_every_layer_has_and_a_typed_record_per_kind()
    {
        var common = new[] { "Kind", "Name", "Args", "Inputs", "Trainable", "InputProperty", "Regularizers", "TimeDistributed" };
        var properties = typeof(NetGen.Generator.Model.LayerSpec).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Select(p => p.Name).Where(n => n != "EqualityContract").OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(common.OrderBy(n => n, StringComparer.Ordinal), properties);

        // The records name what they hold, and every one of them is a sealed record (value-equal: the generator caches on them).
        var records = typeof(NetGen.Generator.Model.LayerArgs).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(NetGen.Generator.Model.LayerArgs))).ToList();
        Assert.True(records.Count >= 15, $"only {records.Count} argument records");
        foreach (var record in records)
        {
            Assert.True(record.IsSealed, record.Name + " is not sealed");
            Assert.DoesNotContain(record.GetProperties(), p => p.Name is "Value" or "Sizes" && record.Name != "ResamplingArgs");
        }
    }
}
