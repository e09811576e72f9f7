using Xunit;

namespace NetGen.Tests;

// ResNet's two blocks, declared once each.
[Block]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn2")]
[Add("input", "bn2")]
[ReLU]
public sealed class TestIdentityBlock;

[Block]
[Conv2D(BlockArg.Filters, BlockArg.KernelSize, Strides = BlockArg.Strides, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(BlockArg.Filters, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn2")]
[Conv2D(BlockArg.Filters, 1, Strides = BlockArg.Strides, Input = "input", Name = "shortcut")]
[BatchNormalization(Name = "shortcut_bn")]
[Add("shortcut_bn", "bn2")]
[ReLU]
public sealed class TestProjectionBlock;

[Network(8, 8, 2)]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[UseBlock(typeof(TestIdentityBlock), Filters = 4, Name = "block1")]
[UseBlock(typeof(TestProjectionBlock), Filters = 6, Strides = 2, KernelSize = 5)]
[UseBlock(typeof(TestIdentityBlock), Filters = 6)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class BlockNet;

// The same network written out layer by layer.
[Network(8, 8, 2)]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU(Name = "stem")]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "b1_bn2")]
[Add("stem", "b1_bn2")]
[ReLU(Name = "b1")]
[Conv2D(6, 5, Strides = 2, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(6, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "b2_bn2")]
[Conv2D(6, 1, Strides = 2, Input = "b1", Name = "b2_shortcut")]
[BatchNormalization(Name = "b2_shortcut_bn")]
[Add("b2_shortcut_bn", "b2_bn2")]
[ReLU(Name = "b2")]
[Conv2D(6, 3, Padding = Padding.Same)]
[BatchNormalization]
[ReLU]
[Conv2D(6, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "b3_bn2")]
[Add("b2", "b3_bn2")]
[ReLU]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class WrittenOutNet;

/// <summary>Blocks: a network built from [UseBlock]s is the same network as the one written out, layer for layer.</summary>
public class BlockTests
{
    [Fact]
    public void BlocksExpandIntoTheirLayersWithTheirOwnWeightsAndNames()
    {
        using var blocks = new BlockNet();
        var names = blocks.Layers.Select(l => l.Name).ToList();
        Assert.Equal(["conv2d", "batch_normalization", "stem",
            "block1_conv2d", "block1_batch_normalization", "block1_re_lu", "block1_conv2d_1", "block1_bn2", "block1_add", "block1",
            "test_projection_block_conv2d", "test_projection_block_batch_normalization", "test_projection_block_re_lu",
            "test_projection_block_conv2d_1", "test_projection_block_bn2", "test_projection_block_shortcut",
            "test_projection_block_shortcut_bn", "test_projection_block_add", "test_projection_block",
            "test_identity_block_conv2d", "test_identity_block_batch_normalization", "test_identity_block_re_lu",
            "test_identity_block_conv2d_1", "test_identity_block_bn2", "test_identity_block_add", "test_identity_block",
            "global_average_pooling2d", "dense"], names);
        Assert.Equal(["block1"], blocks.GetLayer("test_projection_block_shortcut").InboundLayers); // "input" is the block's input
        Assert.Equal(["stem", "block1_bn2"], blocks.GetLayer("block1_add").InboundLayers);
        Assert.Equal([5, 5, 4, 6], blocks.GetLayer("test_projection_block_conv2d").Info.Weights[0].Shape); // KernelSize = 5
        Assert.Equal(WrittenOutNet.ParameterCount, BlockNet.ParameterCount);
    }

    [Fact]
    public void ABlockNetworkTrainsBitForBitLikeTheWrittenOutOne()
    {
        var x = new Tensor(Num.Uniform(6 * 128, 3), 6, 8, 8, 2);
        var y = new Tensor([0f, 1, 2, 0, 1, 2], 6);
        using var blocks = new BlockNet { Seed = 9 };
        using var written = new WrittenOutNet { Seed = 9 };
        blocks.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
        written.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
        Assert.Equal(written.GetWeights(), blocks.GetWeights());
        for (int step = 0; step < 4; step++) Assert.Equal(written.TrainOnBatch(x, y), blocks.TrainOnBatch(x, y));
        Assert.Equal(written.GetWeights(), blocks.GetWeights());
        Assert.Equal(written.Predict(x).Data, blocks.Predict(x).Data);
    }
}
