// A multi-input, multi-output network on Fashion-MNIST (Keras's functional Model(inputs=[...], outputs=[...]) with
// compile(loss=[...], loss_weights=[...])): the picture and a second input of hand-made features (each row's and
// each column's ink, the "wide" part of a wide-and-deep model) go in; three heads come out: the item (10 classes),
// whether it is footwear (sandal, sneaker, ankle boot: one sigmoid unit), and GoogLeNet's auxiliary classifier on the
// early features, with a small loss weight.
//   dotnet run -c Release --project samples/MultiTask -- [epochs (3)] [training samples (60000)] [output folder (multitask)]
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
int limit = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60000;
string outDir = args.Length > 2 ? args[2] : "multitask";
Directory.CreateDirectory(outDir);

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTrain = xTrain.Slice(0, limit).Reshape(-1, 28, 28, 1) / 255f;
yTrain = yTrain.Slice(0, limit);
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;

// Inputs: the picture and its ink profile. Outputs: the item (one-hot), footwear or not, the item again for the aux head.
(Tensor[] X, Tensor[] Y) Task(Tensor images, Tensor labels)
{
    var item = Utils.ToCategorical(labels, 10);
    var footwear = new Tensor(labels.Data.Select(c => c is 5 or 7 or 9 ? 1f : 0f).ToArray(), labels.Count, 1);
    return ([images, InkProfile(images)], [item, footwear, item]);
}
var (x, y) = Task(xTrain, yTrain);
var (vx, vy) = Task(xTest, yTest);

using var model = new FashionMultiTask();
Console.WriteLine(model.Summary());
model.PlotModel(Path.Combine(outDir, "FashionMultiTask.svg"));
model.Compile(new Adam(1e-3f), [Loss.CategoricalCrossEntropy, Loss.BinaryCrossEntropy, Loss.CategoricalCrossEntropy],
    lossWeights: [1f, 0.5f, 0.3f], Metric.Accuracy);
var clock = Stopwatch.StartNew();
var history = model.Fit(x, y, epochs: epochs, batchSize: 128, validationData: (vx, vy));
Directory.CreateDirectory("plots");
history.Plot(Path.Combine("plots", "MultiTask-history.svg")); // the training curves: the weighted loss, each output's loss and accuracy
double seconds = clock.Elapsed.TotalSeconds;
var logs = model.Evaluate(vx, vy, batchSize: 256);
Console.WriteLine($"Test loss (weighted sum): {logs["loss"]:F4}");
Console.WriteLine($"Item: Test accuracy: {logs["item_accuracy"]:F4}");
Console.WriteLine($"Footwear: Test accuracy: {logs["is_footwear_accuracy"]:F4}");
Console.WriteLine($"Auxiliary item head: Test accuracy: {logs["aux_item_accuracy"]:F4}");
Console.WriteLine($"{epochs} epochs in {seconds:F0} s ({seconds / epochs:F1} s per epoch)");

// Predict returns one tensor per output; the heads agree on footwear most of the time.
var predictions = model.Predict(vx, batchSize: 256);
int agree = 0;
for (int i = 0; i < xTest.Count; i++)
{
    int item = ArgMax(predictions[0].Data.AsSpan(i * 10, 10));
    bool itemSaysFootwear = item is 5 or 7 or 9;
    if (itemSaysFootwear == predictions[1].Data[i] > 0.5f) agree++;
}
Console.WriteLine($"The item head and the footwear head agree on {agree / (double)xTest.Count:P1} of the test pictures");

static int ArgMax(ReadOnlySpan<float> v)
{
    int best = 0;
    for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
    return best;
}

// Each row's and each column's mean ink: 28 + 28 hand-made features per picture.
static Tensor InkProfile(Tensor images)
{
    int n = images.Count;
    var features = new float[n * 56];
    for (int s = 0; s < n; s++)
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
            {
                float v = images.Data[s * 784 + r * 28 + c] / 28f;
                features[s * 56 + r] += v;
                features[s * 56 + 28 + c] += v;
            }
    return new Tensor(features, n, 56);
}

// Two inputs, three outputs. The auxiliary head reads the first block's features (GoogLeNet's pattern: a small
// classifier early in the network, pooled then linear, whose small loss weight helps the gradient reach the first layers).
[Network(28, 28, 1, Name = "fashion_multitask", Outputs = new[] { "item", "is_footwear", "aux_item" })]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPooling2D(2, Name = "pool1")]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten(Name = "image_features")]
[AveragePooling2D(2, Input = "pool1")]
[Flatten]
[Dense(10, Activation = Activation.Softmax, Name = "aux_item")]
[Input(56, Name = "ink_profile")]
[Dense(32, Activation = Activation.Relu, Name = "profile_features")]
[Concatenate("image_features", "profile_features")]
[Dense(128, Activation = Activation.Relu, Name = "shared")]
[Dropout(0.3)]
[Dense(10, Activation = Activation.Softmax, Name = "item")]
[Dense(1, Activation = Activation.Sigmoid, Name = "is_footwear", Input = "dropout")]
public partial class FashionMultiTask;
