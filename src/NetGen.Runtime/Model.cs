using System.Diagnostics;
using System.Globalization;
using NetGen.Backends;
using NetGen.Data;

namespace NetGen;

/// <summary>
/// The base of every generated network: owns the workspace (parameters, gradients, optimizer state, labels,
/// activation arena) and the Keras-style training API. The generated partial class supplies the shapes, the
/// memory plan and the forward and backward passes.
/// </summary>
public abstract partial class Model : IDisposable
{
    private const int Align = 16; // floats: 64 bytes

    private IBackend? _backend;
    private bool _built;
    private Optimizer? _optimizer;
    private Loss _loss;
    private Metric[] _metrics = [];
    private Metric _accuracy; // the resolved accuracy kind
    private bool _hasAccuracy;
    private long _iteration;
    private long _weightsVersion;
    private int _capacity;
    private int _stateOffset, _labelsOffset, _arenaOffset, _gradientBuffersOffset;
    private float[] _inputStaging = [];
    private float[] _labelStaging = [];
    private int[] _order = [];
    private int[] _passOrder = []; // Fit's shuffled order of the current pass over the data
    private int _epoch, _batchIndex;

    /// <summary>Generated: shapes, plan and summary of this network.</summary>
    protected abstract ModelInfo Info { get; }

    /// <summary>Generated: fills the flat parameter buffer with each layer's initializer.</summary>
    protected abstract void InitializeParameters(Span<float> p, ulong seed);

    /// <summary>Generated: the forward pass of a batch already in the input slot.</summary>
    protected abstract void Forward(int batch, bool training);

    /// <summary>Generated: the backward pass from the output gradient in gradient buffer 0.</summary>
    protected abstract void Backward(int batch, bool fromLogits);

    /// <summary>Generated: forward, loss, backward and optimizer update of one batch; returns the batch loss.</summary>
    protected abstract float TrainStep(int batch);

    /// <summary>Seed of initialisation, dropout masks and shuffling; a run is reproducible from it.</summary>
    public ulong Seed { get; init; } = 1234;

    /// <summary>The backend that runs the kernels: CUDA, then OpenCL, then the managed CPU backend (<c>NETGEN_BACKEND=cpu|cuda|opencl|ilgpu-cpu</c> overrides), unless <see cref="UseBackend"/> chose one.</summary>
    public IBackend Backend => _backend ??= BackendSelector.Default();

    /// <summary>Runs this model on <paramref name="backend"/>; call before the first use of the model.</summary>
    public void UseBackend(IBackend backend)
    {
        if (_built) throw new InvalidOperationException("Choose the backend before the model is compiled or used.");
        _backend = backend;
    }

    /// <summary>The model's name.</summary>
    public string Name => Info.Name;

    /// <summary>Shape of one input sample.</summary>
    public IReadOnlyList<int> InputShape => Info.InputShape;

    /// <summary>Shape of one output sample.</summary>
    public IReadOnlyList<int> OutputShape => Info.OutputShape;

    /// <summary>Number of parameters.</summary>
    public int CountParams() => Info.ParameterCount;

    /// <summary>The memory plan of this network.</summary>
    public MemoryPlan Memory => Info.Plan;

    /// <summary>Optimizer steps taken so far (Keras's <c>optimizer.iterations</c>).</summary>
    public long Iterations => _iteration;

    /// <summary>Keras's <c>model.summary()</c> table.</summary>
    public string Summary() => SummaryWithCurrentTrainable();

    // ---- Workspace, used by the generated code --------------------------------------------------------------

    /// <summary>Offset of the flat parameter buffer in the workspace.</summary>
    protected int ParametersOffset => 0;

    /// <summary>Offset of the flat gradient buffer (same layout as the parameters).</summary>
    protected int GradientsOffset => AlignUp(Info.ParameterBufferSize);

    /// <summary>Workspace offset of a training arena slot (floats per sample) for a batch size.</summary>
    protected int Train(int slot, int batch) => _arenaOffset + slot * batch;

    /// <summary>Workspace offset of a slot in the training or the inference plan.</summary>
    protected int Slot(bool training, int trainingSlot, int inferenceSlot, int batch) =>
        _arenaOffset + (training || Inspecting ? trainingSlot : inferenceSlot) * batch;

    /// <summary>Workspace offset of a gradient buffer (0 holds the loss's gradient) for a batch size.</summary>
    protected int GradientBuffer(int which, int batch) => _gradientBuffersOffset + which * Info.GradientBufferPerSample * batch;

    /// <summary>The counter-RNG key of a dropout layer at the current step.</summary>
    protected ulong DropoutKey(int layer) => CounterRng.Key(Seed, (ulong)layer, (ulong)_iteration);

    /// <summary>Whether the loss reads the output layer's logits (softmax or sigmoid fused with a cross-entropy).</summary>
    protected bool LossUsesLogits => Info.LogitsSlot >= 0 &&
        ((_loss is Loss.CategoricalCrossEntropy or Loss.SparseCategoricalCrossEntropy && Info.OutputActivation == ActivationFunction.Softmax) ||
         (_loss == Loss.BinaryCrossEntropy && Info.OutputActivation == ActivationFunction.Sigmoid));

    private int LastAxis => Info.OutputShape[^1];
    private int RowsPerSample => Info.OutputSize / LastAxis;

    /// <summary>Computes the loss of the batch in the workspace and writes its gradient into gradient buffer 0.</summary>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite; nothing has been updated.</exception>
    protected float LossAndGradient(int batch)
    {
        int rows = batch * RowsPerSample;
        bool logits = LossUsesLogits;
        int prediction = Train(logits ? Info.LogitsSlot : Info.OutputTrainingSlot, batch);
        double sum = Backend.Loss(_loss, logits ? LossInput.Logits : LossInput.Probabilities, rows, LastAxis,
            prediction, _labelsOffset, GradientBuffer(0, batch), 1f / rows);
        float loss = (float)(sum / rows);
        if (!float.IsFinite(loss))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"The loss became {loss} at epoch {_epoch + 1}, batch {_batchIndex + 1} (iteration {_iteration}); the weights are unchanged from before this batch. Lower the learning rate, check the inputs for NaN or huge values, or normalise them (e.g. x / 255f)."));
        return loss;
    }

    /// <summary>
    /// Changes whenever the parameters or the moving statistics may have changed (initialisation, <see cref="SetWeights"/>,
    /// a training forward pass); generated code compares it to refresh what it derives from them (folded batch norms).
    /// </summary>
    protected long WeightsVersion => _weightsVersion;

    /// <summary>Records that the parameters or moving statistics changed; see <see cref="WeightsVersion"/>.</summary>
    protected void MarkWeightsChanged() => _weightsVersion++;

    /// <summary>Applies the compiled optimizer to the gradients and advances the iteration counter.</summary>
    protected void ApplyOptimizer()
    {
        var update = _optimizer!.UpdateFor(_iteration);
        var ranges = OptimizerRanges();
        if (ranges is null)
            Backend.OptimizerStep(update, ParametersOffset, GradientsOffset, _stateOffset, Info.TrainableParameterCount);
        else // some layers are frozen: only the weights of the others, with the whole block's slot layout
            foreach (var (start, count) in ranges)
                Backend.OptimizerStep(update, ParametersOffset + start, GradientsOffset + start, _stateOffset + start, count,
                    AlignUp(Info.TrainableParameterCount));
        MarkWeightsChanged();
        _iteration++;
    }

    // ---- Building -------------------------------------------------------------------------------------------

    private static int AlignUp(int n) => (n + Align - 1) / Align * Align;

    private static long AlignUp(long n) => (n + Align - 1) / Align * Align;

    private void EnsureBuilt()
    {
        if (_built) return;
        // Layout: [parameters (trainable first) + scratch][gradients][optimizer state][labels][arena][gradient buffers].
        // The gradients' tail after the trainable ones keeps a copy of the moving statistics during a training step.
        int p = Info.ParameterCount;
        _stateOffset = GradientsOffset + AlignUp(p);
        _labelsOffset = _stateOffset;
        Backend.EnsureCapacity(_stateOffset, 0);
        var init = new float[Info.ParameterBufferSize];
        InitializeParameters(init, Seed);
        Backend.Upload(init, ParametersOffset);
        Backend.Fill(GradientsOffset, p, 0f);
        MarkWeightsChanged();
        _built = true;
        ApplyDeclaredTrainable();
    }

    private void EnsureBatchCapacity(int batch)
    {
        if (batch <= _capacity) return;
        var info = Info;
        // Inference (Evaluate, Predict, validation) needs no gradients, so its arena overlays the training arena and the
        // gradient buffers (it is 2 × the largest layer, never more than both together): the workspace is what
        // Memory.TrainingBytes promises. Offsets are computed in long so that a huge batch cannot wrap around.
        long arena = AlignUp((long)_labelsOffset + (long)batch * info.OutputSize);
        long gradientBuffers = AlignUp(arena + (long)info.TrainingArenaPerSample * batch);
        long total = Math.Max(gradientBuffers + (long)info.GradientBufferCount * info.GradientBufferPerSample * batch,
            arena + (long)Math.Max(info.InferenceArenaPerSample, info.InspectionArenaPerSample) * batch);
        if (total > int.MaxValue)
            throw new InvalidOperationException($"Batch size {batch} needs {total:N0} floats of workspace, more than one buffer can hold; use a smaller batch (Memory.MaxBatchSize tells the largest that fits a budget).");
        _arenaOffset = (int)arena;
        _gradientBuffersOffset = (int)gradientBuffers;
        Backend.EnsureCapacity(total, _labelsOffset);
        _inputStaging = new float[batch * info.InputSize];
        _labelStaging = new float[batch * info.OutputSize];
        _capacity = batch;
    }

    /// <summary>Chooses the optimizer, the loss and the metrics; resets the optimizer state. Keras's <c>compile</c>.</summary>
    public void Compile(Optimizer optimizer, Loss loss, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        EnsureBuilt();
        _optimizer = optimizer;
        _loss = loss;
        _metrics = metrics ?? [];
        _hasAccuracy = _metrics.Length > 0;
        int p = Info.TrainableParameterCount; // the optimizer's stride: CpuBackend.OptimizerStep aligns slots alike
        int slots = optimizer.StateSlots;
        _labelsOffset = _stateOffset + slots * AlignUp(p);
        _capacity = 0;
        Backend.EnsureCapacity(_labelsOffset, _stateOffset);
        if (slots > 0) Backend.Fill(_stateOffset, slots * AlignUp(p), optimizer.InitialState);
        _iteration = 0;
    }

    // ---- Data checks ----------------------------------------------------------------------------------------

    private void CheckInput(Tensor x, string argument)
    {
        ArgumentNullException.ThrowIfNull(x, argument);
        var expected = Info.InputShape;
        bool ok = x.Rank == expected.Count + 1;
        for (int i = 0; ok && i < expected.Count; i++) ok = x.Shape[i + 1] == expected[i];
        if (!ok)
            throw new ArgumentException(
                $"{argument} has shape {x.ShapeString} but {Info.Name} expects {KerasShape(expected)}" +
                (x.SampleSize == Info.InputSize ? $"; reshape it with {argument}.Reshape(-1, {string.Join(", ", expected)})" : "") + ".", argument);
    }

    private Metric ResolveAccuracy(Tensor y)
    {
        if (LastAxis == 1) return Metric.BinaryAccuracy;
        return y.SampleSize == RowsPerSample ? Metric.SparseCategoricalAccuracy : Metric.CategoricalAccuracy;
    }

    private void CheckLabels(Tensor x, Tensor y, string argument)
    {
        ArgumentNullException.ThrowIfNull(y, argument);
        if (y.Count != x.Count)
            throw new ArgumentException($"{argument} has {y.Count} samples but the inputs have {x.Count}; they must match.", argument);
        bool sparse = _loss == Loss.SparseCategoricalCrossEntropy;
        int expected = sparse ? RowsPerSample : Info.OutputSize;
        if (y.SampleSize != expected)
        {
            string want = sparse ? KerasShape(RowsPerSample == 1 ? [] : Info.OutputShape.Take(Info.OutputShape.Count - 1).ToArray()) + " class indices"
                : KerasShape(Info.OutputShape);
            string hint = !sparse && y.SampleSize == RowsPerSample && _loss == Loss.CategoricalCrossEntropy
                ? $"; these look like class indices: use Loss.SparseCategoricalCrossEntropy, or one-hot them with Utils.ToCategorical({argument}, {LastAxis})"
                : sparse && y.SampleSize == Info.OutputSize ? "; these look one-hot: use Loss.CategoricalCrossEntropy" : "";
            throw new ArgumentException($"{argument} has shape {y.ShapeString} but {Info.Name} with {_loss} expects labels of shape {want}{hint}.", argument);
        }
    }

    private static string KerasShape(IReadOnlyList<int> shape) => "(None" + string.Concat(shape.Select(d => ", " + d.ToString(CultureInfo.InvariantCulture))) + ")";

    private void RequireCompiled()
    {
        if (_optimizer is null) throw new InvalidOperationException("Call Compile(optimizer, loss, metrics) before training or evaluating.");
    }

    private void LoadBatch(Tensor x, Tensor? y, ReadOnlySpan<int> indices, int batch, ImageDataGenerator? augment = null, ulong passKey = 0, int position = 0)
    {
        int inSize = Info.InputSize;
        var xs = x.Data.AsSpan();
        for (int i = 0; i < batch; i++)
            xs.Slice(indices[i] * inSize, inSize).CopyTo(_inputStaging.AsSpan(i * inSize, inSize));
        if (augment is not null)
        {
            // Each sample's transform is drawn from counters of (seed, pass, its position in the pass).
            var shape = Info.InputShape;
            for (int i = 0; i < batch; i++)
                augment.Augment(_inputStaging.AsSpan(i * inSize, inSize), shape[0], shape[1], shape[2],
                    CounterRng.Key(passKey, (ulong)(position + i), 0));
        }
        Backend.Upload(_inputStaging.AsSpan(0, batch * inSize), Train(0, batch));
        if (y is null) return;
        int ySize = y.SampleSize;
        var ys = y.Data.AsSpan();
        for (int i = 0; i < batch; i++)
            ys.Slice(indices[i] * ySize, ySize).CopyTo(_labelStaging.AsSpan(i * ySize, ySize));
        Backend.Upload(_labelStaging.AsSpan(0, batch * ySize), _labelsOffset);
    }

    private void EnsureOrder(int n)
    {
        if (_order.Length < n) _order = new int[n];
        for (int i = 0; i < n; i++) _order[i] = i;
    }

    // ---- Keras API ------------------------------------------------------------------------------------------

    /// <summary>
    /// Trains on one batch (Keras's <c>train_on_batch</c>) and returns its loss. After the first call with a given
    /// batch size it allocates nothing.
    /// </summary>
    public float TrainOnBatch(Tensor x, Tensor y)
    {
        RequireCompiled();
        CheckInput(x, nameof(x));
        CheckLabels(x, y, nameof(y));
        int batch = x.Count;
        EnsureBatchCapacity(batch);
        if (_order.Length < batch) EnsureOrder(batch);
        else for (int i = 0; i < batch; i++) _order[i] = i;
        LoadBatch(x, y, _order, batch);
        return GuardedTrainStep(batch);
    }

    /// <summary>
    /// One training step that changes nothing when the loss is not finite. The training forward pass updates the
    /// batch norms' moving statistics before the loss is known, so they are copied aside first and put back if the
    /// step throws <see cref="TrainingDivergedException"/>.
    /// </summary>
    private float GuardedTrainStep(int batch)
    {
        SaveMovingStatistics();
        try
        {
            return TrainStep(batch);
        }
        catch (TrainingDivergedException)
        {
            RestoreMovingStatistics();
            throw;
        }
    }

    // The non-trainable parameters (moving statistics) follow the trainable ones; their part of the gradient buffer
    // holds no gradients, so it keeps their copy.
    private void SaveMovingStatistics()
    {
        int trainable = Info.TrainableParameterCount, count = Info.ParameterCount - trainable;
        if (count > 0) Backend.Copy(ParametersOffset + trainable, GradientsOffset + trainable, count);
    }

    private void RestoreMovingStatistics()
    {
        int trainable = Info.TrainableParameterCount, count = Info.ParameterCount - trainable;
        if (count <= 0) return;
        Backend.Copy(GradientsOffset + trainable, ParametersOffset + trainable, count);
        MarkWeightsChanged();
    }

    /// <summary>The compiled optimizer (null before <see cref="Compile"/>); callbacks change its learning rate.</summary>
    public Optimizer? Optimizer => _optimizer;

    /// <summary>Set (by a callback) to end <c>Fit</c> after the current batch, as Keras's <c>model.stop_training</c>.</summary>
    public bool StopTraining { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs, as Keras's <c>fit</c>: prints one line per epoch (verbose 1 with a
    /// progress bar on a terminal, 2 without), evaluates on validation data at each epoch end, runs the
    /// <paramref name="callbacks"/> in order and returns the history of loss, metrics and what the callbacks logged.
    /// </summary>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, (Tensor X, Tensor Y)? validationData = null,
        float validationSplit = 0f, bool shuffle = true, int verbose = 1, IEnumerable<Callback>? callbacks = null)
    {
        RequireCompiled();
        CheckInput(x, nameof(x));
        CheckLabels(x, y, nameof(y));
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must be in [0, 1).");
        if (validationData is null && validationSplit > 0)
        {
            // Keras takes the last fraction of the data, before any shuffling.
            int train = (int)(x.Count * (1 - validationSplit));
            validationData = (x.Slice(train, x.Count - train), y.Slice(train, y.Count - train));
            x = x.Slice(0, train);
            y = y.Slice(0, train);
        }
        if (validationData is { } v)
        {
            CheckInput(v.X, "validationData.X");
            CheckLabels(v.X, v.Y, "validationData.Y");
        }
        return FitCore(x, y, batchSize, epochs, stepsPerEpoch: 0, shuffle, Seed, augment: null, validationData, verbose, callbacks);
    }

    /// <summary>
    /// Trains on batches drawn through an <see cref="ImageDataGenerator"/>, as Keras's <c>fit</c> on
    /// <c>generator.flow(x, y)</c> (<c>fit_generator</c>): each sample is transformed and standardised as its batch is
    /// loaded; an epoch is <paramref name="stepsPerEpoch"/> batches (0: one pass over the data), and passes continue
    /// across epochs, reshuffled at each. Validation data is used as given (see <see cref="ImageDataGenerator.Standardize(Tensor)"/>).
    /// </summary>
    public History Fit(DataFlow flow, int epochs = 1, int stepsPerEpoch = 0, (Tensor X, Tensor Y)? validationData = null, int verbose = 1,
        IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(flow);
        RequireCompiled();
        if (Info.InputShape.Count != 3)
            throw new ArgumentException($"An ImageDataGenerator flow needs a network on (height, width, channels) images; {Info.Name} takes {KerasShape(Info.InputShape)}.", nameof(flow));
        CheckInput(flow.X, "flow.X");
        CheckLabels(flow.X, flow.Y, "flow.Y");
        if (stepsPerEpoch < 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "stepsPerEpoch must be 0 (one pass) or more.");
        if (validationData is { } v)
        {
            CheckInput(v.X, "validationData.X");
            CheckLabels(v.X, v.Y, "validationData.Y");
        }
        return FitCore(flow.X, flow.Y, flow.BatchSize, epochs, stepsPerEpoch, flow.Shuffle, flow.Seed ?? Seed, flow.Generator, validationData, verbose, callbacks);
    }

    /// <summary>
    /// The training loop of both Fit overloads: <paramref name="stepsPerEpoch"/> batches an epoch (0: one pass), passes
    /// over the data reshuffled each with <paramref name="seed"/>, samples augmented by <paramref name="augment"/> if any.
    /// </summary>
    private History FitCore(Tensor x, Tensor y, int batchSize, int epochs, int stepsPerEpoch, bool shuffle, ulong seed,
        ImageDataGenerator? augment, (Tensor X, Tensor Y)? validationData, int verbose, IEnumerable<Callback>? callbacks)
    {
        _hasAccuracy = _metrics.Length > 0;
        _accuracy = _metrics.Length > 0 && _metrics[0] == Metric.Accuracy ? ResolveAccuracy(y) : (_metrics.Length > 0 ? _metrics[0] : default);

        int n = x.Count;
        int perPass = (n + batchSize - 1) / batchSize;
        int steps = stepsPerEpoch > 0 ? stepsPerEpoch : perPass;
        long orderPass = -1;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        var history = new History();
        bool live = verbose == 1 && !Console.IsOutputRedirected;
        Callback[] hooks = callbacks is null ? [] : [.. callbacks];
        foreach (var hook in hooks) ArgumentNullException.ThrowIfNull(hook, nameof(callbacks));
        var terminateOnNaN = hooks.OfType<TerminateOnNaN>().FirstOrDefault();
        var batchLogs = new Dictionary<string, double>(StringComparer.Ordinal); // reused: no allocation per batch
        StopTraining = false;
        try
        {
            foreach (var hook in hooks)
            {
                hook.Model = this;
                hook.OnTrainBegin();
            }
            for (int epoch = 0; epoch < epochs && !StopTraining; epoch++)
            {
                _epoch = epoch;
                foreach (var hook in hooks) hook.OnEpochBegin(epoch);
                if (verbose > 0) Console.WriteLine($"Epoch {epoch + 1}/{epochs}");
                double lossSum = 0;
                long correct = 0, seen = 0, rowsSeen = 0;
                int ran = 0;
                var clock = Stopwatch.StartNew();
                long lastPrint = 0;
                for (int step = 0; step < steps; step++)
                {
                    _batchIndex = step;
                    // Batch `step` of this epoch is batch `within` of pass `pass` over the data (one pass an epoch unless
                    // stepsPerEpoch says otherwise); each pass is reshuffled.
                    long global = (long)epoch * steps + step, pass = global / perPass;
                    int within = (int)(global % perPass), start = within * batchSize, batch = Math.Min(batchSize, n - start);
                    if (pass != orderPass)
                    {
                        // Its own index buffer: validation, Predict or TrainOnBatch in a callback reuse _order.
                        if (_passOrder.Length < n) _passOrder = new int[n];
                        for (int i = 0; i < n; i++) _passOrder[i] = i;
                        if (shuffle) Shuffle(_passOrder.AsSpan(0, n), CounterRng.Key(seed, ulong.MaxValue - 1, (ulong)pass));
                        orderPass = pass;
                    }
                    LoadBatch(x, y, _passOrder.AsSpan(start, batch), batch, augment, CounterRng.Key(seed, ulong.MaxValue - 2, (ulong)pass), start);
                    float loss;
                    try
                    {
                        loss = GuardedTrainStep(batch);
                    }
                    catch (TrainingDivergedException) when (terminateOnNaN is not null)
                    {
                        terminateOnNaN.Terminate(step); // the weights are still those from before this batch
                        lossSum = double.NaN;           // as Keras, whose running mean has taken the NaN in
                        break;
                    }
                    ran++;
                    lossSum += (double)loss * batch;
                    seen += batch;
                    if (_hasAccuracy)
                    {
                        correct += Backend.CountCorrect(_accuracy, batch * RowsPerSample, LastAxis, Train(Info.OutputTrainingSlot, batch), _labelsOffset);
                        rowsSeen += batch * RowsPerSample;
                    }
                    if (live && (clock.ElapsedMilliseconds - lastPrint > 200 || step == steps - 1))
                    {
                        lastPrint = clock.ElapsedMilliseconds;
                        Console.Write("\r" + ProgressLine(step + 1, steps, clock.Elapsed, lossSum / seen, rowsSeen == 0 ? 0 : (double)correct / rowsSeen, final: false));
                    }
                    if (hooks.Length > 0)
                    {
                        batchLogs["loss"] = lossSum / seen;
                        if (_hasAccuracy) batchLogs[MetricName] = rowsSeen == 0 ? 0 : (double)correct / rowsSeen;
                        foreach (var hook in hooks) hook.OnBatchEnd(step, batchLogs);
                        if (StopTraining) break;
                    }
                }
                double epochLoss = lossSum / seen;
                double epochAccuracy = rowsSeen == 0 ? 0 : (double)correct / rowsSeen;
                var logs = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = epochLoss };
                if (_hasAccuracy) logs[MetricName] = epochAccuracy;
                if (validationData is { } val)
                {
                    var (valLoss, valAccuracy) = EvaluateCore(val.X, val.Y, batchSize);
                    logs["val_loss"] = valLoss;
                    if (_hasAccuracy) logs["val_" + MetricName] = valAccuracy;
                }
                // As Keras, whose progress bar and History come after the user's callbacks: the callbacks first, then
                // the epoch's line (with what they logged, e.g. "- lr: 0.0010") and the history.
                foreach (var hook in hooks) hook.OnEpochEnd(epoch, logs);
                if (verbose > 0)
                {
                    string line = ProgressLine(Math.Max(ran, 1), steps, clock.Elapsed, epochLoss, epochAccuracy, final: true);
                    foreach (var (name, value) in logs)
                        if (name != "loss" && name != MetricName)
                            // A learning rate is a float32 in Keras: 0.001f shows as 0.0010 (it is above 1e-3), not 1.0000e-03.
                            line += $" - {name}: " + Number(name == "lr" ? (double)(float)value : value);
                    Console.WriteLine((live ? "\r" : "") + line);
                }
                foreach (var (name, value) in logs) history.Add(name, value);
            }
        }
        catch
        {
            foreach (var hook in hooks) hook.OnTrainAborted();
            throw;
        }
        foreach (var hook in hooks) hook.OnTrainEnd();
        return history;
    }

    private string MetricName => _metrics.Length > 0 && _metrics[0] == Metric.Accuracy ? "accuracy" : _accuracy switch
    {
        Metric.CategoricalAccuracy => "categorical_accuracy",
        Metric.SparseCategoricalAccuracy => "sparse_categorical_accuracy",
        Metric.BinaryAccuracy => "binary_accuracy",
        _ => "accuracy",
    };

    private string ProgressLine(int step, int steps, TimeSpan elapsed, double loss, double accuracy, bool final)
    {
        string count = $"{step}/{steps}".PadLeft(2 * steps.ToString(CultureInfo.InvariantCulture).Length + 1);
        int filled = (int)(30.0 * step / steps);
        string bar = step == steps ? new string('=', 30) : new string('=', Math.Max(0, filled - 1)) + ">" + new string('.', 30 - filled);
        double msPerStep = elapsed.TotalMilliseconds / Math.Max(1, step);
        string time = final ? $"{(int)Math.Round(elapsed.TotalSeconds)}s {Math.Round(msPerStep)}ms/step"
            : $"ETA: {TimeSpan.FromMilliseconds(msPerStep * (steps - step)):m\\:ss}";
        string text = $"{count} [{bar}] - {time} - loss: {Number(loss)}";
        if (_hasAccuracy) text += $" - {MetricName}: {Number(accuracy)}";
        return text;
    }

    /// <summary>Keras's progress-bar number format: 4 decimals, or scientific below 1e-3.</summary>
    private static string Number(double v) =>
        Math.Abs(v) > 1e-3 || v == 0 ? v.ToString("0.0000", CultureInfo.InvariantCulture) : v.ToString("0.0000e+00", CultureInfo.InvariantCulture);

    /// <summary>Loss and accuracy on data, in inference mode (Keras's <c>evaluate</c>).</summary>
    public (double Loss, double Accuracy) Evaluate(Tensor x, Tensor y, int batchSize = 32, int verbose = 0)
    {
        RequireCompiled();
        CheckInput(x, nameof(x));
        CheckLabels(x, y, nameof(y));
        if (_metrics.Length > 0 && _metrics[0] == Metric.Accuracy) _accuracy = ResolveAccuracy(y);
        else if (_metrics.Length > 0) _accuracy = _metrics[0];
        var result = EvaluateCore(x, y, batchSize);
        if (verbose > 0)
            Console.WriteLine($"{x.Count} samples - loss: {Number(result.Loss)}" + (_hasAccuracy ? $" - {MetricName}: {Number(result.Accuracy)}" : ""));
        return result;
    }

    private (double Loss, double Accuracy) EvaluateCore(Tensor x, Tensor y, int batchSize)
    {
        int n = x.Count;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        EnsureOrder(n);
        double lossSum = 0;
        long correct = 0, rows = 0;
        for (int start = 0; start < n; start += batchSize)
        {
            int batch = Math.Min(batchSize, n - start);
            LoadBatch(x, y, _order.AsSpan(start, batch), batch);
            Forward(batch, training: false);
            int r = batch * RowsPerSample;
            int output = Slot(false, Info.OutputTrainingSlot, Info.OutputInferenceSlot, batch);
            bool logits = LossUsesLogits; // as Keras's compiled evaluate: the loss from the logits, unclipped
            int prediction = logits ? Slot(false, Info.LogitsSlot, Info.LogitsInferenceSlot, batch) : output;
            lossSum += Backend.Loss(_loss, logits ? LossInput.Logits : LossInput.Probabilities, r, LastAxis, prediction, _labelsOffset, -1, 1f / r);
            if (_hasAccuracy) correct += Backend.CountCorrect(_accuracy, r, LastAxis, output, _labelsOffset);
            rows += r;
        }
        return (lossSum / rows, rows == 0 ? 0 : (double)correct / rows);
    }

    /// <summary>The network's outputs for <paramref name="x"/>, in inference mode (Keras's <c>predict</c>).</summary>
    public Tensor Predict(Tensor x, int batchSize = 32)
    {
        CheckInput(x, nameof(x));
        EnsureBuilt();
        int n = x.Count;
        var shape = new int[Info.OutputShape.Count + 1];
        shape[0] = n;
        for (int i = 0; i < Info.OutputShape.Count; i++) shape[i + 1] = Info.OutputShape[i];
        var result = Tensor.Zeros(shape);
        if (n == 0) return result;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        EnsureOrder(n);
        int outSize = Info.OutputSize;
        for (int start = 0; start < n; start += batchSize)
        {
            int batch = Math.Min(batchSize, n - start);
            LoadBatch(x, null, _order.AsSpan(start, batch), batch);
            Forward(batch, training: false);
            Backend.Download(Slot(false, Info.OutputTrainingSlot, Info.OutputInferenceSlot, batch),
                result.Data.AsSpan(start * outSize, batch * outSize));
        }
        return result;
    }

    /// <summary>A copy of all parameters, in the flat layout of the generated offsets (Keras kernels are [in, units]).</summary>
    public float[] GetWeights()
    {
        EnsureBuilt();
        var w = new float[Info.ParameterCount];
        Backend.Download(ParametersOffset, w);
        return w;
    }

    /// <summary>Replaces all parameters.</summary>
    public void SetWeights(ReadOnlySpan<float> weights)
    {
        EnsureBuilt();
        if (weights.Length != Info.ParameterCount)
            throw new ArgumentException($"Got {weights.Length} weights but {Info.Name} has {Info.ParameterCount} parameters.", nameof(weights));
        Backend.Upload(weights, ParametersOffset);
        MarkWeightsChanged();
    }

    /// <summary>
    /// Writes every parameter (moving statistics included) to <paramref name="path"/>, as Keras's <c>save_weights</c>,
    /// in NetGen's checksummed format; an existing file is replaced only once the new one is complete.
    /// </summary>
    public void SaveWeights(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        WeightsFile.Write(path, Info.Name, Info.WeightShapes, Info.TrainableParameterCount, GetWeights(), Info.Layers);
    }

    /// <summary>
    /// Loads parameters written by <see cref="SaveWeights"/> from a network whose layers have the same weight shapes
    /// (names may differ), as Keras's <c>load_weights</c>. A missing, corrupt or mismatched file is an error naming the
    /// path, and leaves the weights as they were.
    /// </summary>
    public void LoadWeights(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (name, shapes, trainable, weights, _) = WeightsFile.Read(path);
        if (shapes != Info.WeightShapes || weights.Length != Info.ParameterCount || trainable != Info.TrainableParameterCount)
        {
            string[] theirs = shapes.Split("; "), ours = Info.WeightShapes.Split("; ");
            int i = 0;
            while (i < theirs.Length && i < ours.Length && theirs[i] == ours[i]) i++;
            string where = i < theirs.Length && i < ours.Length
                ? $"layer with weights #{i + 1} is {theirs[i]} there but {ours[i]} here"
                : $"it has {theirs.Length} layers with weights, {Info.Name} has {ours.Length}";
            throw new InvalidDataException(
                $"The weights file '{Path.GetFullPath(path)}' holds the weights of '{name}' ({weights.Length:N0} parameters), which do not fit '{Info.Name}' ({Info.ParameterCount:N0} parameters): {where}.");
        }
        SetWeights(weights);
    }

    /// <summary>
    /// The loss of a batch in training mode and the gradient of every parameter (0 for the non-trainable ones), without
    /// updating anything: the moving statistics the training forward pass moves are put back (dropout masks are
    /// those of the current iteration). For gradient checks and custom loops.
    /// </summary>
    public (float Loss, float[] Gradients) ComputeGradients(Tensor x, Tensor y)
    {
        RequireCompiled();
        CheckInput(x, nameof(x));
        CheckLabels(x, y, nameof(y));
        int batch = x.Count;
        EnsureBatchCapacity(batch);
        EnsureOrder(batch);
        LoadBatch(x, y, _order, batch);
        SaveMovingStatistics();
        float loss;
        try
        {
            Forward(batch, training: true);
            loss = LossAndGradient(batch);
            Backward(batch, LossUsesLogits);
        }
        finally
        {
            RestoreMovingStatistics();
        }
        var g = new float[Info.ParameterCount];
        Backend.Download(GradientsOffset, g.AsSpan(0, Info.TrainableParameterCount)); // the rest stays 0
        return (loss, g);
    }

    private static void Shuffle(Span<int> order, ulong key)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(CounterRng.Bits(key, (ulong)i) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>Releases the backend's memory.</summary>
    public void Dispose()
    {
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Helpers Keras users know from <c>keras.utils</c>.</summary>
public static class Utils
{
    /// <summary>One-hot encodes class indices: (N,) → (N, numClasses). Keras's <c>to_categorical</c>.</summary>
    public static Tensor ToCategorical(Tensor labels, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var result = new float[(long)labels.Data.Length * numClasses];
        for (int i = 0; i < labels.Data.Length; i++)
        {
            float v = labels.Data[i];
            int c = (int)v;
            if (c != v || c < 0 || c >= numClasses)
                throw new ArgumentException($"Label {v} at index {i} is not a class index in [0, {numClasses}).", nameof(labels));
            result[(long)i * numClasses + c] = 1f;
        }
        var shape = labels.Shape.ToArray();
        if (shape.Length > 1 && shape[^1] == 1) shape = shape[..^1];
        return new Tensor(result, [.. shape, numClasses]);
    }
}
