using Xunit;

namespace NetGen.Tests;

/// <summary>Huber (δ = 1), written as a user would (the example in CustomLoss's documentation).</summary>
public sealed class Huber : CustomLoss
{
    public override double Compute(ReadOnlySpan<float> predicted, ReadOnlySpan<float> labels, Span<float> gradient, int rows, int cols)
    {
        double sum = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            double e = predicted[i] - labels[i];
            sum += Math.Abs(e) <= 1 ? 0.5 * e * e : Math.Abs(e) - 0.5;
            gradient[i] = (float)(Math.Clamp(e, -1, 1) / predicted.Length);
        }
        return sum / predicted.Length;
    }
}

[Network(4)]
[Dense(6, Activation = Activation.Tanh)]
[Dense(3)]
public partial class HuberNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ACustomLossGradientFlowsThroughTheNetwork()
    {
        using var m = new HuberNet { Seed = 101 };
        m.Compile(new SGD(), new Huber());
        // Labels far from the outputs for some values: both of Huber's branches are exercised.
        var y = new Tensor(Num.Uniform(5 * 3, 102, -3, 3), 5, 3);
        Check(m, Inputs(5, 103, 4), y);
    }
}

public sealed class CustomLossTests
{
    [Fact]
    public void FitMinimisesItAndEvaluateReportsIt()
    {
        var x = new Tensor(Num.Uniform(64 * 4, 1), 64, 4);
        // A learnable target with large values (Huber's linear branch) : y_c = 3·(x_c − x_{c+1}).
        var y = new Tensor(Enumerable.Range(0, 64 * 3).Select(i => 3 * (x.Data[i / 3 * 4 + i % 3] - x.Data[i / 3 * 4 + i % 3 + 1])).ToArray(), 64, 3);
        using var m = new HuberNet { Seed = 5 };
        m.Compile(new Adam(0.01f), new Huber());
        var before = m.Evaluate(x, y, batchSize: 64).Loss;
        // Evaluate is the loss computed directly on Predict's outputs.
        var p = m.Predict(x).Data;
        double direct = p.Select((v, i) => { double e = v - y.Data[i]; return Math.Abs(e) <= 1 ? 0.5 * e * e : Math.Abs(e) - 0.5; }).Average();
        Assert.Equal(direct, before, 5);
        var history = m.Fit(x, y, epochs: 30, batchSize: 16, verbose: 0);
        Assert.True(history["loss"][^1] < before * 0.3, $"{history["loss"][^1]} vs {before}");
        var e = Assert.Throws<ArgumentException>(() => m.Fit(x, new Tensor(new float[64], 64), verbose: 0));
        Assert.Contains("with Huber expects labels of shape (None, 3)", e.Message);
    }
}
