using System.Diagnostics;
using System.Globalization;
using NetGen;

namespace NetGen.Bench;

[Network(20)]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(10, Activation = Activation.Softmax)]
public partial class MlpSmall;

[Network(784)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(10, Activation = Activation.Softmax)]
public partial class Mlp;

[Network(29)]
[Dense(80, Activation = Activation.Relu)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(29)]
public partial class Autoencoder;

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

/// <summary>
/// The Keras Conv-BN-ReLU-Dropout pattern (not a seed network): each Dropout runs inside the batch-norm kernel before
/// it in training. <see cref="BnDropoutApartCnn"/> is the same network with the dropouts as their own passes.
/// </summary>
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
public partial class BnDropoutCnn;

/// <summary><see cref="BnDropoutCnn"/> with a Dropout(0) (an alias) before each dropout, which keeps it out of the batch norm.</summary>
[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0)]
[Dropout(0.2)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0)]
[Dropout(0.2)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0)]
[Dropout(0.3)]
[MaxPooling2D(2)]
[Flatten]
[Dense(128)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Dropout(0)]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class BnDropoutApartCnn;

/// <summary>The residual network of samples/InceptionResNet (three blocks, Add shortcuts, strided 1x1 projections).</summary>
[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "block1_bn2")]
[Add("stem", "block1_bn2")]
[ReLU(Name = "block1")]
[Conv2D(64, 3, Strides = 2, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(64, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "block2_bn2")]
[Conv2D(64, 1, Strides = 2, Input = "block1", Name = "block2_shortcut")]
[BatchNormalization(Name = "block2_shortcut_bn")]
[Add("block2_shortcut_bn", "block2_bn2")]
[ReLU(Name = "block2")]
[Conv2D(128, 3, Strides = 2, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(128, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "block3_bn2")]
[Conv2D(128, 1, Strides = 2, Input = "block2", Name = "block3_shortcut")]
[BatchNormalization(Name = "block3_shortcut_bn")]
[Add("block3_shortcut_bn", "block3_bn2")]
[ReLU]
[GlobalAveragePooling2D]
[Dense(10, Activation = Activation.Softmax)]
public partial class ResNet;

// Seed 001's sequence classifiers on Fashion-MNIST rows (28 steps of 28 values): an LSTM, and the Conv1D stack.
[Network(28, 28)]
[LSTM(128)]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowLstm;

[Network(28, 28)]
[GRU(128)]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowGru;

[Network(28, 28)]
[Conv1D(64, 3, Activation = Activation.Relu)]
[Conv1D(64, 3, Activation = Activation.Relu)]
[MaxPooling1D(3)]
[Conv1D(128, 3, Activation = Activation.Relu)]
[Conv1D(128, 3, Activation = Activation.Relu)]
[GlobalAveragePooling1D]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class RowConv1D;

/// <summary>Training and inference throughput of the benchmark networks, on random data (fixed seed).</summary>
public static class NetworkBench
{
    public static readonly string[] Names = ["mlp-small", "mlp", "autoencoder", "mnist-cnn", "fashion-cnn", "bn-dropout-cnn", "bn-dropout-apart-cnn", "resnet", "lstm", "gru", "conv1d"];

    private sealed record Case(Func<Model> Create, Func<Optimizer> Optimizer, Loss Loss, int Batch, int Inputs, int Outputs, bool Classes, int InferBatch = 0);

    private static Case Get(string name) => name switch
    {
        "mlp-small" => new(() => new MlpSmall(), () => new SGD(0.01f, momentum: 0.9f, nesterov: true), Loss.CategoricalCrossEntropy, 128, 20, 10, true, InferBatch: 256),
        "mlp" => new(() => new Mlp(), () => new RMSprop(), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "autoencoder" => new(() => new Autoencoder(), () => new Adam(), Loss.MeanSquaredError, 64, 29, 29, false, InferBatch: 256),
        "mnist-cnn" => new(() => new MnistCnn(), () => new Adam(1e-3f, decay: 1e-5f), Loss.CategoricalCrossEntropy, 256, 784, 10, true),
        "fashion-cnn" => new(() => new FashionCnn(), () => new Adam(1e-4f, decay: 1e-5f), Loss.CategoricalCrossEntropy, 256, 784, 10, true),
        "bn-dropout-cnn" => new(() => new BnDropoutCnn(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "bn-dropout-apart-cnn" => new(() => new BnDropoutApartCnn(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "resnet" => new(() => new ResNet(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "lstm" => new(() => new RowLstm(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "gru" => new(() => new RowGru(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        "conv1d" => new(() => new RowConv1D(), () => new Adam(1e-3f), Loss.CategoricalCrossEntropy, 128, 784, 10, true, InferBatch: 256),
        _ => throw new ArgumentException($"Unknown benchmark '{name}'; use sgemm, {string.Join(", ", Names)}."),
    };

    /// <summary>A compiled network of this benchmark and one batch of random training data for it (AlternatingBench).</summary>
    internal static (Model Model, Tensor X, Tensor Y) TrainingSetup(string name)
    {
        var c = Get(name);
        var model = c.Create();
        model.Compile(c.Optimizer(), c.Loss, Metric.Accuracy);
        var (x, y) = Batch(name, c, new Random(0));
        return (model, x, y);
    }

    /// <summary>One batch of random inputs and targets (classes, or the inputs themselves for an autoencoder).</summary>
    private static (Tensor X, Tensor Y) Batch(string name, Case c, Random random)
    {
        var x = new float[c.Batch * c.Inputs];
        for (int j = 0; j < x.Length; j++) x[j] = (float)random.NextDouble();
        var y = new float[c.Batch * c.Outputs];
        for (int r = 0; r < c.Batch; r++)
            if (c.Classes) y[r * c.Outputs + random.Next(c.Outputs)] = 1;
            else for (int k = 0; k < c.Outputs; k++) y[r * c.Outputs + k] = x[r * c.Inputs + k];
        var xt = name is "lstm" or "gru" or "conv1d" ? new Tensor(x, c.Batch, 28, 28) // (steps, features)
            : c.Inputs == 784 && IsSlow(name) ? new Tensor(x, c.Batch, 28, 28, 1) : new Tensor(x, c.Batch, c.Inputs);
        return (xt, new Tensor(y, c.Batch, c.Outputs));
    }

    /// <summary>The networks whose steps take milliseconds: fewer batches in the pool, fewer repeats.</summary>
    private static bool IsSlow(string name) => name.EndsWith("cnn", StringComparison.Ordinal) || name is "resnet" or "lstm" or "gru" or "conv1d";

    /// <summary>Training and inference throughput of one network; <paramref name="trainOnly"/>: training only, for a profiler.</summary>
    public static void Run(string name, double seconds = 1.0, int repeats = 5, bool trainOnly = false)
    {
        long peakBefore = PeakResidentBytes();
        var c = Get(name);
        using var model = c.Create();
        model.Compile(c.Optimizer(), c.Loss, Metric.Accuracy);
        var random = new Random(0);
        bool slow = IsSlow(name);
        int pool = slow ? 2 : 16;
        var xs = new Tensor[pool];
        var ys = new Tensor[pool];
        for (int i = 0; i < pool; i++) (xs[i], ys[i]) = Batch(name, c, random);

        int step = 0;
        int warmup = slow ? 2 : 20;
        if (slow) { seconds = 3; repeats = 3; }
        Report(name, "train", c.Batch, Measure(n =>
        {
            for (int i = 0; i < n; i++, step++) model.TrainOnBatch(xs[step % pool], ys[step % pool]);
        }, seconds, repeats, warmup), model.Backend.Name);
        if (trainOnly)
        {
            // Peak resident memory growth while training, as torch_bench.py measures PyTorch's: meaningful here, where this
            // network is the process's only one (bench/run.sh's memory pass). It counts what the plan leaves out: the
            // backend's scratch (im2col staging, Winograd blocks), the runtime and the JIT.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"{name}\",\"phase\":\"rss\",\"impl\":\"netgen\",\"bytes\":{PeakResidentBytes() - peakBefore},\"batch\":{c.Batch}}}"));
            return;
        }
        // Inference at the training batch, or at the batch the benchmark names (with batch 1 too).
        int inferBatch = c.InferBatch > 0 ? c.InferBatch : c.Batch;
        var inferInputs = xs;
        if (inferBatch != c.Batch)
        {
            var data = new float[inferBatch * c.Inputs];
            for (int j = 0; j < data.Length; j++) data[j] = (float)random.NextDouble();
            var big = new Tensor(data, [inferBatch, .. xs[0].Shape.ToArray()[1..]]);
            inferInputs = [big];
        }
        Report(name, "infer", inferBatch, Measure(n =>
        {
            for (int i = 0; i < n; i++, step++) model.Predict(inferInputs[step % inferInputs.Length], inferBatch);
        }, seconds, repeats, warmup), model.Backend.Name);
        if ((slow || c.InferBatch > 0) && c.Batch > 32 && inferBatch != 32)
        {
            // The speed issue's middle batch size, next to ONNX Runtime's (OrtBench runs 256, 32 and 1).
            var some = xs[0].Slice(0, 32);
            Report(name, "infer", 32, Measure(n =>
            {
                for (int i = 0; i < n; i++) model.Predict(some, 32);
            }, seconds, repeats, warmup), model.Backend.Name);
        }
        if (slow || c.InferBatch > 0)
        {
            var one = xs[0].Slice(0, 1);
            Report(name, "infer", 1, Measure(n =>
            {
                for (int i = 0; i < n; i++) model.Predict(one, 1);
            }, seconds, repeats, 20), model.Backend.Name);
        }
        // What the memory plan reserves for training at this batch (parameters, gradients, Adam's two slots, arena,
        // gradient buffers and labels): compared with PyTorch's peak resident memory growth.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"{name}\",\"phase\":\"memory\",\"impl\":\"netgen\",\"bytes\":{model.Memory.TrainingBytes(c.Batch)},\"batch\":{c.Batch}}}"));
    }

    /// <summary>
    /// Writes the networks PyTorch has no export of here (the MLPs, the BN-dropout CNN, the residual net) as NetGen's own
    /// ONNX files, DIRECTORY/NAME.onnx with fresh weights, for bench/OrtBench (<c>NetGen.Bench export-onnx:DIRECTORY[:NAME,...]</c>).
    /// </summary>
    public static void ExportOnnx(string directory, IEnumerable<string> names)
    {
        Directory.CreateDirectory(directory);
        foreach (var name in names)
        {
            using var model = Get(name).Create();
            string path = Path.Combine(directory, name + ".onnx");
            model.ExportOnnx(path);
            Console.Error.WriteLine($"wrote {path} (NetGen's export)");
        }
    }

    /// <summary>A compiled network and one batch of random inputs for its Predict.</summary>
    public static (Model Model, Tensor X) InferenceSetup(string name, int batch)
    {
        var c = Get(name);
        var model = c.Create();
        model.Compile(c.Optimizer(), c.Loss, Metric.Accuracy);
        var random = new Random(0);
        var data = new float[batch * c.Inputs];
        for (int j = 0; j < data.Length; j++) data[j] = (float)random.NextDouble();
        bool sequence = name is "lstm" or "gru" or "conv1d";
        var x = sequence ? new Tensor(data, batch, 28, 28)
            : c.Inputs == 784 && name.EndsWith("cnn", StringComparison.Ordinal) || name == "resnet" ? new Tensor(data, batch, 28, 28, 1)
            : new Tensor(data, batch, c.Inputs);
        return (model, x);
    }

    /// <summary>Inference throughput of one network at one batch size only, for a profiler (random weights and inputs).</summary>
    public static void RunInference(string name, int batch)
    {
        var (created, x) = InferenceSetup(name, batch);
        using var model = created;
        // NETGEN_BENCH_INTO=1: Predict(x, output) into one kept tensor (no allocation per call) instead of Predict(x).
        var output = Environment.GetEnvironmentVariable("NETGEN_BENCH_INTO") == "1" ? Tensor.Zeros([batch, .. model.OutputShape]) : null;
        Report(name, "infer", batch, Measure(n =>
        {
            if (output is null) for (int i = 0; i < n; i++) model.Predict(x, batch);
            else for (int i = 0; i < n; i++) model.Predict(x, output, batch);
        }, 3, 3, 20), model.Backend.Name);
    }

    /// <summary>The process's peak resident memory so far (VmHWM on Linux).</summary>
    private static long PeakResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>Warm-up, then the median steps/s of <paramref name="repeats"/> runs of about <paramref name="seconds"/> each.</summary>
    private static double Measure(Action<int> runSteps, double seconds, int repeats, int warmup)
    {
        runSteps(warmup);
        var clock = Stopwatch.StartNew();
        runSteps(warmup);
        int n = Math.Max(warmup < 20 ? 2 : 10, (int)(warmup * seconds / Math.Max(1e-6, clock.Elapsed.TotalSeconds)));
        var rates = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            clock.Restart();
            runSteps(n);
            rates.Add(n / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }

    private static void Report(string name, string phase, int batch, double stepsPerSecond, string backend) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"{name}\",\"phase\":\"{phase}\",\"impl\":\"netgen\",\"samples_per_s\":{stepsPerSecond * batch:F1},\"batch\":{batch},\"backend\":\"{backend}\"}}"));
}
