using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NetGen.Bench;

/// <summary>Entry point: <c>dotnet run -c Release --project bench/OrtBench -- DIR</c>.</summary>
public static class Program
{
    /// <summary><c>OrtBench DIR [BATCHES]</c>: BATCHES is a comma list (default 256,32,1).</summary>
    public static void Main(string[] args) => OrtBench.Run(args.Length > 0 ? args[0] : "bench/results",
        args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [256, 32, 1]);
}

/// <summary>
/// ONNX Runtime inference of the benchmark networks (bench/export_onnx.py writes PyTorch's exports of the CNNs, the
/// sequence nets and the autoencoder; NetGen.Bench export-onnx NetGen's own of the others), on the CPU with 2
/// intra-op threads, batch 256, 32 and 1.
/// The input is [batch, 1, 28, 28], which for one channel is the same memory as NetGen's NHWC [batch, 28, 28, 1].
/// </summary>
public static class OrtBench
{
    public static void Run(string directory, int[] batches)
    {
        foreach (var (name, shape) in new[] { ("mnist-cnn", new[] { 1, 28, 28 }), ("fashion-cnn", new[] { 1, 28, 28 }),
                                                ("lstm", new[] { 28, 28 }), ("gru", new[] { 28, 28 }), ("conv1d", new[] { 28, 28 }),
                                                ("autoencoder", new[] { 29 }),
                                                // NetGen's own ExportOnnx files (samples/NativeInference train writes them; channels last).
                                                ("netgen-fashion-mlp", new[] { 784 }), ("netgen-fashion-cnn", new[] { 28, 28, 1 }),
                                                // ... and NetGen.Bench export-onnx: the networks without a PyTorch export here.
                                                ("mlp-small", new[] { 20 }), ("mlp", new[] { 784 }),
                                                ("bn-dropout-cnn", new[] { 28, 28, 1 }), ("resnet", new[] { 28, 28, 1 }) })
        {
            string path = Path.Combine(directory, name + ".onnx");
            if (!File.Exists(path)) continue; // bench/export_onnx.py writes the CNNs, or with SEQ=1 the sequence nets
            using var options = new SessionOptions
            {
                // ORT_THREADS=1 measures one thread (NetGen's side: NETGEN_THREADS=1).
                IntraOpNumThreads = int.TryParse(Environment.GetEnvironmentVariable("ORT_THREADS"), out int threads) && threads > 0 ? threads : 2,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            using var session = new InferenceSession(path, options);
            string input = session.InputMetadata.Keys.First();
            var random = new Random(0);
            foreach (int batch in batches)
            {
                var data = new float[batch * shape.Aggregate(1, (a, d) => a * d)];
                for (int i = 0; i < data.Length; i++) data[i] = (float)random.NextDouble();
                var tensor = new DenseTensor<float>(data, [batch, .. shape]);
                var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(input, tensor) };
                double rate = Measure(n =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        using var results = session.Run(inputs);
                    }
                }, batch == 1 ? 50 : batch == 32 ? 10 : 3);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"{name}\",\"phase\":\"infer\",\"impl\":\"onnxruntime\",\"samples_per_s\":{rate * batch:F1},\"batch\":{batch},\"ort\":\"{OrtEnv.Instance().GetVersionString()}\"}}"));
            }
        }
    }

    /// <summary>Warm-up, then the median steps/s of 5 runs of about a second each.</summary>
    private static double Measure(Action<int> run, int warmup)
    {
        run(warmup);
        var clock = Stopwatch.StartNew();
        run(warmup);
        int n = Math.Max(2, (int)(warmup / clock.Elapsed.TotalSeconds));
        var rates = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            clock.Restart();
            run(n);
            rates.Add(n / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return rates[2];
    }
}
