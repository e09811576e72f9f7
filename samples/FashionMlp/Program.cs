// The classic Keras MLP on Fashion-MNIST, declared with attributes and compiled by the NetGen generator.
// Keras equivalent:
//   model = Sequential([Dense(512, activation='relu', input_shape=(784,)), Dropout(0.2),
//                       Dense(512, activation='relu'), Dropout(0.2), Dense(10, activation='softmax')])
//   model.compile(optimizer=RMSprop(), loss='categorical_crossentropy', metrics=['accuracy'])
using System.Diagnostics;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10;

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Reshape(-1, 784) / 255f;
xTest = xTest.Reshape(-1, 784) / 255f;
yTrain = Utils.ToCategorical(yTrain, 10);
yTest = Utils.ToCategorical(yTest, 10);
Console.WriteLine($"{xTrain.Count} train samples, {xTest.Count} test samples");

using var model = new FashionMlp();
Console.WriteLine(model.Summary());
Console.WriteLine($"Backend: {model.Backend.Name}");

model.Compile(new RMSprop(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
var history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 128, validationData: (xTest, yTest), verbose: 1);
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "FashionMlp-history.svg")); // the training curves
var (loss, accuracy) = model.Evaluate(xTest, yTest, batchSize: 256);
Console.WriteLine($"Test loss: {loss:F4}");
Console.WriteLine($"Test accuracy: {accuracy:F4}");
Console.WriteLine($"Training took {clock.Elapsed.TotalSeconds:F1} s");

[Network(784)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionMlp;
