using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// The diagnostics of ZeroPadding2D, Cropping2D and UpSampling2D, with markup on the exact attribute span: NG0107 (a
/// cropping that leaves nothing), and the shared ids they reuse (NG0103 not an image, NG0017 a negative amount or a
/// non-positive size, NG0016 an output too large for one buffer).
/// </summary>
public class ResamplingDiagnosticTests
{
    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source, runtime: true);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public Task NG0107_cropping_after_pooling_leaves_nothing() => Verify("""
        [Network(28, 28, 1)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [MaxPooling2D(4)]
        [{|#0:Cropping2D(4)|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.CroppingEmpties).WithLocation(0).WithMessage(
            "Cropping2D #3 (cropping ((4, 4), (4, 4))) receives (None, 7, 7, 8) and would output -1x-1: the cropping removes every row or every column; crop at most 6 rows (top + bottom) and 6 columns (left + right) in total, or crop earlier in the network, where the image is larger"));

    [Theory]
    [InlineData("Cropping2D(0, 0, 3, 2)", "((0, 0), (3, 2))", "7x0")]   // exactly every column: W − left − right = 0
    [InlineData("Cropping2D(5, 2)", "((5, 5), (2, 2))", "-3x1")]        // rows only
    [InlineData("Cropping2D(7, 0, 0, 0)", "((7, 0), (0, 0))", "0x5")]   // one side alone
    public Task NG0107_each_axis_and_form(string attribute, string cropping, string output) => Verify($$"""
        [Network(7, 5, 3)]
        [{|#0:{{attribute}}|}]
        [Conv2D(2, 1)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.CroppingEmpties).WithLocation(0).WithMessage(
            $"Cropping2D #1 (cropping {cropping}) receives (None, 7, 5, 3) and would output {output}: the cropping removes every row or every column; crop at most 6 rows (top + bottom) and 4 columns (left + right) in total, or crop earlier in the network, where the image is larger"));

    [Theory]
    [InlineData("ZeroPadding2D", "ZeroPadding2D")]
    [InlineData("UpSampling2D(3)", "UpSampling2D")]
    [InlineData("Cropping2D(1, 2)", "Cropping2D")]
    public Task NG0103_needs_an_image(string attribute, string kind) => Verify($$"""
        [Network(28, 28)]
        [{|#0:{{attribute}}|}]
        [Dense(10)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.NeedsImage).WithLocation(0).WithMessage(
            $"{kind} #1 needs a (height, width, channels) input but receives (None, 28, 28); reshape the samples first, e.g. [Network(28, 28, 1)] or [Reshape(28, 28, 1)]"));

    [Theory]
    [InlineData("ZeroPadding2D(-1)", "padding ((-1, -1), (-1, -1)); every padding amount must be zero or positive, e.g. ZeroPadding2D(1)")]
    [InlineData("ZeroPadding2D(1, 0, 2, -3)", "padding ((1, 0), (2, -3)); every padding amount must be zero or positive, e.g. ZeroPadding2D(1)")]
    [InlineData("Cropping2D(0, -2)", "cropping ((0, 0), (-2, -2)); every cropping amount must be zero or positive, e.g. Cropping2D(1)")]
    [InlineData("UpSampling2D(0)", "size (0, 0); both factors must be positive, e.g. 2 (Keras's default)")]
    [InlineData("UpSampling2D(2, -1)", "size (2, -1); both factors must be positive, e.g. 2 (Keras's default)")]
    public Task NG0017_negative_amounts_and_sizes(string attribute, string rest)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(8, 8, 2)]
            [Conv2D(4, 3)]
            [{|#0:{{attribute}}|}]
            [Flatten]
            [Dense(10)]
            public partial class Net;
            """,
            Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage($"{kind} #2 has {rest}"));
    }

    [Theory]
    [InlineData("ZeroPadding2D(20000)", "4,801,440,105")]                          // 40,007 x 40,005 x 3 floats per sample
    [InlineData("ZeroPadding2D(int.MaxValue, 0, 0, 0)", "32,212,254,810")]         // (2^31 + 6) x 5 x 3: no int overflow
    [InlineData("UpSampling2D(int.MaxValue)", "484,227,031,483,904,163,945")]      // no long overflow either
    public Task NG0016_outputs_too_large(string attribute, string floats)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(7, 5, 3)]
            [{|#0:{{attribute}}|}]
            public partial class Net;
            """,
            Diagnostic(Descriptors.TooLarge).WithLocation(0).WithMessage(
                $"{kind} #1 would need {floats} output floats per sample, more than the 536,870,911 one tensor may hold; NetGen's flat buffers hold at most 2,147,483,647 floats, so use fewer units or a smaller input"));
    }

    [Fact]
    public void A_large_output_below_the_limit_is_fine()
    {
        // 490,000 x 10 x 3 = 14.7 M floats per sample: allowed (the limit is per tensor, 536,870,911 floats).
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(7, 5, 3)]
            [UpSampling2D(70000, 2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        Assert.Contains("(None, 490000, 10, 3)", result.GeneratedTrees.Single().ToString());
    }

    [Fact]
    public void Diagnostics_stop_at_the_first_broken_layer()
    {
        // After an invalid resampling layer the shapes are unknown, so later layers are not checked (no cascade).
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(7, 5, 3)]
            [Cropping2D(4)]
            [Cropping2D(9)]
            [Conv2D(2, 9)]
            public partial class Net;
            """);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("NG0107", diagnostic.Id);
        Assert.Empty(result.GeneratedTrees);
    }
}
