// Seed 001's Embedding + stacked LSTM ("基于栈式 LSTM 的序列分类", with an Embedding in front as its LSTM classifier
// has) as a character-level language model of English words (data/words, from Debian's wamerican list): each step
// reads a character id and predicts the next one. Reports the perplexity per character on held-out words (with a
// unigram model's for scale) and writes words the model invents, sampled one character at a time.
//   dotnet run -c Release --project samples/WordsLstm -- [epochs (4)]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NetGen;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 4;
const int Steps = 12, Tokens = 27; // id 0: the start and end of a word; 1-26: a-z

string file = Find("data/words/words.txt");
var words = File.ReadAllLines(file).Where(w => w.Length is >= 2 and < Steps).ToArray();
var rng = new Random(11);
words = words.OrderBy(_ => rng.Next()).ToArray();
int testCount = words.Length / 10;
var (xTest, yTest) = Encode(words[..testCount]);
var (xTrain, yTrain) = Encode(words[testCount..]);
Console.WriteLine($"{words.Length - testCount} training words, {testCount} held out ({file})");

using var model = new WordModel { Seed = 5 };
Console.WriteLine(model.Summary());
model.Compile(new Adam(2e-3f), Loss.SparseCategoricalCrossEntropy);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 128, validationData: (xTest, yTest));
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "WordsLstm-history.svg")); // the training curves
Console.WriteLine($"{epochs} epochs in {clock.Elapsed.TotalSeconds:F0} s");

// Perplexity per character on the held-out words: exp of the mean −log p over each word's letters and its end (the
// padding after the end, which is easy to predict, is left out).
var probabilities = model.Predict(xTest, batchSize: 256);
double nll = 0;
long counted = 0;
var unigram = new double[Tokens];
for (int i = 0; i < yTrain.Data.Length; i++) if (xTrain.Data[i] != 0 || i % Steps == 0) unigram[(int)yTrain.Data[i]]++;
double unigramTotal = unigram.Sum(), unigramNll = 0;
for (int s = 0; s < testCount; s++)
    for (int t = 0; t <= words[s].Length; t++)
    {
        int target = (int)yTest.Data[s * Steps + t];
        nll -= Math.Log(Math.Max(1e-12, probabilities.Data[(s * Steps + t) * Tokens + target]));
        unigramNll -= Math.Log(unigram[target] / unigramTotal);
        counted++;
    }
Console.WriteLine($"Held-out perplexity per character: {Math.Exp(nll / counted):F2} (a unigram model of the letters: {Math.Exp(unigramNll / counted):F2})");

// Invented words: start with id 0, sample each next character (temperature 0.8) until the model ends the word.
var sampler = new Random(3);
var invented = new List<string>();
while (invented.Count < 12)
{
    var prefix = new float[Steps];
    var word = new StringBuilder();
    for (int t = 0; t < Steps - 1; t++)
    {
        var p = model.Predict(new Tensor((float[])prefix.Clone(), 1, Steps)).Data.AsSpan(t * Tokens, Tokens);
        int next = Sample(p, 0.8, sampler);
        if (next == 0) break;
        word.Append((char)('a' + next - 1));
        prefix[t + 1] = next;
    }
    if (word.Length >= 3) invented.Add(word.ToString());
}
int known = invented.Count(w => Array.BinarySearch(words.Order(StringComparer.Ordinal).ToArray(), w, StringComparer.Ordinal) >= 0);
Console.WriteLine($"Invented words: {string.Join(", ", invented)} ({known} of them are real words)");

// x: the start id, then the word's letters; y: the letters, then the end id; 0 after that.
static (Tensor X, Tensor Y) Encode(string[] words)
{
    var x = new float[words.Length * Steps];
    var y = new float[words.Length * Steps];
    for (int s = 0; s < words.Length; s++)
        for (int t = 0; t < words[s].Length; t++)
        {
            x[s * Steps + t + 1] = words[s][t] - 'a' + 1;
            y[s * Steps + t] = words[s][t] - 'a' + 1;
        }
    return (new Tensor(x, words.Length, Steps), new Tensor(y, words.Length, Steps));
}

static int Sample(ReadOnlySpan<float> p, double temperature, Random rng)
{
    var weights = new double[p.Length];
    double sum = 0;
    for (int i = 0; i < p.Length; i++) sum += weights[i] = Math.Exp(Math.Log(Math.Max(p[i], 1e-12)) / temperature);
    double r = rng.NextDouble() * sum;
    for (int i = 0; i < p.Length; i++) if ((r -= weights[i]) <= 0) return i;
    return p.Length - 1;
}

static string Find(string relative)
{
    for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
    throw new FileNotFoundException($"'{relative}' was not found in the current directory or its parents; run from the repository.");
}

// Character ids in, the next character's probabilities at every step out.
[Network(12)]
[Embedding(27, 16)]
[LSTM(128, ReturnSequences = true)]
[LSTM(128, ReturnSequences = true)]
[Dense(27, Activation = Activation.Softmax)]
public partial class WordModel;
