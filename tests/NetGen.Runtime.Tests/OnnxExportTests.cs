using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace NetGen.Tests;

// The sample networks' declarations (samples/FashionMlp, MnistCnn, FashionCnn, ImageFolders), for ExportOnnx parity.
[Network(784)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(10, Activation = Activation.Softmax)]
public partial class OnnxFashionMlp;

[Network(28, 28, 1)]
[Dropout(0.25)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Dropout(0.5)]
[AveragePooling2D(2, Padding = Padding.Same)]
[Flatten]
[Dense(1024, Activation = Activation.Relu)]
[Dropout(0.5)]
[Dense(10, Activation = Activation.Softmax)]
public partial class OnnxMnistCnn;

[Network(28, 28, 1)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Conv2D(64, 3, Padding = Padding.Same)]
[BatchNormalization]
[LeakyReLU(0.1)]
[MaxPooling2D(2)]
[Flatten]
[Dense(64)]
[BatchNormalization]
[LeakyReLU(0.1)]
[Dense(10, Activation = Activation.Softmax)]
public partial class OnnxFashionCnn;

[Network(32, 32, 1)]
[Conv2D(32, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Conv2D(64, 3, Activation = Activation.Relu)]
[MaxPooling2D(2)]
[Flatten]
[Dropout(0.5)]
[Dense(16, Activation = Activation.Relu)]
[Dense(3, Activation = Activation.Softmax)]
public partial class OnnxShoesNet;

// Every exported kind in one graph, with odd sizes, strides and same padding.
[Network(9, 7, 3)]
[ZeroPadding2D(1, 2, Name = "pad")]
[Conv2D(4, 3, StrideHeight = 2, StrideWidth = 1, Padding = Padding.Same, Activation = Activation.Selu, Name = "conv")]
[DepthwiseConv2D(3, DepthMultiplier = 2, Padding = Padding.Same, Activation = Activation.Softplus, Name = "dw")]
[SeparableConv2D(5, 3, Padding = Padding.Same, Activation = Activation.Swish, Name = "sep")]
[Cropping2D(1, 0, 1, 2, Name = "crop")]
[UpSampling2D(2, Name = "up")]
[AveragePooling2D(3, Strides = 2, Padding = Padding.Same, Name = "avg")]
[Conv2D(5, 1, Activation = Activation.Gelu, Name = "c1", Input = "avg")]
[Conv2D(5, 1, Activation = Activation.HardSigmoid, Name = "c2", Input = "avg")]
[Subtract("c1", "c2", Name = "sub")]
[Multiply("sub", "c1", "c2", Name = "mul")]
[Maximum("mul", "c1", Name = "max")]
[Minimum("max", "c2", Name = "min")]
[Average("min", "sub", Name = "ave")]
[Concatenate("ave", "c1", Name = "cat")]
[BatchNormalization(Name = "bn")]
[ELU(0.7, Name = "elu")]
[MaxPooling2D(2, Padding = Padding.Same, Name = "pool")]
[ReLU(MaxValue = 0.8, Name = "relu6")]
[GaussianNoise(0.3)]
[Reshape(-1, 10, Name = "rows")]
[Dense(6, Activation = Activation.Softsign, Name = "rowwise")]
[Flatten]
[Dense(8, Activation = Activation.Exponential, Name = "exp")]
[Dense(4, Activation = Activation.Tanh, Name = "tanh")]
[LeakyReLU(0.2)]
[Dense(3, Activation = Activation.Sigmoid, Name = "out")]
public partial class OnnxEveryLayerNet;

// The 1-D and recurrent kinds: causal, dilated, strided and same Conv1D, the 1-D resampling and poolings, stacked
// LSTM, GRU (reset_after) and SimpleRNN with every Bidirectional merge, RepeatVector and a time-distributed Dense.
[Network(12, 3)]
[ZeroPadding1D(1, 2)]
[Conv1D(4, 3, Padding = Padding.Causal, DilationRate = 2, Activation = Activation.Relu)]
[Conv1D(5, 3, Strides = 2, Padding = Padding.Same)]
[UpSampling1D(2)]
[Cropping1D(1, 2)]
[MaxPooling1D(2, Padding = Padding.Same)]
[AveragePooling1D(3, Strides = 1)]
[SpatialDropout1D(0.2)]
[LSTM(6, ReturnSequences = true, Name = "lstm")]
[GRU(5, ReturnSequences = true, Bidirectional = BidirectionalMerge.Concat, Name = "bigru")]
[Dense(4, TimeDistributed = true, Activation = Activation.Tanh)]
[SimpleRNN(4, Bidirectional = BidirectionalMerge.Average, Name = "rnn")]
[RepeatVector(3)]
[LSTM(3, ReturnSequences = true, Bidirectional = BidirectionalMerge.Sum, Name = "bilstm")]
[GRU(2, ReturnSequences = true, Bidirectional = BidirectionalMerge.Multiply, RecurrentActivation = Activation.HardSigmoid)]
[GlobalMaxPooling1D]
[Dense(2, Activation = Activation.Softmax)]
public partial class OnnxSequenceNet;

// Seed 001's text classifier: Embedding, stacked LSTMs, global pooling.
[Network(7)]
[Embedding(20, 4)]
[LSTM(5, ReturnSequences = true)]
[LSTM(3, ReturnSequences = true, UseBias = false, Bidirectional = BidirectionalMerge.Concat)]
[GlobalAveragePooling1D]
[Dense(3, Activation = Activation.Softmax)]
public partial class OnnxTextNet;

// Seed 004's convolutional autoencoder decoder: transposed convolutions, same and valid, kernels above and below the stride.
[Network(4, 4, 2)]
[Conv2DTranspose(3, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2DTranspose(2, 2, Strides = 3, Padding = Padding.Same)]
[Conv2DTranspose(2, 3, Strides = 2, UseBias = false)]
[Conv2DTranspose(1, 1, Strides = 1, Padding = Padding.Same, Activation = Activation.Sigmoid)]
public partial class OnnxTransposeNet;

[Network(5)]
[Dense(4)]
[ReLU(NegativeSlope = 0.1, Threshold = 0.2)]
public partial class OnnxThresholdNet;

/// <summary>
/// ExportOnnx against ONNX Runtime: every exported layer kind and the sample networks give Predict's outputs within
/// 1e-5 (relative to the output's size), with trained-looking weights (batch norm statistics away from 0 and 1).
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netgen-onnx-" + Guid.NewGuid().ToString("N"));

    public OnnxExportTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Moves every weight off its initial value (batch norm statistics included), then compares ORT with Predict.</summary>
    private void AssertParity(Model model, int samples = 4, double tolerance = 1e-5, int indices = 0)
    {
        var rng = new Random(17);
        foreach (var layer in model.Layers)
        {
            var weights = layer.GetWeights();
            for (int k = 0; k < weights.Length; k++)
            {
                bool variance = layer.WeightNames[k] == "moving_variance";
                for (int i = 0; i < weights[k].Length; i++)
                    weights[k][i] = variance ? 0.5f + (float)rng.NextDouble() : weights[k][i] + (float)(rng.NextDouble() - 0.5) * 0.2f;
            }
            if (weights.Length > 0) layer.SetWeights(weights);
        }
        int[] shape = [samples, .. model.InputShape];
        var x = new Tensor(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b))
            .Select(_ => indices > 0 ? rng.Next(indices) : (float)rng.NextDouble()).ToArray(), shape);
        var expected = model.Predict(x);

        string path = Path.Combine(_dir, model.Name + ".onnx");
        model.ExportOnnx(path);
        using var session = new InferenceSession(path);
        string input = session.InputMetadata.Keys.Single();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(x.Data, shape))]);
        var actual = results.Single().AsTensor<float>();
        Assert.Equal([samples, .. expected.Shape[1..].ToArray()], actual.Dimensions.ToArray());
        var values = actual.ToArray();
        double worst = 0;
        for (int i = 0; i < values.Length; i++)
            worst = Math.Max(worst, Math.Abs(values[i] - expected.Data[i]) / Math.Max(1, Math.Abs(expected.Data[i])));
        Assert.True(worst <= tolerance, $"{model.Name}: ONNX Runtime differs from Predict by {worst:E2} (relative)");
    }

    [Fact] public void Every_exported_layer_kind_matches_Predict() { using var m = new OnnxEveryLayerNet(); AssertParity(m); }
    [Fact] public void The_FashionMlp_sample_matches_Predict() { using var m = new OnnxFashionMlp(); AssertParity(m); }
    [Fact] public void The_MnistCnn_sample_matches_Predict() { using var m = new OnnxMnistCnn(); AssertParity(m); }
    [Fact] public void The_FashionCnn_pattern_matches_Predict() { using var m = new OnnxFashionCnn(); AssertParity(m); }
    [Fact] public void The_ImageFolders_sample_matches_Predict() { using var m = new OnnxShoesNet(); AssertParity(m); }
    [Fact] public void A_residual_block_matches_Predict() { using var m = new GradResidualNet(); AssertParity(m); }
    [Fact] public void An_inception_module_matches_Predict() { using var m = new GradInceptionNet(); AssertParity(m); }

    [Fact] public void The_1D_and_recurrent_kinds_match_Predict() { using var m = new OnnxSequenceNet(); AssertParity(m); }
    [Fact] public void An_Embedding_and_LSTM_text_classifier_matches_Predict() { using var m = new OnnxTextNet(); AssertParity(m, indices: 20); }
    [Fact] public void The_Sequences_sample_LSTM_matches_Predict() { using var m = new RowLstm(); AssertParity(m); }

    [Fact]
    public void A_network_with_two_inputs_and_three_outputs_matches_Predict()
    {
        using var model = new MultiIONet();
        var rng = new Random(3);
        Tensor Random(int n, int size) => new(Enumerable.Range(0, n * size).Select(_ => (float)rng.NextDouble()).ToArray(), n, size);
        Tensor[] x = [Random(5, 6), Random(5, 3)];
        var expected = model.Predict(x);
        string path = Path.Combine(_dir, "multi.onnx");
        model.ExportOnnx(path);
        using var session = new InferenceSession(path);
        Assert.Equal(["input_1", "meta"], session.InputMetadata.Keys.ToArray());
        using var results = session.Run([
            NamedOnnxValue.CreateFromTensor("input_1", new DenseTensor<float>(x[0].Data, [5, 6])),
            NamedOnnxValue.CreateFromTensor("meta", new DenseTensor<float>(x[1].Data, [5, 3]))]);
        Assert.Equal(["class", "score", "features"], results.Select(r => r.Name).ToArray());
        var outputs = results.ToArray();
        for (int k = 0; k < 3; k++)
        {
            var actual = outputs[k].AsTensor<float>().ToArray();
            Assert.Equal(expected[k].Data.Length, actual.Length);
            for (int i = 0; i < actual.Length; i++) Assert.True(Math.Abs(actual[i] - expected[k].Data[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[k].Data[i])));
        }
    }

    [Fact] public void Transposed_convolutions_match_Predict() { using var m = new OnnxTransposeNet(); AssertParity(m); }

    [Fact]
    public void A_layer_without_an_ONNX_form_is_named_and_nothing_is_written()
    {
        using var m = new OnnxThresholdNet();
        string path = Path.Combine(_dir, "threshold.onnx");
        var e = Assert.Throws<NotSupportedException>(() => m.ExportOnnx(path));
        Assert.Contains("'re_lu' (ReLU", e.Message);
        Assert.False(File.Exists(path));
    }
}
