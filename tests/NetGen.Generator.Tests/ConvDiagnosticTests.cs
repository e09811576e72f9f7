using Xunit;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;

namespace NetGen.Generator.Tests;

/// <summary>One test per convolution/pooling diagnostic id, with markup on the exact attribute span.</summary>
public class ConvDiagnosticTests
{
    private static async Task Verify(string source, bool generatesCode, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source, runtime: true);
        if (generatesCode) test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Theory]
    [InlineData("Conv2D(32, 0)", "kernel size", "0x0", "both dimensions must be positive, e.g. 3")]
    [InlineData("Conv2D(32, 3, Strides = 0)", "strides", "0", "strides must be positive, e.g. 1 or 2")]
    [InlineData("Conv2D(32, 3, DilationRate = -1)", "dilation rate", "-1", "the dilation rate must be positive, e.g. 1")]
    [InlineData("MaxPooling2D(2, Strides = -2)", "strides", "-2", "strides must be positive, or 0 for the pool size")]
    [InlineData("AveragePooling2D(0, 2)", "pool size", "0x2", "both dimensions must be positive, e.g. 3")]
    [InlineData("Conv2D(32, 3, Padding = (Padding)7)", "padding value", "7", "use Padding.Valid or Padding.Same")]
    public Task NG0017_invalid_window_argument(string attribute, string what, string value, string fix)
    {
        string kind = attribute.Substring(0, attribute.IndexOf('('));
        return Verify($$"""
            [Network(28, 28, 1)]
            [{|#0:{{attribute}}|}]
            [Flatten]
            [Dense(10)]
            public partial class Net;
            """, false,
            Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage($"{kind} #1 has {what} {value}; {fix}"));
    }

    [Theory]
    [InlineData("Momentum = 1.5", "momentum", "1.5", "momentum must be in [0, 1], e.g. 0.99 (Keras's default; PyTorch's momentum 0.01 is Keras's 0.99)")]
    [InlineData("Epsilon = 0", "epsilon", "0", "epsilon must be a small positive number that a float can hold (at least about 1.4e-45), e.g. 0.001 (Keras's default)")]
    public Task NG0017_invalid_batch_normalization_argument(string argument, string what, string value, string fix) => Verify($$"""
        [Network(16)]
        [Dense(8)]
        [{|#0:BatchNormalization({{argument}})|}]
        [Dense(2)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage($"BatchNormalization #2 has {what} {value}; {fix}"));

    [Theory]
    [InlineData("Conv2D(8, 3)", "Conv2D")]
    [InlineData("MaxPooling2D(2)", "MaxPooling2D")]
    [InlineData("GlobalAveragePooling2D", "GlobalAveragePooling2D")]
    public Task NG0103_layer_needs_an_image(string attribute, string kind) => Verify($$"""
        [Network(784)]
        [{|#0:{{attribute}}|}]
        [Dense(10)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.NeedsImage).WithLocation(0).WithMessage(
            $"{kind} #1 needs a (height, width, channels) input but receives (None, 784); reshape the samples first, e.g. [Network(28, 28, 1)] or [Reshape(28, 28, 1)]"));

    [Fact]
    public Task NG0104_kernel_larger_than_its_input() => Verify("""
        [Network(5, 5, 32)]
        [{|#0:Conv2D(64, 7)|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithMessage(
            "Conv2D #1 (kernel 7x7, strides 1, dilation 1, Padding.Valid) receives (None, 5, 5, 32) and would output -1x-1: the computed output size would be zero or negative; use Padding = Padding.Same or a kernel of at most 5x5"));

    [Fact]
    public Task NG0104_pooling_a_single_pixel() => Verify("""
        [Network(4, 4, 3)]
        [MaxPooling2D(2)]
        [MaxPooling2D(2)]
        [{|#0:MaxPooling2D(2)|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithMessage(
            "MaxPooling2D #3 (pool 2x2, strides 2, Padding.Valid) receives (None, 1, 1, 3) and would output 0x0: the computed output size would be zero or negative; use Padding = Padding.Same, a pool of at most 1, or remove the pooling"));

    [Fact]
    public Task NG0104_dilated_kernel() => Verify("""
        [Network(6, 6, 1)]
        [{|#0:Conv2D(4, 3, DilationRate = 3)|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithMessage(
            "Conv2D #1 (kernel 3x3, strides 1, dilation 3, Padding.Valid) receives (None, 6, 6, 1) and would output 0x0: the computed output size would be zero or negative; use Padding = Padding.Same or a kernel of at most 2x2 (or a smaller dilation rate)"));

    [Fact]
    public Task NG0105_strides_with_dilation() => Verify("""
        [Network(28, 28, 1)]
        [{|#0:Conv2D(32, 3, Strides = 2, DilationRate = 2)|}]
        [Flatten]
        [Dense(10)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.StridesWithDilation).WithLocation(0).WithMessage(
            "Conv2D #1 has strides 2 and dilation rate 2; Keras does not support strides > 1 together with dilation > 1: set one of them to 1"));

    [Fact]
    public Task NG0106_dense_on_an_image_is_a_warning_and_still_generates() => Verify("""
        [Network(28, 28, 1)]
        [Conv2D(8, 3)]
        [{|#0:Dense(10, Activation = Activation.Softmax)|}]
        public partial class Net;
        """, true,
        Diagnostic(Descriptors.DenseOnImage).WithLocation(0).WithMessage(
            "Dense #2 receives (None, 26, 26, 8) and applies to the last axis only, giving (None, 26, 26, 10); if it should see the whole sample, add [Flatten] before it"));
}
