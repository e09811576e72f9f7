using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// 3x3 stride-1 convolutions with 16·k channels (the Winograd path on the CPU: forward, dx and dKernel), next to a
/// strided 3x3 one and a direct first layer (which do not take it), batch norm and a residual-style tail.
/// </summary>
[Network(16, 16, 3)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2D(32, 3, Padding = Padding.Same)]
[BatchNormalization]
[Activation(Activation.Relu)]
[Conv2D(32, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2D(32, 3, Padding = Padding.Valid, Activation = Activation.Tanh)]
[GlobalAveragePooling2D]
[Dense(4, Activation = Activation.Softmax)]
public partial class WinogradNet;

/// <summary>Training with Winograd convolutions follows training with im2col ones, step by step.</summary>
public class WinogradTrainingTests(ITestOutputHelper output)
{
    private static (Tensor X, Tensor Y) Data(int n)
    {
        var x = new Tensor(Num.Uniform(n * 16 * 16 * 3, 5, -1f, 1.5f), n, 16, 16, 3);
        var y = new float[n * 4];
        for (int i = 0; i < n; i++) y[i * 4 + i % 4] = 1;
        return (x, new Tensor(y, n, 4));
    }

    private static (float[] Losses, float[] Weights) Train(IBackend backend)
    {
        using var model = new WinogradNet { Seed = 4 };
        model.UseBackend(backend);
        model.Compile(new SGD(0.05f), Loss.CategoricalCrossEntropy);
        var (x, y) = Data(24);
        var losses = new float[6];
        for (int i = 0; i < losses.Length; i++) losses[i] = model.TrainOnBatch(x, y);
        return (losses, model.GetWeights());
    }

    [Fact]
    public void TrainingWithWinogradFollowsIm2col()
    {
        var winograd = Train(new CpuBackend { Winograd = true });
        var im2col = Train(new CpuBackend { Winograd = false });
        // The Winograd path was taken: not the same bits as im2col.
        Assert.False(winograd.Weights.SequenceEqual(im2col.Weights), "no convolution took the Winograd path");
        for (int i = 0; i < winograd.Losses.Length; i++)
            Assert.True(Math.Abs(winograd.Losses[i] - im2col.Losses[i]) <= 1e-4 * Math.Abs(im2col.Losses[i]),
                $"step {i}: loss {winograd.Losses[i]} with Winograd, {im2col.Losses[i]} with im2col");
        double worst = 0, scale = im2col.Weights.Max(Math.Abs);
        for (int i = 0; i < im2col.Weights.Length; i++) worst = Math.Max(worst, Math.Abs(winograd.Weights[i] - im2col.Weights[i]));
        output.WriteLine($"max |weight difference| after 6 SGD steps = {worst:E2} (largest weight {scale:F3}); losses {string.Join(", ", winograd.Losses)}");
        Assert.True(worst <= 1e-4 * scale, $"weights after 6 steps differ from im2col's by {worst}");
        // And it learned something: the loss fell.
        Assert.True(winograd.Losses[^1] < winograd.Losses[0] - 0.03f, string.Join(", ", winograd.Losses));
    }
}
