using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using NetGen.Generator.Diagnostics;
using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>
/// ReturnState and InitialState (a seq2seq encoder and decoder): what a wrong declaration says, with markup on the
/// attribute that is wrong, and that a right one generates code that compiles.
/// </summary>
public class RecurrentStateDiagnosticTests
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
    public Task A_seq2seq_declaration_compiles() => Verify("""
        [Network(10, 8, Outputs = new[] { "next" })]
        [LSTM(16, ReturnState = true, Name = "encoder")]
        [Input(6, 8, Name = "target")]
        [LSTM(16, ReturnSequences = true, ReturnState = true, Input = "target", InitialState = new[] { "encoder.state_h", "encoder.state_c" }, Name = "decoder")]
        [Dense(8, Activation = Activation.Softmax, Name = "next")]
        public partial class Net;
        """, true);

    [Fact]
    public Task NG0201_a_state_of_a_layer_without_ReturnState_says_to_set_it() => Verify("""
        [Network(10, 8)]
        [LSTM(16, Name = "encoder")]
        [Input(6, 8, Name = "target")]
        [{|#0:LSTM(16, Input = "target", InitialState = new[] { "encoder.state_h", "encoder.state_c" })|}]
        [Dense(8, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithMessage(
            "LSTM #3 reads 'encoder.state_h', but no layer of this network has that name; set ReturnState = true on 'encoder' to read its last states as 'encoder.state_h' and 'encoder.state_c'"),
        Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithMessage(
            "LSTM #3 reads 'encoder.state_c', but no layer of this network has that name; set ReturnState = true on 'encoder' to read its last states as 'encoder.state_h' and 'encoder.state_c'"));

    [Fact]
    public Task NG0201_a_GRU_has_no_cell_state() => Verify("""
        [Network(10, 8)]
        [GRU(16, ReturnState = true, Name = "encoder")]
        [Input(6, 8, Name = "target")]
        [{|#0:GRU(16, Input = "target", InitialState = new[] { "encoder.state_c" })|}]
        [Dense(8, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.UnknownInput).WithLocation(0).WithMessage(
            "GRU #4 reads 'encoder.state_c', but no layer of this network has that name; a GRU returns '.state_h' (with ReturnState = true)"));

    [Fact]
    public Task NG0206_an_LSTM_needs_both_states() => Verify("""
        [Network(10, 8)]
        [LSTM(16, ReturnState = true, Name = "encoder")]
        [Input(6, 8, Name = "target")]
        [{|#0:LSTM(16, Input = "target", InitialState = new[] { "encoder.state_h" })|}]
        [Dense(8, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.InputCount).WithLocation(0).WithMessage(
            "LSTM #5 takes 2 initial states (h and c) but is given 1; give InitialState = new[] { \"encoder.state_h\", \"encoder.state_c\" }: the states of an LSTM with ReturnState = true, or two layers of (16) values"));

    [Fact]
    public Task NG0017_initial_state_of_other_units() => Verify("""
        [Network(10, 8)]
        [GRU(32, ReturnState = true, Name = "encoder")]
        [Input(6, 8, Name = "target")]
        [{|#0:GRU(16, Input = "target", InitialState = new[] { "encoder.state_h" })|}]
        [Dense(8, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage(
            "GRU #4 has initial state 'encoder.state_h' of shape (None, 32); the state of a GRU with 16 units is (None, 16): give both layers the same units"));

    [Fact]
    public Task NG0017_ReturnState_with_Bidirectional() => Verify("""
        [Network(10, 8)]
        [{|#0:LSTM(16, ReturnState = true, Bidirectional = BidirectionalMerge.Concat, Name = "encoder")|}]
        [Dense(8, Activation = Activation.Softmax)]
        public partial class Net;
        """, false,
        Diagnostic(Descriptors.BadArgument).WithLocation(0).WithMessage(
            "LSTM #1 has ReturnState with Bidirectional; a bidirectional layer has states per direction, which NetGen does not pass: drop Bidirectional, or use two layers (one with ReturnState, one reading it)"));

    [Fact]
    public Task States_inside_a_block_are_renamed_with_the_block() => Verify("""
        [Block]
        [GRU(8, ReturnState = true, ReturnSequences = true, Name = "enc")]
        [GRU(8, InitialState = new[] { "enc.state_h" }, Name = "dec")]
        internal sealed class EncoderDecoder;

        [Network(10, 4)]
        [UseBlock(typeof(EncoderDecoder), Name = "first")]
        [Dense(2, Activation = Activation.Softmax)]
        public partial class Net;
        """, true);

    [Fact]
    public Task The_layer_after_a_returned_state_reads_the_recurrent_layer() => Verify("""
        [Network(10, 8)]
        [SimpleRNN(16, ReturnState = true, ReturnSequences = true)]
        [SimpleRNN(4)]
        public partial class Net;
        """, true);
}
