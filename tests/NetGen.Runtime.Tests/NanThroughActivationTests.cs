using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// A NaN reaching a fused ReLU or leaky ReLU stays NaN on every CPU path (Dense inside the GEMM, the direct, im2col and
/// Winograd convolutions, depthwise, batch norm in training and inference, a merge): the outputs that are NaN with the
/// activation are exactly those that are NaN without it. A ReLU that turned a NaN into 0 would hide a broken input or
/// weight in an inference output.
/// </summary>
public class NanThroughActivationTests
{
    private static readonly ActivationFunction[] Rectifiers = [ActivationFunction.Relu, ActivationFunction.LeakyRelu];

    /// <summary>Runs <paramref name="op"/> with a linear epilogue and with each rectifier, and compares where the NaNs are.</summary>
    private static void SameNaNs(string what, int outputs, Func<KernelWorkspace, Epilogue, int> op)
    {
        bool[] expected = NaNs(outputs, op, new Epilogue(ActivationFunction.Linear));
        Assert.Contains(true, expected);
        Assert.Contains(false, expected); // the NaN did not simply spread everywhere
        foreach (var f in Rectifiers)
        foreach (bool storePre in new[] { false, true })
        {
            bool[] actual = NaNs(outputs, (ws, e) => op(ws, storePre ? new Epilogue(f, 0.2f, ws.Alloc(outputs)) : e), new Epilogue(f, 0.2f));
            for (int i = 0; i < outputs; i++)
                Assert.True(expected[i] == actual[i], $"{what}, {f}{(storePre ? ", pre-activation stored" : "")}: output {i} is " +
                    (actual[i] ? "NaN without the activation's input being NaN" : "a number where the input to the activation was NaN"));
        }
    }

    private static bool[] NaNs(int outputs, Func<KernelWorkspace, Epilogue, int> op, Epilogue epilogue)
    {
        using var ws = new KernelWorkspace(1 << 20);
        int y = op(ws, epilogue);
        return Array.ConvertAll(ws.Get(y, outputs), float.IsNaN);
    }

    private static float[] WithNaN(int count, int seed, params int[] at)
    {
        var x = Num.Uniform(count, seed);
        foreach (int i in at) x[i] = float.NaN;
        return x;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Dense(bool packedForInference)
    {
        const int rows = 7, inputs = 40, units = 37;
        var x = WithNaN(rows * inputs, 1, 2 * inputs + 5);
        var k = Num.Uniform(inputs * units, 2);
        var b = Num.Uniform(units, 3);
        SameNaNs("Dense", rows * units, (ws, e) =>
        {
            ws.Backend.InferenceWeightsVersion = packedForInference ? 1 : -1;
            int py = ws.Alloc(rows * units);
            ws.Backend.DenseForward(rows, inputs, units, e, ws.Put(x), ws.Put(k), ws.Put(b), py);
            return py;
        });
    }

    [Theory]
    [InlineData("direct (few input channels)", 7, 5, 3, 16, 2)]
    [InlineData("im2col", 6, 5, 17, 19, 2)]
    [InlineData("Winograd", 19, 17, 16, 32, 3)]
    public void Conv2D(string path, int h, int w, int inC, int outC, int batch)
    {
        var g = KerasGeometry.Conv(h, w, inC, outC, 3, 3, same: true);
        var x = WithNaN(batch * g.InSize, 4, g.InSize + (h / 2 * w + w / 2) * inC + 1);
        var k = Num.Uniform(g.Patch * outC, 5, -0.5, 0.5);
        var b = Num.Uniform(outC, 6);
        SameNaNs(path, batch * g.OutSize, (ws, e) =>
        {
            int py = ws.Alloc(batch * g.OutSize);
            ws.Backend.Conv2DForward(g, batch, e, ws.Put(x), ws.Put(k), ws.Put(b), py);
            return py;
        });
    }

    [Fact]
    public void DepthwiseConv2D()
    {
        const int batch = 2;
        var g = DepthwiseTransposeReference.Depthwise(6, 7, 16, 2, 3, 3, same: true);
        var x = WithNaN(batch * g.InSize, 7, 3 * 7 * 16 + 4 * 16 + 3);
        var k = Num.Uniform(9 * g.OutC, 8);
        var b = Num.Uniform(g.OutC, 9);
        SameNaNs("depthwise", batch * g.OutSize, (ws, e) =>
        {
            int py = ws.Alloc(batch * g.OutSize);
            ws.Backend.DepthwiseConv2DForward(g, batch, e, ws.Put(x), ws.Put(k), ws.Put(b), py);
            return py;
        });
    }

    [Theory]
    [InlineData(false, 19)] // vector body and scalar tail
    [InlineData(true, 19)]
    [InlineData(false, 64)]
    [InlineData(true, 64)]
    public void BatchNorm(bool training, int channels)
    {
        const int rows = 30;
        var x = WithNaN(rows * channels, 10, 4 * channels + 3);
        var gamma = Num.Uniform(channels, 11, 0.5, 1.5);
        var beta = Num.Uniform(channels, 12);
        var mm = Num.Uniform(channels, 13);
        var mv = Num.Uniform(channels, 14, 0.1, 2);
        SameNaNs($"batch norm ({(training ? "training" : "inference")})", rows * channels, (ws, e) =>
        {
            int px = ws.Put(x), py = ws.Alloc(rows * channels);
            var args = new BatchNormArguments(channels, ws.Put(gamma), ws.Put(beta), ws.Put(mm), ws.Put(mv), ws.Alloc(channels), ws.Alloc(channels));
            ws.Backend.BatchNormForward(rows, args, training, e, px, py);
            return py;
        });
    }

    [Fact]
    public void Merge()
    {
        const int count = 100;
        var a = WithNaN(count, 15, 17, 40);
        var b = Num.Uniform(count, 16);
        SameNaNs("add", count, (ws, e) =>
        {
            int py = ws.Alloc(count);
            ws.Backend.MergeForward(MergeOperation.Add, count, e, py, ws.Put(a), ws.Put(b));
            return py;
        });
    }

    [Fact]
    public void ScalarForms()
    {
        Assert.True(float.IsNaN(Activations.Forward(ActivationFunction.Relu, 0f, float.NaN)));
        Assert.True(float.IsNaN(Activations.Forward(ActivationFunction.LeakyRelu, 0.2f, float.NaN)));
        Assert.Equal(0f, Activations.Forward(ActivationFunction.Relu, 0f, -3f));
        Assert.Equal(2.5f, Activations.Forward(ActivationFunction.Relu, 0f, 2.5f));
        // −0 becomes +0, as max(x, 0) in TensorPrimitives and the fused kernels.
        Assert.Equal(0, BitConverter.SingleToInt32Bits(Activations.Forward(ActivationFunction.Relu, 0f, -0f)));
    }
}
