using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using NetGen.CodeFixes;
using NetGen.Generator;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The IDE's fixes for NetGen's diagnostics, before and after, with the generator producing the diagnostics (as the
/// IDE gets them): NG0104 gets Padding = Padding.Same, NG0001 the partial modifier; fix-all fixes every occurrence.
/// </summary>
public class CodeFixTests
{
    private sealed class Test<TFix> : CSharpCodeFixTest<EmptyDiagnosticAnalyzer, TFix, DefaultVerifier>
        where TFix : CodeFixProvider, new()
    {
        public Test()
        {
            ReferenceAssemblies = GeneratorTest.NoDownload;
            TestState.AdditionalReferences.AddRange(GeneratorTest.References());
            FixedState.AdditionalReferences.AddRange(GeneratorTest.References());
            // The generated files differ before and after the fix; only the source and the diagnostics are compared.
            TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        }

        protected override IEnumerable<Type> GetSourceGenerators() => [typeof(NetGenGenerator)];
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public async Task NG0104_gets_same_padding()
    {
        var test = new Test<PaddingSameFix>
        {
            TestCode = """
                using NetGen;

                [Network(5, 5, 32)]
                [{|#0:Conv2D(64, 7, Activation = Activation.Relu)|}]
                [Flatten]
                [Dense(10)]
                public partial class Net;
                """,
            FixedCode = """
                using NetGen;

                [Network(5, 5, 32)]
                [Conv2D(64, 7, Activation = Activation.Relu, Padding = Padding.Same)]
                [Flatten]
                [Dense(10)]
                public partial class Net;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithArguments(
            "Conv2D", "1", "kernel 7x7, strides 1, dilation 1, Padding.Valid", "(None, 5, 5, 32)", "-1x-1", "use Padding = Padding.Same or a kernel of at most 5x5"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0104_replaces_valid_padding_and_fixes_all()
    {
        var test = new Test<PaddingSameFix>
        {
            TestCode = """
                using NetGen;

                [Network(4, 4, 3)]
                [{|#0:Conv2D(8, 5, Padding = Padding.Valid)|}]
                [Flatten]
                [Dense(2)]
                public partial class First;

                [Network(4, 4, 3)]
                [{|#1:MaxPooling2D(6)|}]
                [Flatten]
                [Dense(2)]
                public partial class Second;
                """,
            FixedCode = """
                using NetGen;

                [Network(4, 4, 3)]
                [Conv2D(8, 5, Padding = Padding.Same)]
                [Flatten]
                [Dense(2)]
                public partial class First;

                [Network(4, 4, 3)]
                [MaxPooling2D(6, Padding = Padding.Same)]
                [Flatten]
                [Dense(2)]
                public partial class Second;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithArguments(
            "Conv2D", "1", "kernel 5x5, strides 1, dilation 1, Padding.Valid", "(None, 4, 4, 3)", "0x0", "use Padding = Padding.Same or a kernel of at most 4x4"));
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.EmptyOutput).WithLocation(1).WithArguments(
            "MaxPooling2D", "1", "pool 6x6, strides 6, Padding.Valid", "(None, 4, 4, 3)", "0x0", "use Padding = Padding.Same, a pool of at most 4, or remove the pooling"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0001_makes_the_class_partial()
    {
        var test = new Test<MakePartialFix>
        {
            TestCode = """
                using NetGen;

                [Network(4)]
                [Dense(2)]
                public sealed class {|#0:Net|};
                """,
            FixedCode = """
                using NetGen;

                [Network(4)]
                [Dense(2)]
                public sealed partial class Net;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.NotPartial).WithLocation(0).WithArguments("Net"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0106_inserts_a_Flatten_before_the_Dense()
    {
        var test = new Test<InsertFlattenFix>
        {
            TestCode = """
                using NetGen;

                [Network(6, 6, 1)]
                [Conv2D(2, 3)]
                [{|#0:Dense(3)|}]
                public partial class Net;
                """,
            FixedCode = """
                using NetGen;

                [Network(6, 6, 1)]
                [Conv2D(2, 3)]
                [Flatten]
                [Dense(3)]
                public partial class Net;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.DenseOnImage).WithLocation(0).WithArguments("2", "(None, 4, 4, 2)", "(None, 4, 4, 3)"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0201_renames_to_the_closest_layer_name()
    {
        var test = new Test<ClosestNameFix>
        {
            TestCode = """
                using NetGen;

                [Network(28, 28, 1)]
                [Conv2D(16, 3, Padding = Padding.Same, Name = "branch_a")]
                [Conv2D(16, 5, Padding = Padding.Same, Name = "branch_b", Input = "input")]
                [{|#0:Concatenate("brnch_a", "branch_b")|}]
                [Flatten]
                [Dense(10, Activation = Activation.Softmax)]
                public partial class Net;
                """,
            FixedCode = """
                using NetGen;

                [Network(28, 28, 1)]
                [Conv2D(16, 3, Padding = Padding.Same, Name = "branch_a")]
                [Conv2D(16, 5, Padding = Padding.Same, Name = "branch_b", Input = "input")]
                [Concatenate("branch_a", "branch_b")]
                [Flatten]
                [Dense(10, Activation = Activation.Softmax)]
                public partial class Net;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithArguments("Concatenate", "3", "brnch_a", "did you mean 'branch_a'?"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0101_puts_minus_one_where_the_others_divide_the_elements()
    {
        var test = new Test<ReshapeInferFix>
        {
            TestCode = """
                using NetGen;

                [Network(784)]
                [{|#0:Reshape(27, 28)|}]
                [Dense(10)]
                public partial class Net;
                """,
            FixedCode = """
                using NetGen;

                [Network(784)]
                [Reshape(-1, 28)]
                [Dense(10)]
                public partial class Net;
                """,
        };
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.ReshapeMismatch).WithLocation(0).WithArguments("1", "(784,)", "784", "(27, 28)", "756 elements"));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0101_offers_nothing_when_no_dimension_can_be_inferred()
    {
        // (3, 5): neither 3 nor 5 divides 784, so no dimension can be inferred and the code stays as it is.
        const string source = """
            using NetGen;

            [Network(784)]
            [{|#0:Reshape(3, 5)|}]
            [Dense(10)]
            public partial class Net;
            """;
        var test = new Test<ReshapeInferFix> { TestCode = source, FixedCode = source };
        var expected = Diagnostic(Descriptors.ReshapeMismatch).WithLocation(0).WithArguments("1", "(784,)", "784", "(3, 5)", "15 elements");
        test.ExpectedDiagnostics.Add(expected);
        test.FixedState.ExpectedDiagnostics.Add(expected);
        await test.RunAsync();
    }
}
