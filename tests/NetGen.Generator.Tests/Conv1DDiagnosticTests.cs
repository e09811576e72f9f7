using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>The 1-D layers' diagnostics, each with markup on the attribute that is wrong.</summary>
public class Conv1DDiagnosticTests
{
    private static async Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = GeneratorTest.Create("using NetGen;\n\n" + source);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    private static DiagnosticResult Diagnostic(DiagnosticDescriptor descriptor) => new(descriptor);

    [Fact]
    public Task NG0108_Conv1D_on_a_flat_vector_says_to_reshape() => Verify("""
        [Network(784)]
        [{|#0:Conv1D(16, 3)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.NeedsSequence).WithLocation(0).WithArguments("Conv1D", "1", "(None, 784)",
            "add [Reshape(784, 1)] before it to read the values as 784 steps of one channel"));

    [Fact]
    public Task NG0108_1D_pooling_on_an_image_says_which_layer_to_use() => Verify("""
        [Network(28, 28, 1)]
        [{|#0:MaxPooling1D(2)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.NeedsSequence).WithLocation(0).WithArguments("MaxPooling1D", "1", "(None, 28, 28, 1)",
            "use the 2-D layer, or [Reshape(28, 28)] to read each row as one step"));

    [Fact]
    public Task NG0104_Conv1D_kernel_longer_than_the_sequence() => Verify("""
        [Network(4, 2)]
        [{|#0:Conv1D(8, 5)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithArguments("Conv1D", "1", "kernel 5, strides 1, dilation 1, Padding.Valid", "(None, 4, 2)", "0 steps",
            "use Padding = Padding.Same or Padding.Causal, or a kernel of at most 4"));

    [Fact]
    public Task NG0104_1D_pool_longer_than_the_sequence() => Verify("""
        [Network(3, 2)]
        [{|#0:AveragePooling1D(4)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.EmptyOutput).WithLocation(0).WithArguments("AveragePooling1D", "1", "pool 4, strides 4, Padding.Valid", "(None, 3, 2)", "0 steps",
            "use Padding = Padding.Same, a pool of at most 3, or remove the pooling"));

    [Fact]
    public Task NG0017_causal_padding_on_Conv2D() => Verify("""
        [Network(8, 8, 1)]
        [{|#0:Conv2D(4, 3, Padding = Padding.Causal)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Conv2D", "1", "padding value", "2", "use Padding.Valid or Padding.Same (Padding.Causal is for Conv1D)"));

    [Fact]
    public Task NG0010_Conv1D_without_filters() => Verify("""
        [Network(8, 2)]
        [{|#0:Conv1D(0, 3)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadUnits).WithLocation(0).WithArguments("Conv1D", "1", "0"));

    [Fact]
    public Task NG0012_Conv1D_with_an_unknown_activation() => Verify("""
        [Network(8, 2)]
        [{|#0:Conv1D(4, 3, Activation = (Activation)40)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.UnknownActivation).WithLocation(0).WithArguments("Conv1D", "1", "40"));

    [Fact]
    public Task NG0108_LSTM_on_a_flat_vector_says_to_reshape() => Verify("""
        [Network(16)]
        [Dense(8)]
        [{|#0:LSTM(4)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.NeedsSequence).WithLocation(0).WithArguments("LSTM", "2", "(None, 8)",
            "add [Reshape(8, 1)] before it to read the values as 8 steps of one channel"));

    [Fact]
    public Task NG0017_LSTM_with_a_softmax_gate() => Verify("""
        [Network(6, 2)]
        [{|#0:LSTM(4, RecurrentActivation = Activation.Softmax)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("LSTM", "1", "recurrent activation", "Softmax",
            "use an element-wise activation, e.g. Activation.Tanh (the cell) or Activation.Sigmoid (the gates)"));

    [Fact]
    public Task NG0010_LSTM_without_units() => Verify("""
        [Network(6, 2)]
        [{|#0:LSTM(0)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadUnits).WithLocation(0).WithArguments("LSTM", "1", "0"));

    [Fact]
    public Task NG0109_Embedding_after_a_float_layer() => Verify("""
        [Network(20)]
        [Dense(20)]
        [{|#0:Embedding(1000, 64)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.IndicesFromLayer).WithLocation(0).WithArguments("Embedding", "2", "dense", "Dense"));

    [Fact]
    public Task NG0017_Embedding_without_a_vocabulary() => Verify("""
        [Network(20)]
        [{|#0:Embedding(0, 64)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Embedding", "1", "input dimension", "0",
            "give the number of distinct indices (the vocabulary size), e.g. [Embedding(10000, 64)]"));

    [Fact]
    public void An_Embedding_on_an_Input_layer_checks_that_input()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(4, Outputs = new[] { "out" })]
            [Dense(3, Name = "numbers")]
            [Input(6, Name = "tokens")]
            [Embedding(50, 8)]
            [LSTM(3, Name = "text")]
            [Concatenate("numbers", "text")]
            [Dense(1, Name = "out")]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("new(\"tokens\", new int[] { 6 }, trainingSlot: T2, inferenceSlot: I2, indexLimit: 50),", code);
        Assert.DoesNotContain("inputIndexLimit", code);
    }

    [Fact]
    public Task NG0017_negative_regularizer_and_activity_on_the_output() => Verify("""
        [Network(8)]
        [{|#0:Dense(4, KernelRegularizerL2 = -0.1)|}]
        [{|#1:Dense(2, ActivityRegularizerL1 = 0.01)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Dense", "1", "KernelRegularizerL2", "-0.1",
            "a regularization factor is a finite number of at least 0, e.g. 1e-4"),
        Diagnostic(Descriptors.BadArgument).WithLocation(1).WithArguments("Dense", "2", "an activity regularizer on", "the output",
            "regularize a hidden layer's activity (the code layer of a sparse autoencoder), or use a kernel regularizer here"));

    [Fact]
    public Task NG0017_ActivityRegularization_negative_factor_and_on_the_output() => Verify("""
        [Network(8)]
        [Dense(4)]
        [{|#0:ActivityRegularization(L1 = -0.5)|}]
        [Dense(2)]
        [{|#1:ActivityRegularization(L2 = 0.01)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("ActivityRegularization", "2", "ActivityRegularizerL1", "-0.5",
            "a regularization factor is a finite number of at least 0, e.g. 1e-4"),
        Diagnostic(Descriptors.BadArgument).WithLocation(1).WithArguments("ActivityRegularization", "4", "an activity regularizer on", "the output",
            "regularize a hidden layer's activity (the code layer of a sparse autoencoder), or use a kernel regularizer here"));

    [Fact]
    public void ActivityRegularization_summary_row_and_emitted_penalty()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(8)]
            [Dense(4, Activation = Activation.Relu)]
            [ActivityRegularization(L1 = 0.001)]
            [Dense(2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("// [2] activity_regularization (ActivityRegularization, l1 0.001, l2 0): (None, 4) -> (None, 4), 0 params", code);
        Assert.Contains("new(T2, 4, 0.001f, 0f, activity: true, inferenceSlot: I2), // activity_regularization output", code);
        Assert.Contains("b.RegularizationGradient(x: Train(T2, batch), g: dxActivity, count: batch * 4, l1: 0.001f / batch, l2: 0f / batch);", code);
    }

    [Fact]
    public Task NG0017_recurrent_dropout_rates_outside_zero_one() => Verify("""
        [Network(5, 3)]
        [{|#0:LSTM(4, Dropout = 1.0, ReturnSequences = true)|}]
        [{|#1:GRU(2, RecurrentDropout = -0.1)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("LSTM", "1", "Dropout", "1", "a dropout rate is a fraction in [0, 1), e.g. 0.2"),
        Diagnostic(Descriptors.BadArgument).WithLocation(1).WithArguments("GRU", "2", "RecurrentDropout", "-0.1", "a dropout rate is a fraction in [0, 1), e.g. 0.2"));

    [Fact]
    public void Recurrent_dropouts_go_to_the_geometry_and_the_kernels_get_the_step_key()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(5, 3)]
            [LSTM(4, Dropout = 0.2, RecurrentDropout = 0.5)]
            [Dense(2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("Tanh, global::NetGen.Backends.ActivationFunction.Sigmoid, Dropout: 0.2f, RecurrentDropout: 0.5f);", code);
        Assert.Contains("cache: training ? Train(M1, batch) : -1, y: Slot(training, T1, I1, batch), dropoutKey: DropoutKey(0));", code);
        Assert.Contains("dBias: g + P1_Bias, dropoutKey: DropoutKey(0));", code);
        Assert.Contains("(LSTM, 4 units, tanh/sigmoid, dropout 0.2, recurrent dropout 0.5)", code);
    }

    [Fact]
    public Task NG0017_negative_recurrent_and_embeddings_regularizers() => Verify("""
        [Network(6)]
        [{|#0:Embedding(10, 4, EmbeddingsRegularizerL1 = -1)|}]
        [{|#1:LSTM(3, RecurrentRegularizerL2 = double.NaN)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Embedding", "1", "EmbeddingsRegularizerL1", "-1",
            "a regularization factor is a finite number of at least 0, e.g. 1e-4"),
        Diagnostic(Descriptors.BadArgument).WithLocation(1).WithArguments("LSTM", "2", "RecurrentRegularizerL2", "NaN",
            "a regularization factor is a finite number of at least 0, e.g. 1e-4"));

    [Fact]
    public void Weight_regularizers_of_rule_layers_are_listed_per_weight()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(5, 3)]
            [GRU(4, RecurrentRegularizerL2 = 0.01, BiasRegularizerL1 = 0.5, Bidirectional = BidirectionalMerge.Sum)]
            [Dense(2)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("new(P1_Recurrent, 48, 0f, 0.01f), // gru forward_recurrent_kernel", code);
        Assert.Contains("new(P1_Bias, 24, 0.5f, 0f), // gru forward_bias", code);
        Assert.Contains("new(P1_BackRecurrent, 48, 0f, 0.01f), // gru backward_recurrent_kernel", code);
        Assert.Contains("new(P1_BackBias, 24, 0.5f, 0f), // gru backward_bias", code);
        Assert.DoesNotContain("new(P1_Kernel, ", code); // no kernel regularizer declared
    }

    [Fact]
    public Task NG0017_gate_activations_whose_derivative_needs_the_input() => Verify("""
        [Network(5, 3)]
        [{|#0:LSTM(4, RecurrentActivation = Activation.Swish, ReturnSequences = true)|}]
        public partial class Net;

        [Network(5, 3)]
        [LSTM(4, ReturnSequences = true)]
        [{|#1:GRU(2, Activation = Activation.Softplus)|}]
        public partial class Net2;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("LSTM", "1", "recurrent activation", "Swish",
            "the LSTM takes its gates' and candidate's derivatives from their outputs, which softplus, swish and gelu do not determine; use Tanh, Sigmoid, HardSigmoid, Relu, Elu, Selu, Softsign, Exponential or Linear"),
        Diagnostic(Descriptors.BadArgument).WithLocation(1).WithArguments("GRU", "2", "activation", "Softplus",
            "the GRU takes its gates' and candidate's derivatives from their outputs, which softplus, swish and gelu do not determine; use Tanh, Sigmoid, HardSigmoid, Relu, Elu, Selu, Softsign, Exponential or Linear"));

    [Fact]
    public Task NG0017_TimeDistributed_on_a_vector() => Verify("""
        [Network(8)]
        [{|#0:Dense(4, TimeDistributed = true)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Dense", "1", "TimeDistributed on an input of shape", "(None, 8)",
            "TimeDistributed applies the Dense to every step of (steps, features) samples; on a vector, drop TimeDistributed (or add a RepeatVector or an LSTM with ReturnSequences before it)"));

    [Fact]
    public void TimeDistributed_Dense_is_named_and_listed_as_Keras_wrapper()
    {
        var result = GeneratorTest.Run("""
            using NetGen;
            [Network(5, 3)]
            [LSTM(4, ReturnSequences = true)]
            [Dense(2, TimeDistributed = true)]
            [Dense(2, TimeDistributed = true, Activation = Activation.Softmax)]
            public partial class Net;
            """);
        Assert.Empty(result.Diagnostics);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Matches(@"/// time_distributed \(TimeDist\w* +\(None, 5, 2\) +10 ", code); // Keras cuts the column at 29 characters
        Assert.Contains("new(\"time_distributed_1\", \"TimeDistributed\", new int[] { 5, 2 }", code);
    }

    [Fact]
    public Task NG0017_RepeatVector_of_a_sequence() => Verify("""
        [Network(5, 3)]
        [{|#0:RepeatVector(4)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("RepeatVector", "1", "an input of shape", "(None, 5, 3)",
            "RepeatVector repeats a vector: give it (features) samples, e.g. an LSTM's last state or a Flatten"));

    [Fact]
    public Task NG0017_contractive_penalty_needs_a_sigmoid() => Verify("""
        [Network(8)]
        [{|#0:Dense(4, Activation = Activation.Relu, ContractiveRegularizer = 0.1)|}]
        [Dense(8)]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Dense", "1", "a contractive regularizer with activation", "Relu",
            "the contractive penalty is written for a sigmoid encoder: use Activation = Activation.Sigmoid"));

    [Fact]
    public Task NG0017_a_dilation_whose_kernel_spans_more_than_a_tensor() => Verify("""
        [Network(10, 3)]
        [{|#0:Conv1D(4, 3, DilationRate = int.MaxValue, Padding = Padding.Causal)|}]
        public partial class Net;
        """,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithArguments("Conv1D", "1", "dilation rate", "2147483647",
            "the dilated kernel would span more than 536,870,911 cells; use a dilation rate of at most 268435455"));
}
