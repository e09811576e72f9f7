using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NetGen.Cpu;

namespace NetGen.Bench;

/// <summary>
/// Times <see cref="Sgemm.Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>
/// on square sizes and on the shapes of the training workloads, and prints one JSON object per line, e.g.
/// <c>{"bench":"sgemm","shape":"1024x1024x1024","op":"NN","impl":"netgen","threads":2,"gflops":345.2}</c>.
/// The reference side is <c>bench/openblas_sgemm.py</c> (same shapes, same format, <c>"impl":"openblas"</c>).
/// </summary>
public static unsafe class SgemmBench
{
    /// <summary>(m, n, k, transA, transB): C[m,n] = op(A)[m,k]·op(B)[k,n]; keep in step with openblas_sgemm.py.
    /// </summary>
    private static readonly (int M, int N, int K, bool TA, bool TB)[] Shapes =
    {
        (256, 256, 256, false, false),
        (512, 512, 512, false, false),
        (1024, 1024, 1024, false, false),
        (2048, 2048, 2048, false, false),
        // MLP 784-512-512-10, batch 128: forward
        (128, 512, 784, false, false),
        (128, 512, 512, false, false),
        (128, 10, 512, false, false),
        // backward: dW = X^T·dY (transA), dX = dY·W^T (transB)
        (784, 512, 128, true, false),
        (512, 512, 128, true, false),
        (512, 10, 128, true, false),
        (128, 784, 512, false, true),
        (128, 512, 512, false, true),
        (128, 512, 10, false, true),
        // small networks
        (64, 80, 29, false, false),
        (128, 64, 20, false, false),
        (128, 64, 64, false, false),
    };

    /// <summary>
    /// Runs the benchmark. Options: <c>--quick</c> (fewer samples), <c>--threads N</c> (cap the threads),
    /// <c>--shape MxNxK[:TN]</c> (only this shape; repeatable), <c>--kind 0|1|2</c> (force a kernel family),
    /// <c>--kc/--mc/--nc N</c> (blocking, for tuning), <c>--par N</c> (parallel threshold in multiply-adds),
    /// <c>--da/--db 0|1</c> (force packing or in-place reads of A/B), <c>--tc 0|1</c> (force C or Cᵀ),
    /// <c>--pf N</c> (C prefetch distance), <c>--wake N</c>, <c>--tiles N</c>, <c>--minwork N</c> (threading),
    /// <c>--best</c> (report the best sample instead of the median: steadier on a busy machine, for tuning),
    /// <c>--cpu</c> (time with the thread's CPU time: only meaningful with <c>--threads 1</c>), <c>--pool</c>
    /// (measure the worker pool's overhead instead).
    /// </summary>
    private static bool s_best, s_cpuTime;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Sec, Nsec;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);

    /// <summary>Seconds: this thread's CPU time with <c>--cpu</c> (Linux; steadier on a busy machine when
    /// single-threaded), otherwise wall-clock time.</summary>
    private static double Now()
    {
        if (s_cpuTime)
        {
            ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out TimeSpec ts);
            return ts.Sec + ts.Nsec * 1e-9;
        }
        return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }

    public static void Run(string[] args)
    {
        bool quick = false;
        var only = new List<(int, int, int, bool, bool)>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => args[++i];
            switch (a)
            {
                case "--quick": quick = true; break;
                case "--threads": Sgemm.MaxThreadsOverride = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--kind": Sgemm.ForcedKind = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--kc": Sgemm.KcAvx512 = Sgemm.KcAvx2 = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--mc": Sgemm.McAvx512 = Sgemm.McAvx2 = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--nc": Sgemm.NcAvx512 = Sgemm.NcAvx2 = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--par": Sgemm.ParallelThreshold = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--minwork": Sgemm.MinWorkPerThread = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--shape": only.Add(ParseShape(Next())); break;
                case "--da": Sgemm.DirectAMode = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--db": Sgemm.DirectBMode = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--pf": Sgemm.PrefetchDistance = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--wake": Sgemm.WakeThreshold = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--tc": Sgemm.TransposeMode = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--dar": Sgemm.DirectAMaxReuse = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--dbr": Sgemm.DirectBMaxReuse = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--best": s_best = true; break;
                case "--tiles": Sgemm.MaxTilesPerThread = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--cpu": s_cpuTime = OperatingSystem.IsLinux(); break;
                case "--pool": PoolOverhead(); return;
            }
        }

        int threads = Sgemm.MaxThreadsOverride > 0
            ? Math.Min(Sgemm.MaxThreadsOverride, WorkerPool.Shared.MaxThreads)
            : WorkerPool.Shared.MaxThreads;
        foreach (var (m, n, k, ta, tb) in only.Count > 0 ? only.ToArray() : Shapes)
        {
            double gflops = Measure(m, n, k, ta, tb, quick);
            string op = (ta ? "T" : "N") + (tb ? "T" : "N");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"bench\":\"sgemm\",\"shape\":\"{m}x{n}x{k}\",\"op\":\"{op}\",\"impl\":\"netgen\",\"threads\":{threads},\"gflops\":{gflops:F1}}}"));
        }
    }

    private sealed class EmptyJob : IWorkItem
    {
        public void Execute(int index)
        {
        }
    }

    /// <summary>Prints the cost of one <see cref="WorkerPool.Run"/> of empty items: back to back, after idling.</summary>
    private static void PoolOverhead()
    {
        WorkerPool pool = WorkerPool.Shared;
        var job = new EmptyJob();
        for (int i = 0; i < 100_000; i++)
            pool.Run(job, pool.MaxThreads);
        var times = new double[21];
        for (int s = 0; s < times.Length; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < 10_000; i++)
                pool.Run(job, pool.MaxThreads);
            times[s] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 10_000;
        }
        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"pool\",\"case\":\"back-to-back\",\"threads\":{pool.MaxThreads},\"us\":{times[10]:F3}}}"));
        foreach (bool wake in new[] { true, false })
        {
            foreach (int idleMs in new[] { 1, 10, 100 })
            {
                var lat = new double[15];
                for (int s = 0; s < lat.Length; s++)
                {
                    Thread.Sleep(idleMs);
                    long t0 = Stopwatch.GetTimestamp();
                    pool.Run(job, pool.MaxThreads, wake);
                    lat[s] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                }
                Array.Sort(lat);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"pool\",\"case\":\"after {idleMs} ms idle{(wake ? "" : ", no wake")}\",\"threads\":{pool.MaxThreads},\"us\":{lat[7]:F3}}}"));
            }
        }
    }

    private static (int, int, int, bool, bool) ParseShape(string s)
    {
        string[] parts = s.Split(':');
        string[] dims = parts[0].Split('x');
        string op = parts.Length > 1 ? parts[1].ToUpperInvariant() : "NN";
        return (int.Parse(dims[0], CultureInfo.InvariantCulture), int.Parse(dims[1], CultureInfo.InvariantCulture),
            int.Parse(dims[2], CultureInfo.InvariantCulture), op[0] == 'T', op[1] == 'T');
    }

    private static double Measure(int m, int n, int k, bool ta, bool tb, bool quick)
    {
        int lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
        nuint sa = (nuint)((long)(ta ? k : m) * lda), sb = (nuint)((long)(tb ? n : k) * ldb);
        nuint sc = (nuint)((long)m * ldc);
        float* a = (float*)NativeMemory.AlignedAlloc(sa * sizeof(float), 64);
        float* b = (float*)NativeMemory.AlignedAlloc(sb * sizeof(float), 64);
        float* c = (float*)NativeMemory.AlignedAlloc(sc * sizeof(float), 64);
        try
        {
            var rng = new Random(1);
            for (nuint i = 0; i < sa; i++) a[i] = (float)rng.NextDouble() - 0.5f;
            for (nuint i = 0; i < sb; i++) b[i] = (float)rng.NextDouble() - 0.5f;
            for (nuint i = 0; i < sc; i++) c[i] = 0f;
            double flops = 2.0 * m * n * k;

            // Warm-up (JIT tiers, packing buffers, worker threads), then calibrate a sample to >= ~20 ms.
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 200)
                Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
            int reps = 1;
            while (true)
            {
                double t0 = Now();
                for (int r = 0; r < reps; r++)
                    Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
                double dt = Now() - t0;
                if (dt >= 0.02 || reps >= 1 << 20)
                    break;
                reps *= 2;
            }

            int samples = quick ? 7 : 21;
            var rates = new double[samples];
            for (int s = 0; s < samples; s++)
            {
                double t0 = Now();
                for (int r = 0; r < reps; r++)
                    Sgemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc);
                double dt = Now() - t0;
                rates[s] = flops * reps / dt / 1e9;
            }
            Array.Sort(rates);
            return s_best ? rates[samples - 1] : rates[samples / 2];
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }
}
