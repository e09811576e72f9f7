// Seed 003's programs (cats vs dogs, horses vs humans, rock-paper-scissors) read pictures from class folders with
// ImageDataGenerator.flow_from_directory, train a small CNN with RMSprop on augmented batches, validate through a
// second flow, and predict single uploaded pictures. The same here, on Fashion-MNIST's three kinds of shoes (sandal,
// sneaker, ankle boot: a 3-class task like rock-paper-scissors) written out as PNG folders on the first run:
//   dotnet run -c Release --project samples/ImageFolders -- [epochs (5)] [pictures per class (6000)] [folder (image-folders)]
// The folder gets train/<class>/*.png, validation/<class>/*.png (Fashion-MNIST's test pictures), the model picture,
// the training curves (history.svg) and TensorBoard's event files (logs/).
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
int perClass = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6000;
string root = args.Length > 2 ? args[2] : "image-folders";
string[] classes = ["sandal", "sneaker", "ankle_boot"];
int[] fashionLabels = [5, 7, 9]; // Fashion-MNIST's indices of those classes

WriteFolders(root, classes, fashionLabels, perClass);

// As the seed: augment the training pictures, only rescale the validation ones.
var training = new ImageDataGenerator
{
    Rescale = 1f / 255,
    RotationRange = 10,
    WidthShiftRange = 0.1,
    HeightShiftRange = 0.1,
    ZoomRange = 0.1,
    HorizontalFlip = true,
};
var plain = new ImageDataGenerator { Rescale = 1f / 255 };
var trainFlow = training.FlowFromDirectory(Path.Combine(root, "train"), targetSize: (32, 32), ColorMode.Grayscale,
    classMode: ClassMode.Categorical, batchSize: 64, seed: 1);
var validationFlow = plain.FlowFromDirectory(Path.Combine(root, "validation"), targetSize: (32, 32), ColorMode.Grayscale,
    classMode: ClassMode.Categorical, batchSize: 256, shuffle: false);
Console.WriteLine("Classes: " + string.Join(", ", trainFlow.ClassIndices.Select(c => $"{c.Key}={c.Value}")));

using var model = new ShoesNet();
Console.WriteLine(model.Summary());
model.PlotModel(Path.Combine(root, "ShoesNet.svg"));
model.Compile(new RMSprop(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
// TensorBoard as seed 004 uses it: `tensorboard --logdir image-folders/logs` shows the curves and weight histograms.
var history = model.Fit(trainFlow, epochs: epochs, validationData: validationFlow,
    callbacks: [new TensorBoard(Path.Combine(root, "logs"), histogramFreq: 1)]);
double seconds = clock.Elapsed.TotalSeconds;
var stats = trainFlow.Statistics;
Console.WriteLine($"Training took {seconds:F1} s; the trainer waited for {stats.Waits} of {stats.Batches} batches " +
    $"({stats.WaitTime.TotalSeconds:F2} s in all) while pictures were decoded and augmented ahead.");

history.Plot(Path.Combine(root, "history.svg")); // the seed's matplotlib curves: loss and accuracy, training and validation

var (loss, accuracy) = model.Evaluate(validationFlow);
Console.WriteLine($"Test loss: {loss:F4}"); // the validation folder holds Fashion-MNIST's test pictures
Console.WriteLine($"Test accuracy: {accuracy:F4}");

// Predict single pictures, as the seed's upload cell: load_img, img_to_array, rescale, predict.
foreach (var name in classes)
{
    string file = Directory.EnumerateFiles(Path.Combine(root, "validation", name)).Order(StringComparer.Ordinal).First();
    var x = Images.ImgToArray(Images.LoadImg(file, targetSize: (32, 32), ColorMode.Grayscale)) / 255f;
    var p = model.Predict(x).Data;
    int best = Array.IndexOf(p, p.Max());
    Console.WriteLine($"{Path.GetRelativePath(root, file)}: {trainFlow.ClassNames[best]} ({p[best]:P1})");
}

// Writes Fashion-MNIST's pictures of the chosen classes as PNG files in class folders (once).
static void WriteFolders(string root, string[] classes, int[] labels, int perClass)
{
    if (Directory.Exists(Path.Combine(root, "train")) && Directory.Exists(Path.Combine(root, "validation"))) return;
    var clock = Stopwatch.StartNew();
    var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
    int written = 0;
    foreach (var (x, y, split, limit) in new[] { (xTrain, yTrain, "train", perClass), (xTest, yTest, "validation", int.MaxValue) })
    {
        var counts = new int[classes.Length];
        for (int i = 0; i < x.Count; i++)
        {
            int c = Array.IndexOf(labels, (int)y.Data[i]);
            if (c < 0 || counts[c] >= limit) continue;
            string folder = Path.Combine(root, split, classes[c]);
            Directory.CreateDirectory(folder);
            var pixels = new byte[28 * 28];
            for (int p = 0; p < pixels.Length; p++) pixels[p] = (byte)x.Data[i * 784 + p];
            Png.Save(Path.Combine(folder, $"{i:D5}.png"), pixels, 28, 28);
            counts[c]++;
            written++;
        }
    }
    Console.WriteLine($"Wrote {written} PNG pictures under {Path.GetFullPath(root)} in {clock.Elapsed.TotalSeconds:F1} s.");
}

// Seed 003's rock-paper-scissors CNN at Fashion-MNIST's scale: three convolution + pooling stages, dropout, a
// Dense(128) and a 3-way softmax.
[Network(32, 32, 1)]
[Conv2D(32, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten]
[Dropout(0.5)]
[Dense(128, Activation = Activation.Relu)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ShoesNet;
