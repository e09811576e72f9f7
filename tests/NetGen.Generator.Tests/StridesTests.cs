using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>Keras's strides=(h, w) as StrideHeight and StrideWidth: shapes, geometry, summary and diagnostics.</summary>
public class StridesTests
{
    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    [Fact]
    public void Each_axis_has_its_stride_in_the_shapes_and_the_geometry()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(9, 9, 1)]
            [Conv2D(4, 3, StrideHeight = 2)]
            [Conv2D(4, 3, StrideWidth = 2, Strides = 1, Padding = Padding.Same)]
            [MaxPooling2D(2, StrideHeight = 1)]
            [Flatten]
            [Dense(2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        // (9 - 3) / 2 + 1 = 4 rows, (9 - 3) / 1 + 1 = 7 columns; then same: 4 rows, ceil(7 / 2) = 4 columns;
        // pool 2 with strides (1, 2): 3 rows, 2 columns.
        Assert.Contains("// [1] conv2d (Conv2D, 3x3 valid, strides 2x1, linear): (None, 9, 9, 1) -> (None, 4, 7, 4)", code);
        Assert.Contains("// [2] conv2d_1 (Conv2D, 3x3 same, strides 1x2, linear): (None, 4, 7, 4) -> (None, 4, 4, 4)", code);
        Assert.Contains("new(9, 9, 1, 4, 7, 4, 3, 3, 2, 1, 1, 1, 0, 0);", code);
        Assert.Contains("-> (None, 3, 2, 4)", code);
        Assert.Contains("strides 1x2, padding top/left 0/0", code);
    }

    [Fact]
    public void Equal_strides_written_apart_generate_what_Strides_does()
    {
        string Generate(string attribute) => GeneratorTest.Run("using NetGen;\n[Network(9, 9, 1)]\n[" + attribute + "]\n[Flatten]\n[Dense(2)]\npublic partial class Net;")
            .GeneratedTrees[0].ToString();
        Assert.Equal(Generate("Conv2D(4, 3, Strides = 2)"), Generate("Conv2D(4, 3, StrideHeight = 2, StrideWidth = 2)"));
    }

    [Fact]
    public Task NG0017_negative_width_stride() => Verify("""
        [Network(9, 9, 1)]
        [{|#0:Conv2D(4, 3, StrideWidth = -2)|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.BadArgument).WithLocation(0).WithArguments("Conv2D", "1", "strides", "1x-2", "strides must be positive, e.g. 1 or 2"));

    [Fact]
    public Task NG0105_a_stride_on_one_axis_with_dilation() => Verify("""
        [Network(9, 9, 1)]
        [{|#0:Conv2D(4, 3, StrideHeight = 2, DilationRate = 2)|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.StridesWithDilation).WithLocation(0).WithMessage(
            "Conv2D #1 has strides 2x1 and dilation rate 2; Keras does not support strides > 1 together with dilation > 1: set one of them to 1"));
}
