// The Keras Conv-BN-ReLU-Dropout pattern on Fashion-MNIST: three 3x3 same convolutions, each followed by
// BatchNormalization, ReLU and Dropout, a Dense(128) block of the same kind and a softmax classifier; Adam(1e-3),
// batch 128. NetGen runs each BatchNormalization + ReLU + Dropout as one kernel in training (and folds the batch
// norms into the convolutions in inference): see the "fused relu + dropout" comments in the generated code.
// Fit takes Keras callbacks; this one uses ReduceLROnPlateau. With "augment" it trains as seed 002's second Fashion
// CNN does: an ImageDataGenerator (per-sample standardisation, horizontal flips, small rotations, shear and zoom).
//   dotnet run -c Release --project samples/FashionBnDropout -- [epochs (5)] [training samples (60000)] [augment]
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
int limit = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60000;
bool augment = args.Length > 2 && args[2] == "augment";

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28, 1);
yTrain = Utils.ToCategorical(yTrain.Slice(0, limit), 10);
xTest = xTest.Reshape(-1, 28, 28, 1);
yTest = Utils.ToCategorical(yTest, 10);

using var model = new FashionBnDropout();
Console.WriteLine(model.Summary());
Console.WriteLine($"Backend: {model.Backend.Name}");
model.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
var clock = Stopwatch.StartNew();
// As seed 002 does for its Fashion CNN: divide the learning rate by 10 when the validation loss stops improving.
var plateau = new ReduceLROnPlateau(factor: 0.1, patience: 1, cooldown: 1, minLr: 1e-6f, verbose: 1);
History history;
if (augment)
{
    // Seed 002's generator (its shear_range is np.pi / 12, in degrees as Keras reads it).
    var generator = new ImageDataGenerator
    {
        Rescale = 1f / 255, SamplewiseCenter = true, SamplewiseStdNormalization = true,
        HorizontalFlip = true, RotationRange = 10, ShearRange = Math.PI / 12, ZoomRange = 0.25,
    };
    xTest = generator.Standardize(xTest);
    history = model.Fit(generator.Flow(xTrain, yTrain, batchSize: 128, seed: 1000), epochs: epochs,
        validationData: (xTest, yTest), callbacks: [plateau]);
}
else
{
    xTrain /= 255f;
    xTest /= 255f;
    history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 128, validationData: (xTest, yTest), callbacks: [plateau]);
}
Console.WriteLine($"Learning rate per epoch: {string.Join(", ", history["lr"])}");
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "FashionBnDropout-history.svg")); // the training curves
var (loss, accuracy) = model.Evaluate(xTest, yTest, batchSize: 256);
Console.WriteLine($"Test loss: {loss:F4}");
Console.WriteLine($"Test accuracy: {accuracy:F4}");
Console.WriteLine($"Training took {clock.Elapsed.TotalSeconds:F1} s");

[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0.2)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0.2)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0.3)]
[MaxPooling2D(2)]
[Flatten]
[Dense(128)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionBnDropout;
