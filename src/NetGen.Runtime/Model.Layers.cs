using System.Globalization;

namespace NetGen;

// Layer access (Keras's model.layers, get_layer, per-layer weights), reading intermediate outputs (Keras's
// Model(inputs, layer.output).predict), and freezing layers (layer.trainable = False).
public abstract partial class Model
{
    private Layer[]? _layers;
    private bool[]? _trainable;  // per layer, now; null until first needed (then from the declaration)
    private bool[]? _backprop;   // per layer: it, or a layer before it, has trainable weights now
    private (int Start, int Count)[]? _ranges; // the trainable weights of trainable layers, or null for all of them

    /// <summary>Every layer, in declaration order (Keras's <c>model.layers</c>, without the input layer).</summary>
    public IReadOnlyList<Layer> Layers => _layers ??= Info.Layers.Select((l, i) => new Layer(this, i, l)).ToArray();

    /// <summary>The layer with this name (Keras's <c>get_layer</c>).</summary>
    /// <exception cref="KeyNotFoundException">No layer has that name; the message suggests the closest.</exception>
    public Layer GetLayer(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var layer in Layers)
            if (layer.Name == name) return layer;
        string? closest = Layers.Select(l => l.Name).OrderBy(n => Distance(n, name)).FirstOrDefault();
        throw new KeyNotFoundException($"{Info.Name} has no layer named '{name}'" +
            (closest is null ? "." : $"; did you mean '{closest}'? Its layers: {string.Join(", ", Layers.Select(l => l.Name))}."));
    }

    /// <summary>The layer at a position of the declaration (Keras's <c>get_layer(index=...)</c>).</summary>
    public Layer GetLayer(int index)
    {
        if ((uint)index >= (uint)Layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Info.Name} has {Layers.Count} layers (0 to {Layers.Count - 1}).");
        return Layers[index];
    }

    /// <summary>
    /// True while <see cref="PredictLayers(Tensor, IReadOnlyList{string}, int)"/> runs: the generated forward pass then runs every layer as declared
    /// (no batch norm folded, no activation moved after pooling) in the training slots, so each layer's output stays.
    /// </summary>
    protected bool Inspecting { get; private set; }

    /// <summary>Whether layer <paramref name="layer"/> trains now (generated code: frozen batch norms run in inference mode).</summary>
    protected bool LayerTrainable(int layer) => _trainable is null || _trainable[layer];

    /// <summary>Whether the backward pass must run layer <paramref name="layer"/>: it, or a layer before it, has trainable weights now.</summary>
    protected bool Backprop(int layer) => _backprop is null || _backprop[layer];

    internal bool LayerTrainableAt(int layer) => _trainable?[layer] ?? Info.Layers[layer].Trainable;

    internal void SetLayerTrainable(int layer, bool value)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureTrainableState();
            _trainable![layer] = value;
            UpdateTrainableState();
        }
    }

    /// <summary>Freezes (false) or unfreezes (true) several layers by name, e.g. a whole pre-trained base.</summary>
    public void SetTrainable(bool trainable, params string[] layerNames)
    {
        ArgumentNullException.ThrowIfNull(layerNames);
        var layers = layerNames.Select(GetLayer).ToArray(); // every name checked before anything changes
        EnsureTrainableState();
        foreach (var layer in layers) _trainable![layer.Index] = trainable;
        UpdateTrainableState();
    }

    private void EnsureTrainableState()
    {
        if (_trainable is not null) return;
        _trainable = Info.Layers.Select(l => l.Trainable).ToArray();
        UpdateTrainableState();
    }

    /// <summary>The declared Trainable = false layers take effect from the start.</summary>
    private void ApplyDeclaredTrainable()
    {
        if (_trainable is null && Info.Layers.Any(l => !l.Trainable)) EnsureTrainableState();
    }

    private void UpdateTrainableState()
    {
        var layers = Info.Layers;
        int n = layers.Count;
        var backprop = new bool[n];
        // Layers may read layers declared after them: iterate until nothing changes (at most n rounds).
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int i = 0; i < n; i++)
            {
                bool b = _trainable![i] && layers[i].Weights.Any(w => w.Trainable);
                foreach (int s in layers[i].Inputs) b |= s >= 0 && backprop[s];
                if (b && !backprop[i]) { backprop[i] = true; changed = true; }
            }
        }
        _backprop = backprop;
        var ranges = new List<(int Start, int Count)>();
        foreach (var w in layers.Where((l, i) => _trainable![i]).SelectMany(l => l.Weights).Where(w => w.Trainable).OrderBy(w => w.Offset))
        {
            if (ranges.Count > 0 && ranges[^1].Start + ranges[^1].Count == w.Offset) ranges[^1] = (ranges[^1].Start, ranges[^1].Count + w.Count);
            else ranges.Add((w.Offset, w.Count));
        }
        _ranges = ranges.Count == 1 && ranges[0] == (0, Info.TrainableParameterCount) ? null : ranges.ToArray();
    }

    /// <summary>The trainable ranges when some layers are frozen, or null for the whole block (no allocation: a training step calls it).</summary>
    private (int Start, int Count)[]? OptimizerRanges() => _ranges; // EnsureBuilt applied the declared Trainable = false

    /// <summary>The generated summary with its trainable and non-trainable counts as the layers are frozen now.</summary>
    private string SummaryWithCurrentTrainable()
    {
        ApplyDeclaredTrainable();
        if (_trainable is null || Info.Layers.Count == 0) return Info.Summary;
        long trainable = Info.Layers.Where((l, i) => _trainable[i]).SelectMany(l => l.Weights).Where(w => w.Trainable).Sum(w => (long)w.Count);
        var lines = Info.Summary.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("Trainable params: ", StringComparison.Ordinal))
                lines[i] = "Trainable params: " + trainable.ToString("#,0", CultureInfo.InvariantCulture);
            else if (lines[i].StartsWith("Non-trainable params: ", StringComparison.Ordinal))
                lines[i] = "Non-trainable params: " + (Info.ParameterCount - trainable).ToString("#,0", CultureInfo.InvariantCulture);
        }
        return string.Join("\n", lines);
    }

    internal float[][] ReadWeights(WeightInfo[] weights)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            EnsureBuilt();
            var result = new float[weights.Length][];
            for (int k = 0; k < weights.Length; k++)
            {
                result[k] = new float[weights[k].Count];
                Backend.Download(ParametersOffset + weights[k].Offset, result[k]);
            }
            return result;
        }
    }

    internal void WriteWeights(string layer, WeightInfo[] weights, float[][] values)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(values);
            if (values.Length != weights.Length)
                throw new ArgumentException($"Layer '{layer}' has {weights.Length} weights ({string.Join(", ", weights.Select(w => w.Name))}) but {values.Length} arrays were given.", nameof(values));
            for (int k = 0; k < weights.Length; k++)
            {
                if (values[k] is null || values[k].Length != weights[k].Count)
                    throw new ArgumentException($"Layer '{layer}' weight '{weights[k].Name}' has shape ({string.Join(", ", weights[k].Shape)}), {weights[k].Count} floats, but {values[k]?.Length ?? 0} were given.", nameof(values));
            }
            EnsureBuilt();
            for (int k = 0; k < weights.Length; k++) Backend.Upload(values[k], ParametersOffset + weights[k].Offset);
            MarkWeightsChanged();
        }
    }

    /// <summary>
    /// The outputs of the named layers for <paramref name="x"/>, in inference mode (Keras's
    /// <c>Model(inputs=model.input, outputs=[model.get_layer(n).output for n in names]).predict(x)</c>), one tensor per
    /// name with the batch axis first. Every layer runs as declared (no batch norm folded), so a convolution's output is
    /// before the batch norm that follows it.
    /// </summary>
    /// <exception cref="KeyNotFoundException">A name is not a layer of this model.</exception>
    /// <exception cref="ArgumentException">A layer the output does not depend on (it never runs), or x has the wrong shape.</exception>
    public Tensor[] PredictLayers(Tensor x, IReadOnlyList<string> layerNames, int batchSize = 32) =>
        PredictLayers(One(x, nameof(x), nameof(PredictLayers)), layerNames, batchSize);

    /// <summary><see cref="PredictLayers(Tensor, IReadOnlyList{string}, int)"/> for a network with several inputs: one tensor per input.</summary>
    public Tensor[] PredictLayers(Tensor[] x, IReadOnlyList<string> layerNames, int batchSize = 32)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(layerNames);
            var layers = layerNames.Select(GetLayer).ToArray();
            foreach (var l in layers)
                if (l.Info.InspectSlot < 0)
                    throw new ArgumentException($"Layer '{l.Name}' does not lead to the output of {Info.Name}, so it never runs (NG0203).", nameof(layerNames));
            CheckInputs(x, nameof(x));
            if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
            EnsureBuilt();
            int n = x[0].Count;
            var results = layers.Select(l => Tensor.Zeros([n, .. l.Info.OutputShape])).ToArray();
            if (n == 0) return results;
            EnsureBatchCapacity(Math.Min(batchSize, n), inspecting: true);
            EnsureOrder(n);
            Inspecting = true;
            try
            {
                for (int start = 0; start < n; start += batchSize)
                {
                    int batch = Math.Min(batchSize, n - start);
                    LoadBatch(x, null, _order.AsSpan(start, batch), batch, training: false);
                    InferenceForward(batch);
                    for (int k = 0; k < layers.Length; k++)
                    {
                        int size = results[k].SampleSize;
                        Backend.Download(Train(layers[k].Info.InspectSlot, batch), results[k].Data.AsSpan(start * size, batch * size));
                    }
                }
            }
            finally
            {
                Inspecting = false;
            }
            return results;
        }
    }

    /// <summary>
    /// Copies the weights of every layer of <paramref name="source"/> that has a layer of the same name and the same
    /// weight shapes here (Keras's <c>load_weights(by_name=True)</c> between two models, e.g. a trained feature
    /// extractor into a network with a new head); returns the names of the layers copied.
    /// </summary>
    /// <exception cref="ArgumentException">A layer of that name has other weight shapes here (unless <paramref name="skipMismatch"/>); nothing is copied.</exception>
    public IReadOnlyList<string> CopyWeightsFrom(Model source, bool skipMismatch = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(source);
            var plan = new List<(Layer Target, float[][] Values)>();
            foreach (var theirs in source.Layers)
            {
                var ours = Layers.FirstOrDefault(l => l.Name == theirs.Name);
                if (ours is null || (theirs.Info.Weights.Length == 0 && ours.Info.Weights.Length == 0)) continue;
                bool same = ours.Info.Weights.Length == theirs.Info.Weights.Length &&
                    ours.Info.Weights.Zip(theirs.Info.Weights).All(p => p.First.Shape.SequenceEqual(p.Second.Shape));
                if (!same)
                {
                    if (skipMismatch) continue;
                    throw new ArgumentException($"Layer '{ours.Name}' has weights {Shapes(ours)} in {Info.Name} but {Shapes(theirs)} in {source.Info.Name}; " +
                        "rename one of them, or pass skipMismatch: true to leave it as it is.", nameof(source));
                }
                plan.Add((ours, theirs.GetWeights()));
            }
            foreach (var (target, values) in plan) target.SetWeights(values);
            return plan.Select(p => p.Target.Name).ToArray();

            static string Shapes(Layer l) => string.Join(" ", l.Info.Weights.Select(w => "(" + string.Join(", ", w.Shape) + ")"));
        }
    }

    /// <summary>
    /// Loads the weights of the layers that have a namesake in the weights file (Keras's
    /// <c>load_weights(path, by_name=True)</c>): a feature extractor trained and saved in one network, loaded into
    /// another with a new head. Layers without a namesake keep their weights. Returns the names of the layers loaded.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is missing, corrupt, older than layer names (NETGENW1), or a
    /// namesake has other weight shapes (unless <paramref name="skipMismatch"/>); nothing is changed.</exception>
    public IReadOnlyList<string> LoadWeightsByName(string path, bool skipMismatch = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(path);
            var (name, _, _, weights, fileLayers) = WeightsFile.Read(path);
            string full = Path.GetFullPath(path);
            if (fileLayers is null)
                throw new InvalidDataException($"The weights file '{full}' was written before weights files named their layers; load it with LoadWeights into the network that saved it, and save it again.");
            var plan = new List<(Layer Target, float[][] Values)>();
            foreach (var theirs in fileLayers)
            {
                var ours = Layers.FirstOrDefault(l => l.Name == theirs.Name);
                if (ours is null) continue;
                bool same = ours.Info.Weights.Length == theirs.Weights.Length &&
                    ours.Info.Weights.Zip(theirs.Weights).All(p => p.First.Shape.SequenceEqual(p.Second.Shape));
                if (!same)
                {
                    if (skipMismatch) continue;
                    throw new InvalidDataException($"Layer '{ours.Name}' has weights {string.Join(" ", ours.Info.Weights.Select(w => "(" + string.Join(", ", w.Shape) + ")"))} in {Info.Name} " +
                        $"but {string.Join(" ", theirs.Weights.Select(w => "(" + string.Join(", ", w.Shape) + ")"))} in '{full}' (saved from {name}); rename one of them, or pass skipMismatch: true.");
                }
                plan.Add((ours, theirs.Weights.Select(w => weights.AsSpan(w.Offset, w.Shape.Aggregate(1, (a, b) => a * b)).ToArray()).ToArray()));
            }
            foreach (var (target, values) in plan) target.SetWeights(values);
            return plan.Select(p => p.Target.Name).ToArray();
        }
    }

    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int previous = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int current = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1));
                previous = current;
            }
        }
        return d[b.Length];
    }
}
