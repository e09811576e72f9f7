using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>Work over a range of samples: one recurrent step's element-wise cell math, or a whole inference pass (<see cref="BatchSplit"/>).</summary>
internal interface IStepCells
{
    /// <summary>Samples in the batch.</summary>
    int Batch { get; }

    /// <summary>Runs samples [from, to).</summary>
    void Run(int from, int to);
}

/// <summary>Runs a step's cells on one thread, or split over the worker pool when the step is large enough.</summary>
internal static class StepCells
{
    /// <summary>
    /// Below this many cell values a step's element-wise work stays on one thread. A cell value costs about 7-10 ns
    /// (three sigmoids and two tanh per LSTM unit), so 1024 of them are worth a second thread whose worker still spins
    /// from the step's GEMM: LSTM(128) inference at batch 32 went from about 12,700 to about 19,000 samples/s
    /// (`NetGen.Bench lstm`, 2 threads, medians of 3 interleaved runs, against 8192).
    /// </summary>
    internal static int ParallelFloats = 1024;

    public static void Run<TCells>(in TCells cells, int units) where TCells : struct, IStepCells
    {
        int batch = cells.Batch;
        int parts = Math.Min(batch, WorkerPool.Shared.MaxThreads);
        if (parts > 1 && (long)batch * units >= ParallelFloats && !WorkerPool.IsInsideJob)
        {
            var job = Job<TCells>.ForThread();
            job.Cells = cells;
            job.Parts = parts;
            job.DirectB = -1;
            WorkerPool.Shared.Run(job, parts);
        }
        else cells.Run(0, batch);
    }

    /// <summary>
    /// Work split into <see cref="Parts"/> sample ranges, one per work item; one job per thread and work type, reused
    /// (no allocation per step). With <see cref="DirectB"/> ≥ 0, each range's GEMMs run with that
    /// <see cref="Sgemm.DirectBMode"/> (<see cref="BatchSplit"/>).
    /// </summary>
    internal sealed class Job<TCells> : IWorkItem where TCells : struct, IStepCells
    {
        [ThreadStatic] private static Job<TCells>? t_job;

        public TCells Cells;
        public int Parts;
        public int DirectB = -1;

        public static Job<TCells> ForThread() => t_job ??= new Job<TCells>();

        public void Execute(int index)
        {
            int batch = Cells.Batch, from = (int)((long)batch * index / Parts), to = (int)((long)batch * (index + 1) / Parts);
            if (DirectB < 0)
            {
                Cells.Run(from, to);
                return;
            }
            int saved = Sgemm.DirectBMode;
            Sgemm.DirectBMode = DirectB;
            try { Cells.Run(from, to); }
            finally { Sgemm.DirectBMode = saved; }
        }
    }
}

/// <summary>
/// Runs a recurrent layer's inference pass split over the batch: samples are independent through the whole sequence,
/// so each thread takes a range of samples and runs every step of it alone (one join per call instead of one per GEMM
/// and cell of every step). The ranges' rows of a step GEMM read the weights in place (<see cref="DirectB"/>).
/// </summary>
internal static class BatchSplit
{
    /// <summary>Fewest samples a thread takes (below, the pass runs whole, its step GEMMs and cells split instead).</summary>
    internal static int MinSamples = 8;

    /// <summary>
    /// How each range's step GEMMs read the weights (<see cref="Sgemm.DirectBMode"/>): in place (1) rather than packed
    /// at every step by every thread (0): LSTM(128) inference 1.15x at batch 32
    /// (<c>NetGen.Bench alternate-infer:split-directb@lstm:32</c>).
    /// </summary>
    internal static int DirectB = 1;

    [ThreadStatic] private static bool t_off;

    /// <summary>For tests, on the calling thread: the number of ranges (0: one per thread).</summary>
    [ThreadStatic] internal static int Parts;

    /// <summary>For benchmarks, on the calling thread: whether passes are split (false: every step's GEMMs and cells are).</summary>
    internal static bool Enabled { get => !t_off; set => t_off = !value; }

    public static void Run<TPass>(in TPass pass) where TPass : struct, IStepCells
    {
        int batch = pass.Batch;
        int parts = Parts > 0 ? Math.Min(Parts, batch) : Math.Min(WorkerPool.Shared.MaxThreads, batch / MinSamples);
        if (Enabled && parts > 1 && !WorkerPool.IsInsideJob)
        {
            var job = StepCells.Job<TPass>.ForThread();
            job.Cells = pass;
            job.Parts = parts;
            job.DirectB = DirectB;
            try { WorkerPool.Shared.Run(job, parts); }
            finally { job.Cells = default; }
        }
        else pass.Run(0, batch);
    }
}
