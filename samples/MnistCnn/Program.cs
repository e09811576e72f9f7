// Seed 002's MNIST CNN, exactly: dropout on the input, 3x3 same convolutions with dropout, averaging pools with
// Keras's `same` padding (averages over the cells inside the input only), Adam(lr 1e-3, decay 1e-5), batch 256.
// Trains on the 8,000 + 2,000 MNIST digits shipped in data/mnist.
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;

var (xTrain, yTrain, xTest, yTest) = Mnist.Load();
xTrain = xTrain.Reshape(-1, 28, 28, 1) / 255f;
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;
yTrain = Utils.ToCategorical(yTrain, 10);
yTest = Utils.ToCategorical(yTest, 10);

using var model = new MnistCnn();
Console.WriteLine(model.Summary());
Console.WriteLine($"Backend: {model.Backend.Name}");
model.Compile(new Adam(1e-3f, decay: 1e-5f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 256, validationData: (xTest, yTest));
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "MnistCnn-history.svg")); // the training curves
var (loss, accuracy) = model.Evaluate(xTest, yTest, batchSize: 256);
Console.WriteLine($"Test loss: {loss:F4}");
Console.WriteLine($"Test accuracy: {accuracy:F4}");
Console.WriteLine($"Training took {clock.Elapsed.TotalSeconds:F1} s");

[Network(28, 28, 1)]
[Dropout(0.25)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Flatten]
[Dense(1024, Activation = Activation.Relu)]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class MnistCnn;
