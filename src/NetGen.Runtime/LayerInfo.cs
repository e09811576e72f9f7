namespace NetGen;

/// <summary>One weight of a layer, as the generator laid it out in the flat parameter buffer.</summary>
/// <param name="Name">Keras's name: kernel, bias, gamma, beta, moving_mean, moving_variance, depthwise_kernel, pointwise_kernel.</param>
/// <param name="Offset">Its first float in the parameter buffer.</param>
/// <param name="Shape">Its shape (Keras's layout: Dense [in, units], Conv2D [kh, kw, in, filters]).</param>
/// <param name="Trainable">False for moving statistics, which training updates without the optimizer.</param>
public sealed record WeightInfo(string Name, int Offset, int[] Shape, bool Trainable)
{
    /// <summary>Floats in the weight.</summary>
    public int Count => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>What the generator knows about one layer (a row of <see cref="ModelInfo.Layers"/>).</summary>
/// <param name="Name">The layer name (given, or Keras's default).</param>
/// <param name="Type">The layer type, e.g. Conv2D.</param>
/// <param name="OutputShape">Shape of one sample of its output.</param>
/// <param name="Inputs">The layers it reads, by index (-1: the network's input).</param>
/// <param name="InspectSlot">Training-arena slot (floats per sample) of its output while <see cref="Model.PredictLayers(Tensor, IReadOnlyList{string}, int)"/> runs; -1 for a layer the output does not depend on.</param>
/// <param name="Trainable">Whether it is declared trainable (<c>Trainable = false</c> freezes it).</param>
/// <param name="Weights">Its weights, in Keras's order.</param>
/// <param name="Config">Its declared arguments that differ from their defaults, as <c>key=value</c> pairs joined by ';'
/// (units, activation, kernel, strides, padding, ...; see <see cref="Arguments"/>), as Keras's <c>get_config</c>.</param>
public sealed record LayerInfo(string Name, string Type, int[] OutputShape, int[] Inputs, int InspectSlot, bool Trainable, WeightInfo[] Weights,
    string Config = "")
{
    /// <summary><see cref="Config"/> as a dictionary.</summary>
    public IReadOnlyDictionary<string, string> Arguments => Config.Length == 0 ? new Dictionary<string, string>()
        : Config.Split(';').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    /// <summary>Number of parameters, trainable and not.</summary>
    public int ParameterCount => Weights.Sum(w => w.Count);
}

/// <summary>
/// A layer of a model (Keras's <c>model.layers[i]</c> / <c>model.get_layer(name)</c>): its name, type, output shape
/// and weights, which can be read and replaced, and whether it trains. Not thread-safe: like the model, use it from one
/// thread at a time.
/// </summary>
public sealed class Layer
{
    private readonly Model _model;
    private readonly int _index;

    internal Layer(Model model, int index, LayerInfo info)
    {
        _model = model;
        _index = index;
        Info = info;
    }

    /// <summary>What the generator knows about the layer.</summary>
    public LayerInfo Info { get; }

    /// <summary>The layer name.</summary>
    public string Name => Info.Name;

    /// <summary>The layer type, e.g. Conv2D.</summary>
    public string Type => Info.Type;

    /// <summary>Its position in the declaration (0 for the first layer attribute).</summary>
    public int Index => _index;

    /// <summary>Shape of one sample of its output, without the batch axis.</summary>
    public IReadOnlyList<int> OutputShape => Info.OutputShape;

    /// <summary>The names of the layers it reads ("input_1" for the network's input).</summary>
    public IReadOnlyList<string> InboundLayers => Info.Inputs.Select(i => i < 0 ? "input_1" : _model.Layers[i].Name).ToArray();

    /// <summary>Number of parameters, trainable and not (Keras's <c>count_params()</c>).</summary>
    public int CountParams() => Info.ParameterCount;

    /// <summary>The names of its weights, in the order of <see cref="GetWeights"/>.</summary>
    public IReadOnlyList<string> WeightNames => Info.Weights.Select(w => w.Name).ToArray();

    /// <summary>
    /// Whether the optimizer updates its weights (Keras's <c>layer.trainable</c>). A frozen BatchNormalization runs in
    /// inference mode in training too (TensorFlow 2's rule): it uses and keeps its moving statistics. Takes effect at
    /// the next training step; the optimizer state of a frozen weight is kept for when it is unfrozen.
    /// </summary>
    public bool Trainable
    {
        get => _model.LayerTrainableAt(_index);
        set => _model.SetLayerTrainable(_index, value);
    }

    /// <summary>Copies of its weights in Keras's order and layout (e.g. Dense: kernel [in, units], then bias).</summary>
    public float[][] GetWeights() => _model.ReadWeights(Info.Weights);

    /// <summary>Replaces its weights (Keras's <c>set_weights</c>): one array per weight, each of that weight's size.</summary>
    /// <exception cref="ArgumentException">The number of arrays or an array's length does not match; nothing is changed.</exception>
    public void SetWeights(params float[][] weights) => _model.WriteWeights(Name, Info.Weights, weights);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Type}): ({string.Join(", ", Info.OutputShape)}), {CountParams():N0} params{(Trainable ? "" : ", frozen")}";
}
