// CPU inference as a NativeAOT binary (issue 13): the Fashion MLP and the course's Fashion CNN (seed 003's, as
// samples/FeatureMaps trains it), trained once under the JIT, then loaded from their weights files by a native program.
//   dotnet run -c Release --project samples/NativeInference -- train [folder (native-inference)]   # trains both, saves weights and ONNX
//   dotnet publish samples/NativeInference -c Release -r linux-x64 -o native-inference/bin                # NativeAOT
//   native-inference/bin/NativeInference [folder]                                                  # loads, predicts, times
// Without "train", it loads the weights, predicts the first test picture (the time from process start is printed),
// measures batch-1 latency (median of 2,000 single-picture predictions) and the test accuracy.
using System.Diagnostics;
using System.Globalization;
using NetGen;
using NetGen.Data;

bool train = args.Length > 0 && args[0] == "train";
string folder = args.Length > (train ? 1 : 0) ? args[train ? 1 : 0] : "native-inference";
Directory.CreateDirectory(folder);

if (!train)
{
    // Start-up: from the process start to the first prediction (weights loaded, one picture in, the class out).
    using var quick = new FashionMlp();
    quick.LoadWeights(Path.Combine(folder, "fashion-mlp.ngw"));
    var blank = quick.Predict(Tensor.Zeros(1, 784), batchSize: 1);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{(System.Runtime.JitInfo.GetCompiledMethodCount() > 0 ? "JIT" : "NativeAOT")} build: first FashionMlp prediction {(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds:F0} ms after the process started ({blank.Data.Length} probabilities)"));
}

var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();
xTest = xTest.Reshape(-1, 28, 28, 1) / 255f;

if (train)
{
    xTrain = xTrain.Reshape(-1, 28, 28, 1) / 255f;
    var labels = Utils.ToCategorical(yTrain, 10);
    using (var mlp = new FashionMlp())
    {
        mlp.Compile(new RMSprop(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        mlp.Fit(xTrain.Reshape(-1, 784), labels, epochs: 5, batchSize: 128, verbose: 2);
        mlp.SaveWeights(Path.Combine(folder, "fashion-mlp.ngw"));
        mlp.ExportOnnx(Path.Combine(folder, "netgen-fashion-mlp.onnx")); // for bench/OrtBench's comparison
    }
    using (var cnn = new FashionCnn())
    {
        cnn.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        cnn.Fit(xTrain, labels, epochs: 2, batchSize: 128, verbose: 2);
        cnn.SaveWeights(Path.Combine(folder, "fashion-cnn.ngw"));
        cnn.ExportOnnx(Path.Combine(folder, "netgen-fashion-cnn.onnx"));
    }
    Console.WriteLine($"Saved the weights in {Path.GetFullPath(folder)}.");
    return;
}

Run(new FashionMlp(), "fashion-mlp.ngw", xTest.Reshape(-1, 784));
Run(new FashionCnn(), "fashion-cnn.ngw", xTest);

void Run(Model model, string weights, Tensor x)
{
    using (model)
    {
        model.LoadWeights(Path.Combine(folder, weights));
        var first = model.Predict(x.Slice(0, 1), batchSize: 1);
        int best = Array.IndexOf(first.Data, first.Data.Max());
        var times = new double[2000];
        for (int i = 0; i < times.Length; i++)
        {
            var one = x.Slice(i % x.Count, 1);
            long t0 = Stopwatch.GetTimestamp();
            model.Predict(one, batchSize: 1);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(times);
        var predictions = model.Predict(x, batchSize: 256);
        int correct = 0;
        for (int i = 0; i < x.Count; i++)
        {
            var row = predictions.Data.AsSpan(i * 10, 10);
            if (row.IndexOf(TensorMax(row)) == (int)yTest.Data[i]) correct++;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model.Name}: first test picture: {FashionMnist.ClassNames[best]}; batch-1 latency median {times[times.Length / 2]:F1} us (p90 {times[times.Length * 9 / 10]:F1} us); test accuracy {(double)correct / x.Count:F4}"));
    }
}

static float TensorMax(ReadOnlySpan<float> row)
{
    float m = row[0];
    foreach (float v in row) m = Math.Max(m, v);
    return m;
}

[Network(784)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionMlp;

// The course's Fashion CNN (seed 003, as samples/FeatureMaps trains it).
[Network(28, 28, 1)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(10, Activation = Activation.Softmax)]
public partial class FashionCnn;
