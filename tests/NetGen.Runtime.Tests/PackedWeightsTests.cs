using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

// Convolutions whose inference runs through a GEMM with the kernel as B (a strided 3x3 and a 1x1 over 32 channels).
[Network(9, 9, 32)]
[Conv2D(16, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2D(24, 1)]
[Flatten]
[Dense(5, Activation = Activation.Softmax)]
public partial class PackedConvNet;

// A 3x3 stride-1 convolution over 16 channels with 16 output tiles at batch 1: the Winograd path, whose kernel
// transform inference keeps.
[Network(16, 16, 16)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[GlobalAveragePooling2D]
[Dense(3, Activation = Activation.Softmax)]
public partial class WinogradKeptNet;

/// <summary>
/// The CPU backend keeps Dense kernels packed for the GEMM between inference passes while the model's weights version
/// stays the same: every way the weights change must be seen by the next Predict (a stale packed kernel would be a
/// silent wrong answer), and the packed path must give the unpacked path's bits.
/// </summary>
public class PackedWeightsTests
{
    private static Tensor Inputs(int batch, int seed)
    {
        var rng = new Random(seed);
        var x = new float[batch * 20];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return new Tensor(x, batch, 20);
    }

    private static int[] Bits(Tensor t) => t.Data.Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>A second model holding <paramref name="weights"/>, its prediction (a backend that packed nothing before).</summary>
    private static int[] Fresh(float[] weights, Tensor x)
    {
        using var m = new ApiMlp();
        m.SetWeights(weights);
        return Bits(m.Predict(x, batchSize: 8));
    }

    [Fact]
    public void Predict_sees_every_change_of_the_weights()
    {
        using var m = new ApiMlp { Seed = 3 };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        var x = Inputs(8, 1);
        var first = Bits(m.Predict(x, batchSize: 8));
        Assert.Equal(first, Bits(m.Predict(x, batchSize: 8))); // the kept kernels give the same answer
        Assert.Equal(Fresh(m.GetWeights(), x), first);

        // A training step.
        var y = new float[8 * 4];
        for (int r = 0; r < 8; r++) y[r * 4 + r % 4] = 1;
        m.TrainOnBatch(x, new Tensor(y, 8, 4));
        var trained = Bits(m.Predict(x, batchSize: 8));
        Assert.NotEqual(first, trained);
        Assert.Equal(Fresh(m.GetWeights(), x), trained);

        // SetWeights on the whole model and on one layer.
        var weights = m.GetWeights();
        for (int i = 0; i < weights.Length; i++) weights[i] *= 0.5f;
        m.SetWeights(weights);
        var halved = Bits(m.Predict(x, batchSize: 8));
        Assert.Equal(Fresh(weights, x), halved);
        var layer = m.Layers.First(l => l.WeightNames.Count > 0);
        var kernel = layer.GetWeights();
        kernel[0] = kernel[0].Select(v => -v).ToArray();
        layer.SetWeights(kernel);
        var flipped = Bits(m.Predict(x, batchSize: 8));
        Assert.NotEqual(halved, flipped);
        Assert.Equal(Fresh(m.GetWeights(), x), flipped);

        // Evaluate's pass reads the same kept kernels.
        var eval = m.Evaluate(x, new Tensor(y, 8, 4), batchSize: 8);
        Assert.True(double.IsFinite(eval.Loss));
    }

    [Fact]
    public void The_packed_kernels_give_the_bits_of_the_unpacked_product()
    {
        using var m = new ApiMlp { Seed = 9 };
        var x = Inputs(37, 2);
        var kept = Bits(m.Predict(x, batchSize: 37));
        long saved = CpuBackend.MaxPackedKernelFloats;
        CpuBackend.MaxPackedKernelFloats = 0; // nothing kept packed
        try { Assert.Equal(kept, Bits(m.Predict(x, batchSize: 37))); }
        finally { CpuBackend.MaxPackedKernelFloats = saved; }
    }

    [Fact]
    public void Convolutions_keep_their_packed_kernels_only_while_the_weights_stay()
    {
        using var m = new PackedConvNet { Seed = 4 };
        var rng = new Random(5);
        var data = new float[6 * 9 * 9 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var x = new Tensor(data, 6, 9, 9, 32);
        var first = Bits(m.Predict(x, batchSize: 6));
        long saved = CpuBackend.MaxPackedKernelFloats;
        CpuBackend.MaxPackedKernelFloats = 0;
        try { Assert.Equal(first, Bits(m.Predict(x, batchSize: 6))); }
        finally { CpuBackend.MaxPackedKernelFloats = saved; }
        var conv = m.Layers.First(l => l.WeightNames.Count > 0);
        var w = conv.GetWeights();
        w[0] = w[0].Select(v => v * -2f).ToArray();
        conv.SetWeights(w);
        var changed = Bits(m.Predict(x, batchSize: 6));
        Assert.NotEqual(first, changed);
        using var fresh = new PackedConvNet();
        fresh.SetWeights(m.GetWeights());
        Assert.Equal(Bits(fresh.Predict(x, batchSize: 6)), changed);
    }

    [Fact]
    public void A_kept_Winograd_kernel_transform_follows_every_change_of_the_weights()
    {
        using var m = new WinogradKeptNet { Seed = 6 };
        m.Compile(new Adam(0.05f), Loss.CategoricalCrossEntropy);
        var rng = new Random(7);
        var data = new float[16 * 16 * 16];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var x = new Tensor(data, 1, 16, 16, 16);
        int[] FreshBits()
        {
            using var fresh = new WinogradKeptNet();
            fresh.SetWeights(m.GetWeights());
            return Bits(fresh.Predict(x, batchSize: 1));
        }
        var first = Bits(m.Predict(x, batchSize: 1));
        Assert.Equal(first, Bits(m.Predict(x, batchSize: 1)));
        Assert.Equal(FreshBits(), first);

        var conv = m.Layers.First(l => l.WeightNames.Count > 0);
        var w = conv.GetWeights();
        w[0] = w[0].Select(v => v * -1.5f).ToArray();
        conv.SetWeights(w);
        var changed = Bits(m.Predict(x, batchSize: 1));
        Assert.NotEqual(first, changed);
        Assert.Equal(FreshBits(), changed);

        m.TrainOnBatch(x, new Tensor([0f, 1f, 0f], 1, 3));
        var trained = Bits(m.Predict(x, batchSize: 1));
        Assert.NotEqual(changed, trained);
        Assert.Equal(FreshBits(), trained);
    }
}
