using System.Diagnostics;
using System.Globalization;
using NetGen.Backends;

namespace NetGen.Bench;

/// <summary>
/// Times <see cref="CpuBackend.Conv2DForward"/> and <see cref="CpuBackend.Conv2DBackward"/> on the convolutions of the
/// seed-002 CNNs at batch 256 and prints one JSON object per line, e.g.
/// <c>{"bench":"conv","shape":"28x28x1->32 k3 same","impl":"netgen","ms_fwd":1.2,"ms_bwd":2.3,"gflops":150.0}</c>.
/// gflops counts 2·M·N·K for the forward GEMM and the same for each backward product computed (dKernel, and dx
/// unless the layer reads the network input), over the summed forward and backward time. It also prints the bare GEMM
/// time of the forward product (<c>"impl":"sgemm-only"</c>, measured on at most 16384 rows and scaled to the batch)
/// to show what im2col and the epilogue add.
/// </summary>
public static unsafe class ConvBench
{
    private sealed record Shape(string Net, int H, int W, int InC, int OutC, ActivationFunction Act, bool InputLayer);

    private static readonly Shape[] Shapes =
    [
        // seed-002 MNIST CNN (Conv2D relu, AveragePooling2D(2, same) between the later ones)
        new("mnist-cnn", 28, 28, 1, 16, ActivationFunction.Relu, true),
        new("mnist-cnn", 28, 28, 16, 32, ActivationFunction.Relu, false),
        new("mnist-cnn", 14, 14, 32, 64, ActivationFunction.Relu, false),
        new("mnist-cnn", 7, 7, 64, 64, ActivationFunction.Relu, false),
        // seed-002 Fashion BN CNN: four 3x3 same convolutions at 28x28 (BatchNormalization + LeakyReLU after each)
        new("fashion-cnn", 28, 28, 1, 32, ActivationFunction.Linear, true),
        new("fashion-cnn", 28, 28, 32, 64, ActivationFunction.Linear, false),
        new("fashion-cnn", 28, 28, 64, 128, ActivationFunction.Linear, false),
        new("fashion-cnn", 28, 28, 128, 128, ActivationFunction.Linear, false),
        // the same channel counts at 14x14
        new("fashion-cnn-14", 14, 14, 64, 128, ActivationFunction.Linear, false),
        new("fashion-cnn-14", 14, 14, 128, 128, ActivationFunction.Linear, false),
    ];

    /// <summary>Runs every convolution shape at batch 256 (a few seconds each), then <see cref="RunOthers"/>.</summary>
    public static void Run()
    {
        RunConvolutions();
        RunOthers();
    }

    /// <summary>
    /// Conv2D forward and backward of every shape at batch 256; <paramref name="winogradBlocks"/>: only the shapes
    /// that take the Winograd path, once per tile block size (a tuning sweep of <c>CpuBackend.WinogradTileBlock</c>).
    /// </summary>
    public static void RunConvolutions(int[]? winogradBlocks = null)
    {
        const int batch = 256;
        int savedBlock = CpuBackend.WinogradTileBlock;
        foreach (var s in Shapes)
        {
            if (winogradBlocks is not null && s.InC % 16 != 0) continue;
            var g = new Conv2DGeometry(s.H, s.W, s.InC, s.H, s.W, s.OutC, 3, 3, 1, 1, 1, 1, 1, 1);
            long inSize = (long)batch * g.InSize, outSize = (long)batch * g.OutSize, kSize = (long)g.Patch * g.OutC;
            using var be = new CpuBackend();
            long top = 0;
            int Reserve(long n)
            {
                int at = (int)top;
                top += (n + 15) / 16 * 16;
                return at;
            }
            int rows = batch * g.Pixels, gemmRows = Math.Min(rows, 16384);
            int x = Reserve(inSize), k = Reserve(kSize), b = Reserve(g.OutC), y = Reserve(outSize), dy = Reserve(outSize),
                dx = Reserve(inSize), dk = Reserve(kSize), db = Reserve(g.OutC), a = Reserve((long)gemmRows * g.Patch), c = Reserve(outSize);
            be.EnsureCapacity(top, 0);
            var rng = new Random(1);
            var host = new float[Math.Max(inSize, Math.Max(outSize, kSize))];
            for (int i = 0; i < host.Length; i++) host[i] = (float)rng.NextDouble() - 0.5f;
            be.Upload(host.AsSpan(0, (int)inSize), x);
            be.Upload(host.AsSpan(0, (int)kSize), k);
            be.Upload(host.AsSpan(0, g.OutC), b);
            int dxOffset = s.InputLayer ? -1 : dx;

            void Forward() => be.Conv2DForward(g, batch, new Epilogue(s.Act), x, k, b, y);
            void Backward()
            {
                be.Upload(host.AsSpan(0, (int)outSize), dy);
                be.Conv2DBackward(g, batch, new Epilogue(s.Act), false, x, k, y, dy, dxOffset, dk, db);
            }
            void Upload() => be.Upload(host.AsSpan(0, (int)outSize), dy);
            // The bare forward GEMM on an im2col-sized A (at most 16384 rows of it, scaled to the whole batch).
            void Gemm() => be.Gemm(false, false, gemmRows, g.OutC, g.Patch, 1f, a, g.Patch, k, g.OutC, 0f, c, g.OutC);

            double gemmFlops = 2.0 * rows * g.OutC * g.Patch;
            double flops = gemmFlops * (s.InputLayer ? 2 : 3);
            string shape = $"{s.H}x{s.W}x{s.InC}->{s.OutC} k3 same";
            // The default (Winograd F(4x4, 3x3) where the shape allows it), then the im2col path. gflops counts the
            // direct convolution's FLOPs for both, so it is an effective rate.
            if (winogradBlocks is not null)
            {
                foreach (int block in winogradBlocks)
                {
                    CpuBackend.WinogradTileBlock = block;
                    double f = Time(Forward), bw = Time(Backward) - Time(Upload);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{{\"bench\":\"conv-winograd-block\",\"shape\":\"{s.H}x{s.W}x{s.InC}->{s.OutC}\",\"block\":{block},\"ms_fwd\":{f:F2},\"ms_bwd\":{bw:F2}}}"));
                }
                CpuBackend.WinogradTileBlock = savedBlock;
                continue;
            }
            foreach (bool winograd in new[] { true, false })
            {
                be.Winograd = winograd;
                double msFwd = Time(Forward);
                double msBwd = Time(Backward) - Time(Upload);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"conv\",\"net\":\"{s.Net}\",\"shape\":\"{shape}\",\"batch\":{batch},\"impl\":\"{(winograd ? "netgen" : "netgen-im2col")}\",\"ms_fwd\":{msFwd:F2},\"ms_bwd\":{msBwd:F2},\"gflops\":{flops / ((msFwd + msBwd) * 1e6):F1}}}"));
            }
            double msGemm = Time(Gemm) * rows / gemmRows;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"conv\",\"net\":\"{s.Net}\",\"shape\":\"{shape}\",\"batch\":{batch},\"impl\":\"sgemm-only\",\"ms_fwd\":{msGemm:F2},\"gflops\":{gemmFlops / (msGemm * 1e6):F1}}}"));
        }
    }

    /// <summary>
    /// The convolutions, batch norms and merges of the residual network (bench "resnet") at batch 128, one JSON line
    /// each with its share of a training step's compute: where a residual step's time goes.
    /// </summary>
    public static void RunResNetOps()
    {
        const int batch = 128;
        // (in, out, channels in, channels out, kernel, stride, how many in the network)
        var convs = new (int H, int O, int C, int F, int K, int S, int Count)[]
        {
            (28, 28, 1, 32, 3, 1, 1), (28, 28, 32, 32, 3, 1, 2), (28, 14, 32, 64, 3, 2, 1), (14, 14, 64, 64, 3, 1, 1),
            (28, 14, 32, 64, 1, 2, 1), (14, 7, 64, 128, 3, 2, 1), (7, 7, 128, 128, 3, 1, 1), (14, 7, 64, 128, 1, 2, 1),
        };
        foreach (var (h, o, cin, f, k, stride, count) in convs)
        {
            int pad = Math.Max((o - 1) * stride + k - h, 0) / 2;
            var g = new Conv2DGeometry(h, h, cin, o, o, f, k, k, stride, stride, 1, 1, pad, pad);
            long inSize = (long)batch * g.InSize, outSize = (long)batch * g.OutSize, kSize = (long)g.Patch * g.OutC;
            using var be = new CpuBackend();
            int x = 0, kk = (int)inSize, b = (int)(inSize + kSize), y = b + f, dy = (int)(y + outSize), dx = (int)(dy + outSize),
                dk = (int)(dx + inSize), db = (int)(dk + kSize);
            be.EnsureCapacity(db + f, 0);
            var rng = new Random(1);
            var host = new float[Math.Max(inSize, Math.Max(outSize, kSize))];
            for (int i = 0; i < host.Length; i++) host[i] = (float)rng.NextDouble() - 0.5f;
            be.Upload(host.AsSpan(0, (int)inSize), x);
            be.Upload(host.AsSpan(0, (int)kSize), kk);
            bool first = cin == 1;
            double fwd = Time(() => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), x, kk, b, y));
            // A linear backward leaves dy as it is, so every repetition sees the same input (no upload timed).
            be.Upload(host.AsSpan(0, (int)outSize), dy);
            double bwd = Time(() => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, x, kk, y, dy, first ? -1 : dx, dk, db));
            // The kernel (and bias) gradient alone: the rest of ms_bwd is the input gradient.
            double dkOnly = Time(() => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, x, kk, y, dy, -1, dk, db));
            double flops = 2.0 * batch * g.Pixels * g.OutC * g.Patch * (first ? 2 : 3);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"resnet-op\",\"op\":\"conv {h}x{h}x{cin}->{o}x{o}x{f} k{k} s{stride}\",\"count\":{count},\"ms_fwd\":{fwd:F2},\"ms_bwd\":{bwd:F2},\"ms_dk\":{dkOnly:F2},\"gflops\":{flops / ((fwd + bwd) * 1e6):F1}}}"));
        }
        foreach (var (h, c, count) in new[] { (28, 32, 3), (14, 64, 3), (7, 128, 3) })
        {
            int rows = batch * h * h;
            long n = (long)rows * c;
            using var be = new CpuBackend();
            be.EnsureCapacity(n * 5 + 8L * c, 0);
            int x = 0, y = (int)n, dy = (int)(2 * n), dx = (int)(3 * n), ch = (int)(4 * n), z = (int)(4 * n + 8L * c);
            var host = BatchNormInputs(be, n, c, x, ch);
            double f = Time(() => be.BatchNormForward(rows, new BatchNormArguments(c, ch, ch + c, ch + 2 * c, ch + 3 * c, ch + 4 * c, ch + 5 * c, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.Relu, 0f, z),
                x, y));
            // The fused ReLU's backward masks dy in place: the same mask again on every repetition (no upload timed).
            be.Upload(host, dy);
            double b = Time(() => be.BatchNormBackward(rows, new BatchNormArguments(c, gamma: ch, savedMean: ch + 4 * c, savedInvStd: ch + 5 * c),
                new Epilogue(ActivationFunction.Relu, 0f, z), x, y, dy, dx, ch + 6 * c, ch + 7 * c));
            double add = Time(() => be.MergeForward(MergeOperation.Add, (int)n, y, x, dy));
            double acc = Time(() => be.Accumulate((int)n, x, dx));
            double relu = Time(() => be.ActivationForward(ActivationFunction.Relu, 0f, rows, c, y, y));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"resnet-op\",\"op\":\"bn+relu {h}x{h}x{c}\",\"count\":{count},\"ms_fwd\":{f:F2},\"ms_bwd\":{b:F2},\"ms_add\":{add:F2},\"ms_accumulate\":{acc:F2},\"ms_relu\":{relu:F2}}}"));
        }
    }

    /// <summary>
    /// The residual network's convolutions in inference (ReLU epilogue, weights version set as Predict does) at
    /// <paramref name="batch"/>: one JSON line each (µs, GFLOPS, count) and their total, to set against the network's
    /// inference time. <c>NetGen.Bench resnet-infer-ops:1</c>.
    /// </summary>
    public static void RunResNetInferenceOps(int batch, string? only = null)
    {
        var convs = new (int H, int O, int C, int F, int K, int S, int Count)[]
        {
            (28, 28, 1, 32, 3, 1, 1), (28, 28, 32, 32, 3, 1, 2), (28, 14, 32, 64, 3, 2, 1), (14, 14, 64, 64, 3, 1, 1),
            (28, 14, 32, 64, 1, 2, 1), (14, 7, 64, 128, 3, 2, 1), (7, 7, 128, 128, 3, 1, 1), (14, 7, 64, 128, 1, 2, 1),
        };
        double total = 0, totalFlops = 0;
        foreach (var (h, o, cin, f, k, stride, count) in convs)
        {
            string op = $"conv {h}x{h}x{cin}->{o}x{o}x{f} k{k} s{stride}";
            if (only != null && !op.Contains(only, StringComparison.Ordinal)) continue;
            int pad = Math.Max((o - 1) * stride + k - h, 0) / 2;
            var g = new Conv2DGeometry(h, h, cin, o, o, f, k, k, stride, stride, 1, 1, pad, pad);
            long inSize = (long)batch * g.InSize, outSize = (long)batch * g.OutSize, kSize = (long)g.Patch * g.OutC;
            using var be = new CpuBackend();
            int x = 0, kk = (int)inSize, b = (int)(inSize + kSize), y = b + f;
            be.EnsureCapacity(y + outSize, 0);
            var rng = new Random(1);
            var host = new float[Math.Max(inSize, kSize)];
            for (int i = 0; i < host.Length; i++) host[i] = (float)rng.NextDouble() - 0.5f;
            be.Upload(host.AsSpan(0, (int)inSize), x);
            be.Upload(host.AsSpan(0, (int)kSize), kk);
            be.InferenceWeightsVersion = 1;
            int gatherRows = CpuBackend.ConvGatherMaxRows;
            CpuBackend.ConvGatherMaxRows = 0;
            double msIm2Col = Time(() => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu), x, kk, b, y));
            CpuBackend.ConvGatherMaxRows = gatherRows;
            double ms = Time(() => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Relu), x, kk, b, y));
            double flops = 2.0 * batch * g.Pixels * g.OutC * g.Patch;
            total += ms * count;
            totalFlops += flops * count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"resnet-infer-op\",\"op\":\"{op}\",\"batch\":{batch},\"count\":{count},\"us\":{ms * 1000:F1},\"us_without_gather\":{msIm2Col * 1000:F1},\"gflops\":{flops / (ms * 1e6):F1}}}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"resnet-infer-op\",\"op\":\"all convolutions\",\"batch\":{batch},\"us\":{total * 1000:F1},\"gflops\":{totalFlops / (total * 1e6):F1}}}"));
    }

    /// <summary>
    /// Batch norm (fused LeakyReLU) and pooling of the same networks at batch 256, one JSON line each:
    /// <c>{"bench":"bn","shape":"28x28x128",...}</c>, <c>{"bench":"pool","shape":"28x28x128 max 2",...}</c>.
    /// </summary>
    public static void RunOthers()
    {
        const int batch = 256;
        foreach (var (h, c) in new[] { (28, 32), (28, 64), (28, 128) })
        {
            int rows = batch * h * h;
            long n = (long)rows * c;
            using var be = new CpuBackend();
            be.EnsureCapacity(n * 4 + 8L * c, 0);
            int x = 0, y = (int)n, dy = (int)(2 * n), dx = (int)(3 * n), ch = (int)(4 * n);
            var host = BatchNormInputs(be, n, c, x, ch);
            double f = Time(() => be.BatchNormForward(rows, new BatchNormArguments(c, ch, ch + c, ch + 2 * c, ch + 3 * c, ch + 4 * c, ch + 5 * c, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.LeakyRelu, 0.1f),
                x, y));
            double b = Time(() =>
            {
                be.Upload(host, dy);
                be.BatchNormBackward(rows, new BatchNormArguments(c, gamma: ch, savedMean: ch + 4 * c, savedInvStd: ch + 5 * c), new Epilogue(ActivationFunction.LeakyRelu, 0.1f), x, y, dy, dx, ch + 6 * c, ch + 7 * c);
            }) - Time(() => be.Upload(host, dy));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"bn\",\"shape\":\"{h}x{h}x{c}\",\"batch\":{batch},\"impl\":\"netgen\",\"ms_fwd\":{f:F2},\"ms_bwd\":{b:F2}}}"));
        }
        foreach (var (h, c, max, same) in new[] { (28, 128, true, false), (28, 32, false, true), (14, 64, false, true), (7, 64, false, true) })
        {
            int o = same ? (h + 1) / 2 : h / 2;
            var g = new Pool2DGeometry(h, h, c, o, o, 2, 2, 2, 2, 0, 0);
            long inN = (long)batch * g.InSize, outN = (long)batch * g.OutSize;
            using var be = new CpuBackend();
            be.EnsureCapacity(2 * inN + 2 * outN, 0);
            int x = 0, dx = (int)inN, y = (int)(2 * inN), dy = (int)(2 * inN + outN);
            var host = new float[inN];
            var rng = new Random(3);
            for (long i = 0; i < inN; i++) host[i] = (float)rng.NextDouble();
            be.Upload(host, x);
            be.Upload(host.AsSpan(0, (int)outN), dy);
            double f = max ? Time(() => be.MaxPool2DForward(g, batch, x, y)) : Time(() => be.AvgPool2DForward(g, batch, x, y));
            double b = max ? Time(() => be.MaxPool2DBackward(g, batch, x, y, dy, dx)) : Time(() => be.AvgPool2DBackward(g, batch, dy, dx));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"pool\",\"shape\":\"{h}x{h}x{c} {(max ? "max" : "avg")} 2 {(same ? "same" : "valid")}\",\"batch\":{batch},\"impl\":\"netgen\",\"ms_fwd\":{f:F2},\"ms_bwd\":{b:F2}}}"));
        }
    }

    /// <summary>
    /// Batch norm + LeakyReLU(0.1) + Dropout(0.3) at batch 256 on the Fashion CNN's activation shapes, training: the
    /// dropout fused into the batch-norm kernels (<c>"impl":"fused"</c>) against the batch norm followed by the
    /// dropout's own passes (<c>"impl":"apart"</c>), forward and backward (best of 7 repeats, milliseconds).
    /// </summary>
    public static void RunBatchNormDropout()
    {
        const int batch = 256;
        const float rate = 0.3f;
        const ulong key = 12345;
        foreach (var (h, c) in new[] { (28, 32), (28, 64), (28, 128), (14, 128) })
        {
            int rows = batch * h * h;
            long n = (long)rows * c;
            using var be = new CpuBackend();
            be.EnsureCapacity(n * 6 + 8L * c, 0);
            int x = 0, z = (int)n, y = (int)(2 * n), d = (int)(3 * n), dy = (int)(4 * n), dx = (int)(5 * n), ch = (int)(6 * n);
            var host = BatchNormInputs(be, n, c, x, ch);
            double upload = Time(() => be.Upload(host, dy));
            foreach (bool fused in new[] { true, false })
            {
                float r = fused ? rate : 0f;
                double f = Time(() =>
                {
                    be.BatchNormForward(rows, new BatchNormArguments(c, ch, ch + c, ch + 2 * c, ch + 3 * c, ch + 4 * c, ch + 5 * c, 0.99f, 1e-3f, true), true, new Epilogue(ActivationFunction.LeakyRelu, 0.1f, z, r, key),
                        x, y);
                    if (!fused) be.DropoutForward((int)n, rate, key, y, d);
                });
                double b = Time(() =>
                {
                    be.Upload(host, dy);
                    if (!fused) be.DropoutBackward((int)n, rate, key, dy, dy);
                    be.BatchNormBackward(rows, new BatchNormArguments(c, gamma: ch, savedMean: ch + 4 * c, savedInvStd: ch + 5 * c), new Epilogue(ActivationFunction.LeakyRelu, 0.1f, z, r, key), x, y, dy, dx,
                        ch + 6 * c, ch + 7 * c);
                }) - upload;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"bn-dropout-op\",\"shape\":\"{h}x{h}x{c}\",\"batch\":{batch},\"impl\":\"{(fused ? "fused" : "apart")}\",\"ms_fwd\":{f:F2},\"ms_bwd\":{b:F2}}}"));
            }
        }
    }

    /// <summary>
    /// Uploads n random inputs at <paramref name="x"/> and the per-channel γ = 1, β = 0, moving mean 0 and moving
    /// variance 1 at <paramref name="ch"/>; returns the inputs (the backward benchmarks upload them as dy too).
    /// </summary>
    private static float[] BatchNormInputs(CpuBackend be, long n, int c, int x, int ch)
    {
        var host = new float[n];
        var rng = new Random(2);
        for (long i = 0; i < n; i++) host[i] = (float)rng.NextDouble();
        be.Upload(host, x);
        be.Fill(ch, c, 1f);
        be.Fill(ch + c, 2 * c, 0f);
        be.Fill(ch + 3 * c, c, 1f);
        return host;
    }

    /// <summary>
    /// Milliseconds per call: the best of 7 samples of about 100 ms each, after a warm-up (the best, not the median,
    /// because the machine this runs on is often shared and the slow samples measure the neighbours).
    /// </summary>
    private static double Time(Action op)
    {
        var sw = Stopwatch.StartNew();
        int warm = 0;
        while (sw.ElapsedMilliseconds < 150 || warm < 2)
        {
            op();
            warm++;
        }
        int reps = Math.Max(1, (int)(100.0 * warm / Math.Max(1, sw.ElapsedMilliseconds)));
        double best = double.MaxValue;
        for (int s = 0; s < 7; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++) op();
            best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency / reps);
        }
        return best;
    }
}

/// <summary>
/// The residual net's three Winograd layers (batch 128) with several tile-block sizes, interleaved in rounds:
/// forward and backward ms, median over rounds (<c>NetGen.Bench winograd-resnet-blocks</c>).
/// </summary>
internal static class WinogradResNetBlocks
{
    public static void Run()
    {
        const int batch = 128;
        int[] blocks = [36, 48, 60, 72, 96];
        int saved = CpuBackend.WinogradTileBlock;
        foreach (var (h, c) in new[] { (28, 32), (14, 64), (7, 128) })
        {
            var g = new Conv2DGeometry(h, h, c, h, h, c, 3, 3, 1, 1, 1, 1, 1, 1);
            using var be = new CpuBackend();
            long inSize = (long)batch * g.InSize, kSize = (long)g.Patch * c;
            int x = 0, k = (int)inSize, b = (int)(k + kSize), y = b + 256, dy = (int)(y + inSize), dx = (int)(dy + inSize), dk = (int)(dx + inSize), db = (int)(dk + kSize);
            be.EnsureCapacity(db + 256, 0);
            var rng = new Random(1);
            var host = new float[inSize];
            for (int i = 0; i < host.Length; i++) host[i] = (float)rng.NextDouble() - 0.5f;
            be.Upload(host, x);
            be.Upload(host.AsSpan(0, (int)kSize), k);
            be.Upload(host, dy);
            var fwd = blocks.ToDictionary(v => v, _ => new List<double>());
            var bwd = blocks.ToDictionary(v => v, _ => new List<double>());
            for (int round = 0; round < 7; round++)
                foreach (int block in round % 2 == 0 ? blocks : blocks.Reverse().ToArray())
                {
                    CpuBackend.WinogradTileBlock = block;
                    fwd[block].Add(Best(() => be.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), x, k, b, y)));
                    bwd[block].Add(Best(() => be.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, x, k, y, dy, dx, dk, db)));
                }
            foreach (int block in blocks)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"winograd-block\",\"shape\":\"{h}x{h}x{c}\",\"tiles\":{block},\"ms_fwd\":{Median(fwd[block]):F3},\"ms_bwd\":{Median(bwd[block]):F3}}}"));
        }
        CpuBackend.WinogradTileBlock = saved;
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(t => t).ToList();
        return s[s.Count / 2];
    }

    private static double Best(Action op)
    {
        op();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            op();
            best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) * 1000.0 / Stopwatch.Frequency);
        }
        return best;
    }
}
