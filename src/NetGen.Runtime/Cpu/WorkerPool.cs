using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace NetGen.Cpu;

/// <summary>One unit of a parallel job run by <see cref="WorkerPool.Run"/>.</summary>
internal interface IWorkItem
{
    /// <summary>Runs work item <paramref name="index"/> (0 ≤ index &lt; count); called once per index.</summary>
    void Execute(int index);
}

/// <summary>
/// The interchangeable parts of a job (disjoint tiles or row ranges), handed out so that each thread gets the same parts
/// every call where it can: a thread first takes the free parts of its own slot (<see cref="WorkerPool.ThreadSlot"/>,
/// slot, slot + threads, ...), then any free part. The data a part reads then stays in one core's cache from call to
/// call, whichever thread claims an item first. Reset before each run; every part is taken exactly once.
/// </summary>
internal sealed class PartClaims
{
    private int[] _taken = [];
    private int _parts, _threads;

    /// <summary>Makes all <paramref name="parts"/> free, for a job on <paramref name="threads"/> threads.</summary>
    public void Reset(int parts, int threads)
    {
        if (_taken.Length < parts) _taken = new int[parts];
        Array.Clear(_taken, 0, parts);
        (_parts, _threads) = (parts, Math.Max(1, threads));
    }

    /// <summary>Takes a free part for the current thread (call once per work item).</summary>
    public int Claim()
    {
        for (int p = WorkerPool.ThreadSlot; p < _parts; p += _threads)
            if (Interlocked.Exchange(ref _taken[p], 1) == 0) return p;
        for (int p = 0; p < _parts; p++)
            if (Interlocked.Exchange(ref _taken[p], 1) == 0) return p;
        throw new InvalidOperationException("More work items than parts."); // a caller's bug: items = parts
    }
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
/// Idle workers spin for a short while (2 ms, so back-to-back calls, as in a training loop, find them awake),
/// then nap, checking for work every millisecond, for 100 ms, and then block on an event, so they do not burn
/// CPU between jobs. Signalling a blocked or napping worker is costly on a VM (tens of microseconds), so small
/// jobs may choose not to (see <see cref="Run"/>).
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

    /// <summary>How long an idle worker spins, waiting for the next job, before it naps (2 ms).</summary>
    private static readonly long s_idleSpinTicks = System.Diagnostics.Stopwatch.Frequency / 500;

    /// <summary>How long an idle worker then naps, checking for a job every millisecond, before it sleeps until
    /// woken (100 ms).</summary>
    private static readonly long s_napTicks = System.Diagnostics.Stopwatch.Frequency / 10;

    /// <summary>A job that may not signal idle workers (see <see cref="Run"/>) still does, 1 time in N.</summary>
    private const int SkippedWakeLimit = 16;

    private static WorkerPool? s_shared;

    [ThreadStatic] private static bool t_isWorker;
    [ThreadStatic] private static int t_slot; // a worker's index + 1 (0 on any other thread)
    // The calling thread runs items too; a nested Run from one of them must not re-enter (Monitor is reentrant).
    [ThreadStatic] private static bool t_inRun;

    private readonly object _runLock = new();
    private readonly Worker[] _workers;

    // gen (23 bits) | count (20 bits) | next index (20 bits). Only ever changed by Interlocked operations.
    private long _state;
    private IWorkItem? _job;
    private int _completed;
    private ExceptionDispatchInfo? _error;
    private int _skippedWakes; // jobs run without signalling idle workers since the last signal (under _runLock)

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
    /// The current thread's place in a job: 0 for the calling thread (any thread that is not a worker), k + 1 for worker
    /// k. Items are claimed in whatever order the threads get to them; a job whose items are interchangeable can use
    /// this to give each thread the same share of the data every call, so that it stays in that core's cache.
    /// </summary>
    public static int ThreadSlot => t_isWorker ? t_slot : 0;

    /// <summary>
    /// Whether the current thread is running a work item (as a worker, or as the caller of <see cref="Run"/>):
    /// a <see cref="Run"/> from here would run its items serially.
    /// </summary>
    public static bool IsInsideJob => t_isWorker || t_inRun;

    /// <summary>
    /// Runs <c>job.Execute(i)</c> for every i in [0, <paramref name="count"/>) on the pool's threads and the
    /// calling thread, and returns when all have completed. An exception thrown by a work item is rethrown here
    /// (the first one, once all items have run or been skipped).
    /// </summary>
    /// <param name="job">The work items.</param>
    /// <param name="count">How many items to run.</param>
    /// <param name="wakeSleepers">
    /// false: workers that are napping or asleep are not signalled (waking one costs the caller tens of
    /// microseconds on a virtual machine, more than a small job gains from it), except once every 16 such jobs;
    /// only workers still spinning, or napping ones that notice the job, take part, and the calling thread runs
    /// whatever they don't.
    /// </param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(IWorkItem job, int count, bool wakeSleepers = true)
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
            // Jobs that may not signal idle workers still do so every SkippedWakeLimit-th time, so that a long
            // stream of small jobs after a pause gets the workers back (they then spin or nap between jobs).
            bool forceWake = false;
            if (!wakeSleepers && ++_skippedWakes >= SkippedWakeLimit)
            {
                forceWake = true;
                _skippedWakes = 0;
            }
            for (int i = 0; i < wake; i++)
            {
                Worker w = _workers[i];
                if (wakeSleepers || forceWake || !w.Sleeping)
                    w.Wake();
            }

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        private volatile bool _sleeping;

        private readonly int _index;

        public Worker(WorkerPool pool, int index)
        {
            _pool = pool;
            _index = index;
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = "NetGen worker " + index,
            };
            thread.Start();
        }

        /// <summary>Whether the worker is blocked (or about to block) waiting for a job.</summary>
        public bool Sleeping => _sleeping;

        public void Wake() => _signal.Set();

        public void Stop()
        {
            _stop = true;
            _signal.Set();
        }

        private void Loop()
        {
            t_isWorker = true;
            t_slot = _index + 1;
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

                // Idle: spin a while. The spin yields the core often (SpinWait turns to sched_yield after a few
                // rounds), so that on a busy machine a spinning worker does not starve a thread sharing its core.
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

                // Then nap: a job that did not wake us is noticed within a millisecond (so a stream of small
                // jobs, which do not pay for waking a worker, gets help after the first), and finally sleep
                // until a job wakes us.
                _signal.Reset();
                Interlocked.MemoryBarrier();
                _sleeping = true;
                long napUntil = System.Diagnostics.Stopwatch.GetTimestamp() + s_napTicks;
                while ((Volatile.Read(ref pool._state) >> GenShift) == seenGen && !_stop)
                {
                    bool signalled = System.Diagnostics.Stopwatch.GetTimestamp() < napUntil
                        ? _signal.Wait(1)
                        : _signal.Wait(Timeout.Infinite);
                    if (signalled && (Volatile.Read(ref pool._state) >> GenShift) == seenGen)
                    {
                        // A late signal for a job we already took part in: clear it (the loop condition then
                        // re-reads the state, so a signal for a new job is not lost).
                        _signal.Reset();
                        Interlocked.MemoryBarrier();
                    }
                }
                _sleeping = false;
            }
        }
    }
}
