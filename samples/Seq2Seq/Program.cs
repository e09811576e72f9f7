// A character-level sequence-to-sequence model, as Keras's lstm_seq2seq example builds one, on the English words of
// data/words (Debian's wamerican list): it learns to spell a word backwards. The encoder LSTM reads the word and returns
// its last states (ReturnState); the decoder LSTM starts from them (InitialState) and, in training, reads the reversed
// word shifted by one step (teacher forcing). To spell a new word it runs one step at a time: a second network holds the
// encoder, a third one decoder step that takes the states as inputs and returns the next ones, both with the trained
// weights copied in by layer name (Keras's encoder_model and decoder_model). Reports the share of held-out words spelled
// backwards exactly, and of their letters.
//   dotnet run -c Release --project samples/Seq2Seq -- [epochs (6)]
using System.Diagnostics;
using System.Globalization;
using NetGen;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 6;
const int Letters = Speller.Letters, Steps = Speller.Letters + 1; // the decoder writes the letters, then the end

string file = Find("data/words/words.txt");
var words = File.ReadAllLines(file).Where(w => w.Length is >= 2 and <= Letters && w.All(c => c is >= 'a' and <= 'z')).ToArray();
var rng = new Random(17);
words = words.OrderBy(_ => rng.Next()).ToArray();
int testCount = words.Length / 10;
var test = words[..testCount];
var train = words[testCount..];
Console.WriteLine($"{train.Length} training words, {test.Length} held out ({file})");

using var model = new Speller { Seed = 5 };
Console.WriteLine(model.Summary());
model.Compile(new Adam(2e-3f), Loss.SparseCategoricalCrossEntropy);
var clock = Stopwatch.StartNew();
var history = model.Fit([Source(train), DecoderInput(train)], [Target(train)], epochs: epochs, batchSize: 128,
    validationData: ([Source(test), DecoderInput(test)], [Target(test)]));
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "Seq2Seq-history.svg")); // the training curves
model.PlotModel(Path.Combine("plots", "Speller.svg"));         // the graph: the states are layers of their own
Console.WriteLine($"{epochs} epochs in {clock.Elapsed.TotalSeconds:F0} s");

// Inference: the encoder gives h and c; each decoder step reads the last letter written and the states, and returns
// the next letter's probabilities and the new states. Greedy: the most probable letter, until the end id (0).
using var encoder = new SpellerEncoder();
using var step = new SpellerDecoderStep();
foreach (var name in new[] { "encoder_embedding", "encoder" }) encoder.GetLayer(name).SetWeights(model.GetLayer(name).GetWeights());
foreach (var name in new[] { "decoder_embedding", "decoder", "next" }) step.GetLayer(name).SetWeights(model.GetLayer(name).GetWeights());
clock.Restart();
var states = encoder.Predict([Source(test)], batchSize: 512);
Tensor h = states[0], c = states[1];
var letter = new Tensor(new float[test.Length], test.Length, 1);
var spelled = test.Select(_ => new System.Text.StringBuilder()).ToArray();
var done = new bool[test.Length];
for (int t = 0; t < Steps; t++)
{
    var outputs = step.Predict([letter, h, c], batchSize: 512);
    (h, c) = (outputs[1], outputs[2]);
    var next = new float[test.Length];
    for (int s = 0; s < test.Length; s++)
    {
        int best = ArgMax(outputs[0].Data.AsSpan(s * Speller.Tokens, Speller.Tokens));
        next[s] = best;
        if (best == 0) done[s] = true;
        else if (!done[s]) spelled[s].Append((char)('a' + best - 1));
    }
    letter = new Tensor(next, test.Length, 1);
}
int exact = 0, letters = 0, right = 0;
for (int s = 0; s < test.Length; s++)
{
    string wanted = new(test[s].Reverse().ToArray()), got = spelled[s].ToString();
    if (got == wanted) exact++;
    letters += wanted.Length;
    for (int k = 0; k < Math.Min(wanted.Length, got.Length); k++) if (got[k] == wanted[k]) right++;
}
Console.WriteLine($"Greedy decoding of {test.Length} held-out words in {clock.Elapsed.TotalSeconds:F1} s: " +
    $"{(double)exact / test.Length:P1} spelled backwards exactly, {(double)right / letters:P1} of the letters right");
Console.WriteLine($"Test accuracy: {(double)exact / test.Length:F4} (whole words)");
Console.WriteLine("Examples: " + string.Join(", ", Enumerable.Range(0, 8).Select(s => test[s] + " -> " + spelled[s])));

// The encoder reads the word's letter ids (1-26) at the end of its steps, zeros before (Keras's pre-padding).
static Tensor Source(string[] words)
{
    var x = new float[words.Length * Letters];
    for (int s = 0; s < words.Length; s++)
        for (int k = 0; k < words[s].Length; k++) x[s * Letters + Letters - words[s].Length + k] = words[s][k] - 'a' + 1;
    return new Tensor(x, words.Length, Letters);
}

// The decoder's targets: the reversed word, then the end id 0 (and zeros after).
static Tensor Target(string[] words)
{
    var y = new float[words.Length * Steps];
    for (int s = 0; s < words.Length; s++)
        for (int k = 0; k < words[s].Length; k++) y[s * Steps + k] = words[s][words[s].Length - 1 - k] - 'a' + 1;
    return new Tensor(y, words.Length, Steps);
}

// Teacher forcing: at step t the decoder reads target t − 1 (the start id 0 at step 0).
static Tensor DecoderInput(string[] words)
{
    var y = Target(words).Data;
    var x = new float[y.Length];
    for (int s = 0; s < words.Length; s++)
        for (int t = 1; t < Steps; t++) x[s * Steps + t] = y[s * Steps + t - 1];
    return new Tensor(x, words.Length, Steps);
}

static int ArgMax(ReadOnlySpan<float> p)
{
    int best = 0;
    for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
    return best;
}

static string Find(string relative)
{
    for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
    throw new FileNotFoundException($"'{relative}' was not found in the current directory or its parents; run from the repository.");
}

// Training: the encoder's last states start the decoder, which reads the target shifted by one step.
[Network(11, Outputs = new[] { "next" })]
[Embedding(27, 32, Name = "encoder_embedding")]
[LSTM(128, ReturnState = true, Name = "encoder")]
[Input(12, Name = "decoder_input")]
[Embedding(27, 32, Input = "decoder_input", Name = "decoder_embedding")]
[LSTM(128, ReturnSequences = true, InitialState = new[] { "encoder.state_h", "encoder.state_c" }, Name = "decoder")]
[Dense(27, Activation = Activation.Softmax, Name = "next")]
public partial class Speller
{
    /// <summary>Letters a word may have (the encoder's steps), and the ids: 0 starts and ends, 1-26 are a-z.</summary>
    public const int Letters = 11, Tokens = 27;
}

// Inference, part 1: the word in, the encoder's last states out.
[Network(11, Outputs = new[] { "encoder.state_h", "encoder.state_c" })]
[Embedding(27, 32, Name = "encoder_embedding")]
[LSTM(128, ReturnState = true, Name = "encoder")]
public partial class SpellerEncoder;

// Inference, part 2: one decoder step, from the letter written last and the states before it.
[Network(1, Outputs = new[] { "next", "decoder.state_h", "decoder.state_c" })]
[Embedding(27, 32, Name = "decoder_embedding")]
[Input(128, Name = "h")]
[Input(128, Name = "c")]
[LSTM(128, Input = "decoder_embedding", ReturnState = true, InitialState = new[] { "h", "c" }, Name = "decoder")]
[Dense(27, Activation = Activation.Softmax, Name = "next")]
public partial class SpellerDecoderStep;
