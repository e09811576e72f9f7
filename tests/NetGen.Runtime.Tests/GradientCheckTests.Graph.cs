using Xunit;

namespace NetGen.Tests;

// A residual block: the stem's ReLU output is read by the block and by the Add (its gradient is accumulated), batch
// norm before the merge, and a ReLU after it.
[Network(6, 6, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Name = "stem")]
[BatchNormalization]
[ReLU(Name = "stem_relu")]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh)]
[Conv2D(4, 3, Padding = Padding.Same)]
[BatchNormalization(Name = "bn")]
[Add("stem_relu", "bn")]
[Activation(Activation.Elu)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradResidualNet;

// An Inception module: 1x1, 3x3 and pooling branches of the network input, concatenated along the channels.
[Network(5, 5, 3)]
[Conv2D(2, 1, Activation = Activation.Tanh, Name = "b1")]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Sigmoid, Name = "b3", Input = "input")]
[MaxPooling2D(3, Strides = 1, Padding = Padding.Same, Name = "pool", Input = "input")]
[Conv2D(2, 1, Name = "bp")]
[Concatenate("b1", "b3", "bp")]
[Flatten]
[Dense(4, Activation = Activation.Softmax)]
public partial class GradInceptionNet;

// A projection block whose Add hands its dy buffer to both batch norms (no copy), and a tensor with a gradient read by
// a convolution, both poolings and a batch norm, whose gradients are added into one buffer.
[Network(6, 6, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Tanh, Name = "stem")]
[Conv2D(4, 3, Padding = Padding.Same, Name = "c1")]
[BatchNormalization(Name = "bn1")]
[Conv2D(4, 1, Input = "stem", Name = "proj")]
[BatchNormalization(Name = "pbn")]
[Add("pbn", "bn1", Name = "add")]
[MaxPooling2D(3, Strides = 1, Padding = Padding.Same, Input = "stem", Name = "maxpool")]
[AveragePooling2D(3, Strides = 1, Padding = Padding.Same, Input = "stem", Name = "avgpool")]
[BatchNormalization(Input = "stem", Name = "sbn")]
[Concatenate("add", "maxpool", "avgpool", "sbn")]
[Conv2D(3, 1, Activation = Activation.Tanh)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class GradSharedGradientsNet;

// Every merge: a tensor read by several merges, a merge of a tensor with itself, Concatenate on the last axis, and
// a layer declared before the one it reads.
[Network(5)]
[Dense(4, Activation = Activation.Tanh, Name = "a")]
[Dense(4, Activation = Activation.Sigmoid, Name = "b", Input = "input")]
[Dense(4, Name = "c", Input = "input")]
[Subtract("a", "b", Name = "sub")]
[Multiply("sub", "c", "a", Name = "mul")]
[Maximum("mul", "b", Name = "max")]
[Minimum("max", "a", Name = "min")]
[Dense(2, Name = "late", Input = "twice")]
[Average("min", "c", "sub", Name = "avg")]
[Concatenate("avg", "a", Name = "cat")]
[Add("cat", "cat", Name = "twice")]
[Dense(3, Activation = Activation.Tanh, Input = "late")]
public partial class GradMergeZooNet;

// Concatenate along rows (axis 1) of rank-2 samples, and a Dense reading one branch through a Reshape alias.
[Network(3, 4)]
[Dense(4, Activation = Activation.Tanh, Name = "top")]
[Dense(4, Activation = Activation.Softsign, Name = "bottom", Input = "input")]
[Concatenate("top", "bottom", Axis = 1)]
[Reshape(24)]
[Dense(3)]
public partial class GradConcatRowsNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ResidualBlockAccumulatesTheShortcutGradient()
    {
        using var m = new GradResidualNet { Seed = 41 };
        Assert.Equal(["stem_relu", "bn"], m.GetLayer("add").InboundLayers);
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 42, 6, 6, 2), OneHot(4, 3, 43), trainable: GradResidualNet.TrainableParameterCount);
    }

    [Fact]
    public void SharedAndAddedGradients()
    {
        using var m = new GradSharedGradientsNet { Seed = 53 };
        Assert.Equal([6, 6, 16], m.GetLayer("concatenate").OutputShape);
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 54, 6, 6, 2), OneHot(4, 3, 55), trainable: GradSharedGradientsNet.TrainableParameterCount);
    }

    [Fact]
    public void InceptionModuleConcatenatesBranches()
    {
        using var m = new GradInceptionNet { Seed = 44 };
        Assert.Equal([5, 5, 7], m.GetLayer("concatenate").OutputShape); // 2 + 3 + 2 channels
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(3, 45, 5, 5, 3), OneHot(3, 4, 46));
    }

    [Fact]
    public void EveryMergeLayer()
    {
        using var m = new GradMergeZooNet { Seed = 47 };
        Assert.Equal(["cat", "cat"], m.GetLayer("twice").InboundLayers);
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(5, 48, 5), new Tensor(Num.Uniform(5 * 3, 49), 5, 3));
    }

    [Fact]
    public void ConcatenateAlongTheFirstAxis()
    {
        using var m = new GradConcatRowsNet { Seed = 50 };
        Assert.Equal([6, 4], m.Layers[2].OutputShape); // (3, 4) and (3, 4) joined along the rows
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(4, 51, 3, 4), new Tensor(Num.Uniform(4 * 3, 52), 4, 3));
    }
}
