// Branching networks on Fashion-MNIST: seed 000's Inception module (3x3, 5x5 and 7x7 branches of one layer,
// concatenated) and a small ResNet (two-convolution blocks with batch norm, identity and strided 1x1 projection
// shortcuts joined by Add), both declared with attributes: a layer reads the layer declared before it unless it
// names another with Input = "...", and merge layers name the layers they combine.
//   dotnet run -c Release --project samples/InceptionResNet -- [inception|resnet|both (both)] [epochs (2)] [training samples (60000)]
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

string which = args.Length > 0 ? args[0] : "both";
int epochs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int limit = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 60000;

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28, 1) / 255f;
yTrain = Utils.ToCategorical(yTrain.Slice(0, limit), 10);
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;
yTest = Utils.ToCategorical(yTest, 10);

if (which is "inception" or "both") Train(new FashionInception(), "inception");
if (which is "resnet" or "both") Train(new FashionResNet(), "resnet");

void Train(Model model, string name)
{
    using var _ = model;
    Console.WriteLine(model.Summary());
    Console.WriteLine($"Backend: {model.Backend.Name}");
    Directory.CreateDirectory("plots");
    model.PlotModel(Path.Combine("plots", model.Name + ".svg")); // Keras's plot_model(model, show_shapes=True)
    Console.WriteLine($"Memory plan: {model.Memory.TrainingBytes(128) / 1e6:F1} MB to train at batch 128, {model.Memory.InferenceActivationBytes(256) / 1e6:F1} MB of inference activations at batch 256");
    model.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
    var clock = Stopwatch.StartNew();
    var history = model.Fit(xTrain, yTrain, epochs: epochs, batchSize: 128, validationData: (xTest, yTest));
    history.Plot(Path.Combine("plots", model.Name + "-history.svg")); // the training curves
    double seconds = clock.Elapsed.TotalSeconds;
    var (loss, accuracy) = model.Evaluate(xTest, yTest, batchSize: 256);
    Console.WriteLine($"{name}: test loss {loss:F4}");
    Console.WriteLine($"{name}: Test accuracy: {accuracy:F4}");
    Console.WriteLine($"{name}: {epochs} epochs in {seconds:F1} s ({seconds / epochs:F1} s per epoch, {epochs * (double)xTrain.Shape[0] / seconds:F0} samples/s)");
}

// Seed 000's Inception module after a stem: three branches of different kernel sizes read the same layer, and
// Concatenate joins them along the channels (14x14x96).
[Network(28, 28, 1)]
[Conv2D(32, 3, Activation = Activation.Relu, Padding = Padding.Same)]
[MaxPooling2D(2, Name = "stem")]
[Conv2D(32, 3, Activation = Activation.Relu, Padding = Padding.Same, Name = "one")]
[Conv2D(32, 5, Activation = Activation.Relu, Padding = Padding.Same, Name = "two", Input = "stem")]
[Conv2D(32, 7, Activation = Activation.Relu, Padding = Padding.Same, Name = "three", Input = "stem")]
[Concatenate("one", "two", "three")]
[Conv2D(64, 3, Activation = Activation.Relu, Padding = Padding.Same)]
[MaxPooling2D(2)]
[GlobalAveragePooling2D]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionInception;

// A small ResNet: conv-BN-ReLU stem, one identity block at 28x28x32, then two blocks that halve the resolution and
// double the filters, whose shortcuts are strided 1x1 convolutions with batch norm (what NG0204 suggests). Each block
// is declared once ([Block]) and used with its own filters and strides ([UseBlock]).
[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[UseBlock(typeof(IdentityBlock), Filters = 32, Name = "block1")]
[UseBlock(typeof(ProjectionBlock), Filters = 64, Strides = 2, Name = "block2")]
[UseBlock(typeof(ProjectionBlock), Filters = 128, Strides = 2, Name = "block3")]
[GlobalAveragePooling2D]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionResNet;

// Two 3x3 Conv-BN pairs with a ReLU between, the block's input added back, then a ReLU.
[Block]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn2")]
[Add("input", "bn2")]
[ReLU]
public sealed class IdentityBlock;

// The same with strides on the first convolution, and a strided 1x1 Conv-BN projection of the input as the shortcut.
[Block]
[Conv2D(BlockArg.Filters, 3, Strides = BlockArg.Strides, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn2")]
[Conv2D(BlockArg.Filters, 1, Strides = BlockArg.Strides, Input = "input", Name = "shortcut")]
[BatchNormalization(Name = "shortcut_bn")]
[Add("shortcut_bn", "bn2")]
[ReLU]
public sealed class ProjectionBlock;
