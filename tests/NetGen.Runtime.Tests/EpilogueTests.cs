using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// <see cref="Epilogue"/> and <see cref="BatchNormArguments"/>: their defaults, the checks they make once for every
/// backend, and that an operation refusing its epilogue has written nothing.
/// </summary>
public class EpilogueTests
{
    [Fact]
    public void DefaultIsLinearWithNoSlotAndNoDropout()
    {
        Epilogue none = default;
        Assert.Equal(Epilogue.None, none);
        Assert.Equal(ActivationFunction.Linear, none.Activation);
        Assert.Equal(-1, none.PreActivation); // not slot 0
        Assert.False(none.StoresPreActivation);
        Assert.False(none.HasDropout);
        Assert.Equal(new Epilogue(ActivationFunction.Linear), none);

        var relu = new Epilogue(ActivationFunction.Relu, preActivation: 0);
        Assert.Equal(0, relu.PreActivation);
        Assert.True(relu.StoresPreActivation);
        Assert.NotEqual(new Epilogue(ActivationFunction.Relu), relu);
        Assert.Equal(new Epilogue(ActivationFunction.LeakyRelu, 0.3f, 7, 0.5f, 9UL),
            new Epilogue(ActivationFunction.LeakyRelu, 0.3f, 7, 0.5f, 9UL));
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    public void RejectsDropoutRatesOutsideZeroToOne(float rate)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Epilogue(ActivationFunction.Linear, dropoutRate: rate));
        Assert.Equal("dropoutRate", e.ParamName);
    }

    [Fact]
    public void RejectsBadActivationAlphaAndSlot()
    {
        Assert.Equal("activation", Assert.Throws<ArgumentOutOfRangeException>(() => new Epilogue((ActivationFunction)99)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new Epilogue(ActivationFunction.LeakyRelu, float.NaN)).ParamName);
        Assert.Equal("preActivation", Assert.Throws<ArgumentOutOfRangeException>(() => new Epilogue(ActivationFunction.Relu, preActivation: -2)).ParamName);
    }

    [Fact]
    public void DropoutNeedsTheRestToAllowIt()
    {
        new Epilogue(ActivationFunction.Linear, dropoutRate: 0.5f).CheckDropout();
        new Epilogue(ActivationFunction.Tanh, preActivation: 4, dropoutRate: 0.5f).CheckDropout();
        new Epilogue(ActivationFunction.Tanh).CheckDropout();
        Assert.Contains("softmax", Assert.Throws<ArgumentException>(() =>
            new Epilogue(ActivationFunction.Softmax, preActivation: 4, dropoutRate: 0.5f).CheckDropout()).Message);
        Assert.Contains("pre-activation", Assert.Throws<ArgumentException>(() =>
            new Epilogue(ActivationFunction.Tanh, dropoutRate: 0.5f).CheckDropout()).Message);
    }

    [Fact]
    public void BatchNormArgumentsDefaultToKerasAndCheckTheirSettings()
    {
        var a = new BatchNormArguments(8);
        Assert.Equal((0.99f, 1e-3f, false, -1, -1), (a.Momentum, a.Epsilon, a.UnbiasedMovingVariance, a.Gamma, a.SavedInvStd));
        Assert.Equal("channels", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormArguments(-1)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormArguments(4, momentum: 1.5f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNormArguments(4, epsilon: float.NaN)).ParamName);
    }

    public static TheoryData<string> Backends() => ["cpu", "ilgpu-cpu"];

    /// <summary>Dense and the convolutions fuse no dropout: they refuse one before writing anything.</summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public void OperationsWithoutAFusedDropoutRefuseOneAndWriteNothing(string which)
    {
        using IBackend b = which == "cpu" ? new CpuBackend() : IlgpuBackend.TryCreate(AcceleratorType.CPU)!;
        b.EnsureCapacity(1024, 0);
        b.Fill(0, 1024, 0.25f);
        int x = 0, kernel = 100, bias = 200, y = 300, dy = 400, dx = 500, dk = 600, db = 700;
        var dropout = new Epilogue(ActivationFunction.Relu, preActivation: 800, dropoutRate: 0.5f, dropoutKey: 3);
        var g = new Conv2DGeometry(3, 3, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 0, 0);
        var calls = new (string Name, Action Call)[]
        {
            ("DenseForward", () => b.DenseForward(2, 3, 4, dropout, x, kernel, bias, y)),
            ("DenseBackward", () => b.DenseBackward(2, 3, 4, dropout, false, x, kernel, y, dy, dx, dk, db)),
            ("Conv2DForward", () => b.Conv2DForward(g, 1, dropout, x, kernel, bias, y)),
            ("Conv2DBackward", () => b.Conv2DBackward(g, 1, dropout, false, x, kernel, y, dy, dx, dk, db)),
            ("DepthwiseConv2DForward", () => b.DepthwiseConv2DForward(g, 1, dropout, x, kernel, bias, y)),
            ("DepthwiseConv2DBackward", () => b.DepthwiseConv2DBackward(g, 1, dropout, false, x, kernel, y, dy, dx, dk, db)),
            ("Conv2DTransposeForward", () => b.Conv2DTransposeForward(g, 1, dropout, x, kernel, bias, y)),
            ("Conv2DTransposeBackward", () => b.Conv2DTransposeBackward(g, 1, dropout, false, x, kernel, y, dy, dx, dk, db)),
        };
        foreach (var (name, call) in calls)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Contains(name + " does not fuse a dropout", e.Message);
            Assert.Equal("epilogue", e.ParamName);
        }
        var all = new float[1024];
        b.Download(0, all);
        Assert.All(all, v => Assert.Equal(0.25f, v));
    }
}
