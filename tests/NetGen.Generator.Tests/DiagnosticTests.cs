using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// One test per diagnostic id, with markup on the exact span (<c>{|NG0010:Dense(0)|}</c>). None of these tests skips
/// the generated-sources check, so each also asserts that an invalid declaration generates no source at all, and the
/// compiler errors must match too: a NetGen error never comes with code that fails to compile.
/// </summary>
public class DiagnosticTests
{
    private static Task Verify(string source, params DiagnosticResult[] expected) => Verify(source, runtime: true, expected);

    private static async Task Verify(string source, bool runtime, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source, runtime);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public Task NG0001_network_class_is_not_partial() => Verify("""
        [Network(4)]
        [Dense(2)]
        public class {|#0:Net|}
        {
        }
        """,
        Diagnostic(Descriptors.NotPartial).WithLocation(0).WithMessage(
            "The network class 'Net' must be declared 'partial' so NetGen can add the generated members: write 'partial class Net'"));

    [Fact]
    public Task NG0002_network_without_layers() => Verify("""
        [{|#0:Network(4)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.NoLayers).WithLocation(0).WithArguments("Net"));

    [Fact]
    public Task NG0003_layer_attribute_on_a_class_without_Network() => Verify("""
        [{|#0:Dense(10)|}]
        [{|#1:Dropout(0.5)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.LayerWithoutNetwork).WithLocation(0).WithMessage(
            "[Dense] is on 'Net', which has no [Network] attribute: add [Network(<input shape>)] to the class, or remove the layer"),
        Diagnostic(Descriptors.LayerWithoutNetwork).WithLocation(1).WithArguments("Dropout", "Net"));

    [Theory]
    [InlineData("Network", "()", "give the shape of one sample, e.g. [Network(784)] or [Network(28, 28, 1)]")]
    [InlineData("Network(28, 0, 1)", "(28, 0, 1)", "every dimension must be positive (the batch axis is not part of the shape)")]
    [InlineData("Network(-1)", "(-1,)", "every dimension must be positive (the batch axis is not part of the shape)")]
    [InlineData("Network(100000, 100000)", "(100000, 100000)", "one sample has more than 536,870,911 elements")]
    public Task NG0004_invalid_input_shape(string attribute, string shape, string reason) => Verify($$"""
        [{|#0:{{attribute}}|}]
        [Dense(2)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadInputShape).WithLocation(0).WithArguments(shape, "Net", reason));

    [Theory]
    [InlineData("public partial class Outer { [Network(4)] [Dense(2)] public partial class {|#0:Net|}; }", "nested in another type")]
    [InlineData("[Network(4)] [Dense(2)] public partial class {|#0:Net|}<T>;", "generic")]
    [InlineData("[Network(4)] [Dense(2)] public static partial class {|#0:Net|} { }", "static")]
    [InlineData("public class Base { } [Network(4)] [Dense(2)] public partial class {|#0:Net|} : Base;", "derived from Base")]
    [InlineData("[Network(4)] [Dense(2)] public partial record {|#0:Net|};", "a record")]
    [InlineData("[Network(4)] [Dense(2)] file partial class {|#0:Net|};", "file-local")]
    public Task NG0005_unsupported_network_class(string source, string why) => Verify(source,
        Diagnostic(Descriptors.UnsupportedClass).WithLocation(0).WithArguments("Net", why));

    [Fact]
    public Task NG0006_layers_in_several_partial_declarations() => Verify("""
        [{|#0:Network(4)|}]
        [Dense(3)]
        public partial class Net;

        [Dense(2)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.LayersInSeveralParts).WithLocation(0).WithArguments("Net"));

    [Fact]
    public Task NG0007_NetGen_Runtime_is_not_referenced() => Verify("""
        [Network(4)]
        [Dense(2)]
        public partial class Net;
        """,
        runtime: false,
        // The runtime check runs after parsing, on the location-free spec, so the diagnostic has no location.
        Diagnostic(Descriptors.MissingRuntime).WithNoLocation().WithArguments("Net"));

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public Task NG0010_non_positive_units(int units) => Verify($$"""
        [Network(784)]
        [Dense(64, Activation = Activation.Relu)]
        [{|#0:Dense({{units}})|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadUnits).WithLocation(0).WithMessage(
            $"Dense #2 has {units} units; units must be a positive number such as 64"));

    [Fact]
    public Task NG0018_two_layers_with_one_name() => Verify("""
        [Network(10)]
        [Dense(8, Name = "hidden")]
        [{|#0:Dense(8, Name = "hidden")|}]
        [Dense(4, Name = "dense_1")]
        [Dense(4)]
        [{|#1:Dense(2, Activation = Activation.Softmax)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.DuplicateName).WithLocation(0).WithMessage(
            "Dense #2 is named 'hidden', like Dense #1; layer names must be unique in a network, as Keras requires: give it another Name, or leave Name out for a default one"),
        // Named layers draw no default name (as Keras), so the second unnamed Dense is dense_1 again.
        Diagnostic(Descriptors.DuplicateName).WithLocation(1).WithMessage(
            "Dense #5 is named 'dense_1', like Dense #3; layer names must be unique in a network, as Keras requires: give it another Name, or leave Name out for a default one"));

    [Theory]
    [InlineData("1.0", "1")]
    [InlineData("-0.1", "-0.1")]
    [InlineData("double.NaN", "NaN")]
    public Task NG0011_dropout_rate_outside_0_1(string rate, string shown) => Verify($$"""
        [Network(10)]
        [{|#0:Dropout({{rate}})|}]
        [Dense(2)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadDropoutRate).WithLocation(0).WithMessage(
            $"Dropout #1 has rate {shown}; a dropout rate must be in [0, 1), e.g. 0.2 drops 20% of the elements"));

    [Fact]
    public Task NG0012_activation_value_that_is_not_an_Activation_member() => Verify("""
        [Network(10)]
        [{|#0:Dense(4, Activation = (Activation)42)|}]
        [{|#1:Activation((Activation)(-1))|}]
        public partial class Net;
        """,
        // (Activation)42 is legal C#: the only diagnostics are NetGen's, one per layer.
        Diagnostic(Descriptors.UnknownActivation).WithLocation(0).WithMessage(
            "Dense #1 uses activation value 42, which is not a NetGen.Activation member: use one of Linear, Relu, Sigmoid, Tanh, Softmax, Elu, Selu, Softplus, Softsign, HardSigmoid, Swish, Gelu, Exponential"),
        Diagnostic(Descriptors.UnknownActivation).WithLocation(1).WithArguments("Activation", "2", "-1"));

    [Fact]
    public Task NG0013_initializer_value_that_is_not_an_Initializer_member() => Verify("""
        [Network(10)]
        [{|#0:Dense(4, KernelInitializer = (Initializer)18, BiasInitializer = (Initializer)(-2))|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(0).WithMessage(
            "Dense #1 uses KernelInitializer value 18, which is not a NetGen.Initializer member: use one of GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, RandomNormal, RandomUniform, Orthogonal, Zeros, Ones"),
        Diagnostic(Descriptors.UnknownInitializer).WithLocation(0).WithArguments("Dense", "1", "BiasInitializer", "-2"));

    [Theory]
    [InlineData("double.NaN", "NaN")]
    [InlineData("double.PositiveInfinity", "Infinity")]
    public Task NG0014_alpha_that_is_not_finite(string alpha, string shown) => Verify($$"""
        [Network(10)]
        [Dense(4)]
        [{|#0:LeakyReLU({{alpha}})|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadAlpha).WithLocation(0).WithArguments("LeakyReLU", "2", shown));

    [Theory]
    [InlineData("Reshape", "()", "give at least one dimension, e.g. [Reshape(28, 28, 1)]")]
    [InlineData("Reshape(0, 10)", "(0, 10)", "every dimension must be positive, or -1 for the one to infer")]
    [InlineData("Reshape(-2, 5)", "(-2, 5)", "every dimension must be positive, or -1 for the one to infer")]
    public Task NG0015_invalid_reshape_target(string attribute, string target, string reason) => Verify($$"""
        [Network(10)]
        [{|#0:{{attribute}}|}]
        [Dense(2)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadReshapeDimension).WithLocation(0).WithArguments("1", target, reason));

    [Theory]
    // 100,000 x 10,000 weights: parameters, gradients and two optimizer slots would not fit in one buffer.
    [InlineData("Network(100000)", 0, "Dense(10000)",
        "Dense #1 would need 1,000,010,000 parameters, more than the 536,870,911 that fit with their gradients and optimizer state")]
    // Few parameters, but one sample's output is a billion floats.
    [InlineData("Network(100000, 2)", 0, "Dense(10000)",
        "Dense #1 would need 1,000,000,000 output floats per sample, more than the 536,870,911 one tensor may hold")]
    // Every tensor fits, but training keeps them all: the input and five 400M-float outputs pass int.MaxValue.
    [InlineData("Network(20000, 20000)", 4, "Activation(Activation.Relu)",
        "Activation #5 would need 2,400,000,000 floats of activations per sample in training")]
    public Task NG0016_network_too_large(string network, int reluLayersBefore, string layer, string need) => Verify($$"""
        [{{network}}]
        {{string.Concat(Enumerable.Repeat("[Activation(Activation.Relu)]\n", reluLayersBefore))}}[{|#0:{{layer}}|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.TooLarge).WithLocation(0).WithMessage(
            need + "; NetGen's flat buffers hold at most 2,147,483,647 floats, so use fewer units or a smaller input"));

    [Theory]
    [InlineData("Reshape(27, 28)", "(27, 28)", "756 elements")]
    [InlineData("Reshape(-1, 5)", "(-1, 5)", "the known dimensions multiply to 5, which does not divide 784")]
    // The known dimensions multiply to 2^64, which used to wrap to 0 in a long and crash with NG9999.
    [InlineData("Reshape(65536, 65536, 65536, 65536)", "(65536, 65536, 65536, 65536)", "more than 784 elements")]
    [InlineData("Reshape(-1, 65536, 65536, 65536, 65536)", "(-1, 65536, 65536, 65536, 65536)", "the known dimensions multiply to more than 784")]
    public Task NG0101_reshape_element_count_mismatch(string attribute, string target, string detail) => Verify($$"""
        [Network(784)]
        [{|#0:{{attribute}}|}]
        [Dense(10)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.ReshapeMismatch).WithLocation(0).WithMessage(
            $"Reshape #1 cannot reshape (784,) (784 elements) to {target} ({detail}); use a target shape whose product is 784, or put -1 in one dimension to infer it"));

    [Fact]
    public Task NG0102_reshape_with_two_unknown_dimensions() => Verify("""
        [Network(28, 28)]
        [Flatten]
        [{|#0:Reshape(-1, 7, -1)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.ReshapeTwoUnknowns).WithLocation(0).WithMessage(
            "Reshape #2 has target shape (-1, 7, -1) with more than one -1; only one dimension can be inferred, so give the others explicitly"));

    /// <summary>
    /// NG9999 is the fallback for an exception inside the generator. No declaration is known to raise one any more
    /// (the last, a Reshape whose dimensions overflowed a long, is now NG0101 above), so only the mapping is checked:
    /// an id that shape inference does not map becomes NG9999 rather than a crash.
    /// </summary>
    [Fact]
    public void NG9999_is_the_fallback_for_unknown_ids()
    {
        Assert.Same(Descriptors.InternalError, Descriptors.ById("NG4242"));
        Assert.Equal("NG9999", Descriptors.InternalError.Id);
        Assert.Equal(DiagnosticSeverity.Error, Descriptors.InternalError.DefaultSeverity);
    }

    /// <summary>Every descriptor is an error in category NetGen with a help page under docs/diagnostics.</summary>
    [Fact]
    public void Every_descriptor_has_a_help_page()
    {
        var descriptors = typeof(Descriptors).GetFields()
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .ToList();
        // One descriptor per id constant, each id once.
        var ids = typeof(Descriptors).GetFields().Where(f => f.IsLiteral && f.Name.EndsWith("Id", StringComparison.Ordinal)).ToList();
        Assert.True(ids.Count >= 24);
        Assert.Equal(ids.Count, descriptors.Count);
        Assert.Equal(descriptors.Count, descriptors.Select(d => d.Id).Distinct().Count());
        string docs = Path.Combine(RepositoryRoot(), "docs", "diagnostics");
        foreach (var d in descriptors)
        {
            Assert.Equal("NetGen", d.Category);
            Assert.EndsWith("/docs/diagnostics/" + d.Id + ".md", d.HelpLinkUri);
            Assert.True(File.Exists(Path.Combine(docs, d.Id + ".md")), $"docs/diagnostics/{d.Id}.md is missing");
        }
    }

    /// <summary>A C# error in a layer attribute is the compiler's to report: NetGen adds nothing and generates nothing.</summary>
    [Fact]
    public Task A_compiler_error_in_a_layer_attribute_gets_no_NetGen_diagnostic() => Verify("""
        [Network(4)]
        [Dense({|#0:"ten"|})]
        public partial class Net;
        """,
        DiagnosticResult.CompilerError("CS1503").WithLocation(0).WithArguments("1", "string", "int"));

    internal static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
