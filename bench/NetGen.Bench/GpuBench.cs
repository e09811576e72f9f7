using System.Diagnostics;
using System.Globalization;
using ILGPU.Runtime;
using NetGen.Backends;

namespace NetGen.Bench;

/// <summary>Every layer kind of the CNN issue in one small network, for the CUDA parity check (both dropouts run fused into the batch norm before them).</summary>
[Network(16, 16, 3)]
[GaussianNoise(0.1)]
[Conv2D(8, 3, Padding = Padding.Same)]
[BatchNormalization]
[ELU]
[Dropout(0.1)]
[DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(MaxValue = 6)]
[SpatialDropout2D(0.2)]
[SeparableConv2D(16, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[ZeroPadding2D(1)]
[Cropping2D(1, 1, 2, 0)]
[Conv2DTranspose(8, 3, Strides = 2, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[UpSampling2D(2)]
[GaussianDropout(0.2)]
[AveragePooling2D(4)]
[Activation(Activation.Sigmoid)]
[MaxPooling2D(2)]
[Flatten]
[Dense(32)]
[BatchNormalization]
[Activation(Activation.Tanh)]
[Dropout(0.3)]
[Dense(8, Activation = Activation.Softmax)]
public partial class EveryCnnLayer;

/// <summary>
/// The CNN training step on CUDA: parity with the managed CPU backend (same seed, same batches, same dropout
/// masks), then throughput. <c>dotnet run -c Release --project bench/NetGen.Bench -- gpu</c>; it prints why
/// it did nothing when there is no CUDA device.
/// </summary>
public static class GpuBench
{
    public static void Run(int steps = 20)
    {
        using var probe = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
        if (probe is null)
        {
            Console.WriteLine("gpu: SKIPPED, no CUDA device (ILGPU found none; libcuda.so missing or no GPU).");
            return;
        }
        Console.WriteLine($"gpu: {probe.Name}");
        probe.Dispose();
        Parity("every-layer", () => new EveryCnnLayer(), () => new SGD(0.05f, momentum: 0.9f), steps, 16, 3, 8);
        Parity("mnist-cnn", () => new MnistCnn(), () => new Adam(1e-3f, decay: 1e-5f), steps);
        Parity("fashion-cnn", () => new FashionCnn(), () => new Adam(1e-4f, decay: 1e-5f), steps);
    }

    private static void Parity(string name, Func<Model> create, Func<Optimizer> optimizer, int steps, int side = 28, int channels = 1, int classes = 10)
    {
        const int batch = 256;
        int size = side * side * channels;
        var random = new Random(7);
        var xs = new Tensor[4];
        var ys = new Tensor[4];
        for (int i = 0; i < xs.Length; i++)
        {
            var x = new float[batch * size];
            for (int j = 0; j < x.Length; j++) x[j] = (float)random.NextDouble();
            var y = new float[batch * classes];
            for (int r = 0; r < batch; r++) y[r * classes + random.Next(classes)] = 1;
            xs[i] = new Tensor(x, batch, side, side, channels);
            ys[i] = new Tensor(y, batch, classes);
        }

        using var cpu = create();
        using var gpu = create();
        cpu.UseBackend(new CpuBackend());
        gpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.Cuda)!);
        cpu.Compile(optimizer(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        gpu.Compile(optimizer(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        double worstLoss = 0;
        for (int s = 0; s < steps; s++)
        {
            float a = cpu.TrainOnBatch(xs[s % xs.Length], ys[s % ys.Length]);
            float b = gpu.TrainOnBatch(xs[s % xs.Length], ys[s % ys.Length]);
            worstLoss = Math.Max(worstLoss, Math.Abs(a - b) / Math.Max(1e-6, Math.Abs(a)));
            if (s < 3 || s == steps - 1) Console.WriteLine(Invariant($"{name} step {s}: loss cpu {a:F6} cuda {b:F6}"));
        }
        var wc = cpu.GetWeights();
        var wg = gpu.GetWeights();
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < wc.Length; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs(wc[i] - wg[i]));
            scale = Math.Max(scale, Math.Abs(wc[i]));
        }
        var pc = cpu.Predict(xs[0], batch).Data;
        var pg = gpu.Predict(xs[0], batch).Data;
        double maxP = 0;
        for (int i = 0; i < pc.Length; i++) maxP = Math.Max(maxP, Math.Abs(pc[i] - pg[i]));
        Console.WriteLine(Invariant(
            $"{name} parity after {steps} steps: worst relative loss difference {worstLoss:E2}, max |w_cpu - w_cuda| {maxAbs:E2} (max |w| {scale:F3}) over {wc.Length} weights, max |p_cpu - p_cuda| {maxP:E2}"));

        Report(name, "train", batch, gpu.Backend.Name, Rate(n => { for (int i = 0; i < n; i++) gpu.TrainOnBatch(xs[i % 4], ys[i % 4]); }));
        Report(name, "infer", batch, gpu.Backend.Name, Rate(n => { for (int i = 0; i < n; i++) gpu.Predict(xs[i % 4], batch); }));
        var one = xs[0].Slice(0, 1);
        Report(name, "infer", 1, gpu.Backend.Name, Rate(n => { for (int i = 0; i < n; i++) gpu.Predict(one, 1); }) / batch);
    }

    /// <summary>Median samples/s (as steps of 256) over 5 runs of about a second each, after a warm-up.</summary>
    private static double Rate(Action<int> run)
    {
        run(5);
        var clock = Stopwatch.StartNew();
        run(5);
        int n = Math.Max(5, (int)(5 / clock.Elapsed.TotalSeconds));
        var rates = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            clock.Restart();
            run(n);
            rates.Add(n * 256 / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return rates[2];
    }

    private static void Report(string name, string phase, int batch, string backend, double samplesPerSecond) =>
        Console.WriteLine(Invariant(
            $"{{\"bench\":\"{name}\",\"phase\":\"{phase}\",\"impl\":\"netgen\",\"samples_per_s\":{samplesPerSecond:F1},\"batch\":{batch},\"backend\":\"{backend}\"}}"));

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
