using System.Diagnostics;
using System.Globalization;
using NetGen.Backends;

namespace NetGen.Bench;

/// <summary>
/// One CPU setting measured against its default inside one process: the residual net trains with the setting off
/// and on in alternating rounds of 8 steps (which goes first alternates too), and each round's ratio is printed, then
/// the median. The VM's slow and fast phases (±10 % over minutes) move both sides of a round alike, so a change of
/// 1-2 % shows up here where separate processes hide it. <c>NetGen.Bench alternate:prefetch</c>.
/// </summary>
internal static class AlternatingBench
{
    public static void Run(string setting, int rounds = 12)
    {
        // SETTING@NETWORK: another of NetworkBench's networks than the residual net.
        string network = "resnet";
        if (setting.IndexOf('@') is int at and >= 0) (setting, network) = (setting[..at], setting[(at + 1)..]);
        // "hugepages" acts when a backend allocates: two models, one built with it off, trained in turn.
        bool twoModels = setting == "hugepages";
        if (twoModels) NetGen.Cpu.HugePages.Enabled = false;
        using var offModel = twoModels ? NetworkBench.TrainingSetup(network).Model : null;
        if (twoModels) NetGen.Cpu.HugePages.Enabled = true;
        var (created, xt, yt) = NetworkBench.TrainingSetup(network);
        using var model = created;
        var cpu = model.Backend as CpuBackend ?? throw new InvalidOperationException("alternate: needs the CPU backend.");
        Model current = model;
        int defaultBlock = CpuBackend.WinogradTileBlock, defaultConvItems = CpuBackend.ConvItemsPerThread, defaultBnItems = CpuBackend.BnItemsPerThread;
        // off: the setting's alternative; on: the default.
        Action<bool> set = setting switch
        {
            "hugepages" => on => current = on ? model : offModel!,
            "prefetch" => on => CpuBackend.WinogradPrefetchTiles = on ? 2 : 0,
            "prefetch-gradient" => on => CpuBackend.WinogradPrefetchGradient = on ? 2 : 0,
            _ when setting.StartsWith("tile-block:", StringComparison.Ordinal) => // tile-block:N: N tiles against the default
                on => CpuBackend.WinogradTileBlock = on ? defaultBlock : int.Parse(setting["tile-block:".Length..], CultureInfo.InvariantCulture),
            "winograd" => on => cpu.Winograd = on,
            _ when setting.StartsWith("conv-items:", StringComparison.Ordinal) => // sample ranges per thread of a convolution
                on => CpuBackend.ConvItemsPerThread = on ? defaultConvItems : int.Parse(setting["conv-items:".Length..], CultureInfo.InvariantCulture),
            _ when setting.StartsWith("bn-items:", StringComparison.Ordinal) => // work items per thread of a batch-norm pass
                on => CpuBackend.BnItemsPerThread = on ? defaultBnItems : int.Parse(setting["bn-items:".Length..], CultureInfo.InvariantCulture),
            _ => throw new ArgumentException($"Unknown setting '{setting}'; use prefetch, prefetch-gradient, tile-block:N, conv-items:N, bn-items:N, winograd or hugepages, optionally @NETWORK."),
        };
        for (int i = 0; i < 6; i++)
        {
            set(i % 2 == 0);
            current.TrainOnBatch(xt, yt);
        }
        double Time(bool on)
        {
            set(on);
            current.TrainOnBatch(xt, yt); // the first step after a switch is not timed
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 8; i++) current.TrainOnBatch(xt, yt);
            return sw.Elapsed.TotalMilliseconds / 8;
        }
        var ratios = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            bool onFirst = r % 2 == 0;
            double first = Time(onFirst), second = Time(!onFirst);
            var (on, off) = onFirst ? (first, second) : (second, first);
            ratios.Add(off / on);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{setting}: off {off:F1} ms, on {on:F1} ms a step: {off / on:F3}x"));
        }
        set(true);
        ratios.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"alternate\",\"setting\":\"{setting}\",\"speedup_median\":{ratios[rounds / 2]:F3},\"min\":{ratios[0]:F3},\"max\":{ratios[^1]:F3},\"rounds\":{rounds}}}"));
    }
}

/// <summary>
/// One inference setting against its default in one process, like <see cref="AlternatingBench"/>: rounds of
/// Predict calls with the setting off and on in turn. <c>NetGen.Bench alternate-infer:split@lstm:32</c>.
/// </summary>
internal static class AlternatingInference
{
    public static void Run(string spec, int rounds = 12)
    {
        // SETTING@NETWORK:BATCH
        int at = spec.IndexOf('@');
        if (at < 0) throw new ArgumentException("alternate-infer: use SETTING@NETWORK:BATCH, e.g. split@lstm:32.");
        string setting = spec[..at];
        var target = spec[(at + 1)..].Split(':');
        string network = target[0];
        int batch = target.Length > 1 ? int.Parse(target[1], CultureInfo.InvariantCulture) : 256;
        Action<bool> set = setting switch
        {
            "split" => on => NetGen.Backends.BatchSplit.Enabled = on,
            "short-edge" => on => NetGen.Cpu.Sgemm.ShortEdgeKernel = on,
            _ when setting.StartsWith("row-threshold:", StringComparison.Ordinal) => // a vector times a matrix on threads from N multiply-adds (off)
                on => NetGen.Cpu.Sgemm.RowParallelThreshold = on ? 100_000 : long.Parse(setting["row-threshold:".Length..], CultureInfo.InvariantCulture),
            _ when setting.StartsWith("directb-reuse:", StringComparison.Ordinal) => // read B in place up to N A panels (off) against the default
                on => NetGen.Cpu.Sgemm.DirectBMaxReuse = on ? 1 : int.Parse(setting["directb-reuse:".Length..], CultureInfo.InvariantCulture),
            "split-directb" => on => NetGen.Backends.BatchSplit.DirectB = on ? 1 : 0,
            _ when setting.StartsWith("directa-reuse:", StringComparison.Ordinal) => // read A in place up to N B panels (off) against the default
                on => NetGen.Cpu.Sgemm.DirectAMaxReuse = on ? 8 : int.Parse(setting["directa-reuse:".Length..], CultureInfo.InvariantCulture),
            _ when setting.StartsWith("winograd-min-tiles:", StringComparison.Ordinal) => // Winograd from N output tiles (off) against the default
                on => CpuBackend.WinogradMinTiles = on ? 16 : int.Parse(setting["winograd-min-tiles:".Length..], CultureInfo.InvariantCulture),
            "winograd-even" => on => CpuBackend.WinogradEvenBlocks = on, // small calls: tiles split evenly between threads (off: whole 12-tile panels)
            _ when setting.StartsWith("parallel-min:", StringComparison.Ordinal) => // element-wise stages on the pool from N floats (off) against the default
                on => CpuBackend.ParallelMinFloats = on ? 1 << 15 : int.Parse(setting["parallel-min:".Length..], CultureInfo.InvariantCulture),
            _ when setting.StartsWith("conv-gather:", StringComparison.Ordinal) => // im2col gathered in the GEMM up to N rows (off: never) against the default
                on => CpuBackend.ConvGatherMaxRows = on ? int.Parse(setting["conv-gather:".Length..], CultureInfo.InvariantCulture) : 0,
            "dense-epilogue" => on => CpuBackend.DenseGemmEpilogue = on, // bias and activation inside the GEMM (off: passes after it)
            _ => throw new ArgumentException($"Unknown inference setting '{setting}'; use split, split-directb, short-edge, dense-epilogue, row-threshold:N or directb-reuse:N."),
        };
        var (model, x) = NetworkBench.InferenceSetup(network, batch);
        using (model)
        {
            for (int i = 0; i < 20; i++)
            {
                set(i % 2 == 0);
                model.Predict(x, batch);
            }
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 10; i++) model.Predict(x, batch);
            int calls = Math.Max(4, (int)(10 * 0.3 / Math.Max(1e-6, clock.Elapsed.TotalSeconds)));
            double Time(bool on)
            {
                set(on);
                model.Predict(x, batch);
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < calls; i++) model.Predict(x, batch);
                return calls * batch / sw.Elapsed.TotalSeconds;
            }
            var ratios = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                bool onFirst = r % 2 == 0;
                double first = Time(onFirst), second = Time(!onFirst);
                var (on, off) = onFirst ? (first, second) : (second, first);
                ratios.Add(on / off);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{setting}: off {off:F0}, on {on:F0} samples/s: {on / off:F3}x"));
            }
            set(true);
            ratios.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"alternate-infer\",\"setting\":\"{setting}\",\"network\":\"{network}\",\"batch\":{batch},\"speedup_median\":{ratios[rounds / 2]:F3},\"min\":{ratios[0]:F3},\"max\":{ratios[^1]:F3},\"rounds\":{rounds}}}"));
        }
    }
}

/// <summary>
/// The residual net's first five training losses on fixed data, as float bits: a change meant to keep the numbers is
/// checked by running this before and after it (<c>NetGen.Bench losses</c>) and comparing the lines.
/// </summary>
internal static class LossBits
{
    public static void Run()
    {
        var (created, xt, yt) = NetworkBench.TrainingSetup("resnet");
        using var model = created;
        var bits = new List<string>();
        for (int i = 0; i < 5; i++) bits.Add(BitConverter.SingleToInt32Bits(model.TrainOnBatch(xt, yt)).ToString("x8", CultureInfo.InvariantCulture));
        Console.WriteLine("resnet losses: " + string.Join(' ', bits));
    }
}
