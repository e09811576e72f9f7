using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Analyzers;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The diagnostics of DepthwiseConv2D, SeparableConv2D and Conv2DTranspose, with markup on the exact attribute span.
/// None skips the generated-sources check: an invalid declaration generates no source.
/// </summary>
public class ConvLayerDiagnosticTests
{
    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source, runtime: true);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    private const string Bad = " the computed output size would be zero or negative; ";

    [Theory]
    [InlineData("DepthwiseConv2D(7)", "DepthwiseConv2D", "kernel 7x7, strides 1, dilation 1, Padding.Valid", "-1x-1", "use Padding = Padding.Same or a kernel of at most 5x5")]
    [InlineData("SeparableConv2D(16, 6, 2)", "SeparableConv2D", "kernel 6x2, strides 1, dilation 1, Padding.Valid", "0x4", "use Padding = Padding.Same or a kernel of at most 5x5")]
    [InlineData("SeparableConv2D(16, 3, DilationRate = 3)", "SeparableConv2D", "kernel 3x3, strides 1, dilation 3, Padding.Valid", "-1x-1",
        "use Padding = Padding.Same or a kernel of at most 2x2 (or a smaller dilation rate)")]
    public Task NG0104_depthwise_window_larger_than_its_input(string attribute, string kind, string settings, string output, string fix) => Verify($$"""
        [Network(5, 5, 8)]
        [{|#0:{{attribute}}|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithMessage(
            $"{kind} #1 ({settings}) receives (None, 5, 5, 8) and would output {output}:{Bad}{fix}"));

    [Theory]
    [InlineData("DepthwiseConv2D(3, Strides = 2, DilationRate = 2)", "DepthwiseConv2D")]
    [InlineData("SeparableConv2D(8, 3, Strides = 3, DilationRate = 2, DepthMultiplier = 2)", "SeparableConv2D")]
    public Task NG0105_depthwise_strides_with_dilation(string attribute, string kind)
    {
        string strides = attribute.Contains("Strides = 3") ? "3" : "2";
        return Verify($$"""
            [Network(28, 28, 3)]
            [Conv2D(8, 3)]
            [{|#0:{{attribute}}|}]
            [Flatten]
            [Dense(10)]
            public partial class Net;
            """,
            Diagnostic(Descriptors.StridesWithDilation).WithLocation(0).WithMessage(
                $"{kind} #2 has strides {strides} and dilation rate 2; Keras does not support strides > 1 together with dilation > 1: set one of them to 1"));
    }

    [Theory]
    [InlineData("DepthwiseConv2D(3, DepthMultiplier = 0)", "depth multiplier", "0", "the depth multiplier must be positive, e.g. 1 (one filter per input channel)")]
    [InlineData("SeparableConv2D(8, 3, DepthMultiplier = -2)", "depth multiplier", "-2", "the depth multiplier must be positive, e.g. 1 (one filter per input channel)")]
    [InlineData("DepthwiseConv2D(0, 3)", "kernel size", "0x3", "both dimensions must be positive, e.g. 3")]
    [InlineData("SeparableConv2D(8, 3, Strides = 0)", "strides", "0", "strides must be positive, e.g. 1 or 2")]
    [InlineData("Conv2DTranspose(8, 3, 0)", "kernel size", "3x0", "both dimensions must be positive, e.g. 3")]
    [InlineData("Conv2DTranspose(8, 3, Strides = -1)", "strides", "-1", "strides must be positive, e.g. 1 or 2")]
    [InlineData("Conv2DTranspose(8, 3, Padding = (Padding)2)", "padding value", "2", "use Padding.Valid or Padding.Same (Padding.Causal is for Conv1D)")]
    [InlineData("DepthwiseConv2D(3, DilationRate = 0)", "dilation rate", "0", "the dilation rate must be positive, e.g. 1")]
    public Task NG0017_invalid_argument(string attribute, string what, string value, string fix)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(28, 28, 3)]
            [{|#0:{{attribute}}|}]
            [Flatten]
            [Dense(10)]
            public partial class Net;
            """,
            Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage($"{kind} #1 has {what} {value}; {fix}"));
    }

    [Theory]
    [InlineData("SeparableConv2D(0, 3)", "0")]
    [InlineData("Conv2DTranspose(-4, 3)", "-4")]
    public Task NG0010_non_positive_filters(string attribute, string filters)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(28, 28, 3)]
            [{|#0:{{attribute}}|}]
            [Flatten]
            [Dense(10)]
            public partial class Net;
            """,
            Diagnostic(Descriptors.BadUnits).WithLocation(0).WithMessage($"{kind} #1 has {filters} units; units must be a positive number such as 64"));
    }

    [Theory]
    [InlineData("DepthwiseConv2D(3)")]
    [InlineData("SeparableConv2D(8, 3)")]
    [InlineData("Conv2DTranspose(8, 3)")]
    public Task NG0103_needs_an_image(string attribute)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(64)]
            [Dense(32)]
            [{|#0:{{attribute}}|}]
            [Dense(10)]
            public partial class Net;
            """,
            Diagnostic(Descriptors.NeedsImage).WithLocation(0).WithMessage(
                $"{kind} #2 needs a (height, width, channels) input but receives (None, 32); reshape the samples first, e.g. [Network(28, 28, 1)] or [Reshape(28, 28, 1)]"));
    }

    [Fact]
    public Task NG0012_and_NG0013_name_the_Keras_properties() => Verify("""
        [Network(8, 8, 3)]
        [{|#0:DepthwiseConv2D(3, DepthwiseInitializer = (Initializer)19, Activation = (Activation)20)|}]
        [{|#1:SeparableConv2D(4, 3, PointwiseInitializer = (Initializer)(-1), BiasInitializer = (Initializer)11)|}]
        [{|#2:Conv2DTranspose(2, 3, KernelInitializer = (Initializer)18)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.UnknownActivation).WithLocation(0).WithArguments("DepthwiseConv2D", "1", "20"),
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(0).WithMessage(
            "DepthwiseConv2D #1 uses DepthwiseInitializer value 19, which is not a NetGen.Initializer member: use one of GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, RandomNormal, RandomUniform, Orthogonal, Zeros, Ones"),
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(1).WithArguments("SeparableConv2D", "2", "PointwiseInitializer", "-1"),
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(1).WithArguments("SeparableConv2D", "2", "BiasInitializer", "11"),
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(2).WithArguments("Conv2DTranspose", "3", "KernelInitializer", "18"));

    [Fact]
    public Task NG0016_transposed_output_too_large() => Verify("""
        [Network(2048, 2048, 1)]
        [{|#0:Conv2DTranspose(256, 3, Strides = 4, Padding = Padding.Same)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.TooLarge).WithLocation(0).WithMessage(
            "Conv2DTranspose #1 would need 17,179,869,184 floats, more than the 536,870,911 one buffer may hold; NetGen's flat buffers hold at most 2,147,483,647 floats, so use fewer units or a smaller input"));

    [Fact]
    public Task Dense_after_a_depthwise_layer_warns_like_after_Conv2D()
    {
        var test = GeneratorTest.Create("""
            using NetGen;

            [Network(8, 8, 3)]
            [DepthwiseConv2D(3)]
            [{|#0:Dense(10)|}]
            public partial class Net;
            """);
        test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.ExpectedDiagnostics.Add(Diagnostic(Descriptors.DenseOnImage).WithLocation(0).WithArguments("2", "(None, 6, 6, 3)", "(None, 6, 6, 10)"));
        return test.RunAsync();
    }

    /// <summary>The generator plus <see cref="LossMismatchAnalyzer"/>, as in the IDE.</summary>
    private sealed class AnalyzerTest : CSharpSourceGeneratorTest<NetGenGenerator, DefaultVerifier>
    {
        protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() => [new LossMismatchAnalyzer()];
    }

    private const string NotSoftmax = "reads a probability distribution over the classes, which only softmax produces";
    private const string GiveSoftmax = "give the last layer Activation = Activation.Softmax (NetGen then computes the loss from the logits, as Keras does)";

    [Theory]
    [InlineData("[SeparableConv2D(4, 3, Activation = Activation.Softmax)]", "BinaryCrossEntropy", "a 4-way softmax output",
        "treats every output as an independent yes/no probability, while softmax makes them compete and sum to 1",
        "use Loss.CategoricalCrossEntropy (one-hot labels) or Loss.SparseCategoricalCrossEntropy (class indices); for independent labels, use sigmoid outputs")]
    [InlineData("[Conv2DTranspose(3, 2, Activation = Activation.Sigmoid)]", "CategoricalCrossEntropy", "a 3-way sigmoid output", NotSoftmax, GiveSoftmax)]
    [InlineData("[DepthwiseConv2D(3, DepthMultiplier = 2)]", "SparseCategoricalCrossEntropy", "a 4-way linear output", NotSoftmax, GiveSoftmax)]
    public async Task NG0110_applies_to_the_new_output_layers(string layer, string loss, string ends, string problem, string fix)
    {
        var test = new AnalyzerTest
        {
            ReferenceAssemblies = GeneratorTest.NoDownload,
            TestState = { Sources = { $$"""
                using NetGen;

                [Network(8, 8, 2)]
                {{layer}}
                public partial class Net;

                public static class Training
                {
                    public static void Setup(Net model) => model.Compile(new Adam(), {|#0:Loss.{{loss}}|});
                }
                """ } },
        };
        test.TestState.AdditionalReferences.AddRange(GeneratorTest.References());
        test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.ExpectedDiagnostics.Add(new DiagnosticResult(Descriptors.LossMismatch).WithLocation(0)
            .WithMessage($"'Net' ends in {ends}, but Loss.{loss} {problem}; {fix}"));
        await test.RunAsync();
    }
}
