using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The graph diagnostics (NG02xx), each with markup on the attribute that is wrong. Errors generate no source, and
/// the compiler must agree; the NG0203 warning still generates code that compiles.
/// </summary>
public class GraphDiagnosticTests
{
    private static async Task Verify(string source, bool generatesCode, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source);
        if (generatesCode) test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck; // the code must still compile
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public Task NG0201_unknown_input_suggests_the_closest_name() => Verify("""
        [Network(28, 28, 1)]
        [Conv2D(16, 3, Padding = Padding.Same, Name = "branch_a")]
        [Conv2D(16, 5, Padding = Padding.Same, Name = "branch_b", Input = "input")]
        [{|#0:Concatenate("brnch_a", "branch_b")|}]
        [Flatten]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithMessage(
            "Concatenate #3 reads 'brnch_a', but no layer of this network has that name; did you mean 'branch_a'?"));

    [Fact]
    public Task NG0201_unknown_input_with_nothing_close() => Verify("""
        [Network(8)]
        [Dense(4)]
        [{|#0:Dense(2, Input = "encoder_output")|}]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithMessage(
            "Dense #2 reads 'encoder_output', but no layer of this network has that name; use the Name of a layer of this network, or \"input\" for the network's input"));

    [Fact]
    public Task NG0202_cycle_shows_the_path() => Verify("""
        [Network(16)]
        [{|#0:Dense(8, Name = "a", Input = "b")|}]
        [Dense(8, Name = "b")]
        [Dense(1, Activation = Activation.Sigmoid)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.Cycle).WithLocation(0).WithMessage(
            "Dense #1 ('a') depends on its own output: 'a' -> 'b' -> 'a'; a network must be acyclic: make one of these layers read an earlier layer or \"input\""));

    [Fact]
    public Task NG0202_layer_reading_itself() => Verify("""
        [Network(16)]
        [Dense(8)]
        [{|#0:Dense(8, Name = "self", Input = "self")|}]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.Cycle).WithLocation(0).WithArguments("Dense", "2", "self", "'self' -> 'self'"));

    [Fact]
    public Task NG0203_unused_layer_is_a_warning_and_still_generates() => Verify("""
        [Network(16)]
        [Dense(8, Name = "hidden")]
        [{|#0:Dense(4, Name = "probe")|}]
        [Dense(1, Activation = Activation.Sigmoid, Input = "hidden")]
        public partial class Net;
        """, true,
        Diagnostic(Descriptors.UnusedLayer).WithLocation(0).WithMessage(
            "Dense #2 ('probe') is not connected to the output ('dense', the last layer declared): nothing reads its output, so it never runs and its weights never train; use it as an input of a later layer, or remove it"));

    [Fact]
    public Task NG0204_strided_block_suggests_a_projection_shortcut() => Verify("""
        [Network(28, 28, 1)]
        [Conv2D(64, 3, Padding = Padding.Same, Name = "stem")]
        [Conv2D(64, 3, Strides = 2, Padding = Padding.Same, Name = "down")]
        [{|#0:Add("stem", "down")|}]
        [Flatten]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.MergeShapeMismatch).WithLocation(0).WithMessage(
            "Add #3 merges (None, 28, 28, 64) from 'stem' and (None, 14, 14, 64) from 'down': an element-wise merge needs inputs of one shape; " +
            "give the shortcut 'stem' a 1x1 convolution with Strides = 2 and 64 filters, e.g. [Conv2D(64, 1, Strides = 2, Input = \"stem\")], and add that instead"));

    [Fact]
    public Task NG0204_different_filters() => Verify("""
        [Network(8, 8, 3)]
        [Conv2D(16, 3, Padding = Padding.Same, Name = "a")]
        [Conv2D(32, 3, Padding = Padding.Same, Name = "b")]
        [{|#0:Multiply("a", "b")|}]
        [GlobalAveragePooling2D]
        [Dense(2, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.MergeShapeMismatch).WithLocation(0).WithArguments("Multiply", "3", "(None, 8, 8, 16)", "a", "(None, 8, 8, 32)", "b",
            "give 'a' a 1x1 Conv2D with 32 filters, or give both branches the same number of filters"));

    [Fact]
    public Task NG0205_concatenate_off_axis_mismatch() => Verify("""
        [Network(28, 28, 1)]
        [Conv2D(16, 1, Name = "b1")]
        [Conv2D(16, 3, Name = "b3", Input = "input")]
        [{|#0:Concatenate("b1", "b3")|}]
        [Flatten]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.ConcatenateMismatch).WithLocation(0).WithMessage(
            "Concatenate #3 joins along axis -1, but 'b1' gives (None, 28, 28, 16) and 'b3' gives (None, 26, 26, 16), which differ off that axis; " +
            "every other axis must match: give the branches the same height and width (Padding = Padding.Same and the same strides on 'b3')"));

    [Theory]
    [InlineData("0")]
    [InlineData("4")]
    [InlineData("-4")]
    public Task NG0205_concatenate_axis_outside_the_rank(string axis) => Verify($$"""
        [Network(4, 4, 2)]
        [Conv2D(2, 1, Name = "a")]
        [Conv2D(2, 1, Name = "b", Input = "input")]
        [{|#0:Concatenate("a", "b", Axis = {{axis}})|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.ConcatenateMismatch).WithLocation(0).WithArguments("Concatenate", "3", "axis " + axis,
            "its inputs (None, 4, 4, 2) have axes 1 to 3 (or -1 to -3) after the batch axis 0; use Axis = -1 (the default) to join the channels"));

    [Theory]
    [InlineData("Add(\"a\")", "Add", "at least 2 inputs", "1")]
    [InlineData("Subtract(\"a\", \"a\", \"a\")", "Subtract", "exactly 2 inputs", "3")]
    [InlineData("Maximum", "Maximum", "at least 2 inputs", "0")]
    public Task NG0206_wrong_number_of_inputs(string merge, string kind, string wanted, string given) => Verify($$"""
        [Network(16)]
        [Dense(8, Name = "a")]
        [{|#0:{{merge}}|}]
        [Dense(1)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.InputCount).WithLocation(0).WithArguments(kind, "2", wanted, given,
            "name the layers to combine, e.g. [" + kind + "(\"branch_a\", \"branch_b\")]"));

    [Fact]
    public Task NG0206_merge_with_Input_as_well() => Verify("""
        [Network(16)]
        [Dense(8, Name = "a")]
        [Dense(8, Name = "b", Input = "input")]
        [{|#0:Add("a", "b", Input = "a")|}]
        [Dense(1)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.InputCount).WithLocation(0).WithMessage(
            "Add #3 takes its inputs as arguments but is given Input = \"...\" as well; remove Input and list every layer to combine, e.g. [Add(\"branch_a\", \"branch_b\")]"));

    [Fact]
    public Task NG0208_unknown_output_suggests_the_closest_name() => Verify("""
        [{|#0:Network(16, Outputs = new[] { "digit", "is_evn" })|}]
        [Dense(8, Name = "features")]
        [Dense(10, Activation = Activation.Softmax, Name = "digit")]
        [Dense(1, Activation = Activation.Sigmoid, Input = "features", Name = "is_even")]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadOutput).WithLocation(0).WithMessage(
            "[Network(Outputs = ...)] lists 'is_evn', but no layer of this network has that name; did you mean 'is_even'?"));

    [Fact]
    public Task NG0208_output_listed_twice() => Verify("""
        [{|#0:Network(16, Outputs = new[] { "a", "a" })|}]
        [Dense(8, Name = "a")]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadOutput).WithLocation(0).WithArguments("a", "it is listed twice", "list each output layer once"));

    [Fact]
    public Task NG0208_an_input_is_not_an_output() => Verify("""
        [{|#0:Network(16, Outputs = new[] { "dense", "meta" })|}]
        [Input(4, Name = "meta")]
        [Dense(8)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadOutput).WithLocation(0).WithArguments("meta", "it is an Input layer", "list layers that compute something from the inputs"));

    [Fact]
    public Task NG0206_input_layer_with_Input_property() => Verify("""
        [Network(16)]
        [Dense(8, Name = "a")]
        [{|#0:Input(4, Name = "meta", Input = "a")|}]
        [Concatenate("a", "meta")]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.InputCount).WithLocation(0).WithMessage(
            "Input #2 takes no inputs but is given Input = \"...\"; remove Input: an Input layer is where the data of a second network input enters; layers read it by its Name"));

    [Theory]
    [InlineData("", "(0,)", "give the shape of one sample, e.g. [Input(10, Name = \"meta\")]")]
    [InlineData("4, 0", "(4, 0)", "every dimension must be positive (the batch axis is not part of the shape)")]
    [InlineData("65536, 65536", "(65536, 65536)", "one sample may have at most 536,870,911 elements")]
    public Task NG0017_input_layer_with_a_bad_shape(string shape, string shown, string fix) => Verify($$"""
        [Network(16)]
        [Dense(8, Name = "a")]
        [{|#0:Input({{shape}}{{(shape.Length == 0 ? "" : ", ")}}Name = "meta")|}]
        [Concatenate("a", "meta")]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Input", "2", "shape", shown, fix));

    [Fact]
    public Task NG0203_names_every_output() => Verify("""
        [Network(16, Outputs = new[] { "a", "b" })]
        [Dense(8, Name = "a")]
        [Dense(2, Name = "b")]
        [{|#0:Dense(3, Name = "probe", Input = "input")|}]
        public partial class Net;
        """, true,
        Diagnostic(Descriptors.UnusedLayer).WithLocation(0).WithMessage(
            "Dense #3 ('probe') is not connected to any output ('a', 'b'): nothing reads its output, so it never runs and its weights never train; use it as an input of a later layer, or remove it"));

    private const string Blocks = """
        [Block]
        [Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
        [BatchNormalization(Name = "bn")]
        [Add("input", "bn")]
        public sealed class Identity;

        [Block]
        [Dense(4)]
        [UseBlock(typeof(Loop))]
        public sealed class Loop;

        public sealed class NotABlock;

        """;

    [Fact]
    public Task NG0207_use_of_a_class_that_is_not_a_block() => Verify(Blocks + """
        [Network(8, 8, 4)]
        [{|#0:UseBlock(typeof(NotABlock), Filters = 4)|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadBlock).WithLocation(0).WithMessage(
            "[UseBlock(typeof(NotABlock))] names 'NotABlock', which is not a block; add [Block] to NotABlock (a class whose layer attributes form the block)"));

    [Fact]
    public Task NG0207_block_that_uses_itself() => Verify(Blocks + """
        [Network(8)]
        [{|#0:UseBlock(typeof(Loop))|}]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadBlock).WithLocation(0).WithArguments("[UseBlock(typeof(Loop))]", "uses itself, directly or through another block",
            "a block may use other blocks, but not itself"));

    [Fact]
    public Task NG0207_block_argument_not_given() => Verify(Blocks + """
        [Network(8, 8, 4)]
        [{|#0:UseBlock(typeof(Identity), Name = "b1")|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadBlock).WithLocation(0).WithArguments("The block used as 'b1'", "uses BlockArg.Filters, but this [UseBlock] sets no Filters",
            "add Filters = ..., e.g. [UseBlock(typeof(...), Filters = 64)]"));

    [Fact]
    public Task Shape_error_inside_a_block_is_reported_on_its_use() => Verify(Blocks + """
        [Network(8, 8, 4)]
        [UseBlock(typeof(Identity), Filters = 4, Name = "ok")]
        [{|#0:UseBlock(typeof(Identity), Filters = 8, Name = "wide")|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.MergeShapeMismatch).WithLocation(0).WithArguments("Add", "6", "(None, 8, 8, 4)", "ok", "(None, 8, 8, 8)", "wide_bn",
            "give 'ok' a 1x1 Conv2D with 8 filters, or give both branches the same number of filters"));
}
