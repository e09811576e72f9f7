// Seed 003, on Fashion-MNIST: (1) train the course's CNN, then look inside it, as the seed's visualisation does
// (Model(inputs=model.input, outputs=[layer.output for layer in model.layers]).predict(x)): every convolution's and
// pooling's feature maps for one picture, written as PNG strips in the seed's scaling. (2) Transfer learning: the
// trained convolution base, frozen, under a new head for a new task (telling the four kinds of tops apart from 800
// pictures), against the same head on an untrained frozen base.
//   dotnet run -c Release --project samples/FeatureMaps -- [epochs (2)] [training samples (60000)] [output folder (feature-maps)]
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
int limit = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60000;
string outDir = args.Length > 2 ? args[2] : "feature-maps";
Directory.CreateDirectory(outDir);

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28, 1) / 255f;
var labelsTrain = yTrain.Slice(0, limit);
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;

// ---- 1. Train the course's CNN and read its layers' outputs -------------------------------------------------
using var model = new FashionConvNet();
Console.WriteLine(model.Summary());
model.PlotModel(Path.Combine(outDir, "FashionConvNet.svg"));
model.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, Utils.ToCategorical(labelsTrain, 10), epochs: epochs, batchSize: 128,
    validationData: (xTest, Utils.ToCategorical(yTest, 10)));
history.Plot(Path.Combine(outDir, "FashionConvNet-history.svg")); // the training curves
var (_, accuracy) = model.Evaluate(xTest, Utils.ToCategorical(yTest, 10), batchSize: 256);
Console.WriteLine($"FashionConvNet: Test accuracy: {accuracy:F4} ({clock.Elapsed.TotalSeconds:F0} s)");

var picture = xTest.Slice(0, 1); // an ankle boot
Png.Save(Path.Combine(outDir, "input.png"), Png.Standardize(picture.Data), 28, 28);
var names = model.Layers.Where(l => l.OutputShape.Count == 3).Select(l => l.Name).ToArray();
var maps = model.PredictLayers(picture, names);
for (int k = 0; k < names.Length; k++)
{
    // One strip per layer: every channel's map side by side, each standardised on its own (the seed's scaling).
    var map = maps[k];
    int h = map.Shape[1], w = map.Shape[2], channels = map.Shape[3];
    int shown = Math.Min(channels, 16);
    var strip = new byte[h * w * shown];
    var channel = new float[h * w];
    for (int c = 0; c < shown; c++)
    {
        for (int i = 0; i < h * w; i++) channel[i] = map.Data[i * channels + c];
        var bytes = Png.Standardize(channel);
        for (int y = 0; y < h; y++) Array.Copy(bytes, y * w, strip, y * w * shown + c * w, w);
    }
    string file = Path.Combine(outDir, $"{k + 1}-{names[k]}.png");
    Png.Save(file, strip, w * shown, h);
    Console.WriteLine($"{names[k]} ({map.Shape[1]}x{map.Shape[2]}x{map.Shape[3]}): first {shown} channels -> {file}");
}
string weights = Path.Combine(outDir, "fashion-convnet.ngw");
model.SaveWeights(weights);

// ---- 2. Transfer: the frozen base under a new head -----------------------------------------------------------
// Tell the four kinds of tops apart (T-shirt/top 0, pullover 2, coat 4, shirt 6: the classes Fashion-MNIST models
// confuse most) from only 800 labelled pictures.
int[] tops = [0, 2, 4, 6];
(Tensor X, Tensor Y) Tops(Tensor x, Tensor labels, int take)
{
    var rows = Enumerable.Range(0, labels.Count).Where(i => Array.IndexOf(tops, (int)labels.Data[i]) >= 0).Take(take).ToArray();
    var xs = new float[rows.Length * 784];
    var ys = new float[rows.Length * 4];
    for (int r = 0; r < rows.Length; r++)
    {
        Array.Copy(x.Data, rows[r] * 784, xs, r * 784, 784);
        ys[r * 4 + Array.IndexOf(tops, (int)labels.Data[rows[r]])] = 1;
    }
    return (new Tensor(xs, rows.Length, 28, 28, 1), new Tensor(ys, rows.Length, 4));
}
var (xSmall, ySmall) = Tops(xTrain, labelsTrain, 800);
var (xTops, yTops) = Tops(xTest, yTest, int.MaxValue);
foreach (bool pretrained in new[] { true, false })
{
    using var transfer = new TopsNet { Seed = 7 };
    if (pretrained)
    {
        Console.WriteLine($"Loaded by name from {weights}: {string.Join(", ", transfer.LoadWeightsByName(weights))}");
        Console.WriteLine(transfer.Summary());
        transfer.PlotModel(Path.Combine(outDir, "TopsNet.svg"));
    }
    var baseBefore = transfer.GetLayer("conv2d").GetWeights();
    transfer.Compile(new RMSprop(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
    var sw = Stopwatch.StartNew();
    transfer.Fit(xSmall, ySmall, epochs: 10, batchSize: 32, verbose: 0);
    var (_, acc) = transfer.Evaluate(xTops, yTops, batchSize: 256);
    bool unchanged = baseBefore.Zip(transfer.GetLayer("conv2d").GetWeights()).All(p => p.First.SequenceEqual(p.Second));
    Console.WriteLine($"Tops from 800 pictures, {(pretrained ? "trained" : "untrained")} frozen base: Test accuracy: {acc:F4} on {xTops.Count} test tops, " +
        $"{sw.Elapsed.TotalSeconds:F1} s (base unchanged: {unchanged})");
}

// The course's Fashion-MNIST CNN (seed 003): two 3x3 convolutions with max pooling, then a dense classifier.
[Network(28, 28, 1)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionConvNet;

// The same convolution base (same layer names, frozen) under a new head: seed 003's transfer-learning pattern.
[Network(28, 28, 1)]
[Conv2D(64, 3, Activation = Activation.Relu, Trainable = false)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu, Trainable = false)]
[MaxPooling2D(2)]
[Flatten]
[Dense(64, Activation = Activation.Relu, Name = "tops_hidden")]
[Dropout(0.2)]
[Dense(4, Activation = Activation.Softmax, Name = "tops")]
public partial class TopsNet;
