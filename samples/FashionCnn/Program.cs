// Seed 002's Fashion-MNIST CNN, exactly: four 3x3 same convolutions, each followed by BatchNormalization and
// LeakyReLU(0.1) (NetGen fuses each pair into one kernel), a 2x2 max pool, two Dense(1024) + BN + LeakyReLU blocks
// and a softmax classifier; Adam(lr 1e-4, decay 1e-5), batch 256. About 430 MFLOP per sample forward: a full run
// is long on a CPU (`dotnet run -c Release --project samples/FashionCnn -- 10`).
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
int limit = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60000;

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28, 1) / 255f;
yTrain = Utils.ToCategorical(yTrain.Slice(0, limit), 10);
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;
yTest = Utils.ToCategorical(yTest, 10);

using var model = new FashionCnn();
Console.WriteLine(model.Summary());
Console.WriteLine($"Backend: {model.Backend.Name}");
model.Compile(new Adam(1e-4f, decay: 1e-5f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 256, validationData: (xTest, yTest));
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "FashionCnn-history.svg")); // the training curves
var (loss, accuracy) = model.Evaluate(xTest, yTest, batchSize: 256);
Console.WriteLine($"Test loss: {loss:F4}");
Console.WriteLine($"Test accuracy: {accuracy:F4}");
Console.WriteLine($"Training took {clock.Elapsed.TotalSeconds:F1} s");

[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Conv2D(64, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Conv2D(128, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Conv2D(128, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[MaxPooling2D(2)]
[Flatten]
[Dense(1024)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dense(1024)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionCnn;
