using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Analyzers;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>NG0110: the loss passed to Compile cannot train the network's output layer.</summary>
public class LossMismatchTests
{
    /// <summary>The generator plus <see cref="LossMismatchAnalyzer"/>, as in the IDE.</summary>
    private sealed class Test : CSharpSourceGeneratorTest<NetGenGenerator, DefaultVerifier>
    {
        protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() => [new LossMismatchAnalyzer()];
    }

    private static async Task Verify(string layers, string call, params DiagnosticResult[] expected)
    {
        var test = new Test
        {
            ReferenceAssemblies = GeneratorTest.NoDownload,
            TestState = { Sources = { $$"""
                using NetGen;

                [Network(20)]
                {{layers}}
                public partial class Net;

                public static class Training
                {
                    public static void Setup(Net model, Loss someLoss)
                    {
                        {{call}}
                    }
                }
                """ } },
        };
        test.TestState.AdditionalReferences.AddRange(GeneratorTest.References());
        test.TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Warning() => new DiagnosticResult(Descriptors.LossMismatch).WithLocation(0);

    [Fact]
    public Task NG0110_softmax_with_binary_cross_entropy() => Verify(
        "[Dense(10, Activation = Activation.Softmax)]",
        "model.Compile(new Adam(), {|#0:Loss.BinaryCrossEntropy|}, Metric.Accuracy);",
        Warning().WithMessage("'Net' ends in a 10-way softmax output, but Loss.BinaryCrossEntropy treats every output as an independent yes/no " +
            "probability, while softmax makes them compete and sum to 1; use Loss.CategoricalCrossEntropy (one-hot labels) or " +
            "Loss.SparseCategoricalCrossEntropy (class indices); for independent labels, use sigmoid outputs"));

    [Fact]
    public Task NG0110_softmax_activation_layer_with_binary_cross_entropy_as_named_argument() => Verify(
        "[Dense(10)]\n[Activation(Activation.Softmax)]",
        "model.Compile(loss: {|#0:Loss.BinaryCrossEntropy|}, optimizer: new SGD());",
        Warning().WithArguments("Net", "a 10-way softmax output", "BinaryCrossEntropy",
            "treats every output as an independent yes/no probability, while softmax makes them compete and sum to 1",
            "use Loss.CategoricalCrossEntropy (one-hot labels) or Loss.SparseCategoricalCrossEntropy (class indices); for independent labels, use sigmoid outputs"));

    [Fact]
    public Task NG0110_sigmoid_outputs_with_categorical_cross_entropy() => Verify(
        "[Dense(5, Activation = Activation.Sigmoid)]",
        "model.Compile(new Adam(), {|#0:Loss.CategoricalCrossEntropy|});",
        Warning().WithArguments("Net", "a 5-way sigmoid output", "CategoricalCrossEntropy",
            "reads a probability distribution over the classes, which only softmax produces",
            "give the last layer Activation = Activation.Softmax (NetGen then computes the loss from the logits, as Keras does)"));

    [Fact]
    public Task NG0110_one_unit_with_sparse_categorical_cross_entropy() => Verify(
        "[Dense(1, Activation = Activation.Sigmoid)]",
        "model.Compile(new Adam(), {|#0:Loss.SparseCategoricalCrossEntropy|});",
        Warning().WithArguments("Net", "a single sigmoid output", "SparseCategoricalCrossEntropy",
            "needs one probability per class, and one output is always the same class",
            "for two classes use one sigmoid unit with Loss.BinaryCrossEntropy, or as many softmax units as classes"));

    [Fact]
    public Task NG0110_linear_output_with_binary_cross_entropy() => Verify(
        "[Dense(1)]",
        "model.Compile(new Adam(), {|#0:Loss.BinaryCrossEntropy|});",
        Warning().WithArguments("Net", "a single linear output", "BinaryCrossEntropy",
            "reads probabilities in [0, 1], which linear does not produce", "give the last layer Activation = Activation.Sigmoid"));

    [Theory]
    [InlineData("[Dense(10, Activation = Activation.Softmax)]", "model.Compile(new Adam(), Loss.CategoricalCrossEntropy);")]
    [InlineData("[Dense(10)]\n[Activation(Activation.Softmax)]", "model.Compile(new Adam(), Loss.SparseCategoricalCrossEntropy);")]
    [InlineData("[Dense(1, Activation = Activation.Sigmoid)]", "model.Compile(new Adam(), Loss.BinaryCrossEntropy);")]
    [InlineData("[Dense(4, Activation = Activation.Sigmoid)]", "model.Compile(new Adam(), Loss.BinaryCrossEntropy);")]
    [InlineData("[Dense(1, Activation = Activation.HardSigmoid)]", "model.Compile(new Adam(), Loss.BinaryCrossEntropy);")]
    [InlineData("[Dense(10, Activation = Activation.Softmax)]", "model.Compile(new Adam(), Loss.MeanSquaredError);")]
    [InlineData("[Dense(3)]", "model.Compile(new Adam(), Loss.MeanAbsoluteError);")]
    [InlineData("[Dense(10, Activation = Activation.Softmax)]", "model.Compile(new Adam(), someLoss);")]
    [InlineData("[Dense(10, Activation = Activation.Softmax)]\n[Dropout(0.5)]", "model.Compile(new Adam(), Loss.BinaryCrossEntropy);")]
    public Task NG0110_not_reported_for_matching_or_unknown_losses(string layers, string call) => Verify(layers, call);
}
