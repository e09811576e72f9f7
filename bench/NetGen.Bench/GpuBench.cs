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

    /// <summary>
    /// The Fashion CNN's convolutions and its big Dense layer at batch 256 on CUDA, one layer at a time, forward and
    /// backward, with the 64×64 GEMM tile and with the 128×128 register-blocked kernel in alternating rounds of one
    /// process: milliseconds a call (median of 7) and TFLOPS. <c>NetGen.Bench gpu-layers</c>.
    /// </summary>
    public static void RunLayers(int rounds = 7)
    {
        using var gpu = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
        if (gpu is null)
        {
            Console.WriteLine("gpu-layers: SKIPPED, no CUDA device (ILGPU found none; libcuda.so missing or no GPU).");
            return;
        }
        Console.WriteLine($"gpu-layers: {gpu.Name}; wide GEMM loaded: {IlgpuBackend.KernelSet.For(gpu.Accelerator).UsesWideGemm}");
        const int batch = 256;
        var layers = new (string Name, Conv2DGeometry G)[]
        {
            ("conv 28x28x1->32", Conv(28, 1, 32)), ("conv 28x28x32->64", Conv(28, 32, 64)),
            ("conv 28x28x64->128", Conv(28, 64, 128)), ("conv 28x28x128->128", Conv(28, 128, 128)),
        };
        long need = 0;
        foreach (var (_, g) in layers) need = Math.Max(need, 4L * batch * Math.Max(g.InSize, g.OutSize) + 2L * g.Patch * g.OutC);
        need = Math.Max(need, 2L * batch * 25088 + 2L * 25088 * 1024 + 4L * batch * 1024);
        gpu.EnsureCapacity(need, 0);
        gpu.Fill(0, (int)Math.Min(need, int.MaxValue), 0.01f);
        foreach (var (name, g) in layers)
        {
            int x = 0, y = batch * g.InSize, dy = y + batch * g.OutSize, dx = dy + batch * g.OutSize, w = dx + batch * g.InSize, dw = w + g.Patch * g.OutC;
            double flops = 2.0 * batch * g.Pixels * g.OutC * g.Patch;
            Compare(gpu, name + " forward", flops, rounds, () => gpu.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), x, w, -1, y));
            Compare(gpu, name + " backward", 2 * flops, rounds,
                () => gpu.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), true, x, w, y, dy, dx, dw, -1));
        }
        {
            int inputs = 25088, units = 1024;
            int x = 0, w = batch * inputs, y = w + inputs * units, dy = y + batch * units, dx = dy + batch * units, dw = dx + batch * inputs;
            double flops = 2.0 * batch * inputs * units;
            Compare(gpu, "dense 25088->1024 forward", flops, rounds, () => gpu.DenseForward(batch, inputs, units, new Epilogue(ActivationFunction.Linear), x, w, -1, y));
            Compare(gpu, "dense 25088->1024 backward", 2 * flops, rounds,
                () => gpu.DenseBackward(batch, inputs, units, new Epilogue(ActivationFunction.Linear), true, x, w, y, dy, dx, dw, -1));
        }

        static Conv2DGeometry Conv(int side, int inC, int outC) => new(side, side, inC, side, side, outC, 3, 3, 1, 1, 1, 1, 1, 1);
    }

    private static void Compare(IlgpuBackend gpu, string name, double flops, int rounds, Action call)
    {
        var tiled = new List<double>();
        var wide = new List<double>();
        for (int r = 0; r < rounds + 1; r++)
            foreach (bool tiledOnly in r % 2 == 0 ? new[] { true, false } : new[] { false, true })
            {
                gpu.TiledGemmOnly = tiledOnly;
                call();
                gpu.Synchronize();
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < 5; i++) call();
                gpu.Synchronize();
                if (r > 0) (tiledOnly ? tiled : wide).Add(clock.Elapsed.TotalMilliseconds / 5);
            }
        gpu.TiledGemmOnly = false;
        tiled.Sort();
        wide.Sort();
        double t = tiled[tiled.Count / 2], v = wide[wide.Count / 2];
        Console.WriteLine(Invariant(
            $"{{\"bench\":\"gpu-layer\",\"layer\":\"{name}\",\"tiled_ms\":{t:F3},\"wide_ms\":{v:F3},\"tiled_tflops\":{flops / t / 1e9:F2},\"wide_tflops\":{flops / v / 1e9:F2},\"speedup\":{t / v:F2}}}"));
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
