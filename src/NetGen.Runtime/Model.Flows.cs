using NetGen.Data;

namespace NetGen;

// Training, evaluation and prediction on pictures streamed from class folders (Keras's fit, evaluate and predict on a
// flow_from_directory iterator): the batches are loaded ahead on the thread pool by a BatchPrefetcher.
public abstract partial class Model
{
    /// <summary>A Fit's directory flows: the training flow's prefetcher, and the validation flow with its steps.</summary>
    private sealed class FlowSource(DirectoryFlow train, DirectoryFlow? validation, int validationSteps, ulong validationSeed)
    {
        public DirectoryFlow Train { get; } = train;
        public DirectoryFlow? Validation { get; } = validation;
        public int ValidationSteps { get; } = validationSteps;
        public ulong ValidationSeed { get; } = validationSeed;
        public BatchPrefetcher? Prefetcher { get; set; }
    }

    /// <summary>
    /// Trains on pictures read from class folders (Keras's <c>fit</c> on <c>flow_from_directory</c>): an epoch is
    /// <paramref name="stepsPerEpoch"/> batches (0: one pass over the folders), passes continue across epochs,
    /// reshuffled at each; batches are decoded and augmented ahead of the training step, in parallel. At each epoch's
    /// end the model is evaluated on <paramref name="validationData"/> (<paramref name="validationSteps"/> batches; 0:
    /// one pass), in file order, with that flow's own generator (give it one that only rescales, as Keras's tutorials do).
    /// </summary>
    /// <exception cref="ArgumentException">The flow's pictures do not fit the network's input (the message says which
    /// targetSize and colorMode would), or its labels do not fit the loss.</exception>
    /// <exception cref="DataFormatException">A picture could not be read and the flow fails on bad pictures; it names the file.</exception>
    public History Fit(DirectoryFlow flow, int epochs = 1, int stepsPerEpoch = 0, DirectoryFlow? validationData = null, int validationSteps = 0,
        int verbose = 1, IEnumerable<Callback>? callbacks = null, int initialEpoch = 0)
    {
        BeginFit(); // before the lock: a second Fit on another thread throws instead of waiting
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                ArgumentNullException.ThrowIfNull(flow);
                RequireCompiled();
                var (x, y) = FlowPrototypes(flow, nameof(flow));
                if (stepsPerEpoch < 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "stepsPerEpoch must be 0 (one pass) or more.");
                ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
                if (validationSteps < 0) throw new ArgumentOutOfRangeException(nameof(validationSteps), validationSteps, "validationSteps must be 0 (one pass) or more.");
                if (validationData is not null)
                {
                    if (ReferenceEquals(validationData, flow))
                        throw new ArgumentException("validationData is the training flow itself; make a second flow (subset: \"validation\", or another folder).", nameof(validationData));
                    FlowPrototypes(validationData, nameof(validationData));
                }
                ulong seed = flow.Seed ?? Seed;
                var source = new FlowSource(flow, validationData, validationSteps, validationData?.Seed ?? Seed);
                flow.Enter(nameof(Fit));
                validationData?.Enter(nameof(Fit) + "'s validation");
                try
                {
                    // The first batch of initialEpoch in the run's numbering (FitCore's: epoch · steps + step).
                    int batch = Math.Min(flow.BatchSize, flow.Samples), steps = stepsPerEpoch > 0 ? stepsPerEpoch : (flow.Samples + batch - 1) / batch;
                    using var prefetcher = new BatchPrefetcher(flow, seed, flow.Shuffle, (long)initialEpoch * steps);
                    source.Prefetcher = prefetcher;
                    return FitCore(x, y, flow.BatchSize, epochs, stepsPerEpoch, flow.Shuffle, seed, augment: null, validationData: null, verbose, callbacks, initialEpoch, source);
                }
                finally
                {
                    flow.Exit();
                    validationData?.Exit();
                }
            }
        }
        finally
        {
            EndFit();
        }
    }

    /// <summary>
    /// Loss and the first compiled metric on pictures read from class folders (Keras's <c>evaluate</c> on a flow):
    /// <paramref name="steps"/> batches (0: every picture once), in file order.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(DirectoryFlow flow, int steps = 0, int verbose = 0)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(flow);
            RequireCompiled();
            var (_, y) = FlowPrototypes(flow, nameof(flow));
            if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be 0 (one pass) or more.");
            ResolveAccuracies(y);
            flow.Enter(nameof(Evaluate));
            try
            {
                var tally = EvaluateFlowCore(flow, steps, flow.Seed ?? Seed);
                var logs = new Dictionary<string, double>(StringComparer.Ordinal);
                tally.Write(logs);
                if (verbose > 0) Console.WriteLine($"{flow.Samples} images" + string.Concat(logs.Select(e => $" - {e.Key}: {Number(e.Value)}")));
                return (tally.Loss, _metrics.Length == 0 ? 0 : tally.Value(0, 0));
            }
            finally
            {
                flow.Exit();
            }
        }
    }

    /// <summary>
    /// The network's outputs for pictures read from class folders (Keras's <c>predict</c> on a flow), one row per
    /// picture in the order of <see cref="DirectoryFlow.Filenames"/> whatever the flow's shuffle; <paramref name="steps"/>
    /// batches (0: every picture). The rows of pictures skipped as unreadable are NaN, so rows and files stay aligned.
    /// </summary>
    public Tensor Predict(DirectoryFlow flow, int steps = 0)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(flow);
            if (Info.Outputs.Count > 1)
                throw new InvalidOperationException($"{Info.Name} has {Info.Outputs.Count} outputs ({OutputNames}); Predict on a flow serves one-output networks.");
            RequireFlowImages(flow, nameof(flow));
            if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be 0 (one pass) or more.");
            EnsureBuilt();
            var output = Info.Outputs[0];
            int size = output.Size, batches = steps == 0 ? flow.BatchesPerPass : Math.Min(steps, flow.BatchesPerPass);
            int rows = Math.Min(flow.Samples, batches * flow.BatchSize);
            var result = Tensor.Zeros([rows, .. output.Shape]);
            var scratch = new float[(long)flow.BatchSize * size];
            EnsureBatchCapacity(Math.Min(flow.BatchSize, flow.Samples));
            flow.Enter(nameof(Predict));
            try
            {
                using var prefetcher = new BatchPrefetcher(flow, flow.Seed ?? Seed, shuffle: false);
                for (int b = 0; b < batches; b++)
                {
                    var loaded = prefetcher.Take();
                    try
                    {
                        int start = b * flow.BatchSize, expected = Math.Min(flow.BatchSize, flow.Samples - start);
                        if (loaded.Count < expected) result.Data.AsSpan(start * size, expected * size).Fill(float.NaN);
                        if (loaded.Count == 0) continue;
                        UploadFlowBatch(loaded, labels: false);
                        InferenceForward(loaded.Count);
                        Backend.Download(Slot(false, output.TrainingSlot, output.InferenceSlot, loaded.Count), scratch.AsSpan(0, loaded.Count * size));
                        for (int i = 0; i < loaded.Count; i++)
                            scratch.AsSpan(i * size, size).CopyTo(result.Data.AsSpan(loaded.Indices[i] * size, size));
                    }
                    finally
                    {
                        prefetcher.Return(loaded);
                    }
                }
            }
            finally
            {
                flow.Exit();
            }
            return result;
        }
    }

    /// <summary>One pass (or <paramref name="steps"/> batches) of a flow in file order, in inference mode.</summary>
    private Tally EvaluateFlowCore(DirectoryFlow flow, int steps, ulong seed)
    {
        int batches = steps == 0 ? flow.BatchesPerPass : steps;
        EnsureBatchCapacity(Math.Min(flow.BatchSize, flow.Samples));
        var tally = new Tally(this);
        var outputLosses = new float[Info.Outputs.Count];
        using var prefetcher = new BatchPrefetcher(flow, seed, shuffle: false);
        for (int b = 0; b < batches; b++)
        {
            int batch = LoadFlowBatch(prefetcher);
            if (batch > 0) EvaluateBatch(tally, batch, outputLosses);
        }
        return tally;
    }

    /// <summary>Takes the prefetcher's next batch into the workspace; returns its samples (0: all were skipped).</summary>
    private int LoadFlowBatch(BatchPrefetcher prefetcher)
    {
        var loaded = prefetcher.Take();
        try
        {
            if (loaded.Count > 0) UploadFlowBatch(loaded, labels: true);
            return loaded.Count;
        }
        finally
        {
            prefetcher.Return(loaded);
        }
    }

    /// <summary>Uploads a loaded batch's pictures to the network's input, and its labels when <paramref name="labels"/>.</summary>
    private void UploadFlowBatch(LoadedBatch loaded, bool labels)
    {
        int batch = loaded.Count;
        // The network's own input is at slot 0 in both arenas (as LoadBatch).
        Backend.Upload(loaded.X.AsSpan(0, batch * Info.Inputs[0].Size), Train(0, batch));
        if (labels && loaded.LabelSize > 0) Backend.Upload(loaded.Y.AsSpan(0, batch * loaded.LabelSize), LabelsOf(0));
    }

    /// <summary>Checks a flow's pictures against the network's input, with the flow's arguments that would fit.</summary>
    private void RequireFlowImages(DirectoryFlow flow, string argument)
    {
        if (Info.Inputs.Count > 1)
            throw new ArgumentException($"{Info.Name} has {Info.Inputs.Count} inputs; a directory flow feeds networks with one image input.", argument);
        var shape = Info.InputShape;
        var image = flow.ImageShape;
        if (shape.Count == 3 && shape[0] == image[0] && shape[1] == image[1] && shape[2] == image[2]) return;
        if (shape.Count != 3)
            throw new ArgumentException($"{Info.Name} takes {KerasShape(shape)}, not pictures; a directory flow feeds networks on (height, width, channels) images.", argument);
        string mode = shape[2] switch { 1 => "ColorMode.Grayscale", 3 => "ColorMode.Rgb", 4 => "ColorMode.Rgba", _ => $"a colour mode with {shape[2]} channels (none has)" };
        throw new ArgumentException($"The flow gives {KerasShape(image)} pictures but {Info.Name} takes {KerasShape(shape)}; use targetSize: ({shape[0]}, {shape[1]}) and colorMode: {mode} in FlowFromDirectory.", argument);
    }

    /// <summary>One-sample input and label tensors of a flow's shapes, for the label checks and the accuracy kind.</summary>
    private (Tensor[] X, Tensor[] Y) FlowPrototypes(DirectoryFlow flow, string argument)
    {
        RequireFlowImages(flow, argument);
        if (Info.Outputs.Count > 1)
            throw new ArgumentException($"{Info.Name} has {Info.Outputs.Count} outputs ({OutputNames}); a directory flow labels one output.", argument);
        Tensor[] x = [Tensor.Zeros([1, .. flow.ImageShape])];
        Tensor label = flow.ClassMode switch
        {
            ClassMode.None => throw new ArgumentException("The flow has ClassMode.None: no labels, so it can only be predicted on; use ClassMode.Categorical, Binary, Sparse or Input to train or evaluate.", argument),
            ClassMode.Input => Tensor.Zeros([1, .. flow.ImageShape]),
            _ => flow.Labels()!.Slice(0, 1),
        };
        Tensor[] y = [label];
        CheckLabels(x, y, argument + " labels (" + flow.ClassMode + ")");
        return (x, y);
    }
}
