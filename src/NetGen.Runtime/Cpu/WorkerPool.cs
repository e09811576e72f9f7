using System.Runtime.ExceptionServices;

namespace NetGen.Cpu;

/// <summary>One unit of a parallel job run by <see cref="WorkerPool.Run"/>.</summary>
internal interface IWorkItem
{
    /// <summary>Runs work item <paramref name="index"/> (0 ≤ index &lt; count). Called at most once per index.</summary>
    void Execute(int index);
}

/// <summary>
/// A fixed set of persistent background threads that run the work items of one job at a time together
/// with the calling thread, without allocating per call (no Task, no closure, no Parallel.For).
/// </summary>
/// <remarks>
/// <para>
/// Work items are claimed one at a time from a single 64-bit word that holds the job's generation, its item
/// count and the next unclaimed index, updated by compare-and-swap. A worker therefore can never claim an item
/// of a job that is already finished, and the caller returns as soon as every item has completed, without
/// waiting for workers that woke up too late to take part (a descheduled worker costs nothing).
/// </para>
/// <para>
/// Idle workers spin for a short while (2 ms, so back-to-back calls, as in a training loop, find them awake)
/// and then block on an event, so they do not burn CPU between jobs.
/// </para>
/// <para>
/// One job runs at a time. A call made while the pool is busy (from another thread, or from inside a work
/// item) runs all its items serially on the calling thread, which is always correct and never deadlocks.
/// </para>
/// <para>
/// The thread count is <see cref="Environment.ProcessorCount"/>, capped by the environment variable
/// <c>NETGEN_THREADS</c> when it is set to a positive integer.
/// </para>
/// </remarks>
internal sealed class WorkerPool
{
    private const int GenShift = 40;
    private const int CountShift = 20;
    private const long FieldMask = (1L << 20) - 1;
    private const int MaxItems = (1 << 20) - 1;

    /// <summary>How long an idle worker spins, waiting for the next job, before it blocks (2 ms).</summary>
    private static readonly long s_idleSpinTicks = System.Diagnostics.Stopwatch.Frequency / 500;

    private static WorkerPool? s_shared;

    [ThreadStatic] private static bool t_isWorker;
    [ThreadStatic] private static bool t_inRun; // the calling thread runs items too; a nested Run from one must not re-enter


    private readonly object _runLock = new();
    private readonly Worker[] _workers;

    // gen (23 bits) | count (20 bits) | next index (20 bits). Only ever changed by Interlocked operations.
    private long _state;
    private IWorkItem? _job;
    private int _completed;
    private ExceptionDispatchInfo? _error;

    /// <summary>The process-wide pool, created on first use.</summary>
    public static WorkerPool Shared
    {
        get
        {
            WorkerPool? pool = Volatile.Read(ref s_shared);
            if (pool is not null)
                return pool;
            var created = new WorkerPool(DefaultThreadCount());
            return Interlocked.CompareExchange(ref s_shared, created, null) is { } existing
                ? existing.DisposeLoser(created)
                : created;
        }
    }

    /// <summary>Creates a pool that runs jobs on <paramref name="threads"/> threads (the caller included).</summary>
    public WorkerPool(int threads)
    {
        MaxThreads = Math.Max(1, threads);
        _workers = new Worker[MaxThreads - 1];
        for (int i = 0; i < _workers.Length; i++)
            _workers[i] = new Worker(this, i);
    }

    /// <summary>The number of threads a job can run on, the calling thread included.</summary>
    public int MaxThreads { get; }

    /// <summary>Whether the current thread is one of a pool's worker threads.</summary>
    public static bool IsWorkerThread => t_isWorker;

    /// <summary>
    /// Runs <c>job.Execute(i)</c> for every i in [0, <paramref name="count"/>) on the pool's threads and the
    /// calling thread, and returns when all have completed. An exception thrown by a work item is rethrown here
    /// (the first one, once all items have run or been skipped).
    /// </summary>
    public void Run(IWorkItem job, int count)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (count <= 0)
            return;
        if (count == 1 || _workers.Length == 0 || count > MaxItems || t_isWorker || t_inRun
            || !Monitor.TryEnter(_runLock))
        {
            for (int i = 0; i < count; i++)
                job.Execute(i);
            return;
        }

        t_inRun = true;
        try
        {
            _job = job;
            _error = null;
            Volatile.Write(ref _completed, 0);
            long old = Volatile.Read(ref _state);
            long gen = ((old >> GenShift) + 1) & 0x7FFFFF;
            // Publishing the new state (full fence) makes _job visible before any item can be claimed.
            Interlocked.Exchange(ref _state, (gen << GenShift) | ((long)count << CountShift));

            int wake = Math.Min(_workers.Length, count - 1);
            for (int i = 0; i < wake; i++)
                _workers[i].Wake();

            int done = ClaimAndRun(job);
            if (done > 0)
                Interlocked.Add(ref _completed, done);

            if (Volatile.Read(ref _completed) < count)
            {
                var spinner = new SpinWait();
                while (Volatile.Read(ref _completed) < count)
                    spinner.SpinOnce(sleep1Threshold: -1);
            }

            _job = null;
            ExceptionDispatchInfo? error = _error;
            _error = null;
            error?.Throw();
        }
        finally
        {
            t_inRun = false;
            Monitor.Exit(_runLock);
        }
    }

    /// <summary>Claims and runs items of the current job until none is left; returns how many it ran.</summary>
    private int ClaimAndRun(IWorkItem job)
    {
        int ran = 0;
        while (true)
        {
            long s = Volatile.Read(ref _state);
            int next = (int)(s & FieldMask);
            int count = (int)((s >> CountShift) & FieldMask);
            if (next >= count)
                return ran;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s)
                continue;
            try
            {
                job.Execute(next);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
            ran++;
        }
    }

    /// <summary>A worker's part in the job published with state <paramref name="s"/>, if any is left.</summary>
    private void Participate(long s)
    {
        int next = (int)(s & FieldMask);
        int count = (int)((s >> CountShift) & FieldMask);
        if (next >= count)
            return;
        // Read after the state: if a claim below succeeds, the state was unchanged since, so this is its job
        // (a new job is only published after every item of this one has been claimed and completed).
        IWorkItem? job = Volatile.Read(ref _job);
        if (job is null)
            return;
        long gen = s >> GenShift;
        while (true)
        {
            long cur = Volatile.Read(ref _state);
            if ((cur >> GenShift) != gen)
                break;
            int idx = (int)(cur & FieldMask);
            if (idx >= count)
                break;
            if (Interlocked.CompareExchange(ref _state, cur + 1, cur) != cur)
                continue;
            try
            {
                job.Execute(idx);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
            Interlocked.Increment(ref _completed);
        }
    }

    private WorkerPool DisposeLoser(WorkerPool loser)
    {
        foreach (Worker w in loser._workers)
            w.Stop();
        return this;
    }

    private static int DefaultThreadCount()
    {
        int n = Environment.ProcessorCount;
        string? env = Environment.GetEnvironmentVariable("NETGEN_THREADS");
        if (env is not null && int.TryParse(env.Trim(), out int cap) && cap > 0)
            n = Math.Min(n, cap);
        return Math.Max(1, n);
    }

    private sealed class Worker
    {
        private readonly WorkerPool _pool;
        private readonly ManualResetEventSlim _signal = new(false, 0);
        private volatile bool _stop;

        public Worker(WorkerPool pool, int index)
        {
            _pool = pool;
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = "NetGen worker " + index,
            };
            thread.Start();
        }

        public void Wake() => _signal.Set();

        public void Stop()
        {
            _stop = true;
            _signal.Set();
        }

        private void Loop()
        {
            t_isWorker = true;
            WorkerPool pool = _pool;
            long seenGen = Volatile.Read(ref pool._state) >> GenShift;
            while (!_stop)
            {
                long s = Volatile.Read(ref pool._state);
                if ((s >> GenShift) != seenGen)
                {
                    seenGen = s >> GenShift;
                    pool.Participate(s);
                    continue;
                }

                // Idle: spin a while, then block until woken.
                // The spin yields the core often (SpinWait turns to sched_yield after a few rounds), so that on a
                // busy machine a spinning worker does not starve a thread that shares its core.
                bool found = false;
                long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + s_idleSpinTicks;
                var spinner = new SpinWait();
                for (int i = 0; ; i++)
                {
                    if ((Volatile.Read(ref pool._state) >> GenShift) != seenGen || _stop)
                    {
                        found = true;
                        break;
                    }
                    spinner.SpinOnce(sleep1Threshold: -1);
                    if ((i & 15) == 15 && System.Diagnostics.Stopwatch.GetTimestamp() > spinUntil)
                        break;
                }
                if (found)
                    continue;
                _signal.Reset();
                Interlocked.MemoryBarrier();
                if ((Volatile.Read(ref pool._state) >> GenShift) == seenGen && !_stop)
                    _signal.Wait();
            }
        }
    }
}
