using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using Xunit;
using static NetGen.Generator.Tests.Specs;

namespace NetGen.Generator.Tests;

/// <summary>
/// The ELU and ReLU layers and the noise layers (GaussianNoise, GaussianDropout, SpatialDropout2D) in the generator:
/// shape rules, Keras names and parameter counts, batch-norm fusion, the arena plan, a snapshot of the generated code,
/// and one markup test per diagnostic they report.
/// </summary>
public class ActivationNoiseLayerTests
{
    private const string Network = """
        using NetGen;

        namespace Samples.Noise;

        [Network(28, 28, 1)]
        [GaussianNoise(0.1)]
        [Conv2D(8, 3)]
        [BatchNormalization]
        [ELU(0.7)]
        [SpatialDropout2D(0.2)]
        [Conv2D(16, 3, Strides = 2)]
        [BatchNormalization]
        [ReLU]
        [Conv2D(16, 3)]
        [ReLU(MaxValue = 6)]
        [Flatten]
        [GaussianDropout(0.25)]
        [Dense(32)]
        [BatchNormalization]
        [ReLU(NegativeSlope = 0.1)]
        [ReLU(MaxValue = 4, NegativeSlope = 0.05, Threshold = 0.5, Name = "thresholded")]
        [ELU]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class NoisyClassifier;
        """;

    private static LayerSpec Layer(LayerKind kind, double value, double negativeSlope = 0, double threshold = 0) =>
        Specs.Layer(kind, value: value, negativeSlope: negativeSlope, threshold: threshold);

    private static ResolvedNetwork Resolve(NetworkSpec spec)
    {
        var (network, errors) = ShapeInference.Run(spec);
        Assert.Empty(errors);
        return network!;
    }

    [Fact]
    public Task ActivationNoiseLayers() => GeneratorTest.VerifySnapshotAsync(Network);

    [Fact]
    public void Keras_summary_names_shapes_and_parameter_counts()
    {
        // Keras 2.6 prints exactly this for the same Sequential model (names from to_snake_case: re_lu, elu,
        // gaussian_noise, gaussian_dropout, spatial_dropout2d; cells cut at columns 29 and 55).
        string summary = SummaryFormatter.Format(Resolve(Named("sequential", [28, 28, 1],
            Layer(LayerKind.GaussianNoise, 0.1),
            Specs.Conv2D(8, 3),
            Layer(LayerKind.ELU, 1.0),
            Layer(LayerKind.SpatialDropout2D, 0.2),
            Layer(LayerKind.ReLU, double.NaN),
            Flatten(),
            Layer(LayerKind.GaussianDropout, 0.5),
            Dense(10),
            Layer(LayerKind.ReLU, 6, 0.1, 0.5))));
        Assert.Equal(
            """
            Model: "sequential"
            _________________________________________________________________
            Layer (type)                 Output Shape              Param #   
            =================================================================
            gaussian_noise (GaussianNois (None, 28, 28, 1)         0         
            _________________________________________________________________
            conv2d (Conv2D)              (None, 26, 26, 8)         80        
            _________________________________________________________________
            elu (ELU)                    (None, 26, 26, 8)         0         
            _________________________________________________________________
            spatial_dropout2d (SpatialDr (None, 26, 26, 8)         0         
            _________________________________________________________________
            re_lu (ReLU)                 (None, 26, 26, 8)         0         
            _________________________________________________________________
            flatten (Flatten)            (None, 5408)              0         
            _________________________________________________________________
            gaussian_dropout (GaussianDr (None, 5408)              0         
            _________________________________________________________________
            dense (Dense)                (None, 10)                54090     
            _________________________________________________________________
            re_lu_1 (ReLU)               (None, 10)                0         
            =================================================================
            Total params: 54,170
            Trainable params: 54,170
            Non-trainable params: 0
            _________________________________________________________________
            """.ReplaceLineEndings("\n"), summary);
    }

    [Theory]
    [InlineData(double.NaN, 0, 0, "Relu")]
    [InlineData(double.PositiveInfinity, 0, 0, "Relu")]
    [InlineData(double.NaN, 0.2, 0, "LeakyRelu")]
    [InlineData(6, 0, 0, "Linear")]      // the general form: its own kernels
    [InlineData(double.NaN, 0, 0.5, "Linear")]
    [InlineData(0, 0, 0, "Linear")]      // max_value 0 is valid in Keras: the output is min(relu, 0)
    public void ReLU_reduces_to_relu_or_leaky_relu_without_max_value_and_threshold(double max, double slope, double threshold, string activation)
    {
        var expected = Enum.Parse<ActivationKind>(activation);
        var layer = Resolve(Network([4, 5], Layer(LayerKind.ReLU, max, slope, threshold))).Layers[0];
        Assert.Equal(expected, layer.Activation);
        Assert.Equal([4, 5], layer.OutputShape.AsSpan().ToArray());
        Assert.Equal(0, layer.ParamCount);
    }

    [Fact]
    public void Batch_norm_fuses_ELU_and_plain_or_leaky_ReLU_but_not_the_general_ReLU()
    {
        var bn = Specs.BatchNorm();
        var net = Resolve(Network([6, 5, 3],
            bn, Layer(LayerKind.ELU, 0.5),
            bn, Layer(LayerKind.ReLU, double.NaN, 0.1),
            bn, Layer(LayerKind.ReLU, double.NaN),
            bn, Layer(LayerKind.ReLU, 6),
            Dense(2)));
        var l = net.Layers;
        Assert.Equal((1, ActivationKind.EluAlpha), (l[0].FusedWith, l[0].Activation));
        Assert.Equal(0, l[1].FusedInto);
        Assert.Equal((3, ActivationKind.LeakyRelu), (l[2].FusedWith, l[2].Activation));
        Assert.Equal((5, ActivationKind.Relu), (l[4].FusedWith, l[4].Activation));
        Assert.Equal((-1, ActivationKind.Linear), (l[6].FusedWith, l[6].Activation));
        Assert.Equal(-1, l[7].FusedInto);
        Assert.True(l[1].IsAlias && l[1].TrainOutput == l[0].TrainOutput);
        Assert.NotEqual(l[7].TrainInput, l[7].TrainOutput);
    }

    [Fact]
    public void Dense_fuses_ELU_only_with_a_nonnegative_alpha()
    {
        // The Dense backward reads the derivative from the output, which tells ELU's branches apart only for alpha ≥ 0.
        var net = Resolve(Network([5], Dense(4), Layer(LayerKind.ELU, 0.5), Dense(4), Layer(LayerKind.ELU, -0.5),
            Dense(4), Layer(LayerKind.ReLU, double.NaN, 0.2), Dense(4), Layer(LayerKind.ReLU, 6), Dense(2)));
        var l = net.Layers;
        Assert.Equal((1, ActivationKind.EluAlpha), (l[0].FusedWith, l[0].Activation));
        Assert.Equal((-1, ActivationKind.Linear), (l[2].FusedWith, l[2].Activation));
        Assert.Equal(-1, l[3].FusedInto);
        Assert.Equal((5, ActivationKind.LeakyRelu), (l[4].FusedWith, l[4].Activation));
        Assert.Equal((-1, ActivationKind.Linear), (l[6].FusedWith, l[6].Activation));
    }

    [Theory]
    [InlineData("GaussianNoise", 0.3)]
    [InlineData("GaussianDropout", 0.3)]
    [InlineData("SpatialDropout2D", 0.3)]
    public void Noise_layers_keep_the_shape_and_alias_their_input_in_inference(string name, double value)
    {
        var kind = Enum.Parse<LayerKind>(name);
        var net = Resolve(Network([7, 5, 3], Dense(4), Layer(kind, value), Dense(2)));
        var noise = net.Layers[1];
        Assert.Equal([7, 5, 4], noise.OutputShape.AsSpan().ToArray());
        Assert.Equal(0, noise.ParamCount);
        Assert.Equal(noise.InferInput, noise.InferOutput);   // identity in inference
        Assert.NotEqual(noise.TrainInput, noise.TrainOutput); // its own slot in training
        Assert.Equal(ShapeInference.KerasName(kind), noise.Name);

        // With a rate or stddev of 0 the layer is the identity in training too.
        var zero = Resolve(Network([7, 5, 3], Dense(4), Layer(kind, 0), Dense(2))).Layers[1];
        Assert.Equal(zero.TrainInput, zero.TrainOutput);
    }

    // ---- Diagnostics ------------------------------------------------------------------------------------------

    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source, runtime: true);
        if (expected.Length == 0) test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck; // the code must still compile
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    [Theory]
    [InlineData("double.NaN", "NaN")]
    [InlineData("double.NegativeInfinity", "-Infinity")]
    [InlineData("1e300", "1E+300")] // finite as a double, infinite as the float the kernels use
    public Task NG0014_ELU_alpha_that_is_not_finite(string alpha, string shown) => Verify($$"""
        [Network(10)]
        [Dense(4)]
        [{|#0:ELU({{alpha}})|}]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.BadAlpha).WithLocation(0).WithArguments("ELU", "2", shown));

    [Theory]
    [InlineData("MaxValue = -1", "max value", "-1",
        "the max value must be at least 0 (Keras rejects a negative max_value), or NaN (the default) for no ceiling, e.g. MaxValue = 6")]
    [InlineData("NegativeSlope = -0.1", "negative slope", "-0.1", "the negative slope must be a finite number of at least 0, e.g. 0.1")]
    [InlineData("NegativeSlope = double.NaN", "negative slope", "NaN", "the negative slope must be a finite number of at least 0, e.g. 0.1")]
    [InlineData("Threshold = -0.5", "threshold", "-0.5", "the threshold must be a finite number of at least 0, e.g. 0 (the default) or 1")]
    [InlineData("Threshold = double.PositiveInfinity", "threshold", "Infinity", "the threshold must be a finite number of at least 0, e.g. 0 (the default) or 1")]
    public Task NG0017_invalid_ReLU_argument(string argument, string what, string value, string fix) => Verify($$"""
        [Network(10)]
        [Dense(4)]
        [{|#0:ReLU({{argument}})|}]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.BadArgument).WithLocation(0).WithMessage($"ReLU #2 has {what} {value}; {fix}"));

    [Theory]
    [InlineData("-0.1", "-0.1")]
    [InlineData("double.NaN", "NaN")]
    [InlineData("double.PositiveInfinity", "Infinity")]
    public Task NG0017_invalid_GaussianNoise_stddev(string stddev, string shown) => Verify($$"""
        [Network(10)]
        [{|#0:GaussianNoise({{stddev}})|}]
        [Dense(4)]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.BadArgument).WithLocation(0).WithMessage(
            $"GaussianNoise #1 has stddev {shown}; the standard deviation must be a finite number of at least 0, e.g. 0.1"));

    [Theory]
    [InlineData("GaussianDropout(1)", "GaussianDropout", "1")]
    [InlineData("GaussianDropout(-0.2)", "GaussianDropout", "-0.2")]
    [InlineData("SpatialDropout2D(1.5)", "SpatialDropout2D", "1.5")]
    [InlineData("SpatialDropout2D(double.NaN)", "SpatialDropout2D", "NaN")]
    public Task NG0011_noise_rate_outside_0_1(string attribute, string kind, string shown) => Verify($$"""
        [Network(8, 8, 3)]
        [Conv2D(4, 3)]
        [{|#0:{{attribute}}|}]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.BadDropoutRate).WithLocation(0).WithMessage(
            $"{kind} #2 has rate {shown}; a dropout rate must be in [0, 1), e.g. 0.2 drops 20% of the elements"));

    [Theory]
    [InlineData("Network(784)", "(None, 784)")]
    [InlineData("Network(28, 28)", "(None, 28, 28)")]
    public Task NG0103_SpatialDropout2D_needs_an_image(string network, string shape) => Verify($$"""
        [{{network}}]
        [{|#0:SpatialDropout2D(0.2)|}]
        [Dense(10)]
        public partial class Net;
        """,
        new DiagnosticResult(Descriptors.NeedsImage).WithLocation(0).WithArguments("SpatialDropout2D", "1", shape));

    [Fact]
    public Task Valid_declarations_report_nothing() => Verify("""
        [Network(6, 6, 2)]
        [ELU]
        [ReLU(MaxValue = 0)]
        [ReLU(NegativeSlope = 0, Threshold = 0, MaxValue = double.PositiveInfinity)]
        [GaussianNoise(0)]
        [GaussianDropout(0)]
        [SpatialDropout2D(0)]
        [Flatten]
        [Dense(2)]
        public partial class Net;
        """);
}
