using Xunit;

namespace NetGen.Generator.Tests;

/// <summary>The sample network declarations shared by the snapshot, summary, diagnostic and incremental tests.</summary>
internal static class Samples
{
    /// <summary>samples/FashionMlp: the classic Keras MLP (784 -> 512 -> 512 -> 10, dropout 0.2, softmax).</summary>
    public const string FashionMlp = """
        using NetGen;

        [Network(784)]
        [Dense(512, Activation = Activation.Relu)]
        [Dropout(0.2)]
        [Dense(512, Activation = Activation.Relu)]
        [Dropout(0.2)]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class FashionMlp;
        """;

    /// <summary>Seed 004's fraud-detection autoencoder: 29 -> Dense(40, relu) -> Dense(29).</summary>
    public const string Autoencoder = """
        using NetGen;

        namespace Seeds.Fraud;

        [Network(29)]
        [Dense(40, Activation = Activation.Relu)]
        [Dense(29)]
        public partial class Autoencoder;
        """;

    /// <summary>Seed 004's deep autoencoder: 29 -> 80 -> 40 -> 80 -> 29 with relu hidden layers.</summary>
    public const string DeepAutoencoder = """
        using NetGen;

        namespace Seeds.Fraud;

        [Network(29)]
        [Dense(80, Activation = Activation.Relu)]
        [Dense(40, Activation = Activation.Relu)]
        [Dense(80, Activation = Activation.Relu)]
        [Dense(29)]
        public partial class DeepAutoencoder;
        """;

    /// <summary>
    /// Every layer kind and every activation: Dense on a rank-3 input, Dense without bias and with non-default
    /// initializers, LeakyReLU, Dropout (with and without a rate), Reshape with -1, Flatten, and a final
    /// Activation(Softmax) after a linear Dense.
    /// </summary>
    public const string EveryLayer = """
        using NetGen;

        namespace Kitchen.Sink
        {
            [Network(4, 6, 5, Name = "every_layer")]
            [Dense(8, Activation = Activation.Gelu, KernelInitializer = Initializer.GlorotNormal, BiasInitializer = Initializer.RandomNormal)]
            [LeakyReLU(0.1)]
            [Activation(Activation.Elu)]
            [Dropout(0.25)]
            [Reshape(-1, 16)]
            [Dense(10, UseBias = false, KernelInitializer = Initializer.HeUniform, Activation = Activation.Tanh)]
            [Activation(Activation.Selu)]
            [Activation(Activation.Softplus)]
            [Activation(Activation.Softsign)]
            [Activation(Activation.HardSigmoid)]
            [Activation(Activation.Swish)]
            [Activation(Activation.Exponential)]
            [Activation(Activation.Sigmoid)]
            [Activation(Activation.Relu)]
            [Activation(Activation.Linear)]
            [Flatten]
            [Dropout(0)]
            [Dense(6, KernelInitializer = Initializer.LecunNormal, BiasInitializer = Initializer.Ones, Name = "logits")]
            [Activation(Activation.Softmax, Name = "probabilities")]
            public partial class EveryLayer
            {
            }
        }
        """;

    /// <summary>
    /// The compile-time fusions in a CNN: Conv2D + BatchNormalization + LeakyReLU + Dropout (batch norm folded into the
    /// conv in inference, activation and dropout fused into the batch norm in training), Conv2D + Activation(relu)
    /// (activation fused into the conv), Activation(tanh) after a Dropout that is not fused, applied after the max
    /// pooling in inference, Dense + BatchNormalization + Dropout without an activation, and a LeakyReLU with a
    /// negative slope that stays its own layer.
    /// </summary>
    public const string FusedCnn = """
        using NetGen;

        [Network(12, 10, 3)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [BatchNormalization]
        [LeakyReLU(0.1)]
        [Dropout(0.3)]
        [Conv2D(8, 3, Strides = 2)]
        [Activation(Activation.Relu)]
        [Dropout(0.2)]
        [Activation(Activation.Tanh)]
        [MaxPooling2D(2)]
        [Flatten]
        [Dense(16, UseBias = false)]
        [BatchNormalization]
        [Dropout(0.25)]
        [Dense(8)]
        [LeakyReLU(-0.5)]
        [Dense(4, Activation = Activation.Softmax)]
        public partial class FusedCnn;
        """;

    /// <summary>
    /// The convolutional autoencoder of the Keras blog ("Building Autoencoders in Keras": 28x28x1 -> 4x4x8 -> 28x28x1,
    /// 4,385 parameters) with UpSampling2D in each of its forms, plus a ZeroPadding2D and a Cropping2D that cancel out
    /// (asymmetric amounts, the four-argument forms) and the one- and two-argument forms of both on the way down.
    /// </summary>
    public const string ConvAutoencoder = """
        using NetGen;

        namespace Seeds.Vision;

        [Network(28, 28, 1)]
        [Conv2D(16, 3, Activation = Activation.Relu, Padding = Padding.Same)]
        [MaxPooling2D(2, Padding = Padding.Same)]
        [Conv2D(8, 3, Activation = Activation.Relu, Padding = Padding.Same)]
        [ZeroPadding2D]
        [Cropping2D(1)]
        [MaxPooling2D(2, Padding = Padding.Same)]
        [Conv2D(8, 3, Activation = Activation.Relu, Padding = Padding.Same)]
        [ZeroPadding2D(1, 2)]
        [Cropping2D(1, 2, Name = "crop")]
        [MaxPooling2D(2, Padding = Padding.Same)]
        [Conv2D(8, 3, Activation = Activation.Relu, Padding = Padding.Same)]
        [UpSampling2D]
        [Conv2D(8, 3, Activation = Activation.Relu, Padding = Padding.Same)]
        [UpSampling2D(2)]
        [Conv2D(16, 3, Activation = Activation.Relu)]
        [UpSampling2D(2, 2)]
        [ZeroPadding2D(2, 1, 0, 3)]
        [Cropping2D(2, 1, 0, 3)]
        [Conv2D(1, 3, Activation = Activation.Sigmoid, Padding = Padding.Same)]
        public partial class ConvAutoencoder;
        """;

    /// <summary>All of the above, by name.</summary>
    public static TheoryData<string> All() => new() { nameof(FashionMlp), nameof(Autoencoder), nameof(DeepAutoencoder), nameof(EveryLayer), nameof(FusedCnn), nameof(ConvAutoencoder) };

    public static string Get(string name) => name switch
    {
        nameof(FashionMlp) => FashionMlp,
        nameof(Autoencoder) => Autoencoder,
        nameof(DeepAutoencoder) => DeepAutoencoder,
        nameof(EveryLayer) => EveryLayer,
        nameof(FusedCnn) => FusedCnn,
        nameof(ConvAutoencoder) => ConvAutoencoder,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>
    /// A branching network: seed 000's Inception module (1x1, 3x3 and 5x5 branches and a pooling branch, concatenated)
    /// followed by a residual block whose shortcut is read twice (its gradient is accumulated), with batch norm folded
    /// and an activation fused on one branch.
    /// </summary>
    public const string InceptionResidual = """
        using NetGen;

        [Network(16, 16, 3, Name = "inception_residual")]
        [Conv2D(8, 1, Padding = Padding.Same, Activation = Activation.Relu, Name = "tower_1")]
        [Conv2D(8, 1, Padding = Padding.Same, Activation = Activation.Relu, Input = "input")]
        [Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu, Name = "tower_2")]
        [Conv2D(8, 1, Padding = Padding.Same, Activation = Activation.Relu, Input = "input")]
        [Conv2D(8, 5, Padding = Padding.Same, Activation = Activation.Relu, Name = "tower_3")]
        [MaxPooling2D(3, Strides = 1, Padding = Padding.Same, Input = "input")]
        [Conv2D(8, 1, Padding = Padding.Same, Activation = Activation.Relu, Name = "tower_4")]
        [Concatenate("tower_1", "tower_2", "tower_3", "tower_4", Name = "mixed")]
        [Conv2D(32, 3, Padding = Padding.Same)]
        [BatchNormalization]
        [ReLU]
        [Conv2D(32, 3, Padding = Padding.Same)]
        [BatchNormalization(Name = "bn_out")]
        [Add("mixed", "bn_out")]
        [ReLU]
        [GlobalAveragePooling2D]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class InceptionResidual;
        """;

    /// <summary>A ResNet from blocks: an identity block and a projection block (strided 1x1 shortcut), each used with its
    /// own filters; the Add + ReLU of each block runs as one merge with the activation in place.</summary>
    public const string BlockResNet = """
        using NetGen;

        [Block]
        [Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
        [BatchNormalization]
        [ReLU]
        [Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
        [BatchNormalization(Name = "bn2")]
        [Add("input", "bn2")]
        [ReLU]
        internal sealed class IdentityBlock;

        [Block]
        [Conv2D(BlockArg.Filters, 3, Strides = BlockArg.Strides, Padding = Padding.Same)]
        [BatchNormalization]
        [ReLU]
        [Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
        [BatchNormalization(Name = "bn2")]
        [Conv2D(BlockArg.Filters, 1, Strides = BlockArg.Strides, Input = "input", Name = "shortcut")]
        [BatchNormalization(Name = "shortcut_bn")]
        [Add("shortcut_bn", "bn2")]
        [ReLU]
        internal sealed class ProjectionBlock;

        [Network(12, 12, 3)]
        [Conv2D(8, 3, Padding = Padding.Same)]
        [BatchNormalization]
        [ReLU(Name = "stem")]
        [UseBlock(typeof(IdentityBlock), Filters = 8, Name = "block1")]
        [UseBlock(typeof(ProjectionBlock), Filters = 16, Strides = 2, Name = "block2")]
        [GlobalAveragePooling2D]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class BlockResNet;
        """;

    /// <summary>Two inputs and two outputs (Keras's multi-input, multi-output functional model): an extra Input layer, a
    /// Concatenate of both inputs' features, a softmax head and a sigmoid head reading one shared layer.</summary>
    public const string MultiInputOutput = """
        using NetGen;

        [Network(28, 28, 1, Name = "two_heads", Outputs = new[] { "digit", "is_even" })]
        [Conv2D(8, 3, Activation = Activation.Relu)]
        [MaxPooling2D(2)]
        [Flatten(Name = "image_features")]
        [Input(4, Name = "meta")]
        [Dense(8, Activation = Activation.Relu, Name = "meta_features")]
        [Concatenate("image_features", "meta_features")]
        [Dense(32, Activation = Activation.Relu, Name = "shared")]
        [Dense(10, Activation = Activation.Softmax, Name = "digit")]
        [Dense(1, Activation = Activation.Sigmoid, Name = "is_even", Input = "shared")]
        public partial class MultiInputOutput;
        """;

    /// <summary>Seed 001's 1-D convolution classifier, on (28, 28) sequences, with a causal dilated convolution, a
    /// ReLU layer fused into a Conv1D, and the 1-D poolings.</summary>
    public const string Conv1DClassifier = """
        using NetGen;

        [Network(28, 28)]
        [Conv1D(16, 3, Activation = Activation.Relu)]
        [Conv1D(16, 3)]
        [ReLU]
        [MaxPooling1D(3)]
        [Conv1D(32, 3, Padding = Padding.Causal, DilationRate = 2, Activation = Activation.Relu)]
        [AveragePooling1D(2, Strides = 1, Padding = Padding.Same)]
        [Conv1D(32, 3, Padding = Padding.Same, Strides = 2, UseBias = false, Activation = Activation.Tanh)]
        [GlobalAveragePooling1D]
        [Dropout(0.5)]
        [Dense(1, Activation = Activation.Sigmoid)]
        public partial class Conv1DClassifier;
        """;

    /// <summary>Seed 001's stacked LSTM classifier: two LSTMs returning sequences, then one returning its last step.</summary>
    public const string StackedLstm = """
        using NetGen;

        [Network(8, 16)]
        [LSTM(32, ReturnSequences = true)]
        [LSTM(32, ReturnSequences = true)]
        [LSTM(32)]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class StackedLstm;

        // The other recurrent layers: a GRU (TF 2's reset_after) returning sequences into a SimpleRNN.
        [Network(8, 16)]
        [GRU(24, ReturnSequences = true)]
        [SimpleRNN(12, Activation = Activation.Relu)]
        [Dense(10, Activation = Activation.Softmax)]
        public partial class GruRnn;

        // A bidirectional LSTM (concatenated sequences) into an averaged one.
        [Network(8, 16)]
        [LSTM(12, ReturnSequences = true, Bidirectional = BidirectionalMerge.Concat)]
        [LSTM(6, Bidirectional = BidirectionalMerge.Average)]
        [Dense(2, Activation = Activation.Softmax)]
        public partial class BiLstm;

        // Seed 001's Embedding + LSTM text classifier.
        [Network(80)]
        [Embedding(20000, 128)]
        [LSTM(64)]
        [Dropout(0.5)]
        [Dense(1, Activation = Activation.Sigmoid)]
        public partial class TextLstm;
        """;
}
