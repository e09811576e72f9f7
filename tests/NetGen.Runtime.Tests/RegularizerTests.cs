using Xunit;

namespace NetGen.Tests;

// Every regularizer of Dense: kernel L1 and L2, bias L2, and an activity L1 + L2 on the hidden code.
[Network(6)]
[Dense(5, Activation = Activation.Tanh, KernelRegularizerL1 = 0.01, KernelRegularizerL2 = 0.02, BiasRegularizerL2 = 0.05,
    ActivityRegularizerL1 = 0.03, ActivityRegularizerL2 = 0.01, Name = "code")]
[Dense(3, Activation = Activation.Softmax, KernelRegularizerL2 = 0.01, Name = "out")]
public partial class RegularizedNet;

[Network(6)]
[Dense(5, Activation = Activation.Tanh, Name = "code")]
[Dense(3, Activation = Activation.Softmax, Name = "out")]
public partial class PlainNet;

// seed 004's sparse autoencoder: an L1 activity regularizer on the code.
[Network(12)]
[Dense(24, Activation = Activation.Relu, ActivityRegularizerL1 = 3e-3, Name = "code")]
[Dense(12)]
public partial class SparseCoder;

[Network(12)]
[Dense(24, Activation = Activation.Relu, Name = "code")]
[Dense(12)]
public partial class DenseCoder;

public partial class GradientCheckTests
{
    [Fact]
    public void KernelBiasAndActivityRegularizers()
    {
        using var m = new RegularizedNet { Seed = 95 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 96, 6), OneHot(4, 3, 97));
    }
}

public sealed class RegularizerTests
{
    [Fact]
    public void ThePenaltyIsAddedToTheLossAsKeras()
    {
        using var r = new RegularizedNet { Seed = 1 };
        using var p = new PlainNet { Seed = 1 };
        Assert.Equal(p.GetWeights(), r.GetWeights());
        r.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        p.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Num.Uniform(8 * 6, 2), 8, 6);
        var y = Utils.ToCategorical(new Tensor([0, 1, 2, 0, 1, 2, 0, 1], 8), 3);
        var code = r.GetLayer("code").GetWeights();
        var outKernel = r.GetLayer("out").GetWeights()[0];
        var h = p.PredictLayers(x, ["code"])[0].Data;
        double penalty = code[0].Sum(v => 0.01 * Math.Abs((double)v) + 0.02 * v * (double)v) + code[1].Sum(v => 0.05 * v * (double)v) +
            outKernel.Sum(v => 0.01 * v * (double)v) + h.Sum(v => 0.03 * Math.Abs((double)v) + 0.01 * v * (double)v) / 8;
        double plain = p.Evaluate(x, y, batchSize: 8).Loss;
        Assert.Equal(plain + penalty, r.Evaluate(x, y, batchSize: 8).Loss, 5);
        Assert.Equal(plain + penalty, r.ComputeGradients(x, y).Loss, 5);
    }

    [Fact]
    public void AnActivityL1MakesTheCodeSparser()
    {
        var x = new Tensor(Num.Uniform(256 * 12, 3), 256, 12);
        double MeanCode(Model m)
        {
            m.Compile(new Adam(0.01f), Loss.MeanSquaredError);
            m.Fit(x, x, epochs: 30, batchSize: 32, verbose: 0);
            return m.PredictLayers(x, ["code"])[0].Data.Average(v => Math.Abs(v));
        }
        using var sparse = new SparseCoder { Seed = 4 };
        using var dense = new DenseCoder { Seed = 4 };
        double a = MeanCode(sparse), b = MeanCode(dense);
        Assert.True(a < 0.7 * b, $"mean |code| {a:F4} with L1 against {b:F4} without");
    }
}
