using NetGen.Backends;

namespace NetGen;

/// <summary>What the generator knows about a network, handed to the runtime once per network type.</summary>
public sealed class ModelInfo
{
    /// <summary>Created by generated code.</summary>
    public ModelInfo(string name, int[] inputShape, int[] outputShape, int parameterCount, int trainableParameterCount,
        int parameterBufferSize, int trainingArenaPerSample,
        int inferenceArenaPerSample, int outputTrainingSlot, int outputInferenceSlot,
        int logitsSlot, int logitsInferenceSlot, ActivationFunction outputActivation, string summary, string weightShapes = "", LayerInfo[]? layers = null, int inspectionArenaPerSample = 0,
        InputInfo[]? inputs = null, OutputInfo[]? outputs = null, int inputIndexLimit = 0, RegularizerInfo[]? regularizers = null, int outputGradientSlot = -1)
    {
        Regularizers = regularizers ?? [];
        WeightShapes = weightShapes;
        Layers = layers ?? [];
        InspectionArenaPerSample = Math.Max(inspectionArenaPerSample, trainingArenaPerSample);
        Name = name;
        InputShape = inputShape;
        OutputShape = outputShape;
        InputSize = Product(inputShape);
        OutputSize = Product(outputShape);
        ParameterCount = parameterCount;
        TrainableParameterCount = trainableParameterCount;
        ParameterBufferSize = parameterBufferSize;
        TrainingArenaPerSample = trainingArenaPerSample;
        InferenceArenaPerSample = inferenceArenaPerSample;
        OutputTrainingSlot = outputTrainingSlot;
        OutputInferenceSlot = outputInferenceSlot;
        LogitsSlot = logitsSlot;
        LogitsInferenceSlot = logitsInferenceSlot;
        OutputActivation = outputActivation;
        Summary = summary;
        // The network's own input first (at slot 0 in both arenas), then the extra inputs; one output unless listed.
        Inputs = [new InputInfo("input_1", inputShape, 0, 0, inputIndexLimit), .. inputs ?? []];
        Outputs = outputs ?? [new OutputInfo(Layers.Count > 0 ? Layers[^1].Name : name, outputShape, outputTrainingSlot, outputInferenceSlot,
            logitsSlot, logitsInferenceSlot, outputActivation, outputGradientSlot)];
        int labels = 0;
        foreach (var o in Outputs) labels += o.Size;
        // Training's workspace also runs inference (validation), whose arena overlays the training arena.
        Plan = new MemoryPlan(parameterCount, trainableParameterCount, Math.Max(trainingArenaPerSample, inferenceArenaPerSample), inferenceArenaPerSample, labels,
            parameterBufferSize - parameterCount);
    }

    /// <summary>The weight and activity regularizers (Keras's kernel_, bias_ and activity_regularizer).</summary>
    public IReadOnlyList<RegularizerInfo> Regularizers { get; }

    /// <summary>The inputs: the network's own (<c>input_1</c>), then each <c>[Input]</c> layer in declaration order.</summary>
    public IReadOnlyList<InputInfo> Inputs { get; }
    /// <summary>The outputs, in the order of <c>[Network(Outputs = ...)]</c> (one, the last layer, by default).</summary>
    public IReadOnlyList<OutputInfo> Outputs { get; }

    /// <summary>The model name.</summary>
    public string Name { get; }
    /// <summary>Shape of one input sample.</summary>
    public IReadOnlyList<int> InputShape { get; }
    /// <summary>Shape of one output sample.</summary>
    public IReadOnlyList<int> OutputShape { get; }
    /// <summary>Elements per input sample.</summary>
    public int InputSize { get; }
    /// <summary>Elements per output sample.</summary>
    public int OutputSize { get; }
    /// <summary>Number of parameters, trainable and not.</summary>
    public int ParameterCount { get; }
    /// <summary>Number of trainable parameters (the first ones in the buffer).</summary>
    public int TrainableParameterCount { get; }
    /// <summary>Floats of the parameter buffer: the parameters, then per-step scratch such as saved batch statistics.</summary>
    public int ParameterBufferSize { get; }
    /// <summary>
    /// Training arena, floats per sample: the tensors the backward pass reads and the gradients it passes on (which reuse
    /// the memory of kept tensors once the backward pass is done with them).
    /// </summary>
    public int TrainingArenaPerSample { get; }
    /// <summary>Inference activation arena, floats per sample.</summary>
    public int InferenceArenaPerSample { get; }
    /// <summary>Arena slot of the output in training.</summary>
    public int OutputTrainingSlot { get; }
    /// <summary>Arena slot of the output in inference.</summary>
    public int OutputInferenceSlot { get; }
    /// <summary>Arena slot of the output layer's logits in training, or -1.</summary>
    public int LogitsSlot { get; }
    /// <summary>Arena slot of the output layer's logits in inference, or -1.</summary>
    public int LogitsInferenceSlot { get; }
    /// <summary>The output layer's activation.</summary>
    public ActivationFunction OutputActivation { get; }
    /// <summary>The Keras-style summary.</summary>
    public string Summary { get; }
    /// <summary>Each layer with weights: its type and weight shapes, e.g. <c>Conv2D (3, 3, 1, 32) (32,); BatchNormalization (32,) (32,) (32,) (32,)</c>.</summary>
    public string WeightShapes { get; }
    /// <summary>Floats per sample that reading every layer's output needs (the training arena and the fused layers' own outputs).</summary>
    public int InspectionArenaPerSample { get; }
    /// <summary>Every layer, in declaration order.</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }
    /// <summary>The memory plan.</summary>
    public MemoryPlan Plan { get; }

    private static int Product(int[] shape)
    {
        int p = 1;
        foreach (int d in shape) p *= d;
        return p;
    }
}

/// <summary>
/// A regularizer: on a weight (<paramref name="offset"/> in the parameter buffer, <paramref name="count"/> floats), its
/// penalty l1·Σ|w| + l2·Σw² is added to the loss; on a layer's output (<paramref name="activity"/>: offset and
/// inference slot are arena slots, count floats per sample), the same over the batch's outputs, divided by the batch size.
/// </summary>
public sealed class RegularizerInfo(int offset, int count, float l1, float l2, bool activity = false, int inferenceSlot = -1,
    float contractive = 0, int kernel = -1, int inputs = 0)
{
    /// <summary>λ of a contractive penalty on a sigmoid layer's output (0: none); its kernel's offset and input width follow.</summary>
    public float Contractive { get; } = contractive;
    /// <summary>The contractive layer's kernel offset in the parameter buffer.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>The contractive layer's inputs (its kernel's rows).</summary>
    public int Inputs { get; } = inputs;

    /// <summary>Parameter offset (weights) or training arena slot (activity).</summary>
    public int Offset { get; } = offset;
    /// <summary>Floats (weights) or floats per sample (activity).</summary>
    public int Count { get; } = count;
    /// <summary>The L1 factor.</summary>
    public float L1 { get; } = l1;
    /// <summary>The L2 factor.</summary>
    public float L2 { get; } = l2;
    /// <summary>Whether it regularizes a layer's output rather than a weight.</summary>
    public bool Activity { get; } = activity;
    /// <summary>The output's inference arena slot (activity only).</summary>
    public int InferenceSlot { get; } = inferenceSlot;
}

/// <summary>One input of a network: its name, sample shape, and arena slots (floats per sample) in training and inference.</summary>
public sealed class InputInfo(string name, int[] shape, int trainingSlot, int inferenceSlot, int indexLimit = 0)
{
    /// <summary>For an input an Embedding reads: its values must be whole numbers in [0, IndexLimit); 0 for a float input.</summary>
    public int IndexLimit { get; } = indexLimit;

    /// <summary>The input's name (<c>input_1</c> for the network's own, else the <c>[Input]</c> layer's).</summary>
    public string Name { get; } = name;
    /// <summary>Shape of one sample.</summary>
    public IReadOnlyList<int> Shape { get; } = shape;
    /// <summary>Elements per sample.</summary>
    public int Size { get; } = shape.Aggregate(1, (a, d) => a * d);
    /// <summary>Training arena slot.</summary>
    public int TrainingSlot { get; } = trainingSlot;
    /// <summary>Inference arena slot.</summary>
    public int InferenceSlot { get; } = inferenceSlot;
}

/// <summary>
/// One output of a network: its layer's name and shape, its arena slots, where the loss reads its logits (-1: it reads
/// the output), its activation, and the training arena slot the loss writes its gradient into (-1: none needed).
/// </summary>
public sealed class OutputInfo(string name, int[] shape, int trainingSlot, int inferenceSlot, int logitsSlot, int logitsInferenceSlot,
    ActivationFunction activation, int gradientSlot)
{
    /// <summary>The output layer's name.</summary>
    public string Name { get; } = name;
    /// <summary>Shape of one sample.</summary>
    public IReadOnlyList<int> Shape { get; } = shape;
    /// <summary>Elements per sample.</summary>
    public int Size { get; } = shape.Aggregate(1, (a, d) => a * d);
    /// <summary>Training arena slot of the output.</summary>
    public int TrainingSlot { get; } = trainingSlot;
    /// <summary>Inference arena slot of the output.</summary>
    public int InferenceSlot { get; } = inferenceSlot;
    /// <summary>Training arena slot of its logits, or -1.</summary>
    public int LogitsSlot { get; } = logitsSlot;
    /// <summary>Inference arena slot of its logits, or -1.</summary>
    public int LogitsInferenceSlot { get; } = logitsInferenceSlot;
    /// <summary>The output layer's activation.</summary>
    public ActivationFunction Activation { get; } = activation;
    /// <summary>Training arena slot of dL/d(this output) in the backward pass, or -1.</summary>
    public int GradientSlot { get; } = gradientSlot;
}

/// <summary>
/// Bytes a network needs, computed from the compile-time plan: parameters, gradients, optimizer state, and
/// activations (which scale with the batch size).
/// </summary>
public sealed class MemoryPlan
{
    internal MemoryPlan(int parameters, int trainable, int trainingPerSample, int inferencePerSample, int outputSize, int scratch)
    {
        Parameters = parameters;
        ScratchFloats = scratch;
        TrainableParameters = trainable;
        TrainingFloatsPerSample = trainingPerSample;
        InferenceFloatsPerSample = inferencePerSample;
        LabelFloatsPerSample = outputSize;
    }

    /// <summary>Number of parameters.</summary>
    public int Parameters { get; }
    /// <summary>Number of trainable parameters (those with gradients and optimizer state).</summary>
    public int TrainableParameters { get; }
    /// <summary>Activation and gradient floats per sample in training.</summary>
    public int TrainingFloatsPerSample { get; }
    /// <summary>Activation floats per sample in inference.</summary>
    public int InferenceFloatsPerSample { get; }
    /// <summary>Label floats per sample.</summary>
    public int LabelFloatsPerSample { get; }

    /// <summary>
    /// Floats kept after the parameters that are not parameters: batch norms' batch statistics for the backward pass and
    /// the kernels batch norms are folded into for inference.
    /// </summary>
    public int ScratchFloats { get; }

    /// <summary>Bytes of parameters.</summary>
    public long ParameterBytes => 4L * Parameters;
    /// <summary>Bytes of the scratch after the parameters (<see cref="ScratchFloats"/>).</summary>
    public long ScratchBytes => 4L * ScratchFloats;
    /// <summary>Bytes of gradients.</summary>
    public long GradientBytes => 4L * Parameters;
    /// <summary>Bytes of optimizer state for an optimizer (e.g. Adam keeps two slots).</summary>
    public long OptimizerStateBytes(Optimizer optimizer) => 4L * TrainableParameters * optimizer.StateSlots;
    /// <summary>Bytes of optimizer state for a number of slots.</summary>
    public long OptimizerStateBytes(int slots) => 4L * TrainableParameters * slots;
    /// <summary>Bytes of activations, gradient buffers and labels for training at a batch size.</summary>
    public long ActivationBytes(int batchSize) => 4L * batchSize * (TrainingFloatsPerSample + LabelFloatsPerSample);
    /// <summary>Bytes of activations for inference at a batch size.</summary>
    public long InferenceActivationBytes(int batchSize) => 4L * batchSize * InferenceFloatsPerSample;
    /// <summary>Everything training needs at a batch size with an optimizer of <paramref name="optimizerSlots"/> slots.</summary>
    public long TrainingBytes(int batchSize, int optimizerSlots = 2) =>
        ParameterBytes + ScratchBytes + GradientBytes + OptimizerStateBytes(optimizerSlots) + ActivationBytes(batchSize);

    /// <summary>The largest training batch that fits in <paramref name="budgetBytes"/> (0 if none does).</summary>
    public int MaxBatchSize(long budgetBytes, int optimizerSlots = 2)
    {
        long fixedBytes = ParameterBytes + ScratchBytes + GradientBytes + OptimizerStateBytes(optimizerSlots);
        long perSample = 4L * (TrainingFloatsPerSample + LabelFloatsPerSample);
        if (budgetBytes <= fixedBytes) return 0;
        return (int)Math.Min(int.MaxValue, (budgetBytes - fixedBytes) / perSample);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"parameters {ParameterBytes:N0} B, scratch {ScratchBytes:N0} B, gradients {GradientBytes:N0} B, activations {4L * (TrainingFloatsPerSample + LabelFloatsPerSample):N0} B per sample (training), {4L * InferenceFloatsPerSample:N0} B per sample (inference)";
}

/// <summary>What <c>Fit</c> returns: each metric's value per epoch, as Keras's <c>History.history</c>.</summary>
public sealed class History
{
    /// <summary>Metric name (loss, accuracy, val_loss, val_accuracy) to one value per epoch.</summary>
    public Dictionary<string, List<double>> Values { get; } = new();

    /// <summary>The values of one metric.</summary>
    public IReadOnlyList<double> this[string metric] => Values[metric];

    /// <summary>Number of epochs run.</summary>
    public int Epochs => Values.TryGetValue("loss", out var l) ? l.Count : 0;

    /// <summary>
    /// Writes the training curves as an SVG picture (<see cref="HistoryPlot"/>): a panel for the loss and one per
    /// metric, training solid and validation dashed, as the seed tutorials' matplotlib figures.
    /// </summary>
    public void Plot(string path) => HistoryPlot.Save(this, path);

    internal void Add(string name, double value)
    {
        if (!Values.TryGetValue(name, out var list)) Values[name] = list = new List<double>();
        list.Add(value);
    }
}

/// <summary>Thrown when a loss becomes NaN or infinite; the weights are left as they were before that batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
