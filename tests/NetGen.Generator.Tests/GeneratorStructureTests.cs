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
        string generator = Path.Combine(DiagnosticTests.RepositoryRoot(), "src", "NetGen.Generator");
        string layers = Path.Combine(generator, "Layers") + Path.DirectorySeparatorChar;
        var files = Directory.GetFiles(generator, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(layers, StringComparison.Ordinal) &&
                        !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.True(files.Count > 10, $"found only {files.Count} generator files under {generator}");
        var leaks = new List<string>();
        foreach (string file in files)
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                foreach (Match m in Regex.Matches(lines[i], @"\bLayerKind\.(\w+)"))
                    if (!Structural.Contains(m.Groups[1].Value))
                        leaks.Add($"{Path.GetRelativePath(generator, file)}:{i + 1}: LayerKind.{m.Groups[1].Value}");
        }
        Assert.True(leaks.Count == 0, "Layer kinds named outside Layers/ (ask the rule instead):\n" + string.Join("\n", leaks));
    }

    /// <summary>
    /// A diagnostic id is written once, as its constant in Descriptors.cs; the generator's code names the constant. (The
    /// code fixes are another assembly, which cannot see the internal constants.)
    /// </summary>
    [Fact]
    public void Diagnostic_ids_are_written_only_in_the_descriptors()
    {
        string generator = Path.Combine(DiagnosticTests.RepositoryRoot(), "src", "NetGen.Generator");
        string sep = Path.DirectorySeparatorChar.ToString();
        var files = Directory.GetFiles(generator, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(sep + "obj" + sep) && !f.Contains(sep + "bin" + sep) && !f.Contains(sep + "CodeFixes" + sep) &&
                        Path.GetFileName(f) != "Descriptors.cs")
            .ToList();
        Assert.True(files.Count > 10, $"found only {files.Count} generator files under {generator}");
        var literals = new List<string>();
        foreach (string file in files)
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                if (Regex.IsMatch(lines[i], "\"NG\\d{4}\"") && !lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal))
                    literals.Add($"{Path.GetRelativePath(generator, file)}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.True(literals.Count == 0, "Diagnostic ids written as literals (use Descriptors.<Name>Id):\n" + string.Join("\n", literals));
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
