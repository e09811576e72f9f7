using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// Random declarations of every layer kind with arguments at and past their limits (0, negative, int.MaxValue, NaN,
/// ±∞, 1e300, 1e-50, huge shapes whose element count overflows), names that clash, and several networks per
/// compilation (names differing only in case, the same name in two namespaces): each ends in generated code that
/// compiles without warnings, or in NG diagnostics alone. Never an exception (NG9999, CS8785, AD0001), a lost file or
/// a compiler error in generated code. A failing seed is printed; keep it in <see cref="Regressions"/>.
/// </summary>
public class DeclarationFuzzTests(ITestOutputHelper output)
{
    /// <summary>Declarations that once broke the generator (issue 10's list), checked by the same rule.</summary>
    private static readonly string[] Regressions =
    [
        "[Network(4194304, 4194304, 4194304)]\n[GlobalAveragePooling2D]\npublic partial class Net;",
        "[Network(4194304, 4194304, 4194304)]\n[Flatten]\n[Dense(2)]\npublic partial class Net;",
        "[Network(5, 5, 4)]\n[Conv2D(1, int.MaxValue, Padding = Padding.Same)]\npublic partial class Net;",
        "[Network(300000000)]\n[BatchNormalization]\npublic partial class Net;",
        "[Network(500000000)]\n[BatchNormalization]\npublic partial class Net;",
        "[Network(4)]\n[Dense(2)]\npublic partial class Mlp;\n[Network(4)]\n[Dense(2)]\npublic partial class MLP;",
        "[Network(4)]\n[Dense(2)]\npublic partial class Plan;",
        "[Network(4)]\n[Dense(2)]\npublic partial class Forward;",
        "[Network(4)]\n[Dense(2)]\npublic partial class G1;",
        "[Network(4)]\n[Dense(2)]\npublic partial class @var;",
        "[Network(4)]\n[Dense(2)]\npublic partial class Net { public int Train; }",
        "[Network(4)]\n[Dense(2)]\npublic partial class Net { private void Backprop() { } }",
        "[Network(4)]\n[LeakyReLU(1e300)]\npublic partial class Net;",
        "[Network(4)]\n[BatchNormalization(Epsilon = 1e-50)]\npublic partial class Net;",
        "[Network(4)]\n[Dense(2, Name = \"\")]\n[Dense(2, Input = \"dense\")]\npublic partial class Net;",
        "[Network(4)]\n[Dense(2)]\npublic partial class Net;\n[Network(4)]\npublic partial class Net;",
    ];

    private static readonly int[] Ints = [0, -1, 1, 2, 3, 7, 65536, 4194304, int.MaxValue, int.MinValue];
    private static readonly string[] Doubles = ["0", "0.5", "1", "-0.5", "2", "double.NaN", "double.PositiveInfinity", "double.NegativeInfinity", "1e300", "1e-50", "0.999999999"];

    private static string RandomDeclaration(int seed)
    {
        var rng = new Random(seed);
        int Int() => rng.Next(7) == 0 ? Ints[rng.Next(Ints.Length)] : rng.Next(1, 6);
        string I(int v) => v == int.MaxValue ? "int.MaxValue" : v == int.MinValue ? "int.MinValue" : v.ToString(CultureInfo.InvariantCulture);
        string D() => rng.Next(7) == 0 ? Doubles[rng.Next(Doubles.Length)] : (rng.Next(1, 9) / 10.0).ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        int rank = rng.Next(12) == 0 ? rng.Next(0, 5) : rng.Next(3) switch { 0 => 1, 1 => 2, _ => 3 };
        var shape = Enumerable.Range(0, rank).Select(_ => rng.Next(10) == 0 ? I(Ints[rng.Next(Ints.Length)]) : I(rng.Next(1, 10)));
        sb.Append("[Network(").Append(string.Join(", ", shape)).Append(")]\n");
        int count = rng.Next(0, 5);
        string Named() => rng.Next(8) == 0 ? ", Name = \"" + (rng.Next(2) == 0 ? "" : "x") + "\"" : "";
        for (int i = 0; i < count; i++)
        {
            string attr = rng.Next(32) switch
            {
                31 => rng.Next(2) == 0 ? $"RepeatVector({I(Int())})" : $"ActivityRegularization(L1 = {D()}, L2 = {D()})",
                29 => $"GRU({I(Int())}, ReturnSequences = {(rng.Next(2) == 0 ? "true" : "false")}, UseBias = {(rng.Next(2) == 0 ? "true" : "false")}, Bidirectional = (BidirectionalMerge)({rng.Next(0, 5)}))",
                30 => $"SimpleRNN({I(Int())}, Activation = (Activation)({rng.Next(-1, 14)}), ReturnSequences = {(rng.Next(2) == 0 ? "true" : "false")})",
                28 => $"Embedding({I(Int())}, {I(Int())})",
                27 => $"LSTM({I(Int())}, ReturnSequences = {(rng.Next(2) == 0 ? "true" : "false")}, RecurrentActivation = (Activation)({rng.Next(-1, 14)}), Bidirectional = (BidirectionalMerge)({rng.Next(-1, 6)}), Dropout = {D()}, RecurrentDropout = {D()})",
                21 => $"Conv1D({I(Int())}, {I(Int())}, Strides = {I(Int())}, Padding = (Padding)({rng.Next(-1, 4)}), DilationRate = {I(Int())}, Activation = Activation.Relu, KernelRegularizerL2 = {D()})",
                22 => $"MaxPooling1D({I(Int())}, Strides = {I(Int())}, Padding = Padding.{(rng.Next(2) == 0 ? "Same" : "Valid")})",
                23 => rng.Next(2) == 0 ? "GlobalAveragePooling1D" : "GlobalMaxPooling1D",
                24 => $"UpSampling1D({I(Int())})",
                25 => $"ZeroPadding1D({I(Int())}, {I(Int())})",
                26 => rng.Next(2) == 0 ? $"Cropping1D({I(Int())})" : $"SpatialDropout1D({D()})",
                0 => $"Dense({I(Int())}, Activation = (Activation)({rng.Next(-1, 15)}){Named()})",
                1 => $"Dense({I(Int())}, UseBias = {(rng.Next(2) == 0 ? "true" : "false")}, KernelInitializer = (Initializer)({rng.Next(-1, 9)}))",
                2 => $"Conv2D({I(Int())}, {I(Int())}, Strides = {I(Int())}, Padding = (Padding)({rng.Next(-1, 3)}), DilationRate = {I(Int())})",
                3 => rng.Next(2) == 0 ? $"Conv2D({I(Int())}, {I(Int())}, {I(Int())})" : $"Conv2D({I(Int())}, {I(Int())}, StrideHeight = {I(Int())}, StrideWidth = {I(Int())})",
                4 => $"MaxPooling2D({I(Int())}, Strides = {I(Int())}, Padding = Padding.{(rng.Next(2) == 0 ? "Same" : "Valid")})",
                5 => $"AveragePooling2D({I(Int())}, {I(Int())})",
                6 => "Flatten" + Named().Replace(", ", "(") + (Named().Length > 0 ? ")" : ""),
                7 => $"Reshape({string.Join(", ", Enumerable.Range(0, rng.Next(0, 4)).Select(_ => I(rng.Next(3) == 0 ? -1 : Int())))})",
                8 => $"Dropout({D()})",
                9 => $"BatchNormalization(Momentum = {D()}, Epsilon = {D()})",
                10 => $"LeakyReLU({D()})",
                11 => $"ELU({D()})",
                12 => $"ReLU(MaxValue = {D()}, NegativeSlope = {D()}, Threshold = {D()})",
                13 => $"Activation((Activation)({rng.Next(-1, 15)}))",
                14 => $"GaussianNoise({D()})",
                15 => $"ZeroPadding2D({I(Int())}, {I(Int())})",
                16 => $"UpSampling2D({I(Int())})",
                17 => $"Cropping2D({I(Int())})",
                18 => $"DepthwiseConv2D({I(Int())}, DepthMultiplier = {I(Int())})",
                19 => $"SeparableConv2D({I(Int())}, {I(Int())})",
                _ => $"Conv2DTranspose({I(Int())}, {I(Int())}, Strides = {I(Int())})",
            };
            sb.Append('[').Append(attr).Append("]\n");
        }
        sb.Append(rng.Next(25) == 0 ? "public partial class Plan;\n" : "public partial class Net;\n");
        return sb.ToString();
    }

    [Fact]
    public void RandomDeclarationsCompileOrGiveOnlyNetGenDiagnostics()
    {
        int generated = 0, rejected = 0;
        var failures = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok) failures.Add(message);
        }
        var sources = Enumerable.Range(1, 1000).Select(RandomDeclaration).Concat(Regressions).ToList();
        foreach (var (body, index) in sources.Select((s, i) => (s, i)))
        {
            string source = "using NetGen;\n\n" + body;
            var result = GeneratorTest.Run([source], runtime: true, out var compilation);
            string where = index < 1000 ? $"seed {index + 1}" : $"regression {index - 999}";
            Check(!result.Diagnostics.Any(d => d.Id == "NG9999" || !d.Id.StartsWith("NG", StringComparison.Ordinal)),
                $"{where}: {string.Join("; ", result.Diagnostics.Where(d => d.Id == "NG9999" || !d.Id.StartsWith("NG", StringComparison.Ordinal)).Take(2))}\n{source}");
            var ngErrors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            // The user's own code may have compiler errors (a bad enum cast, CS0579 for a second [Network]); generated code never.
            var generatedProblems = compilation.GetDiagnostics()
                .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } t && result.GeneratedTrees.Contains(t)).ToList();
            Check(generatedProblems.Count == 0, $"{where}: {string.Join("; ", generatedProblems.Take(3))}\n{source}");
            Check(result.Results.All(r => r.Exception is null), $"{where}: the generator threw\n{source}");
            if (ngErrors.Count == 0)
            {
                // Every network (a distinct class name) gets its file: none is lost to another's problem.
                int networks = System.Text.RegularExpressions.Regex.Matches(body, @"partial class (@?\w+)").Select(m => m.Groups[1].Value).Distinct().Count();
                Check(result.GeneratedTrees.Length == networks, $"{where}: {result.GeneratedTrees.Length} generated files for {networks} networks\n{source}");
                generated++;
            }
            else rejected++;
        }
        foreach (var f in failures.Where(f => !f.Contains("CS0542")).Take(40)) output.WriteLine(f + "\n");
        Assert.True(failures.Count == 0, $"{failures.Count} failures; the first: {failures.FirstOrDefault()}");
        output.WriteLine($"{sources.Count} random declarations: {generated} generated code that compiles, {rejected} rejected with NG diagnostics only");
        Assert.True(generated > 100 && rejected > 100, $"the generator should see both kinds: {generated} generated, {rejected} rejected");
    }
}
