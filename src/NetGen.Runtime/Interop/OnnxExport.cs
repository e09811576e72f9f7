using System.Globalization;

namespace NetGen;

/// <summary>
/// Writes a model as an ONNX file (opset 13) from the layer graph the generator recorded (<see cref="ModelInfo.Layers"/>
/// with each layer's <see cref="LayerInfo.Config"/>) and the current weights: inference semantics (dropout and noise
/// are the identity; batch normalization uses its moving statistics, as a scale and a shift). Tensors keep NetGen's
/// channels-last layout at the graph's inputs and outputs, so the exported model takes what <c>Predict</c> takes; the
/// 2-D convolutions and poolings run between Transpose nodes (ONNX's are channels-first).
/// </summary>
internal sealed class OnnxExport
{
    private readonly Model _model;
    private readonly ModelInfo _info;
    private readonly ProtoWriter _graph = new();
    private int _unique;

    private OnnxExport(Model model, ModelInfo info)
    {
        _model = model;
        _info = info;
    }

    /// <summary>The ONNX ModelProto's bytes.</summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX form here yet; the message names it and lists what exports.</exception>
    public static byte[] Build(Model model, ModelInfo info)
    {
        var export = new OnnxExport(model, info);
        export.Graph();
        var m = new ProtoWriter();
        m.Varint(1, 8);                  // ir_version 8
        m.String(2, "NetGen");           // producer_name
        m.String(3, "0.1.0");            // producer_version
        m.Message(7, export._graph);      // graph
        var opset = new ProtoWriter();
        opset.String(1, "");
        opset.Varint(2, 13);
        m.Message(8, opset);             // opset_import: ai.onnx 13
        return m.ToArray();
    }

    /// <summary>The layer types <see cref="Build"/> exports.</summary>
    public static readonly string[] Supported =
    [
        "Dense", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D",
        "GlobalAveragePooling2D", "BatchNormalization", "Dropout", "GaussianNoise", "GaussianDropout", "SpatialDropout2D",
        "ActivityRegularization", "Flatten", "Reshape", "Activation", "ReLU", "LeakyReLU", "ELU", "Add", "Subtract",
        "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "InputLayer",
        "TimeDistributed", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
        "UpSampling1D", "ZeroPadding1D", "Cropping1D", "SpatialDropout1D", "Embedding", "RepeatVector", "LSTM", "GRU", "SimpleRNN",
        "Conv2DTranspose",
    ];

    private void Graph()
    {
        var info = _info;
        _graph.String(2, info.Name);
        var layers = info.Layers;
        foreach (var layer in layers)
            if (Array.IndexOf(Supported, layer.Type) < 0)
                throw new NotSupportedException($"Layer '{layer.Name}' ({layer.Type}) has no ONNX export yet; ExportOnnx covers {string.Join(", ", Supported)}.");
            else if (layer.Type is "LSTM" or "GRU" or "SimpleRNN" && layer.Inputs.Length > 1)
                throw new NotSupportedException($"Layer '{layer.Name}' ({layer.Type}) starts from initial states (InitialState), which ExportOnnx does not write yet; export a network whose recurrent layers start from zeros.");
        string first = info.Inputs[0].Name;
        Input(first, info.InputShape);
        var names = new string[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            string[] inputs = l.Inputs.Select(k => k < 0 ? first : names[k]).ToArray();
            int[] inShape = l.Inputs.Length > 0 ? (l.Inputs[0] < 0 ? [.. info.InputShape] : layers[l.Inputs[0]].OutputShape) : l.OutputShape;
            names[i] = l.Name;
            if (l.Type == "InputLayer")
            {
                Input(l.Name, l.OutputShape);
                continue;
            }
            Layer(l, inputs, inShape, _model.Layers[i].GetWeights());
        }
        foreach (var o in info.Outputs) Value(12, o.Name, o.Shape);
    }

    private void Layer(LayerInfo l, string[] x, int[] inShape, float[][] w)
    {
        var a = l.Arguments;
        string y = l.Name;
        string Arg(string key, string fallback) => a.TryGetValue(key, out var v) ? v : fallback;
        double Num(string key, double fallback) => a.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        int[] Pair(string key, int fallback) => a.TryGetValue(key, out var v) ? v.Split(',').Select(int.Parse).ToArray() : [fallback, fallback];
        string activation = Arg("activation", "Linear");
        bool bias = Arg("use_bias", "1") == "1";
        switch (l.Type)
        {
            case "Dense" or "TimeDistributed": // Dense on the last axis: MatMul broadcasts over the leading ones
            {
                string z = Name(y, "matmul");
                Node("MatMul", [x[0], Constant(w[0], l.Weights[0].Shape)], [z]);
                if (bias) z = Binary("Add", z, Constant(w[1], l.Weights[1].Shape), Name(y, "bias"));
                Activate(activation, z, y);
                break;
            }
            case "Conv2D" or "DepthwiseConv2D" or "SeparableConv2D":
            {
                int[] k = Pair("kernel", 1), s = Pair("strides", 1);
                int d = (int)Num("dilation", 1), c = inShape[2];
                bool same = Arg("padding", "0") == "1";
                var pads = Pads(inShape, l.OutputShape, k, s, d, same);
                string t = ToChannelsFirst(x[0], y);
                string z;
                if (l.Type == "Conv2D")
                {
                    z = Conv(t, Hwio(w[0], l.Weights[0].Shape), bias ? w[1] : null, k, s, d, pads, 1, Name(y, "conv"));
                }
                else if (l.Type == "DepthwiseConv2D")
                {
                    z = Conv(t, Depthwise(w[0], l.Weights[0].Shape), bias ? w[1] : null, k, s, d, pads, c, Name(y, "conv"));
                }
                else
                {
                    string dw = Conv(t, Depthwise(w[0], l.Weights[0].Shape), null, k, s, d, pads, c, Name(y, "depthwise"));
                    z = Conv(dw, Hwio(w[1], l.Weights[1].Shape), bias ? w[2] : null, [1, 1], [1, 1], 1, [0, 0, 0, 0], 1, Name(y, "pointwise"));
                }
                string back = ToChannelsLast(z, Name(y, "nhwc"));
                Activate(activation, back, y);
                break;
            }
            case "Conv2DTranspose":
            {
                // Keras's kernel (kh, kw, filters, in) as ConvTranspose's (in, filters, kh, kw). The padding is that of the
                // convolution it is the gradient of (TensorFlow's same: the odd one at the bottom and right), and the output
                // size is Keras's (in·s for same, (in − 1)·s + k for valid), through output_padding where k < s.
                int[] k = Pair("kernel", 1), s = Pair("strides", 1);
                if ((int)Num("dilation", 1) != 1)
                    throw new NotSupportedException($"Layer '{l.Name}' (Conv2DTranspose with a dilation) has no ONNX export yet.");
                bool same = Arg("padding", "0") == "1";
                int[] shape = l.Weights[0].Shape;
                int kh = shape[0], kw = shape[1], filters = shape[2], cin = shape[3];
                var kernel = new float[w[0].Length];
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        for (int f = 0; f < filters; f++)
                            for (int c = 0; c < cin; c++)
                                kernel[((c * filters + f) * kh + i) * kw + j] = w[0][((i * kw + j) * filters + f) * cin + c];
                int[] pads = [0, 0, 0, 0], extra = [0, 0];
                for (int d = 0; d < 2; d++)
                {
                    int total = same ? Math.Max(k[d] - s[d], 0) : 0;
                    pads[d] = total / 2;
                    pads[d + 2] = total - total / 2;
                    int natural = s[d] * (inShape[d] - 1) + k[d] - total;
                    extra[d] = l.OutputShape[d] - natural;
                }
                var inputs = new List<string> { ToChannelsFirst(x[0], y), Constant(kernel, [cin, filters, kh, kw]) };
                if (bias) inputs.Add(Constant(w[1], [filters]));
                string z = Name(y, "deconv");
                Node("ConvTranspose", [.. inputs], [z], [Ints("kernel_shape", k), Ints("strides", s), Ints("pads", pads), Ints("output_padding", extra)]);
                Activate(activation, ToChannelsLast(z, Name(y, "nhwc")), y);
                break;
            }
            case "MaxPooling2D" or "AveragePooling2D":
            {
                int[] k = Pair("kernel", 2), s = Pair("strides", 0);
                if (s[0] <= 0) s = k; // Keras's strides=None: the pool size
                bool same = Arg("padding", "0") == "1";
                var pads = Pads(inShape, l.OutputShape, k, s, 1, same);
                var attributes = new List<ProtoWriter> { Ints("kernel_shape", k), Ints("strides", s), Ints("pads", pads) };
                if (l.Type == "AveragePooling2D") attributes.Add(Int("count_include_pad", 0)); // Keras averages over the real pixels
                string pooled = Name(y, "pool");
                Node(l.Type == "MaxPooling2D" ? "MaxPool" : "AveragePool", [ToChannelsFirst(x[0], y)], [pooled], attributes);
                Node("Transpose", [pooled], [y], [Ints("perm", [0, 2, 3, 1])]);
                break;
            }
            case "GlobalMaxPooling2D" or "GlobalAveragePooling2D":
                Node(l.Type == "GlobalMaxPooling2D" ? "ReduceMax" : "ReduceMean", [x[0]], [y], [Ints("axes", [1, 2]), Int("keepdims", 0)]);
                break;
            case "BatchNormalization":
            {
                // Inference: y = x·γ/√(σ² + ε) + (β − μ·γ/√(σ² + ε)), over the last axis.
                double eps = Num("epsilon", 1e-3);
                int n = w[0].Length;
                var scale = new float[n];
                var shift = new float[n];
                for (int c = 0; c < n; c++)
                {
                    scale[c] = (float)(w[0][c] / Math.Sqrt(w[3][c] + (double)(float)eps));
                    shift[c] = (float)(w[1][c] - w[2][c] * (double)scale[c]);
                }
                string scaled = Binary("Mul", x[0], Constant(scale, [n]), Name(y, "scale"));
                Node("Add", [scaled, Constant(shift, [n])], [y]);
                break;
            }
            case "Conv1D":
            {
                int k = Pair("kernel", 1)[0], st = Pair("strides", 1)[0], d = (int)Num("dilation", 1);
                int padding = int.Parse(Arg("padding", "0"), CultureInfo.InvariantCulture);
                int total = Math.Max((l.OutputShape[0] - 1) * st + (k - 1) * d + 1 - inShape[0], 0);
                int[] pads = padding switch { 1 => [total / 2, total - total / 2], 2 => [(k - 1) * d, 0], _ => [0, 0] };
                string t = Name(y, "ncw");
                Node("Transpose", [x[0]], [t], [Ints("perm", [0, 2, 1])]);
                int cin = l.Weights[0].Shape[1], cout = l.Weights[0].Shape[2];
                var kernel = new float[w[0].Length]; // Keras (k, in, out) as ONNX (out, in, k)
                for (int i = 0; i < k; i++)
                    for (int c = 0; c < cin; c++)
                        for (int f = 0; f < cout; f++) kernel[(f * cin + c) * k + i] = w[0][(i * cin + c) * cout + f];
                var inputs = new List<string> { t, Constant(kernel, [cout, cin, k]) };
                if (bias) inputs.Add(Constant(w[1], [cout]));
                string z = Name(y, "conv");
                Node("Conv", [.. inputs], [z], [Ints("kernel_shape", [k]), Ints("strides", [st]), Ints("dilations", [d]), Ints("pads", pads)]);
                string back = Name(y, "nwc");
                Node("Transpose", [z], [back], [Ints("perm", [0, 2, 1])]);
                Activate(activation, back, y);
                break;
            }
            case "MaxPooling1D" or "AveragePooling1D":
            {
                int k = Pair("kernel", 2)[0], st = Pair("strides", 0)[0];
                if (st <= 0) st = k;
                int total = Arg("padding", "0") == "1" ? Math.Max((l.OutputShape[0] - 1) * st + k - inShape[0], 0) : 0;
                string t = Name(y, "ncw");
                Node("Transpose", [x[0]], [t], [Ints("perm", [0, 2, 1])]);
                var attributes = new List<ProtoWriter> { Ints("kernel_shape", [k]), Ints("strides", [st]), Ints("pads", [total / 2, total - total / 2]) };
                if (l.Type == "AveragePooling1D") attributes.Add(Int("count_include_pad", 0));
                string pooled = Name(y, "pool");
                Node(l.Type == "MaxPooling1D" ? "MaxPool" : "AveragePool", [t], [pooled], attributes);
                Node("Transpose", [pooled], [y], [Ints("perm", [0, 2, 1])]);
                break;
            }
            case "GlobalMaxPooling1D" or "GlobalAveragePooling1D":
                Node(l.Type == "GlobalMaxPooling1D" ? "ReduceMax" : "ReduceMean", [x[0]], [y], [Ints("axes", [1]), Int("keepdims", 0)]);
                break;
            case "UpSampling1D":
                Node("Resize", [x[0], "", Constant([1f, Pair("sizes", 2)[0], 1f], [3])], [y],
                    [Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor")]);
                break;
            case "ZeroPadding1D" or "Cropping1D":
            {
                int[] s = Pair("sizes", 0); // left, right
                if (l.Type == "ZeroPadding1D") Node("Pad", [x[0], Constant(new long[] { 0, s[0], 0, 0, s[1], 0 }, [6])], [y]);
                else Node("Slice", [x[0], Constant(new long[] { s[0] }, [1]), Constant(new long[] { inShape[0] - s[1] }, [1]), Constant(new long[] { 1 }, [1])], [y]);
                break;
            }
            case "Embedding":
            {
                string indices = Name(y, "indices");
                Node("Cast", [x[0]], [indices], [Int("to", 7)]); // the float indices as int64
                Node("Gather", [Constant(w[0], l.Weights[0].Shape), indices], [y], [Int("axis", 0)]);
                break;
            }
            case "RepeatVector":
            {
                string one = Name(y, "unsqueezed");
                Node("Unsqueeze", [x[0], Constant(new long[] { 1 }, [1])], [one]);
                Node("Tile", [one, Constant(new long[] { 1, l.OutputShape[0], 1 }, [3])], [y]);
                break;
            }
            case "LSTM" or "GRU" or "SimpleRNN":
                Recurrent(l, x[0], w);
                break;
            case "Dropout" or "GaussianNoise" or "GaussianDropout" or "SpatialDropout2D" or "SpatialDropout1D" or "ActivityRegularization":
                Node("Identity", [x[0]], [y]);
                break;
            case "Flatten":
                Node("Flatten", [x[0]], [y], [Int("axis", 1)]);
                break;
            case "Reshape":
                Node("Reshape", [x[0], Constant([0, .. l.OutputShape.Select(v => (long)v)], [l.OutputShape.Length + 1])], [y]);
                break;
            case "Activation":
                Activate(activation, x[0], y);
                break;
            case "ReLU":
            {
                double max = Num("value", double.NaN), slope = Num("slope", 0), threshold = Num("threshold", 0);
                if (slope != 0 || threshold != 0)
                    throw new NotSupportedException($"Layer '{l.Name}' (ReLU with a negative slope or threshold) has no ONNX export yet.");
                if (double.IsNaN(max)) Node("Relu", [x[0]], [y]);
                else
                {
                    string r = Name(y, "relu");
                    Node("Relu", [x[0]], [r]);
                    Node("Min", [r, Constant([(float)max], [])], [y]);
                }
                break;
            }
            case "LeakyReLU":
                Node("LeakyRelu", [x[0]], [y], [Float("alpha", (float)Num("value", 0.3))]);
                break;
            case "ELU":
                Node("Elu", [x[0]], [y], [Float("alpha", (float)Num("value", 1))]);
                break;
            case "Add" or "Maximum" or "Minimum":
                Node(l.Type == "Add" ? "Sum" : l.Type == "Maximum" ? "Max" : "Min", x, [y]);
                break;
            case "Subtract":
                Node("Sub", x, [y]);
                break;
            case "Multiply":
            {
                string p = x[0];
                for (int i = 1; i < x.Length; i++) p = Binary("Mul", p, x[i], i == x.Length - 1 ? y : Name(y, "mul" + i));
                break;
            }
            case "Average":
            {
                string sum = Name(y, "sum");
                Node("Sum", x, [sum]);
                Node("Mul", [sum, Constant([1f / x.Length], [])], [y]);
                break;
            }
            case "Concatenate":
            {
                int axis = (int)Num("axis", -1);
                Node("Concat", x, [y], [Int("axis", axis)]);
                break;
            }
            case "ZeroPadding2D" or "Cropping2D":
            {
                int[] s = Pair("sizes", 0); // top, bottom, left, right
                if (l.Type == "ZeroPadding2D")
                    Node("Pad", [x[0], Constant(new long[] { 0, s[0], s[2], 0, 0, s[1], s[3], 0 }, [8])], [y]);
                else
                    Node("Slice", [x[0], Constant(new long[] { s[0], s[2] }, [2]), Constant(new long[] { inShape[0] - s[1], inShape[1] - s[3] }, [2]),
                        Constant(new long[] { 1, 2 }, [2])], [y]);
                break;
            }
            case "UpSampling2D":
            {
                int[] s = Pair("sizes", 2);
                Node("Resize", [x[0], "", Constant([1f, s[0], s[1], 1f], [4])], [y],
                    [Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor")]);
                break;
            }
            default:
                throw new NotSupportedException($"Layer '{l.Name}' ({l.Type}) has no ONNX export yet.");
        }
    }

    // ---- recurrent layers -----------------------------------------------------------------------------------

    private static readonly string[] ActivationByIndex =
        ["Linear", "Relu", "Sigmoid", "Tanh", "Softmax", "Elu", "Selu", "Softplus", "Softsign", "HardSigmoid", "Swish", "Gelu", "Exponential"];

    /// <summary>
    /// ONNX's LSTM, GRU (linear_before_reset: Keras's reset_after) or RNN over the steps: Keras's gate order i, f, c, o
    /// reordered to ONNX's i, o, f, c; the bias as ONNX's input bias (the recurrent one 0, or the GRU's second row);
    /// Bidirectional as direction "bidirectional" with the merge mode applied to the two directions' outputs.
    /// </summary>
    private void Recurrent(LayerInfo l, string x, float[][] w)
    {
        var a = l.Arguments;
        string y = l.Name;
        int u = int.Parse(a["units"], CultureInfo.InvariantCulture);
        int[] sizes = a.TryGetValue("sizes", out var sz) ? sz.Split(',').Select(int.Parse).ToArray() : [2, 1, 0, 0];
        string act = a.TryGetValue("activation", out var v) ? v : "Linear", recurrentAct = ActivationByIndex[sizes[0]];
        bool sequences = sizes[2] != 0, hasBias = !a.ContainsKey("use_bias");
        int merge = sizes[3], dirs = merge == 0 ? 1 : 2;
        string[] declared = l.Type == "SimpleRNN" ? [act] : l.Type == "GRU" ? [recurrentAct, act] : [recurrentAct, act, act];
        string[] onnxActs = declared.Select(name => name switch
            {
                "Sigmoid" or "Tanh" or "Relu" or "HardSigmoid" or "Softsign" or "Softplus" or "Elu" => name,
                _ => throw new NotSupportedException($"Layer '{l.Name}' ({l.Type}) uses the activation {name}, which ONNX's {l.Type} does not offer."),
            }).ToArray();
        int gates = l.Type == "LSTM" ? 4 : l.Type == "GRU" ? 3 : 1;
        int[] order = l.Type == "LSTM" ? [0, 3, 1, 2] : [.. Enumerable.Range(0, gates)]; // ONNX gate g takes Keras gate order[g]
        int features = l.Weights[0].Shape[0], perDirection = hasBias ? 3 : 2, g = gates * u;
        var W = new float[dirs * g * features];
        var R = new float[dirs * g * u];
        var B = new float[dirs * 2 * g];
        for (int dir = 0; dir < dirs; dir++)
        {
            float[] kernel = w[dir * perDirection], recurrent = w[dir * perDirection + 1];
            float[]? bias = hasBias ? w[dir * perDirection + 2] : null;
            for (int gate = 0; gate < gates; gate++)
                for (int j = 0; j < u; j++)
                {
                    int row = gate * u + j, column = order[gate] * u + j;
                    for (int f = 0; f < features; f++) W[(dir * g + row) * features + f] = kernel[f * g + column];
                    for (int f = 0; f < u; f++) R[(dir * g + row) * u + f] = recurrent[f * g + column];
                    if (bias is null) continue;
                    B[dir * 2 * g + row] = bias[column];                            // Keras's (input) bias
                    if (l.Type == "GRU") B[dir * 2 * g + g + row] = bias[g + column]; // the GRU's recurrent bias row
                }
        }
        string steps = Name(y, "steps_first");
        Node("Transpose", [x], [steps], [Ints("perm", [1, 0, 2])]);
        string all = Name(y, "Y"), last = Name(y, "Y_h");
        var attributes = new List<ProtoWriter> { Int("hidden_size", u), Str("direction", dirs == 2 ? "bidirectional" : "forward"),
            Strs("activations", [.. Enumerable.Repeat(onnxActs, dirs).SelectMany(s => s)]) };
        if (l.Type == "GRU") attributes.Add(Int("linear_before_reset", 1));
        string op = l.Type == "SimpleRNN" ? "RNN" : l.Type;
        string[] outputs = l.Type == "LSTM" ? [all, last, Name(y, "Y_c")] : [all, last];
        Node(op, [steps, Constant(W, [dirs, g, features]), Constant(R, [dirs, g, u]), Constant(B, [dirs, 2 * g])], outputs, attributes);
        if (sequences)
        {
            // Y (steps, dirs, batch, u) → (batch, steps, dirs, u), then the directions merged on the last axes.
            string t = Name(y, "batch_first");
            Node("Transpose", [all], [t], [Ints("perm", [2, 0, 1, 3])]);
            Merge(t, 2, merge, y, [0, 0, -1]);
        }
        else
        {
            // Y_h (dirs, batch, u) → (batch, dirs, u).
            string t = Name(y, "batch_first");
            Node("Transpose", [last], [t], [Ints("perm", [1, 0, 2])]);
            Merge(t, 1, merge, y, [0, -1]);
        }
    }

    /// <summary>The directions axis merged as Keras's merge_mode: concat (reshape), sum, mul, ave; one direction: squeezed.</summary>
    private void Merge(string x, int axis, int merge, string y, long[] concatShape)
    {
        switch (merge)
        {
            case 0: Node("Squeeze", [x, Constant(new long[] { axis }, [1])], [y]); break;
            case 1: Node("Reshape", [x, Constant(concatShape, [concatShape.Length])], [y]); break;
            case 2: Node("ReduceSum", [x, Constant(new long[] { axis }, [1])], [y], [Int("keepdims", 0)]); break;
            case 3: Node("ReduceProd", [x], [y], [Ints("axes", [axis]), Int("keepdims", 0)]); break;
            default: Node("ReduceMean", [x], [y], [Ints("axes", [axis]), Int("keepdims", 0)]); break;
        }
    }

    // ---- layouts, padding -----------------------------------------------------------------------------------

    private string ToChannelsFirst(string x, string layer)
    {
        string t = Name(layer, "nchw");
        Node("Transpose", [x], [t], [Ints("perm", [0, 3, 1, 2])]);
        return t;
    }

    private string ToChannelsLast(string x, string name)
    {
        Node("Transpose", [x], [name], [Ints("perm", [0, 2, 3, 1])]);
        return name;
    }

    /// <summary>ONNX pads (top, left, bottom, right): TensorFlow's same padding puts the odd one at the bottom and right.</summary>
    private static int[] Pads(int[] inShape, int[] outShape, int[] k, int[] s, int d, bool same)
    {
        if (!same) return [0, 0, 0, 0];
        int Total(int i) => Math.Max((outShape[i] - 1) * s[i] + (k[i] - 1) * d + 1 - inShape[i], 0);
        int h = Total(0), w = Total(1);
        return [h / 2, w / 2, h - h / 2, w - w / 2];
    }

    /// <summary>A Keras kernel (kh, kw, in, out) as ONNX's (out, in, kh, kw).</summary>
    private static (float[] Values, int[] Shape) Hwio(float[] w, int[] shape)
    {
        int kh = shape[0], kw = shape[1], cin = shape[2], cout = shape[3];
        var o = new float[w.Length];
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
                for (int c = 0; c < cin; c++)
                    for (int f = 0; f < cout; f++)
                        o[((f * cin + c) * kh + i) * kw + j] = w[((i * kw + j) * cin + c) * cout + f];
        return (o, [cout, cin, kh, kw]);
    }

    /// <summary>A Keras depthwise kernel (kh, kw, in, multiplier) as ONNX's grouped (in·multiplier, 1, kh, kw).</summary>
    private static (float[] Values, int[] Shape) Depthwise(float[] w, int[] shape)
    {
        int kh = shape[0], kw = shape[1], cin = shape[2], mult = shape[3];
        var o = new float[w.Length];
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
                for (int c = 0; c < cin; c++)
                    for (int m = 0; m < mult; m++)
                        o[((c * mult + m) * kh + i) * kw + j] = w[((i * kw + j) * cin + c) * mult + m];
        return (o, [cin * mult, 1, kh, kw]);
    }

    private string Conv(string x, (float[] Values, int[] Shape) kernel, float[]? bias, int[] k, int[] s, int d, int[] pads, int group, string y)
    {
        var inputs = new List<string> { x, Constant(kernel.Values, kernel.Shape) };
        if (bias is not null) inputs.Add(Constant(bias, [bias.Length]));
        Node("Conv", [.. inputs], [y], [Ints("kernel_shape", k), Ints("strides", s), Ints("dilations", [d, d]), Ints("pads", pads), Int("group", group)]);
        return y;
    }

    // ---- activations ----------------------------------------------------------------------------------------

    private void Activate(string activation, string x, string y)
    {
        switch (activation)
        {
            case "Linear": Node("Identity", [x], [y]); break;
            case "Relu": Node("Relu", [x], [y]); break;
            case "Sigmoid": Node("Sigmoid", [x], [y]); break;
            case "Tanh": Node("Tanh", [x], [y]); break;
            case "Softmax": Node("Softmax", [x], [y], [Int("axis", -1)]); break;
            case "Elu": Node("Elu", [x], [y]); break;
            case "Selu": Node("Selu", [x], [y]); break;
            case "Softplus": Node("Softplus", [x], [y]); break;
            case "Softsign": Node("Softsign", [x], [y]); break;
            case "HardSigmoid": Node("HardSigmoid", [x], [y], [Float("alpha", 0.2f), Float("beta", 0.5f)]); break;
            case "Exponential": Node("Exp", [x], [y]); break;
            case "Swish": Node("Mul", [x, Unary("Sigmoid", x, Name(y, "sigmoid"))], [y]); break;
            case "Gelu":
            {
                // 0.5·x·(1 + erf(x/√2)), Keras's exact gelu.
                string e = Unary("Erf", Binary("Mul", x, Constant([0.70710678f], []), Name(y, "scaled")), Name(y, "erf"));
                string one = Binary("Add", e, Constant([1f], []), Name(y, "plus1"));
                string half = Binary("Mul", x, Constant([0.5f], []), Name(y, "half"));
                Node("Mul", [half, one], [y]);
                break;
            }
            default: throw new NotSupportedException($"The activation {activation} has no ONNX export yet.");
        }
    }

    // ---- protobuf pieces ------------------------------------------------------------------------------------

    private string Name(string layer, string part) => layer + "/" + part + "_" + (_unique++).ToString(CultureInfo.InvariantCulture);

    private void Node(string op, string[] inputs, string[] outputs, IEnumerable<ProtoWriter>? attributes = null)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, outputs[0] + "/" + op);
        n.String(4, op);
        foreach (var a in attributes ?? []) n.Message(5, a);
        _graph.Message(1, n);
    }

    private string Unary(string op, string x, string y)
    {
        Node(op, [x], [y]);
        return y;
    }

    private string Binary(string op, string a, string b, string y)
    {
        Node(op, [a, b], [y]);
        return y;
    }

    private string Constant(float[] values, int[] shape)
    {
        string name = "const_" + (_unique++).ToString(CultureInfo.InvariantCulture);
        var t = new ProtoWriter();
        t.PackedVarints(1, shape.Select(d => (long)d).ToArray());
        t.Varint(2, 1); // FLOAT
        t.String(8, name);
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        t.Bytes(9, raw); // raw_data, little-endian
        _graph.Message(5, t);
        return name;
    }

    private string Constant((float[] Values, int[] Shape) tensor) => Constant(tensor.Values, tensor.Shape);

    private string Constant(long[] values, int[] shape)
    {
        string name = "const_" + (_unique++).ToString(CultureInfo.InvariantCulture);
        var t = new ProtoWriter();
        t.PackedVarints(1, shape.Select(d => (long)d).ToArray());
        t.Varint(2, 7); // INT64
        t.String(8, name);
        var raw = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        t.Bytes(9, raw);
        _graph.Message(5, t);
        return name;
    }

    private void Input(string name, IReadOnlyList<int> shape) => Value(11, name, shape);

    /// <summary>A graph input (field 11) or output (12): float tensor (batch, shape...).</summary>
    private void Value(int field, string name, IReadOnlyList<int> shape)
    {
        var dims = new ProtoWriter();
        var batch = new ProtoWriter();
        batch.String(2, "batch");
        dims.Message(1, batch);
        foreach (int d in shape)
        {
            var dim = new ProtoWriter();
            dim.Varint(1, (ulong)d);
            dims.Message(1, dim);
        }
        var tensor = new ProtoWriter();
        tensor.Varint(1, 1); // FLOAT
        tensor.Message(2, dims);
        var type = new ProtoWriter();
        type.Message(1, tensor);
        var v = new ProtoWriter();
        v.String(1, name);
        v.Message(2, type);
        _graph.Message(field, v);
    }

    private static ProtoWriter Int(string name, long value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.Varint(3, unchecked((ulong)value));
        a.Varint(20, 2); // INT
        return a;
    }

    private static ProtoWriter Float(string name, float value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.Float(2, value);
        a.Varint(20, 1); // FLOAT
        return a;
    }

    private static ProtoWriter Str(string name, string value)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.String(4, value);
        a.Varint(20, 3); // STRING
        return a;
    }

    private static ProtoWriter Strs(string name, string[] values)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        foreach (var v in values) a.String(9, v);
        a.Varint(20, 8); // STRINGS
        return a;
    }

    private static ProtoWriter Ints(string name, int[] values)
    {
        var a = new ProtoWriter();
        a.String(1, name);
        a.PackedVarints(8, values.Select(v => (long)v).ToArray());
        a.Varint(20, 7); // INTS
        return a;
    }
}

public abstract partial class Model
{
    /// <summary>
    /// Writes the network and its current weights as an ONNX model (opset 13) for ONNX Runtime and other tools: inputs
    /// and outputs as <c>Predict</c> takes and returns them (channels last), inference semantics. Dense, the 2-D
    /// convolutions, poolings, batch normalization, the activations, dropout and noise, Flatten, Reshape, the merges,
    /// Concatenate, the padding, cropping and upsampling layers (1-D and 2-D), Conv1D and its poolings, Embedding,
    /// RepeatVector, Conv2DTranspose, and LSTM, GRU and SimpleRNN (Bidirectional too) export.
    /// </summary>
    /// <exception cref="NotSupportedException">A layer has no ONNX form yet (a ReLU with a slope or threshold, a dilated
    /// Conv2DTranspose, a recurrent activation ONNX lacks); the message names it. Nothing is written then.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names it.</exception>
    public void ExportOnnx(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bytes = OnnxExport.Build(this, Info);
        }
        WeightsFile.WriteAtomically(path, bytes, "ONNX model");
    }
}
