using Xunit;

namespace NetGen.Tests;

// A tiny convolutional autoencoder: Conv2D -> MaxPooling2D -> UpSampling2D (3x2) -> Cropping2D -> ZeroPadding2D ->
// Conv2D, back to the input's 7x5 size, trained with MSE against its input. 57 + 56 = 113 parameters.
[Network(7, 5, 2)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Tanh)]   // 7x5x3
[MaxPooling2D(2)]                                                        // 3x2x3
[UpSampling2D(3, 2)]                                                     // 9x4x3
[Cropping2D(1, 1, 0, 0)]                                                 // 7x4x3
[ZeroPadding2D(0, 0, 1, 0)]                                              // 7x5x3
[Conv2D(2, 3, Padding = Padding.Same)]                                   // 7x5x2
public partial class GradConvAutoencoderNet;

// The one- and two-argument forms; a padding before the first parameter (its backward is skipped), an upsampling by
// the default 2, a crop by (rows, cols), and a strided sigmoid output fused with binary cross-entropy.
[Network(5, 4, 1)]
[ZeroPadding2D(1)]                                                       // 7x6x1
[Conv2D(4, 3, Activation = Activation.Elu)]                              // 5x4x4
[UpSampling2D]                                                           // 10x8x4
[Cropping2D(2, 1)]                                                       // 6x6x4
[Conv2D(1, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Sigmoid)] // 3x3x1
public partial class GradUpCropNet;

// Resampling layers as the network's output: the loss gradient enters through them.
[Network(4, 3, 2)]
[Conv2D(3, 2, Activation = Activation.Tanh)]                             // 3x2x3
[ZeroPadding2D(2, 0, 1, 1)]                                              // 5x4x3
[UpSampling2D(1, 2)]                                                     // 5x8x3
public partial class GradResampleOutputNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ConvAutoencoderThroughUpSamplingCroppingAndPadding()
    {
        // Seeds whose max-pooling windows have no near-tie within the 1e-3 step (a tie would move the argmax).
        using var m = new GradConvAutoencoderNet { Seed = 3 };
        Assert.Equal(113, GradConvAutoencoderNet.ParameterCount);
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Inputs(3, 35, 7, 5, 2);
        Check(m, x, x);
    }

    [Fact]
    public void PaddingBeforeTheFirstLayerAndCroppingIntoAFusedSigmoid()
    {
        using var m = new GradUpCropNet { Seed = 32 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        var y = new Tensor(Array.ConvertAll(Num.Uniform(4 * 9, 33, 0, 1), v => v > 0.5f ? 1f : 0f), 4, 3, 3, 1);
        var x = Inputs(4, 34, 5, 4, 1);
        Check(m, x, y);
        // Inference reads the output convolution's logits from their own slot: the same loss as in training (no dropout
        // or batch norm here), and the predictions are the sigmoid of those logits.
        var (trainingLoss, _) = m.ComputeGradients(x, y);
        Num.Close(trainingLoss, m.Evaluate(x, y).Loss, 1e-6, 1e-5, "Evaluate's loss");
        Assert.All(m.Predict(x).Data, p => Assert.InRange(p, 0f, 1f));
    }

    [Fact]
    public void ResamplingLayersAsTheOutput()
    {
        using var m = new GradResampleOutputNet { Seed = 35 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        Check(m, Inputs(3, 36, 4, 3, 2), new Tensor(Num.Uniform(3 * 5 * 8 * 3, 37), 3, 5, 8, 3));
    }
}
