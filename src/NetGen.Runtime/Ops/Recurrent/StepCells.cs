using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>One recurrent step's element-wise cell math over a range of samples (the inference passes' unit of work).</summary>
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
            WorkerPool.Shared.Run(job, parts);
        }
        else cells.Run(0, batch);
    }

    /// <summary>The cells split into <see cref="Parts"/> sample ranges; one per thread and cell type, reused (no allocation per step).</summary>
    private sealed class Job<TCells> : IWorkItem where TCells : struct, IStepCells
    {
        [ThreadStatic] private static Job<TCells>? t_job;

        public TCells Cells;
        public int Parts;

        public static Job<TCells> ForThread() => t_job ??= new Job<TCells>();

        public void Execute(int index)
        {
            int batch = Cells.Batch;
            Cells.Run((int)((long)batch * index / Parts), (int)((long)batch * (index + 1) / Parts));
        }
    }
}
