using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// Declarations that once crashed the generator, lost generated files or gave wrong code (issue 10), each with the
/// diagnostic it gives now (markup on the exact span) or the code it generates.
/// </summary>
public class ReliabilityTests
{
    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public Task Input_whose_element_count_overflows_long_is_NG0004() => Verify("""
        [{|#0:Network(4194304, 4194304, 4194304)|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadInputShape).WithLocation(0).WithArguments("(4194304, 4194304, 4194304)", "Net", "one sample has more than 536,870,911 elements"));

    [Fact]
    public Task Kernel_of_int_MaxValue_is_NG0016_not_5_params() => Verify("""
        [Network(5, 5, 4)]
        [{|#0:Conv2D(1, int.MaxValue, Padding = Padding.Same)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.TooLarge).WithLocation(0).WithArguments("Conv2D", "1", "more than 4,611,686,018,427,387,903", "floats, more than the 536,870,911 one buffer may hold"));

    [Theory]
    [InlineData(300_000_000)]
    [InlineData(500_000_000)]
    public Task BatchNormalization_on_hundreds_of_millions_of_features_is_NG0016(int features) => Verify($$"""
        [Network({{features}})]
        [{|#0:BatchNormalization|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.TooLarge).WithLocation(0).WithArguments("BatchNormalization", "1", (8L * features).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
            "floats of parameters and scratch, more than the 536,870,911 that fit with their gradients and optimizer state"));

    [Fact]
    public void Names_that_differ_only_in_case_get_two_files()
    {
        var result = GeneratorTest.Run(["using NetGen;\n[Network(4)]\n[Dense(2)]\npublic partial class Mlp;\n[Network(4)]\n[Dense(3)]\npublic partial class MLP;"], runtime: true, out var compilation);
        Assert.Empty(result.Diagnostics);
        Assert.Equal(["Mlp.g.cs", "MLP.2.g.cs"], result.Results[0].GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal).Reverse());
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Fact]
    public void Network_on_two_partial_declarations_generates_once_and_the_compiler_reports_it()
    {
        var result = GeneratorTest.Run(["using NetGen;\n[Network(4)]\n[Dense(2)]\npublic partial class Net;\n[Network(4)]\npublic partial class Net;"], runtime: true, out var compilation);
        Assert.Empty(result.Diagnostics);
        Assert.Single(result.GeneratedTrees);
        Assert.Contains(compilation.GetDiagnostics(), d => d.Id == "CS0579"); // duplicate attribute: the compiler says so
    }

    [Theory]
    [InlineData("Plan")]
    [InlineData("Forward")]
    [InlineData("G1")]
    [InlineData("@var")]
    public Task Class_named_like_generated_code_is_NG0008(string name) => Verify($$"""
        [Network(4)]
        [Dense(2)]
        public partial class {|#0:{{name}}|};
        """,
        Diagnostic(Descriptors.NameClash).WithLocation(0).WithArguments(name.TrimStart('@'), "the class name", name.TrimStart('@'), "rename the class, e.g. " + name.TrimStart('@') + "Net"));

    [Fact]
    public Task Member_named_like_generated_code_is_NG0008() => Verify("""
        [Network(4)]
        [Dense(2)]
        public partial class Net
        {
            private int {|#0:Inspecting|};
            public int {|#1:T1|} => 0;
            private float {|#2:Slot|}(bool a, int b, int c, int d) => 0;
        }
        """,
        Diagnostic(Descriptors.NameClash).WithLocation(0).WithArguments("Inspecting", "a member of the class", "Net", "rename the member, e.g. MyInspecting"),
        Diagnostic(Descriptors.NameClash).WithLocation(1).WithArguments("T1", "a member of the class", "Net", "rename the member, e.g. MyT1"),
        Diagnostic(Descriptors.NameClash).WithLocation(2).WithArguments("Slot", "a member of the class", "Net", "rename the member, e.g. MySlot"));

    [Fact]
    public Task LeakyReLU_alpha_beyond_float_is_NG0014() => Verify("""
        [Network(4)]
        [{|#0:LeakyReLU(1e300)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadAlpha).WithLocation(0).WithArguments("LeakyReLU", "1", "1E+300"));

    [Fact]
    public Task Epsilon_that_is_zero_as_a_float_is_NG0017() => Verify("""
        [Network(4)]
        [{|#0:BatchNormalization(Epsilon = 1e-50)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("BatchNormalization", "1", "epsilon", "1E-50",
            "epsilon must be a small positive number that a float can hold (at least about 1.4e-45), e.g. 0.001 (Keras's default)"));

    [Fact]
    public void Empty_name_means_the_default_name_as_in_Keras()
    {
        var result = GeneratorTest.Run(["using NetGen;\n[Network(4)]\n[Dense(2, Name = \"\")]\n[Dense(3, Name = \" \", Input = \"dense\")]\npublic partial class Net;"], runtime: true, out _);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("dense (Dense)", code);
        Assert.Contains("dense_1 (Dense)", code);
    }

    [Fact]
    public void A_non_constant_argument_is_the_compilers_error_alone()
    {
        var result = GeneratorTest.Run(["using NetGen;\nstatic class K { public static int Units = 3; }\n[Network(4)]\n[Dense(K.Units)]\npublic partial class Net;"], runtime: true, out var compilation);
        Assert.Empty(result.Diagnostics); // no NG0010 "0 units" beside it
        Assert.Contains(compilation.GetDiagnostics(), d => d.Id == "CS0182");
    }
}

/// <summary>NG0008's list is complete: every member of the network class or of NetGen.Model that generated code names is in it.</summary>
public class ReservedNameTests
{
    public static TheoryData<string> SampleNames() => new(typeof(Samples).GetFields().Where(f => f.IsLiteral).Select(f => f.Name));

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_member_the_generated_code_names_is_reserved(string sample)
    {
        string source = (string)typeof(Samples).GetField(sample)!.GetRawConstantValue()!;
        var result = GeneratorTest.Run([source], runtime: true, out var compilation);
        Assert.NotEmpty(result.GeneratedTrees);
        int checkedUses = 0;
        foreach (var tree in result.GeneratedTrees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var id in tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.IdentifierNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(id).Symbol;
                if (symbol is null || symbol.Kind is not (SymbolKind.Field or SymbolKind.Property or SymbolKind.Method)) continue;
                string? owner = symbol.ContainingType?.ToDisplayString();
                if (owner != "NetGen.Model" && symbol.ContainingType?.Locations.Any(l => l.SourceTree == tree || l.IsInSource) != true) continue;
                if (owner != "NetGen.Model" && symbol.ContainingType?.GetAttributes().Any(a => a.AttributeClass?.Name == "NetworkAttribute") != true) continue;
                checkedUses++;
                Assert.True(NetGenGenerator.ReservedNames.Contains(symbol.Name) || NetGenGenerator.IsGeneratedConstantName(symbol.Name),
                    $"{sample}: the generated code uses '{symbol.Name}' ({owner}), which NG0008 does not reserve");
            }
            foreach (var declared in tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.MemberDeclarationSyntax>())
            {
                var symbol = compilation.GetSemanticModel(tree).GetDeclaredSymbol(declared);
                if (symbol is null or INamedTypeSymbol or INamespaceSymbol) continue;
                Assert.True(NetGenGenerator.ReservedNames.Contains(symbol.Name) || NetGenGenerator.IsGeneratedConstantName(symbol.Name),
                    $"{sample}: the generated code declares '{symbol.Name}', which NG0008 does not reserve");
            }
        }
        Assert.True(checkedUses > 20, $"{sample}: only {checkedUses} member uses were checked");
    }
}
