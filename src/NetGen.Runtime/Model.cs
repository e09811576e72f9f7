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
    private bool _disposed;
    // One operation at a time on the workspace: Predict, Evaluate, Fit and the weight accessors hold this lock (a
    // thread that calls one while another runs waits for it). Fit runs once at a time: _fitThread says which thread.
    private readonly object _gate = new();
    private int _fitThread;
    private Optimizer? _optimizer;
    private Loss[] _losses = []; // one per output
    private CustomLoss?[] _custom = []; // per output: a C# loss instead of _losses[k] (which is then MSE, for the label checks)
    private float[] _hostPredictions = [], _hostLabels = [], _hostGradient = [];
    private float[] _lossWeights = [];
    private float[] _outputLosses = []; // the last batch's loss per output
    private Metric[] _metrics = [];
    private Metric[] _accuracy = []; // the resolved accuracy kind, per output
    private bool _hasAccuracy;
    private int _accuracyAt = -1; // the position of the accuracy metric in _metrics, or -1
    private bool _hasCounted; // a metric from confusion counts (precision, recall, AUC): predictions copied to the host
    private long _iteration;
    private long _weightsVersion;
    private int _capacity;
    private bool _inspectable; // the workspace has room for PredictLayers at _capacity
    private int _stateOffset, _labelsOffset, _arenaOffset;
    private int[] _labelPrefix = []; // per output, label floats per sample of the outputs before it
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
    public IBackend Backend
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_backend is null)
            {
                _backend = BackendSelector.Default();
                s_owners.AddOrUpdate(_backend, this);
            }
            return _backend;
        }
    }

    // Which model each backend holds the workspace of: a backend serves one model (two would overwrite each other).
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IBackend, Model> s_owners = new();

    /// <summary>Runs this model on <paramref name="backend"/>; call before the first use of the model.</summary>
    public void UseBackend(IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (_built) throw new InvalidOperationException("Choose the backend before the model is compiled or used.");
        if (s_owners.TryGetValue(backend, out var owner) && owner != this)
            throw new InvalidOperationException($"This backend already holds the workspace of model '{owner.Name}'; a backend serves one model: give each model its own (e.g. new CpuBackend()).");
        _backend = backend;
        s_owners.AddOrUpdate(backend, this);
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

    /// <summary>The counter-RNG key of a dropout layer at the current step.</summary>
    protected ulong DropoutKey(int layer) => CounterRng.Key(Seed, (ulong)layer, (ulong)_iteration);

    /// <summary>Whether the loss reads the (first) output layer's logits (softmax or sigmoid fused with a cross-entropy).</summary>
    protected bool LossUsesLogits => FromLogits(0);

    /// <summary>Whether the loss of output <paramref name="output"/> reads its layer's logits (softmax or sigmoid fused with a cross-entropy).</summary>
    protected bool FromLogits(int output)
    {
        if (_custom.Length > output && _custom[output] is not null) return false;
        var o = Info.Outputs[output];
        var loss = _losses[output];
        return o.LogitsSlot >= 0 &&
            ((loss is Loss.CategoricalCrossEntropy or Loss.SparseCategoricalCrossEntropy && o.Activation == ActivationFunction.Softmax) ||
             (loss == Loss.BinaryCrossEntropy && o.Activation == ActivationFunction.Sigmoid));
    }

    private static int LastAxisOf(OutputInfo o) => o.Shape[^1];
    private static int RowsOf(OutputInfo o) => o.Size / o.Shape[^1];

    /// <summary>Workspace offset of output <paramref name="k"/>'s labels.</summary>
    private int LabelsOf(int k) => _labelsOffset + _capacity * _labelPrefix[k];

    /// <summary>
    /// Computes the loss of the batch in the workspace (with several outputs, the sum of each output's loss times its
    /// weight) and writes each output's gradient into its gradient buffer (buffer 0 for a single output).
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite; nothing has been updated.</exception>
    protected float LossAndGradient(int batch)
    {
        var outputs = Info.Outputs;
        double total = 0;
        for (int k = 0; k < outputs.Count; k++)
        {
            var o = outputs[k];
            int rows = batch * RowsOf(o);
            bool logits = FromLogits(k);
            int prediction = Train(logits ? o.LogitsSlot : o.TrainingSlot, batch);
            if (_custom[k] is { } custom)
            {
                _outputLosses[k] = (float)CustomLossOf(custom, o, prediction, LabelsOf(k), rows, o.GradientSlot < 0 ? -1 : Train(o.GradientSlot, batch), _lossWeights[k]);
                total += _lossWeights[k] * (double)_outputLosses[k];
                continue;
            }
            double sum = Backend.Loss(_losses[k], logits ? LossInput.Logits : LossInput.Probabilities, rows, LastAxisOf(o),
                prediction, LabelsOf(k), o.GradientSlot < 0 ? -1 : Train(o.GradientSlot, batch), _lossWeights[k] / rows);
            _outputLosses[k] = (float)(sum / rows);
            total += _lossWeights[k] * (double)_outputLosses[k];
        }
        total += Penalty(batch, training: true);
        float loss = (float)total;
        if (float.IsFinite(loss)) CheckMovingStatistics();
        if (!float.IsFinite(loss))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"The loss became {loss} at epoch {_epoch + 1}, batch {_batchIndex + 1} (iteration {_iteration}); the weights are unchanged from before this batch. Lower the learning rate, check the inputs for NaN or huge values, or normalise them (e.g. x / 255f)."));
        return loss;
    }

    private float[] _statistics = [];

    /// <summary>
    /// A C# loss on a batch: the outputs and labels copied to the host, its gradient (scaled by the loss weight) back
    /// into <paramref name="gradient"/> (−1: none). A NaN or infinite result is reported as the built-in losses' is.
    /// </summary>
    private double CustomLossOf(CustomLoss loss, OutputInfo o, int prediction, int labels, int rows, int gradient, float weight)
    {
        int count = rows * LastAxisOf(o);
        if (_hostPredictions.Length < count)
        {
            _hostPredictions = new float[count];
            _hostLabels = new float[count];
            _hostGradient = new float[count];
        }
        var p = _hostPredictions.AsSpan(0, count);
        var y = _hostLabels.AsSpan(0, count);
        var g = _hostGradient.AsSpan(0, count);
        Backend.Download(prediction, p);
        Backend.Download(labels, y);
        g.Clear();
        double value = loss.Compute(p, y, g, rows, LastAxisOf(o));
        if (gradient >= 0)
        {
            if (weight != 1) for (int i = 0; i < count; i++) g[i] *= weight;
            Backend.Upload(g, gradient);
        }
        return value;
    }

    /// <summary>The regularizers' share of the loss: weight penalties, and output penalties divided by the batch size (Keras's).</summary>
    private double Penalty(int batch, bool training)
    {
        double sum = 0;
        foreach (var r in Info.Regularizers)
            sum += r.Contractive != 0
                ? Backend.ContractivePenalty(Slot(training, r.Offset, r.InferenceSlot, batch), ParametersOffset + r.Kernel, batch, r.Inputs, r.Count, r.Contractive) / batch
                : r.Activity
                ? Backend.RegularizationPenalty(Slot(training, r.Offset, r.InferenceSlot, batch), batch * r.Count, r.L1, r.L2) / batch
                : Backend.RegularizationPenalty(ParametersOffset + r.Offset, r.Count, r.L1, r.L2);
        return sum;
    }

    /// <summary>Adds the weight regularizers' gradients to the gradients the backward pass wrote (activity ones are in the pass).</summary>
    private void AddWeightRegularization()
    {
        foreach (var r in Info.Regularizers)
            if (!r.Activity) Backend.RegularizationGradient(ParametersOffset + r.Offset, GradientsOffset + r.Offset, r.Count, r.L1, r.L2);
    }

    /// <summary>
    /// After a training forward pass: the moving statistics it updated must be finite. A moving variance can overflow
    /// while the batch's own loss is still finite (huge activations), and every later Predict would return NaN; this
    /// stops the step there, before any weight changes, with the layer named.
    /// </summary>
    private void CheckMovingStatistics()
    {
        int trainable = Info.TrainableParameterCount, count = Info.ParameterCount - trainable;
        if (count <= 0) return;
        if (_statistics.Length < count) _statistics = new float[count];
        var values = _statistics.AsSpan(0, count);
        Backend.Download(ParametersOffset + trainable, values);
        int bad = -1;
        for (int i = 0; i < values.Length && bad < 0; i++)
            if (!float.IsFinite(values[i])) bad = i;
        if (bad < 0) return;
        int offset = trainable + bad;
        string where = "a moving statistic";
        foreach (var layer in Info.Layers)
            foreach (var w in layer.Weights)
                if (!w.Trainable && offset >= w.Offset && offset < w.Offset + w.Count) where = $"the {w.Name} of '{layer.Name}'";
        throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
            $"{char.ToUpperInvariant(where[0])}{where[1..]} became {values[bad]} at epoch {_epoch + 1}, batch {_batchIndex + 1} (iteration {_iteration}), although the loss was finite; the weights and moving statistics are unchanged from before this batch. The activations before it are too large: lower the learning rate, normalise the inputs (e.g. x / 255f), or check them for huge values."));
    }

    /// <summary>
    /// Changes whenever the parameters or the moving statistics may have changed (initialisation, <see cref="SetWeights"/>,
    /// a training forward pass); generated code compares it to refresh what it derives from them (folded batch norms).
    /// </summary>
    protected long WeightsVersion => _weightsVersion;

    /// <summary>Records that the parameters or moving statistics changed; see <see cref="WeightsVersion"/>.</summary>
    protected void MarkWeightsChanged() => _weightsVersion++;

    /// <summary>
    /// The inference forward pass, with the weights version told to the CPU backend for its duration: what the backend
    /// derives from the weights (a Dense kernel packed for its GEMM) is kept while the version stays the same.
    /// </summary>
    private void InferenceForward(int batch)
    {
        var cpu = Backend as CpuBackend;
        if (cpu != null) cpu.InferenceWeightsVersion = _weightsVersion;
        try { Forward(batch, training: false); }
        finally { if (cpu != null) cpu.InferenceWeightsVersion = -1; }
    }

    /// <summary>Applies the compiled optimizer to the gradients and advances the iteration counter.</summary>
    protected void ApplyOptimizer()
    {
        AddWeightRegularization();
        // A NaN or infinite gradient (an infinite input value, say, that the forward pass absorbed: tanh(∞) = 1, but
        // ∞·0 = NaN on the way back) would turn the weights into NaN while the loss looked fine: stop here instead.
        if (!Backend.AllFinite(GradientsOffset, Info.TrainableParameterCount))
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"A gradient became NaN or infinite at epoch {_epoch + 1}, batch {_batchIndex + 1} (iteration {_iteration}) although the loss was finite; the weights are unchanged from before this batch. Check the inputs for NaN or infinite values, lower the learning rate, or normalise the inputs (e.g. x / 255f)."));
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
        if (Backend is CpuBackend cpu)
        {
            // In place: a copy of the parameters on the managed heap (the Fashion CNN's 108 MB) would stay resident
            // until a full collection. The scratch after them (saved statistics, folded kernels) is written before read.
            var parameters = cpu.HostSpan(ParametersOffset, Info.ParameterBufferSize);
            parameters[..Info.ParameterCount].Clear();
            InitializeParameters(parameters, Seed);
            cpu.Release(GradientsOffset, p); // zero, its pages handed back: a model that only predicts never writes them
        }
        else
        {
            // The parameters only: the scratch after them reads 0 in a new workspace and is written before read.
            var init = new float[Info.ParameterCount];
            InitializeParameters(init, Seed);
            Backend.Upload(init, ParametersOffset);
            Backend.Fill(GradientsOffset, p, 0f);
        }
        MarkWeightsChanged();
        _built = true;
        ApplyDeclaredTrainable();
    }

    /// <summary>
    /// Sizes the workspace for batches of up to <paramref name="batch"/> samples; <paramref name="inspecting"/>: with room
    /// for PredictLayers, whose arena (every layer's own output) may be larger than training's.
    /// </summary>
    private void EnsureBatchCapacity(int batch, bool inspecting = false)
    {
        if (batch <= _capacity && (!inspecting || _inspectable)) return;
        batch = Math.Max(batch, _capacity);
        inspecting |= _inspectable;
        var info = Info;
        // Inference (Evaluate, Predict, validation) needs no gradients, so its arena overlays the training arena (kept
        // tensors and gradients): the workspace is what Memory.TrainingBytes promises. PredictLayers' arena also overlays
        // it, and is reserved only once it is called. Offsets are computed in long so that a huge batch cannot wrap around.
        long arena = AlignUp((long)_labelsOffset + (long)batch * info.Plan.LabelFloatsPerSample);
        long total = arena + (long)Math.Max(info.TrainingArenaPerSample,
            inspecting ? Math.Max(info.InferenceArenaPerSample, info.InspectionArenaPerSample) : info.InferenceArenaPerSample) * batch;
        if (total > int.MaxValue)
            throw new InvalidOperationException($"Batch size {batch} needs {total:N0} floats of workspace, more than one buffer can hold; use a smaller batch (Memory.MaxBatchSize tells the largest that fits a budget).");
        _arenaOffset = (int)arena;
        Backend.EnsureCapacity(total, _labelsOffset);
        _inputStaging = new float[batch * info.Inputs.Max(i => i.Size)];
        _labelStaging = new float[batch * info.Outputs.Max(o => o.Size)];
        _capacity = batch;
        _inspectable = inspecting;
    }

    /// <summary>
    /// Chooses the optimizer, the loss and the metrics; resets the optimizer state. Keras's <c>compile</c>. With several
    /// outputs, each gets this loss (as Keras does with one loss).
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, params Metric[] metrics) => Compile(optimizer, [loss], null, metrics);

    /// <summary>
    /// Chooses the optimizer, a loss written in C# (<see cref="CustomLoss"/>) for every output, and the metrics; labels
    /// have the outputs' shapes. Keras's <c>compile(loss=my_function)</c>.
    /// </summary>
    public void Compile(Optimizer optimizer, CustomLoss loss, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(loss);
        Compile(optimizer, [Loss.MeanSquaredError], null, metrics);
        lock (_gate) _custom = Enumerable.Repeat<CustomLoss?>(loss, Info.Outputs.Count).ToArray();
    }

    /// <summary>
    /// Chooses the optimizer, one loss per output with its weight, and the metrics (computed for each output); resets
    /// the optimizer state. Keras's <c>compile(loss=[...], loss_weights=[...])</c>: the loss that training minimises is
    /// the sum of each output's loss times its weight (default 1).
    /// </summary>
    public void Compile(Optimizer optimizer, Loss[] losses, float[]? lossWeights = null, params Metric[] metrics)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(optimizer);
            ArgumentNullException.ThrowIfNull(losses);
            if (Volatile.Read(ref _fitThread) != 0)
                throw new InvalidOperationException($"Compile was called while Fit runs on {Info.Name} (from a callback?): it would change the optimizer state and labels Fit is using. Compile before Fit, or change the learning rate with model.Optimizer.LearningRate.");
            foreach (var loss in losses)
                if (!Enum.IsDefined(loss)) throw new ArgumentOutOfRangeException(nameof(losses), loss, "Unknown loss.");
            foreach (var metric in metrics ?? [])
                if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metrics), metric, "Unknown metric.");
            if ((metrics ?? []).Count(IsAccuracy) > 1)
                throw new ArgumentException($"Give at most one accuracy metric; got {string.Join(", ", metrics!.Where(IsAccuracy))}.", nameof(metrics));
            if ((metrics ?? []).Distinct().Count() != (metrics ?? []).Length)
                throw new ArgumentException($"A metric is listed twice in [{string.Join(", ", metrics!)}]; list each once.", nameof(metrics));
            int outputs = Info.Outputs.Count;
            if (losses.Length != outputs && losses.Length != 1)
                throw new ArgumentException($"Got {losses.Length} losses but {Info.Name} has {outputs} outputs ({OutputNames}); give one loss per output, in that order, or one for all.", nameof(losses));
            if (lossWeights is not null && lossWeights.Length != outputs)
                throw new ArgumentException($"Got {lossWeights.Length} loss weights but {Info.Name} has {outputs} outputs ({OutputNames}); give one weight per output.", nameof(lossWeights));
            if (lossWeights is not null && Array.Exists(lossWeights, w => !float.IsFinite(w) || w < 0))
                throw new ArgumentOutOfRangeException(nameof(lossWeights), $"Loss weights must be finite and at least 0; got [{string.Join(", ", lossWeights.Select(w => w.ToString(CultureInfo.InvariantCulture)))}].");
            EnsureBuilt();
            _optimizer = optimizer;
            _losses = losses.Length == outputs ? (Loss[])losses.Clone() : Enumerable.Repeat(losses[0], outputs).ToArray();
        _custom = new CustomLoss?[outputs];
            _lossWeights = lossWeights is null ? Enumerable.Repeat(1f, outputs).ToArray() : (float[])lossWeights.Clone();
            _outputLosses = new float[outputs];
            _accuracy = new Metric[outputs];
            _labelPrefix = new int[outputs];
            for (int k = 1; k < outputs; k++) _labelPrefix[k] = _labelPrefix[k - 1] + Info.Outputs[k - 1].Size;
            _metrics = metrics is null ? [] : (Metric[])metrics.Clone();
            _accuracyAt = Array.FindIndex(_metrics, IsAccuracy);
            _hasAccuracy = _accuracyAt >= 0;
            _hasCounted = _metrics.Length > (_hasAccuracy ? 1 : 0);
            int p = Info.TrainableParameterCount; // the optimizer's stride: CpuBackend.OptimizerStep aligns slots alike
            int slots = optimizer.StateSlots;
            _labelsOffset = _stateOffset + slots * AlignUp(p);
            _capacity = 0;
            Backend.EnsureCapacity(_labelsOffset, _stateOffset);
            if (slots > 0 && optimizer.InitialState == 0 && Backend is CpuBackend cpu) cpu.Release(_stateOffset, slots * (long)AlignUp(p)); // as the gradients
            else if (slots > 0) Backend.Fill(_stateOffset, slots * AlignUp(p), optimizer.InitialState);
            _iteration = 0;
        }
    }

    // ---- Data checks ----------------------------------------------------------------------------------------

    private string OutputNames => string.Join(", ", Info.Outputs.Select(o => "'" + o.Name + "'"));

    /// <summary>One input tensor for a single-input network, with a clear error for a network with several.</summary>
    private Tensor[] One(Tensor x, string argument, string call)
    {
        RequireSingleInput(x, argument, call);
        return [x];
    }

    private void RequireSingleInput(Tensor x, string argument, string call)
    {
        ArgumentNullException.ThrowIfNull(x, argument);
        if (Info.Inputs.Count > 1)
            throw new ArgumentException($"{Info.Name} has {Info.Inputs.Count} inputs ({string.Join(", ", Info.Inputs.Select(i => "'" + i.Name + "'"))}); pass one tensor per input, in that order: {call}(new[] {{ x1, x2, ... }}, ...).", argument);
    }

    /// <summary>One label tensor for a single-output network, with a clear error for a network with several.</summary>
    private Tensor[] OneLabel(Tensor y, string argument, string call)
    {
        RequireSingleOutput(y, argument, call);
        return [y];
    }

    private void RequireSingleOutput(Tensor y, string argument, string call)
    {
        ArgumentNullException.ThrowIfNull(y, argument);
        if (Info.Outputs.Count > 1)
            throw new ArgumentException($"{Info.Name} has {Info.Outputs.Count} outputs ({OutputNames}); pass one label tensor per output, in that order: {call}(x, new[] {{ y1, y2, ... }}).", argument);
    }


    /// <summary>One tensor per input, each of its input's shape, all with the same number of samples.</summary>
    private void CheckInputs(Tensor[] xs, string argument)
    {
        ArgumentNullException.ThrowIfNull(xs, argument);
        var inputs = Info.Inputs;
        if (xs.Length != inputs.Count)
            throw new ArgumentException($"{argument} has {xs.Length} tensors but {Info.Name} has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => "'" + i.Name + "'"))}); pass one per input, in that order.", argument);
        for (int k = 0; k < xs.Length; k++)
        {
            string name = xs.Length == 1 ? argument : $"{argument}[{k}]";
            var x = xs[k];
            ArgumentNullException.ThrowIfNull(x, name);
            var expected = inputs[k].Shape;
            bool ok = x.Rank == expected.Count + 1;
            for (int i = 0; ok && i < expected.Count; i++) ok = x.Shape[i + 1] == expected[i];
            if (!ok)
                throw new ArgumentException(
                    $"{name} has shape {x.ShapeString} but {Info.Name} expects {KerasShape(expected)}" + (xs.Length == 1 ? "" : $" for input '{inputs[k].Name}'") +
                    (x.SampleSize == inputs[k].Size ? $"; reshape it with {name}.Reshape(-1, {string.Join(", ", expected)})" : "") + ".", name);
            if (x.Count != xs[0].Count)
                throw new ArgumentException($"{name} has {x.Count} samples but {argument}[0] has {xs[0].Count}; every input needs one row per sample.", name);
            if (inputs[k].IndexLimit > 0) CheckIndices(x, inputs[k].IndexLimit, name);
        }
    }

    /// <summary>An input that an Embedding reads holds whole numbers in [0, limit): the error names the first that is not.</summary>
    private static void CheckIndices(Tensor x, int limit, string argument)
    {
        var data = x.Data;
        int perSample = Math.Max(1, x.SampleSize);
        for (int i = 0; i < data.Length; i++)
        {
            float v = data[i];
            if (v >= 0 && v < limit && v == MathF.Floor(v)) continue;
            throw new ArgumentException(
                $"{argument} at sample {i / perSample}, position {i % perSample} is {v.ToString(CultureInfo.InvariantCulture)}, which is not an index in [0, {limit}) for the Embedding that reads it; token ids are whole numbers below the vocabulary size.", argument);
        }
    }

    private static Metric ResolveAccuracy(OutputInfo o, Tensor y)
    {
        if (LastAxisOf(o) == 1) return Metric.BinaryAccuracy;
        return y.SampleSize == RowsOf(o) ? Metric.SparseCategoricalAccuracy : Metric.CategoricalAccuracy;
    }

    private static bool IsAccuracy(Metric m) => m is Metric.Accuracy or Metric.CategoricalAccuracy or Metric.SparseCategoricalAccuracy or Metric.BinaryAccuracy;

    /// <summary>
    /// Resolves each output's accuracy kind from its labels (Keras's "accuracy" picks one by the label shape), and checks
    /// that metrics counted from confusion counts have labels of the output's shape.
    /// </summary>
    private void ResolveAccuracies(Tensor[] ys)
    {
        for (int k = 0; k < _accuracy.Length; k++)
        {
            if (_hasAccuracy)
                _accuracy[k] = _metrics[_accuracyAt] == Metric.Accuracy ? ResolveAccuracy(Info.Outputs[k], ys[k]) : _metrics[_accuracyAt];
            var o = Info.Outputs[k];
            if (_hasCounted && ys[k].SampleSize != o.Size)
                throw new ArgumentException(
                    $"{string.Join(", ", _metrics.Where(m => !IsAccuracy(m)).Select(MetricName))} compare each output value with a label, but the labels for '{o.Name}' have {ys[k].SampleSize} values a sample and the output {o.Size}; pass one-hot labels (ToCategorical) of the output's shape.");
        }
    }

    private void CheckLabels(Tensor[] xs, Tensor[] ys, string argument)
    {
        ArgumentNullException.ThrowIfNull(ys, argument);
        var outputs = Info.Outputs;
        if (ys.Length != outputs.Count)
            throw new ArgumentException($"{argument} has {ys.Length} tensors but {Info.Name} has {outputs.Count} outputs ({OutputNames}); pass one label tensor per output, in that order.", argument);
        for (int k = 0; k < ys.Length; k++)
        {
            string name = ys.Length == 1 ? argument : $"{argument}[{k}]";
            var y = ys[k];
            var o = outputs[k];
            var loss = _losses[k];
            ArgumentNullException.ThrowIfNull(y, name);
            if (y.Count != xs[0].Count)
                throw new ArgumentException($"{name} has {y.Count} samples but the inputs have {xs[0].Count}; they must match.", name);
            bool sparse = loss == Loss.SparseCategoricalCrossEntropy;
            int rowsPerSample = RowsOf(o), lastAxis = LastAxisOf(o);
            int expected = sparse ? rowsPerSample : o.Size;
            if (y.SampleSize != expected)
            {
                string want = sparse ? KerasShape(rowsPerSample == 1 ? [] : o.Shape.Take(o.Shape.Count - 1).ToArray()) + " class indices"
                    : KerasShape(o.Shape);
                string hint = !sparse && y.SampleSize == rowsPerSample && loss == Loss.CategoricalCrossEntropy
                    ? $"; these look like class indices: use Loss.SparseCategoricalCrossEntropy, or one-hot them with Utils.ToCategorical({name}, {lastAxis})"
                    : sparse && y.SampleSize == o.Size ? "; these look one-hot: use Loss.CategoricalCrossEntropy" : "";
                string of = ys.Length == 1 ? Info.Name : $"output '{o.Name}' of {Info.Name}";
                string lossName = _custom.Length > k && _custom[k] is { } custom ? custom.Name : loss.ToString();
                throw new ArgumentException($"{name} has shape {y.ShapeString} but {of} with {lossName} expects labels of shape {want}{hint}.", name);
            }
            if (sparse) CheckClassIndices(y, lastAxis, name);
        }
    }

    /// <summary>
    /// Sparse labels must be whole class indices in [0, classes): 1.5 or NaN would otherwise be truncated to a class
    /// silently. The error names the sample as given (before any shuffling).
    /// </summary>
    private static void CheckClassIndices(Tensor y, int classes, string argument)
    {
        var data = y.Data;
        int perSample = Math.Max(1, y.SampleSize);
        for (int i = 0; i < data.Length; i++)
        {
            float v = data[i];
            if (v >= 0 && v < classes && v == MathF.Floor(v)) continue;
            string at = perSample == 1 ? $"sample {i}" : $"sample {i / perSample}, position {i % perSample}";
            throw new ArgumentException(
                $"{argument} at {at} is {v.ToString(CultureInfo.InvariantCulture)}, which is not a class index in [0, {classes}); sparse labels are whole numbers 0 to {classes - 1}.", argument);
        }
    }

    private static string KerasShape(IReadOnlyList<int> shape) => "(None" + string.Concat(shape.Select(d => ", " + d.ToString(CultureInfo.InvariantCulture))) + ")";

    private void RequireCompiled()
    {
        if (_optimizer is null) throw new InvalidOperationException("Call Compile(optimizer, loss, metrics) before training or evaluating.");
    }

    /// <summary>
    /// Copies the samples at <paramref name="indices"/> of every input into its arena slot (the training one when
    /// <paramref name="training"/>) and, with labels, every output's labels into its label slot.
    /// </summary>
    private void LoadBatch(Tensor[] x, Tensor[]? y, ReadOnlySpan<int> indices, int batch, bool training, ImageDataGenerator? augment = null, ulong passKey = 0, int position = 0)
    {
        for (int k = 0; k < x.Length; k++)
        {
            var input = Info.Inputs[k];
            int inSize = input.Size;
            var xs = x[k].Data.AsSpan();
            int target = k == 0 ? Train(0, batch) : Slot(training, input.TrainingSlot, input.InferenceSlot, batch);
            if (augment is null && Consecutive(indices, batch))
            {
                // Samples in order (Predict, Evaluate, fit without shuffling): straight from the tensor, one copy.
                Backend.Upload(xs.Slice(indices[0] * inSize, batch * inSize), target);
                continue;
            }
            for (int i = 0; i < batch; i++)
                xs.Slice(indices[i] * inSize, inSize).CopyTo(_inputStaging.AsSpan(i * inSize, inSize));
            if (augment is not null && k == 0)
            {
                // Each sample's transform is drawn from counters of (seed, pass, its position in the pass).
                var shape = input.Shape;
                for (int i = 0; i < batch; i++)
                    augment.Augment(_inputStaging.AsSpan(i * inSize, inSize), shape[0], shape[1], shape[2],
                        CounterRng.Key(passKey, (ulong)(position + i), 0));
            }
            // The network's own input is at slot 0 in both arenas.
            Backend.Upload(_inputStaging.AsSpan(0, batch * inSize), target);
        }
        if (y is null) return;
        for (int k = 0; k < y.Length; k++)
        {
            int ySize = y[k].SampleSize;
            var ys = y[k].Data.AsSpan();
            for (int i = 0; i < batch; i++)
                ys.Slice(indices[i] * ySize, ySize).CopyTo(_labelStaging.AsSpan(i * ySize, ySize));
            Backend.Upload(_labelStaging.AsSpan(0, batch * ySize), LabelsOf(k));
        }
    }

    private static bool Consecutive(ReadOnlySpan<int> indices, int batch)
    {
        for (int i = 1; i < batch; i++)
            if (indices[i] != indices[0] + i) return false;
        return true;
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
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Reused one-element arrays: a training loop of TrainOnBatch calls allocates nothing.
            RequireSingleInput(x, nameof(x), nameof(TrainOnBatch));
            RequireSingleOutput(y, nameof(y), nameof(TrainOnBatch));
            _oneX[0] = x;
            _oneY[0] = y;
            try
            {
                return TrainOnBatch(_oneX, _oneY);
            }
            finally
            {
                _oneX[0] = _oneY[0] = null!;
            }
        }
    }

    private readonly Tensor[] _oneX = new Tensor[1], _oneY = new Tensor[1];

    /// <summary>Trains on one batch of a network with several inputs or outputs: one tensor per input, one label tensor per output.</summary>
    public float TrainOnBatch(Tensor[] x, Tensor[] y)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RequireCompiled();
            CheckInputs(x, nameof(x));
            if (x[0].Count == 0) throw new ArgumentException("The batch has no samples; TrainOnBatch needs at least one.", nameof(x));
            CheckLabels(x, y, nameof(y));
            int batch = x[0].Count;
            EnsureBatchCapacity(batch);
            if (_order.Length < batch) EnsureOrder(batch);
            else for (int i = 0; i < batch; i++) _order[i] = i;
            LoadBatch(x, y, _order, batch, training: true);
            return GuardedTrainStep(batch);
        }
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

    /// <summary>The compiled optimizer (null before <see cref="Compile(Optimizer, Loss, Metric[])"/>); callbacks change its learning rate.</summary>
    public Optimizer? Optimizer => _optimizer;

    /// <summary>
    /// With verbose 1 and the console redirected (a CI log, a file), how often an epoch's progress gets a line of its
    /// own (instead of a bar redrawn with carriage returns): every 10 s.
    /// </summary>
    internal static long RedirectedProgressMilliseconds = 10_000;

    /// <summary>Set (by a callback) to end <c>Fit</c> after the current batch, as Keras's <c>model.stop_training</c>.</summary>
    public bool StopTraining { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs, as Keras's <c>fit</c>: prints one line per epoch (verbose 1 with a
    /// progress bar on a terminal, 2 without), evaluates on validation data at each epoch end, runs the
    /// <paramref name="callbacks"/> in order and returns the history of loss, metrics and what the callbacks logged.
    /// </summary>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, (Tensor X, Tensor Y)? validationData = null,
        float validationSplit = 0f, bool shuffle = true, int verbose = 1, IEnumerable<Callback>? callbacks = null, int initialEpoch = 0) =>
        Fit(One(x, nameof(x), nameof(Fit)), OneLabel(y, nameof(y), nameof(Fit)), epochs, batchSize,
            validationData is { } v ? ([v.X], [v.Y]) : null, validationSplit, shuffle, verbose, callbacks, initialEpoch);

    /// <summary>
    /// Trains a network with several inputs or outputs (Keras's <c>fit([x1, x2], [y1, y2])</c>): one tensor per input
    /// (the network's own first, then each <c>[Input]</c> layer in declaration order) and one label tensor per output
    /// (in the order of <c>Outputs</c>). The history has <c>loss</c> (the weighted sum), and per output
    /// <c>{name}_loss</c> and <c>{name}_{metric}</c>, as Keras logs them.
    /// </summary>
    public History Fit(Tensor[] x, Tensor[] y, int epochs = 1, int batchSize = 32, (Tensor[] X, Tensor[] Y)? validationData = null,
        float validationSplit = 0f, bool shuffle = true, int verbose = 1, IEnumerable<Callback>? callbacks = null, int initialEpoch = 0)
    {
        BeginFit(); // before the lock: a second Fit on another thread throws instead of waiting
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                RequireCompiled();
                CheckInputs(x, nameof(x));
                if (x[0].Count == 0) throw new ArgumentException("The training data has no samples; Fit needs at least one.", nameof(x));
                CheckLabels(x, y, nameof(y));
                if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
                if (!(validationSplit >= 0 && validationSplit < 1))
                    throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must be in [0, 1).");
                if (validationData is null && validationSplit > 0)
                {
                    // Keras takes the last fraction of the data, before any shuffling.
                    int n = x[0].Count, train = (int)(n * (1 - validationSplit));
                    if (train == 0 || train == n)
                        throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit,
                            $"validationSplit {validationSplit} of {n} samples leaves {(train == 0 ? "no training sample" : "no validation sample")}; use a split that leaves both some, or pass validationData.");
                    validationData = (x.Select(t => t.Slice(train, n - train)).ToArray(), y.Select(t => t.Slice(train, n - train)).ToArray());
                    x = x.Select(t => t.Slice(0, train)).ToArray();
                    y = y.Select(t => t.Slice(0, train)).ToArray();
                }
                if (validationData is { } v)
                {
                    CheckInputs(v.X, "validationData.X");
                    if (v.X[0].Count == 0) throw new ArgumentException("validationData has no samples; pass at least one, or none.", nameof(validationData));
                    CheckLabels(v.X, v.Y, "validationData.Y");
                }
                ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
                return FitCore(x, y, batchSize, epochs, stepsPerEpoch: 0, shuffle, Seed, augment: null, validationData, verbose, callbacks, initialEpoch);
            }
        }
        finally
        {
            EndFit();
        }
    }

    /// <summary>
    /// Trains on batches drawn through an <see cref="ImageDataGenerator"/>, as Keras's <c>fit</c> on
    /// <c>generator.flow(x, y)</c> (<c>fit_generator</c>): each sample is transformed and standardised as its batch is
    /// loaded; an epoch is <paramref name="stepsPerEpoch"/> batches (0: one pass over the data), and passes continue
    /// across epochs, reshuffled at each. Validation data is used as given (see <see cref="ImageDataGenerator.Standardize(Tensor)"/>).
    /// </summary>
    public History Fit(DataFlow flow, int epochs = 1, int stepsPerEpoch = 0, (Tensor X, Tensor Y)? validationData = null, int verbose = 1,
        IEnumerable<Callback>? callbacks = null, int initialEpoch = 0)
    {
        BeginFit(); // before the lock: a second Fit on another thread throws instead of waiting
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                ArgumentNullException.ThrowIfNull(flow);
                RequireCompiled();
                if (Info.InputShape.Count != 3)
                    throw new ArgumentException($"An ImageDataGenerator flow needs a network on (height, width, channels) images; {Info.Name} takes {KerasShape(Info.InputShape)}.", nameof(flow));
                Tensor[] x = One(flow.X, "flow.X", nameof(Fit)), y = OneLabel(flow.Y, "flow.Y", nameof(Fit));
                CheckInputs(x, "flow.X");
                if (x[0].Count == 0) throw new ArgumentException("The flow has no samples; Fit needs at least one.", nameof(flow));
                CheckLabels(x, y, "flow.Y");
                if (stepsPerEpoch < 0) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "stepsPerEpoch must be 0 (one pass) or more.");
                (Tensor[] X, Tensor[] Y)? validation = validationData is { } v ? ([v.X], [v.Y]) : null;
                if (validation is { } w)
                {
                    CheckInputs(w.X, "validationData.X");
                    if (w.X[0].Count == 0) throw new ArgumentException("validationData has no samples; pass at least one, or none.", nameof(validationData));
                    CheckLabels(w.X, w.Y, "validationData.Y");
                }
                ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
                return FitCore(x, y, flow.BatchSize, epochs, stepsPerEpoch, flow.Shuffle, flow.Seed ?? Seed, flow.Generator, validation, verbose, callbacks, initialEpoch);
            }
        }
        finally
        {
            EndFit();
        }
    }

    /// <summary>Sums of one pass's losses, correct predictions and confusion counts, per output, and the log entries Keras names them by.</summary>
    private sealed class Tally
    {
        private readonly Model model;
        private readonly double[] _loss;
        private readonly long[] _correct;
        private readonly long[] _rows;
        private readonly ThresholdCounts?[] _counts; // [output * metrics + metric], for precision, recall and AUC
        private double _total;
        private long _samples;

        public Tally(Model model)
        {
            this.model = model;
            int outputs = model.Info.Outputs.Count, metrics = model._metrics.Length;
            _loss = new double[outputs];
            _correct = new long[outputs];
            _rows = new long[outputs];
            _counts = new ThresholdCounts?[outputs * metrics];
            for (int k = 0; k < outputs; k++)
                for (int m = 0; m < metrics; m++)
                    _counts[k * metrics + m] = model._metrics[m] switch
                    {
                        Metric.Precision or Metric.Recall => ThresholdCounts.AtHalf(),
                        Metric.Auc or Metric.PrAuc => ThresholdCounts.ForAuc(),
                        _ => null,
                    };
        }

        public void Add(int batch, float loss, ReadOnlySpan<float> outputLosses, bool training)
        {
            _total += (double)loss * batch;
            for (int k = 0; k < _loss.Length; k++) _loss[k] += (double)outputLosses[k] * batch;
            _samples += batch;
            for (int k = 0; k < _loss.Length; k++)
            {
                var o = model.Info.Outputs[k];
                int rows = batch * RowsOf(o);
                int slot = training ? model.Train(o.TrainingSlot, batch) : model.Slot(false, o.TrainingSlot, o.InferenceSlot, batch);
                if (model._hasAccuracy)
                {
                    _correct[k] += model.Backend.CountCorrect(model._accuracy[k], rows, LastAxisOf(o), slot, model.LabelsOf(k));
                    _rows[k] += rows;
                }
                if (!model._hasCounted) continue;
                int count = batch * o.Size;
                if (model._hostPredictions.Length < count) model._hostPredictions = new float[count];
                if (model._hostLabels.Length < count) model._hostLabels = new float[count];
                var predictions = model._hostPredictions.AsSpan(0, count);
                var labels = model._hostLabels.AsSpan(0, count);
                model.Backend.Download(slot, predictions);
                model.Backend.Download(model.LabelsOf(k), labels);
                int metrics = model._metrics.Length;
                for (int m = 0; m < metrics; m++)
                    _counts[k * metrics + m]?.Add(predictions, labels, model.MetricName(m, k), o.Name);
            }
        }

        public double Loss => _total / _samples;

        public double Accuracy(int k) => _rows[k] == 0 ? 0 : (double)_correct[k] / _rows[k];

        /// <summary>Output <paramref name="k"/>'s value of metric <paramref name="m"/> (its position in Compile's list).</summary>
        public double Value(int m, int k)
        {
            var counts = _counts[k * model._metrics.Length + m];
            return model._metrics[m] switch
            {
                Metric.Precision => counts!.Precision(),
                Metric.Recall => counts!.Recall(),
                Metric.Auc => counts!.RocAuc(),
                Metric.PrAuc => counts!.PrAuc(),
                _ => Accuracy(k),
            };
        }

        /// <summary>Keras's log entries: loss, then (several outputs) each output's loss, then each output's metrics.</summary>
        public void Write(IDictionary<string, double> logs, string prefix = "")
        {
            logs[prefix + "loss"] = Loss;
            var outputs = model.Info.Outputs;
            if (outputs.Count > 1)
                for (int k = 0; k < outputs.Count; k++) logs[prefix + outputs[k].Name + "_loss"] = _loss[k] / _samples;
            for (int k = 0; k < outputs.Count; k++)
                for (int m = 0; m < model._metrics.Length; m++)
                    logs[prefix + (outputs.Count > 1 ? outputs[k].Name + "_" : "") + model.MetricName(m, k)] = Value(m, k);
        }
    }

    /// <summary>
    /// The training loop of the Fit overloads: <paramref name="stepsPerEpoch"/> batches an epoch (0: one pass), passes
    /// over the data reshuffled each with <paramref name="seed"/>, samples augmented by <paramref name="augment"/> if any.
    /// </summary>
    private History FitCore(Tensor[] x, Tensor[] y, int batchSize, int epochs, int stepsPerEpoch, bool shuffle, ulong seed,
        ImageDataGenerator? augment, (Tensor[] X, Tensor[] Y)? validationData, int verbose, IEnumerable<Callback>? callbacks,
        int initialEpoch = 0, FlowSource? flows = null)
    {
        ResolveAccuracies(y);

        // With directory flows, x and y are one-sample prototypes (shapes only); the batches come from the flow.
        int n = flows?.Train.Samples ?? x[0].Count;
        if (n == 0) throw new ArgumentException("The training data has no samples; Fit needs at least one.", nameof(x));
        batchSize = Math.Min(batchSize, n); // a batch larger than the data is the whole data (and int.MaxValue cannot overflow below)
        int perPass = (n + batchSize - 1) / batchSize;
        int steps = stepsPerEpoch > 0 ? stepsPerEpoch : perPass;
        long orderPass = -1;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        var history = new History();
        bool live = verbose == 1 && !Console.IsOutputRedirected;
        // Redirected output (a CI log, a file) gets no carriage returns: a progress line of its own now and then.
        bool logged = verbose == 1 && Console.IsOutputRedirected;
        Callback[] hooks = callbacks is null ? [] : [.. callbacks];
        foreach (var hook in hooks) ArgumentNullException.ThrowIfNull(hook, nameof(callbacks));
        var terminateOnNaN = hooks.OfType<TerminateOnNaN>().FirstOrDefault();
        var batchLogs = new Dictionary<string, double>(StringComparer.Ordinal); // reused: no allocation per batch
        var progress = new Dictionary<string, double>(StringComparer.Ordinal);
        StopTraining = false;
        try
        {
            foreach (var hook in hooks)
            {
                hook.Model = this;
                hook.OnTrainBegin();
            }
            // Keras's initial_epoch: resuming at epoch k continues its passes (shuffling, augmentation) where they were.
            for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
            {
                _epoch = epoch;
                foreach (var hook in hooks) hook.OnEpochBegin(epoch);
                if (verbose > 0) Console.WriteLine($"Epoch {epoch + 1}/{epochs}");
                var tally = new Tally(this);
                bool diverged = false;
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
                    if (flows is not null)
                    {
                        batch = LoadFlowBatch(flows.Prefetcher!);
                        if (batch == 0) continue; // every picture of this batch was unreadable and skipped
                    }
                    else if (pass != orderPass)
                    {
                        // Its own index buffer: validation, Predict or TrainOnBatch in a callback reuse _order.
                        if (_passOrder.Length < n) _passOrder = new int[n];
                        for (int i = 0; i < n; i++) _passOrder[i] = i;
                        if (shuffle) Shuffle(_passOrder.AsSpan(0, n), CounterRng.Key(seed, ulong.MaxValue - 1, (ulong)pass));
                        orderPass = pass;
                    }
                    if (flows is null)
                        LoadBatch(x, y, _passOrder.AsSpan(start, batch), batch, training: true, augment, CounterRng.Key(seed, ulong.MaxValue - 2, (ulong)pass), start);
                    float loss;
                    try
                    {
                        loss = GuardedTrainStep(batch);
                    }
                    catch (TrainingDivergedException) when (terminateOnNaN is not null)
                    {
                        terminateOnNaN.Terminate(step); // the weights are still those from before this batch
                        diverged = true;                // as Keras, whose running mean has taken the NaN in
                        break;
                    }
                    ran++;
                    tally.Add(batch, loss, _outputLosses, training: true);
                    if (live && (clock.ElapsedMilliseconds - lastPrint > 200 || step == steps - 1))
                    {
                        lastPrint = clock.ElapsedMilliseconds;
                        progress.Clear();
                        tally.Write(progress);
                        Console.Write("\r" + ProgressLine(step + 1, steps, clock.Elapsed, progress, final: false));
                    }
                    else if (logged && step < steps - 1 && clock.ElapsedMilliseconds - lastPrint >= RedirectedProgressMilliseconds)
                    {
                        lastPrint = clock.ElapsedMilliseconds;
                        progress.Clear();
                        tally.Write(progress);
                        Console.WriteLine(ProgressLine(step + 1, steps, clock.Elapsed, progress, final: false));
                    }
                    if (hooks.Length > 0)
                    {
                        tally.Write(batchLogs);
                        foreach (var hook in hooks) hook.OnBatchEnd(step, batchLogs);
                        if (StopTraining) break;
                    }
                }
                var logs = new Dictionary<string, double>(StringComparer.Ordinal);
                tally.Write(logs);
                if (diverged) logs["loss"] = double.NaN;
                var trained = logs.Keys.ToHashSet();
                if (flows?.Validation is { } flow) EvaluateFlowCore(flow, flows.ValidationSteps, flows.ValidationSeed).Write(logs, "val_");
                else if (validationData is { } val) EvaluateCore(val.X, val.Y, batchSize).Write(logs, "val_");
                // As Keras, whose progress bar and History come after the user's callbacks: the callbacks first, then
                // the epoch's line (with what they logged, e.g. "- lr: 0.0010") and the history.
                foreach (var hook in hooks) hook.OnEpochEnd(epoch, logs);
                if (verbose > 0)
                {
                    string line = ProgressLine(Math.Max(ran, 1), steps, clock.Elapsed, logs.Where(e => trained.Contains(e.Key)), final: true);
                    foreach (var (name, value) in logs)
                        if (!trained.Contains(name))
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

    /// <summary>The log name of metric <paramref name="m"/> (its position in Compile's list) for an output.</summary>
    private string MetricName(int m, int output) => _metrics[m] switch
    {
        Metric.Accuracy => "accuracy",
        Metric.CategoricalAccuracy or Metric.SparseCategoricalAccuracy or Metric.BinaryAccuracy => MetricName(_accuracy[output]),
        var other => MetricName(other),
    };

    private static string MetricName(Metric metric) => metric switch
    {
        Metric.CategoricalAccuracy => "categorical_accuracy",
        Metric.SparseCategoricalAccuracy => "sparse_categorical_accuracy",
        Metric.BinaryAccuracy => "binary_accuracy",
        Metric.Precision => "precision",
        Metric.Recall => "recall",
        Metric.Auc => "auc",
        Metric.PrAuc => "pr_auc",
        _ => "accuracy",
    };

    private static string ProgressLine(int step, int steps, TimeSpan elapsed, IEnumerable<KeyValuePair<string, double>> entries, bool final)
    {
        string count = $"{step}/{steps}".PadLeft(2 * steps.ToString(CultureInfo.InvariantCulture).Length + 1);
        int filled = (int)(30.0 * step / steps);
        string bar = step == steps ? new string('=', 30) : new string('=', Math.Max(0, filled - 1)) + ">" + new string('.', 30 - filled);
        double msPerStep = elapsed.TotalMilliseconds / Math.Max(1, step);
        string time = final ? $"{(int)Math.Round(elapsed.TotalSeconds)}s {Math.Round(msPerStep)}ms/step"
            : $"ETA: {TimeSpan.FromMilliseconds(msPerStep * (steps - step)):m\\:ss}";
        string text = $"{count} [{bar}] - {time}";
        foreach (var (name, value) in entries) text += $" - {name}: {Number(value)}";
        return text;
    }

    /// <summary>Keras's progress-bar number format: 4 decimals, or scientific below 1e-3.</summary>
    private static string Number(double v) =>
        Math.Abs(v) > 1e-3 || v == 0 ? v.ToString("0.0000", CultureInfo.InvariantCulture) : v.ToString("0.0000e+00", CultureInfo.InvariantCulture);

    /// <summary>
    /// Loss and the first compiled metric (0 without one) on data, in inference mode (Keras's <c>evaluate</c>); the
    /// overload on tensor arrays returns every metric by name.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Tensor x, Tensor y, int batchSize = 32, int verbose = 0)
    {
        var xs = One(x, nameof(x), nameof(Evaluate));
        var ys = OneLabel(y, nameof(y), nameof(Evaluate));
        var tally = EvaluateChecked(xs, ys, batchSize, verbose);
        return (tally.Loss, _metrics.Length == 0 ? 0 : tally.Value(0, 0));
    }

    /// <summary>
    /// Loss and metrics of a network with several inputs or outputs, in inference mode (Keras's
    /// <c>evaluate(..., return_dict=True)</c>): <c>loss</c> (the weighted sum), and per output <c>{name}_loss</c> and
    /// <c>{name}_{metric}</c>.
    /// </summary>
    public IReadOnlyDictionary<string, double> Evaluate(Tensor[] x, Tensor[] y, int batchSize = 32, int verbose = 0)
    {
        var logs = new Dictionary<string, double>(StringComparer.Ordinal);
        EvaluateChecked(x, y, batchSize, verbose).Write(logs);
        return logs;
    }

    private Tally EvaluateChecked(Tensor[] x, Tensor[] y, int batchSize, int verbose)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RequireCompiled();
            CheckInputs(x, nameof(x));
            if (x[0].Count == 0) throw new ArgumentException("The data has no samples; Evaluate needs at least one.", nameof(x));
            CheckLabels(x, y, nameof(y));
            if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
            ResolveAccuracies(y);
            var tally = EvaluateCore(x, y, batchSize);
            if (verbose > 0)
            {
                var logs = new Dictionary<string, double>(StringComparer.Ordinal);
                tally.Write(logs);
                Console.WriteLine($"{x[0].Count} samples" + string.Concat(logs.Select(e => $" - {e.Key}: {Number(e.Value)}")));
            }
            return tally;
        }
    }

    private Tally EvaluateCore(Tensor[] x, Tensor[] y, int batchSize)
    {
        int n = x[0].Count;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        EnsureOrder(n);
        var tally = new Tally(this);
        var outputLosses = new float[Info.Outputs.Count];
        for (int start = 0; start < n; start += batchSize)
        {
            int batch = Math.Min(batchSize, n - start);
            LoadBatch(x, y, _order.AsSpan(start, batch), batch, training: false);
            EvaluateBatch(tally, batch, outputLosses);
        }
        return tally;
    }

    /// <summary>Runs inference on the loaded batch and adds its losses and metrics to <paramref name="tally"/>.</summary>
    private void EvaluateBatch(Tally tally, int batch, float[] outputLosses)
    {
        var outputs = Info.Outputs;
        {
            InferenceForward(batch);
            double total = 0;
            for (int k = 0; k < outputs.Count; k++)
            {
                var o = outputs[k];
                int r = batch * RowsOf(o);
                bool logits = FromLogits(k); // as Keras's compiled evaluate: the loss from the logits, unclipped
                int prediction = logits ? Slot(false, o.LogitsSlot, o.LogitsInferenceSlot, batch) : Slot(false, o.TrainingSlot, o.InferenceSlot, batch);
                double mean = _custom[k] is { } custom
                    ? CustomLossOf(custom, o, prediction, LabelsOf(k), r, -1, 1f)
                    : Backend.Loss(_losses[k], logits ? LossInput.Logits : LossInput.Probabilities, r, LastAxisOf(o), prediction, LabelsOf(k), -1, 1f / r) / r;
                outputLosses[k] = (float)mean;
                total += _lossWeights[k] * mean;
            }
            total += Penalty(batch, training: false);
            tally.Add(batch, (float)total, outputLosses, training: false);
        }
    }

    /// <summary>The network's outputs for <paramref name="x"/>, in inference mode (Keras's <c>predict</c>).</summary>
    public Tensor Predict(Tensor x, int batchSize = 32)
    {
        if (Info.Outputs.Count > 1)
            throw new InvalidOperationException($"{Info.Name} has {Info.Outputs.Count} outputs ({OutputNames}); use Predict(new[] {{ x }}), which returns one tensor per output.");
        return Predict(One(x, nameof(x), nameof(Predict)), batchSize)[0];
    }

    /// <summary>
    /// The outputs of a network with several inputs or outputs, in inference mode (Keras's <c>predict([x1, x2])</c>):
    /// one tensor per input in, one tensor per output out (in the order of <c>Outputs</c>).
    /// </summary>
    public Tensor[] Predict(Tensor[] x, int batchSize = 32)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckInputs(x, nameof(x));
            if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
            int n = x[0].Count;
            var results = Info.Outputs.Select(o => Tensor.Zeros([n, .. o.Shape])).ToArray();
            PredictInto(x, results, batchSize);
            return results;
        }
    }

    /// <summary>
    /// The network's outputs for <paramref name="x"/>, written into <paramref name="output"/>, a tensor the caller keeps
    /// (shape: x's samples by the output shape): the values <see cref="Predict(Tensor, int)"/> returns, with no managed
    /// allocation after the first call at a batch size, for a loop that serves one request after another.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="output"/>'s shape is not that (the message gives both).</exception>
    public void Predict(Tensor x, Tensor output, int batchSize = 32)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Info.Outputs.Count > 1)
                throw new InvalidOperationException($"{Info.Name} has {Info.Outputs.Count} outputs ({OutputNames}); use Predict(new[] {{ x }}), which returns one tensor per output.");
            RequireSingleInput(x, nameof(x), nameof(Predict));
            ArgumentNullException.ThrowIfNull(output);
            _oneX[0] = x;
            _oneY[0] = output;
            try
            {
                CheckInputs(_oneX, nameof(x));
                if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
                var shape = Info.Outputs[0].Shape;
                bool ok = output.Rank == shape.Count + 1 && output.Count == x.Count;
                for (int i = 0; ok && i < shape.Count; i++) ok = output.Shape[i + 1] == shape[i];
                if (!ok)
                    throw new ArgumentException($"{nameof(output)} has shape {output.ShapeString} but {Info.Name} writes {x.Count} samples of {KerasShape(shape)}: " +
                        $"make it Tensor.Zeros({x.Count}{string.Concat(shape.Select(d => ", " + d.ToString(CultureInfo.InvariantCulture)))}).", nameof(output));
                PredictInto(_oneX, _oneY, batchSize);
            }
            finally
            {
                _oneX[0] = _oneY[0] = null!;
            }
        }
    }

    /// <summary>Inference of checked inputs into output tensors of the right shapes, <paramref name="batchSize"/> samples at a time.</summary>
    private void PredictInto(Tensor[] x, Tensor[] results, int batchSize)
    {
        EnsureBuilt();
        int n = x[0].Count;
        if (n == 0) return;
        var outputs = Info.Outputs;
        EnsureBatchCapacity(Math.Min(batchSize, n));
        EnsureOrder(n);
        for (int start = 0; start < n; start += batchSize)
        {
            int batch = Math.Min(batchSize, n - start);
            LoadBatch(x, null, _order.AsSpan(start, batch), batch, training: false);
            InferenceForward(batch);
            for (int k = 0; k < outputs.Count; k++)
            {
                int size = outputs[k].Size;
                Backend.Download(Slot(false, outputs[k].TrainingSlot, outputs[k].InferenceSlot, batch), results[k].Data.AsSpan(start * size, batch * size));
            }
        }
    }

    /// <summary>A copy of all parameters, in the flat layout of the generated offsets (Keras kernels are [in, units]).</summary>
    public float[] GetWeights()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureBuilt();
            var w = new float[Info.ParameterCount];
            Backend.Download(ParametersOffset, w);
            return w;
        }
    }

    /// <summary>Replaces all parameters.</summary>
    public void SetWeights(ReadOnlySpan<float> weights)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureBuilt();
            if (weights.Length != Info.ParameterCount)
                throw new ArgumentException($"Got {weights.Length} weights but {Info.Name} has {Info.ParameterCount} parameters.", nameof(weights));
            Backend.Upload(weights, ParametersOffset);
            MarkWeightsChanged();
        }
    }

    /// <summary>
    /// Writes every parameter (moving statistics included) to <paramref name="path"/>, as Keras's <c>save_weights</c>,
    /// in NetGen's checksummed format; an existing file is replaced only once the new one is complete.
    /// </summary>
    public void SaveWeights(string path)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(path);
            WeightsFile.Write(path, Info.Name, Info.WeightShapes, Info.TrainableParameterCount, GetWeights(), Info.Layers);
        }
    }

    /// <summary>
    /// Loads parameters written by <see cref="SaveWeights"/> from a network whose layers have the same weight shapes
    /// (names may differ), as Keras's <c>load_weights</c>. A missing, corrupt or mismatched file is an error naming the
    /// path, and leaves the weights as they were.
    /// </summary>
    public void LoadWeights(string path)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
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
    }

    /// <summary>
    /// The loss of a batch in training mode and the gradient of every parameter (0 for the non-trainable ones), without
    /// updating anything: the moving statistics the training forward pass moves are put back (dropout masks are
    /// those of the current iteration). For gradient checks and custom loops.
    /// </summary>
    public (float Loss, float[] Gradients) ComputeGradients(Tensor x, Tensor y) =>
        ComputeGradients(One(x, nameof(x), nameof(ComputeGradients)), OneLabel(y, nameof(y), nameof(ComputeGradients)));

    /// <summary><see cref="ComputeGradients(Tensor, Tensor)"/> for a network with several inputs or outputs.</summary>
    public (float Loss, float[] Gradients) ComputeGradients(Tensor[] x, Tensor[] y)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RequireCompiled();
            CheckInputs(x, nameof(x));
            if (x[0].Count == 0) throw new ArgumentException("The batch has no samples; ComputeGradients needs at least one.", nameof(x));
            CheckLabels(x, y, nameof(y));
            int batch = x[0].Count;
            EnsureBatchCapacity(batch);
            EnsureOrder(batch);
            LoadBatch(x, y, _order, batch, training: true);
            SaveMovingStatistics();
            float loss;
            try
            {
                Forward(batch, training: true);
                loss = LossAndGradient(batch);
                Backward(batch, LossUsesLogits);
                AddWeightRegularization();
            }
            finally
            {
                RestoreMovingStatistics();
            }
            var g = new float[Info.ParameterCount];
            Backend.Download(GradientsOffset, g.AsSpan(0, Info.TrainableParameterCount)); // the rest stays 0
            return (loss, g);
        }
    }

    private static void Shuffle(Span<int> order, ulong key) => ShuffleOrder(order, key);

    /// <summary>Fisher-Yates from counters of <paramref name="key"/>: the order of a shuffled pass (Fit and directory flows).</summary>
    internal static void ShuffleOrder(Span<int> order, ulong key)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(CounterRng.Bits(key, (ulong)i) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>Releases the backend's memory.</summary>
    /// <remarks>
    /// Waits for an operation running on another thread to finish. After it, every call that needs the workspace
    /// (Fit, Predict, Evaluate, GetWeights, ...) throws <see cref="ObjectDisposedException"/>; calling it again does
    /// nothing. A model that is never disposed gives its CPU memory back when it is collected.
    /// </remarks>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _backend?.Dispose();
            _backend = null;
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Marks the start of a Fit; throws when one is already running on this model (another thread, or a callback).</summary>
    private void BeginFit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int me = Environment.CurrentManagedThreadId;
        int running = Interlocked.CompareExchange(ref _fitThread, me, 0);
        if (running != 0)
            throw new InvalidOperationException(running == me
                ? $"Fit is already running on {Info.Name} (called from one of its callbacks?): a model trains one Fit at a time; use TrainOnBatch in a callback instead."
                : $"Fit is already running on {Info.Name} in another thread: a model trains one Fit at a time; wait for it to return, or train a second model.");
    }

    private void EndFit() => Volatile.Write(ref _fitThread, 0);
}

/// <summary>Helpers Keras users know from <c>keras.utils</c>.</summary>
public static class Utils
{
    /// <summary>One-hot encodes class indices: (N,) → (N, numClasses). Keras's <c>to_categorical</c>.</summary>
    public static Tensor ToCategorical(Tensor labels, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "The number of classes must be positive.");
        if ((long)labels.Data.Length * numClasses > Array.MaxLength)
            throw new ArgumentException($"{labels.Data.Length:N0} labels of {numClasses:N0} classes need more values than one array holds.", nameof(numClasses));
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
