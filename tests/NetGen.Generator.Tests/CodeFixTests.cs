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

    private sealed class LossTest : CSharpCodeFixTest<NetGen.Generator.Analyzers.LossMismatchAnalyzer, MatchingLossFix, DefaultVerifier>
    {
        public LossTest()
        {
            ReferenceAssemblies = GeneratorTest.NoDownload;
            TestState.AdditionalReferences.AddRange(GeneratorTest.References());
            FixedState.AdditionalReferences.AddRange(GeneratorTest.References());
            TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        }

        protected override IEnumerable<Type> GetSourceGenerators() => [typeof(NetGenGenerator)];
    }

    private static string LossSource(string layer, string loss) => $$"""
        using NetGen;

        [Network(20)]
        {{layer}}
        public partial class Net;

        public static class Training
        {
            public static void Setup(Net model) => model.Compile(new Adam(), {{loss}});
        }
        """;

    [Theory]
    [InlineData("[Dense(10, Activation = Activation.Softmax)]", "BinaryCrossEntropy", "CategoricalCrossEntropy",
        "'Net' ends in a 10-way softmax output, but Loss.BinaryCrossEntropy treats every output as an independent yes/no probability, while softmax makes them compete and sum to 1; use Loss.CategoricalCrossEntropy (one-hot labels) or Loss.SparseCategoricalCrossEntropy (class indices); for independent labels, use sigmoid outputs")]
    [InlineData("[Dense(1, Activation = Activation.Sigmoid)]", "SparseCategoricalCrossEntropy", "BinaryCrossEntropy",
        "'Net' ends in a single sigmoid output, but Loss.SparseCategoricalCrossEntropy needs one probability per class, and one output is always the same class; for two classes use one sigmoid unit with Loss.BinaryCrossEntropy, or as many softmax units as classes")]
    [InlineData("[Dense(5, Activation = Activation.Sigmoid)]", "CategoricalCrossEntropy", "BinaryCrossEntropy",
        "'Net' ends in a 5-way sigmoid output, but Loss.CategoricalCrossEntropy reads a probability distribution over the classes, which only softmax produces; give the last layer Activation = Activation.Softmax (NetGen then computes the loss from the logits, as Keras does)")]
    public async Task NG0110_uses_the_loss_the_output_calls_for(string layer, string wrong, string right, string message)
    {
        var test = new LossTest
        {
            TestCode = LossSource(layer, "{|#0:Loss." + wrong + "|}"),
            FixedCode = LossSource(layer, "Loss." + right),
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(Descriptors.LossMismatch).WithLocation(0).WithMessage(message));
        await test.RunAsync();
    }

    [Fact]
    public async Task NG0110_offers_nothing_for_a_linear_output()
    {
        string source = LossSource("[Dense(1)]", "{|#0:Loss.BinaryCrossEntropy|}");
        var expected = new DiagnosticResult(Descriptors.LossMismatch).WithLocation(0).WithMessage(
            "'Net' ends in a single linear output, but Loss.BinaryCrossEntropy reads probabilities in [0, 1], which linear does not produce; give the last layer Activation = Activation.Sigmoid");
        var test = new LossTest { TestCode = source, FixedCode = source };
        test.ExpectedDiagnostics.Add(expected);
        test.FixedState.ExpectedDiagnostics.Add(expected);
        await test.RunAsync();
    }
}
