using System.Collections.Concurrent;
using System.Diagnostics;

namespace NetGen.Data;

/// <summary>What a directory flow's labels are (Keras's <c>class_mode</c>).</summary>
public enum ClassMode
{
    /// <summary>One-hot rows, one column per class ("categorical", the default).</summary>
    Categorical,
    /// <summary>One value, 0 or 1: the index of one of exactly two classes ("binary", for a sigmoid output).</summary>
    Binary,
    /// <summary>One value: the class index, for sparse categorical cross-entropy ("sparse").</summary>
    Sparse,
    /// <summary>The picture itself, for autoencoders ("input").</summary>
    Input,
    /// <summary>No labels: for <c>Predict</c> only (Keras's <c>class_mode=None</c>).</summary>
    None,
}

/// <summary>What a flow does with a picture it cannot read.</summary>
public enum BadImageAction
{
    /// <summary>Throw a <see cref="DataFormatException"/> naming the file (the default: nothing is trained on silently).</summary>
    Fail,
    /// <summary>Leave the picture out of its batch, warn once on standard error with its path and why, and count it in <see cref="FlowStatistics.SkippedImages"/>.</summary>
    Skip,
}

/// <summary>How a flow's loading kept up with its consumer.</summary>
/// <param name="Batches">Batches handed over.</param>
/// <param name="Waits">Batches the consumer had to wait for (not decoded yet when asked for).</param>
/// <param name="WaitTime">Time the consumer spent waiting.</param>
/// <param name="SkippedImages">Distinct pictures left out as unreadable (<see cref="BadImageAction.Skip"/>).</param>
public readonly record struct FlowStatistics(long Batches, long Waits, TimeSpan WaitTime, int SkippedImages);

/// <summary>
/// Batches of pictures read from class folders (Keras's <c>DirectoryIterator</c>, made by
/// <see cref="ImageDataGenerator.FlowFromDirectory"/>): the files of every class folder (sorted, sub-folders
/// included), labelled by folder in the order of <see cref="ClassIndices"/>. Batches are loaded, decoded, resized,
/// transformed and standardised ahead of the consumer on the thread pool, <see cref="Prefetch"/> batches at most,
/// each sample's random transform drawn from (seed, pass, position), so a run gives the same batches however the
/// threads interleave. <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> take a flow; one flow serves one of them at a time.
/// </summary>
public sealed class DirectoryFlow
{
    private readonly string[] _paths;
    private readonly ConcurrentDictionary<string, byte> _bad = new(StringComparer.Ordinal);
    private long _batches, _waits, _waitTicks;
    private int _busy;

    internal DirectoryFlow(ImageDataGenerator generator, string directory, string[] classes, string[] filenames, int[] labels,
        (int Height, int Width) targetSize, ColorMode colorMode, ClassMode classMode, int batchSize, bool shuffle, ulong? seed,
        BadImageAction onBadImage, int prefetch)
    {
        Generator = generator;
        Directory = directory;
        Filenames = filenames;
        _paths = Array.ConvertAll(filenames, f => Path.Combine(directory, f));
        Classes = labels;
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Length; i++) indices[classes[i]] = i;
        ClassIndices = indices;
        ClassNames = classes;
        TargetSize = targetSize;
        ColorMode = colorMode;
        ClassMode = classMode;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        OnBadImage = onBadImage;
        Prefetch = prefetch;
    }

    /// <summary>The generator whose transforms and standardisation every sample goes through.</summary>
    public ImageDataGenerator Generator { get; }
    /// <summary>The folder holding the class folders (full path).</summary>
    public string Directory { get; }
    /// <summary>Each sample's file, relative to <see cref="Directory"/> (Keras's <c>filenames</c>).</summary>
    public IReadOnlyList<string> Filenames { get; }
    /// <summary>Each sample's class index (Keras's <c>classes</c>).</summary>
    public IReadOnlyList<int> Classes { get; }
    /// <summary>Class name to index, the folders in ordinal order unless given (Keras's <c>class_indices</c>).</summary>
    public IReadOnlyDictionary<string, int> ClassIndices { get; }
    /// <summary>The class names by index.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>The (height, width) every picture is resized to.</summary>
    public (int Height, int Width) TargetSize { get; }
    /// <summary>The channels every picture is converted to.</summary>
    public ColorMode ColorMode { get; }
    /// <summary>What the labels are.</summary>
    public ClassMode ClassMode { get; }
    /// <summary>Samples per batch (the last batch of a pass may be smaller).</summary>
    public int BatchSize { get; }
    /// <summary>Whether each pass is reshuffled.</summary>
    public bool Shuffle { get; }
    /// <summary>The seed of the shuffling and the transforms; null uses the model's.</summary>
    public ulong? Seed { get; }
    /// <summary>What happens to a picture that cannot be read.</summary>
    public BadImageAction OnBadImage { get; }
    /// <summary>Batches loaded ahead of the consumer at most.</summary>
    public int Prefetch { get; }
    /// <summary>Pictures in the flow (Keras's <c>samples</c>).</summary>
    public int Samples => _paths.Length;
    /// <summary>Batches in one pass over the pictures (Keras's <c>len(iterator)</c>).</summary>
    public int BatchesPerPass => (Samples + BatchSize - 1) / BatchSize;
    /// <summary>A sample's shape: (height, width, channels).</summary>
    public int[] ImageShape => [TargetSize.Height, TargetSize.Width, Images.ChannelsOf(ColorMode)];
    /// <summary>Floats a sample.</summary>
    internal int SampleSize => TargetSize.Height * TargetSize.Width * Images.ChannelsOf(ColorMode);
    /// <summary>Floats a label (0 for <see cref="ClassMode.None"/>).</summary>
    internal int LabelSize => ClassMode switch
    {
        ClassMode.Categorical => ClassNames.Count,
        ClassMode.Binary or ClassMode.Sparse => 1,
        ClassMode.Input => SampleSize,
        _ => 0,
    };

    /// <summary>How loading has kept up so far.</summary>
    public FlowStatistics Statistics => new(Interlocked.Read(ref _batches), Interlocked.Read(ref _waits),
        TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency), _bad.Count);

    /// <summary>The pictures skipped as unreadable so far (full paths).</summary>
    public IReadOnlyCollection<string> SkippedFiles => [.. _bad.Keys];

    /// <summary>Every label at once, in sample order (null for <see cref="ClassMode.None"/> and <see cref="ClassMode.Input"/>).</summary>
    internal Tensor? Labels()
    {
        int n = Samples;
        switch (ClassMode)
        {
            case ClassMode.Categorical:
                var onehot = new float[(long)n * ClassNames.Count];
                for (int i = 0; i < n; i++) onehot[(long)i * ClassNames.Count + Classes[i]] = 1f;
                return new Tensor(onehot, n, ClassNames.Count);
            case ClassMode.Binary or ClassMode.Sparse:
                var indices = new float[n];
                for (int i = 0; i < n; i++) indices[i] = Classes[i];
                return new Tensor(indices, n, 1);
            default:
                return null;
        }
    }

    /// <summary>
    /// One sample, decoded, resized, transformed with <paramref name="key"/> and standardised into
    /// <paramref name="destination"/>; false when it is unreadable and skipped.
    /// </summary>
    internal bool Read(int index, Span<float> destination, ulong key)
    {
        string path = _paths[index];
        if (_bad.ContainsKey(path)) return false;
        Image image;
        try
        {
            image = Images.LoadImg(path, TargetSize, ColorMode);
        }
        catch (Exception e) when (e is DataFormatException or FileNotFoundException or IOException or UnauthorizedAccessException)
        {
            if (OnBadImage == BadImageAction.Fail)
            {
                string problem = e is DataFormatException d && e.Message.StartsWith(d.Path + ": ", StringComparison.Ordinal)
                    ? e.Message[(d.Path.Length + 2)..] : "it cannot be read: " + e.Message;
                throw new DataFormatException(path, problem + " FlowFromDirectory(..., onBadImage: BadImageAction.Skip) leaves such pictures out with a warning.", e);
            }
            if (_bad.TryAdd(path, 0)) Console.Error.WriteLine($"Warning: skipped an unreadable picture: {e.Message}");
            return false;
        }
        Images.ToFloats(image.Pixels, destination);
        Generator.Augment(destination, TargetSize.Height, TargetSize.Width, image.Channels, key);
        return true;
    }

    /// <summary>Marks the flow in use by one consumer; a second concurrent one is an error.</summary>
    internal void Enter(string operation)
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException($"This DirectoryFlow is already serving another Fit, Evaluate or Predict; {operation} needs a flow of its own (call FlowFromDirectory again).");
    }

    internal void Exit() => Volatile.Write(ref _busy, 0);

    internal void Count(bool waited, long ticks)
    {
        Interlocked.Increment(ref _batches);
        if (!waited) return;
        Interlocked.Increment(ref _waits);
        Interlocked.Add(ref _waitTicks, ticks);
    }
}

/// <summary>
/// A batch a <see cref="BatchPrefetcher"/> loaded: <see cref="Count"/> samples (fewer than asked when pictures were
/// skipped) in <see cref="X"/>, their labels in <see cref="Y"/>, and their positions in the flow in <see cref="Indices"/>.
/// </summary>
internal sealed class LoadedBatch(int capacity, int sampleSize, int labelSize)
{
    public readonly float[] X = new float[(long)capacity * sampleSize];
    public readonly float[] Y = new float[(long)capacity * labelSize];
    public readonly int[] Indices = new int[capacity];
    public readonly int LabelSize = labelSize;
    public int Count;
}

/// <summary>
/// Loads a flow's batches ahead of the consumer: batch g of the run is batch g mod <c>BatchesPerPass</c> of pass
/// g / <c>BatchesPerPass</c>, each pass in its own order (shuffled from (seed, pass) when the flow shuffles). Up to
/// <c>Prefetch</c> batches are loaded at once on the thread pool into recycled buffers (no allocation per batch
/// once they exist). <see cref="Take"/> hands them over in order; an error while loading one is thrown there, for that
/// batch. Dispose waits for the loads in flight.
/// </summary>
internal sealed class BatchPrefetcher : IDisposable
{
    private readonly DirectoryFlow _flow;
    private readonly ulong _seed;
    private readonly bool _shuffle;
    private readonly Queue<Task<LoadedBatch>> _ahead = new();
    private readonly ConcurrentBag<LoadedBatch> _free = new();
    private readonly ConcurrentDictionary<long, int[]> _orders = new();
    private readonly float[]? _labels;
    private long _next;

    /// <param name="flow">The flow.</param>
    /// <param name="seed">The seed of the shuffling and transforms.</param>
    /// <param name="shuffle">Whether passes are shuffled (Predict and Evaluate read in file order).</param>
    /// <param name="firstBatch">The first batch number to load.</param>
    public BatchPrefetcher(DirectoryFlow flow, ulong seed, bool shuffle, long firstBatch = 0)
    {
        _flow = flow;
        _seed = seed;
        _shuffle = shuffle;
        _labels = flow.Labels()?.Data;
        _next = firstBatch;
        for (int i = 0; i < Math.Max(1, flow.Prefetch); i++) Schedule();
    }

    /// <summary>The samples of batch <paramref name="global"/>, in its pass's order.</summary>
    private ReadOnlySpan<int> Positions(long global, out int start)
    {
        int perPass = _flow.BatchesPerPass, n = _flow.Samples;
        long pass = global / perPass;
        start = (int)(global % perPass) * _flow.BatchSize;
        var order = _orders.GetOrAdd(pass, p =>
        {
            var o = new int[n];
            for (int i = 0; i < n; i++) o[i] = i;
            if (_shuffle) ModelShuffle(o, CounterRng.Key(_seed, ulong.MaxValue - 1, (ulong)p));
            return o;
        });
        _orders.TryRemove(pass - 2, out _); // passes before the previous one have no batch left in flight
        return order.AsSpan(start, Math.Min(_flow.BatchSize, n - start));
    }

    private void Schedule()
    {
        long global = _next++;
        _ahead.Enqueue(Task.Run(() => Load(global)));
    }

    private LoadedBatch Load(long global)
    {
        var positions = Positions(global, out int start);
        int perPass = _flow.BatchesPerPass;
        ulong passKey = CounterRng.Key(_seed, ulong.MaxValue - 2, (ulong)(global / perPass));
        if (!_free.TryTake(out var batch)) batch = new LoadedBatch(_flow.BatchSize, _flow.SampleSize, _flow.LabelSize);
        int size = _flow.SampleSize, labelSize = _flow.LabelSize, count = 0;
        try
        {
            for (int i = 0; i < positions.Length; i++)
            {
                int index = positions[i];
                var x = batch.X.AsSpan(count * size, size);
                if (!_flow.Read(index, x, CounterRng.Key(passKey, (ulong)(start + i), 0))) continue;
                if (_flow.ClassMode == ClassMode.Input) x.CopyTo(batch.Y.AsSpan(count * size, size));
                else if (_labels is not null) _labels.AsSpan(index * labelSize, labelSize).CopyTo(batch.Y.AsSpan(count * labelSize, labelSize));
                batch.Indices[count++] = index;
            }
        }
        catch
        {
            _free.Add(batch);
            throw;
        }
        batch.Count = count;
        return batch;
    }

    /// <summary>The next batch (waiting for it if it is still loading); give it back with <see cref="Return"/>.</summary>
    public LoadedBatch Take()
    {
        var task = _ahead.Dequeue();
        Schedule();
        bool waited = !task.IsCompleted;
        long begin = Stopwatch.GetTimestamp();
        try
        {
            return task.GetAwaiter().GetResult();
        }
        finally
        {
            _flow.Count(waited, Stopwatch.GetTimestamp() - begin);
        }
    }

    /// <summary>Recycles a batch's buffers.</summary>
    public void Return(LoadedBatch batch) => _free.Add(batch);

    public void Dispose()
    {
        while (_ahead.Count > 0)
        {
            try
            {
                _ahead.Dequeue().Wait();
            }
            catch (AggregateException)
            {
                // A load that failed after the consumer stopped: nothing asked for that batch.
            }
        }
    }

    /// <summary>Fisher-Yates from counters of <paramref name="key"/> (the same shuffle as the in-memory Fit's).</summary>
    private static void ModelShuffle(Span<int> order, ulong key) => Model.ShuffleOrder(order, key);
}
