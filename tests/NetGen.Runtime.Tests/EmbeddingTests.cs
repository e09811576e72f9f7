using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

// Seed 001's Embedding + LSTM classifier, small: token ids in, a sigmoid out.
[Network(6)]
[Embedding(9, 4, Name = "embedding")]
[LSTM(5)]
[Dropout(0.5)]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class EmbeddingLstm;

public partial class GradientCheckTests
{
    [Fact]
    public void EmbeddingIntoAnLstm()
    {
        using var m = new EmbeddingLstm { Seed = 81 };
        m.Compile(new SGD(), Loss.BinaryCrossEntropy);
        var rng = new Random(82);
        var x = new Tensor(Enumerable.Range(0, 4 * 6).Select(_ => (float)rng.Next(9)).ToArray(), 4, 6);
        Check(m, x, new Tensor([1, 0, 0, 1], 4, 1));
    }
}

public sealed class EmbeddingTests
{
    private static Tensor Tokens(int n, int seed, int vocabulary = 9)
    {
        var rng = new Random(seed);
        return new Tensor(Enumerable.Range(0, n * 6).Select(_ => (float)rng.Next(vocabulary)).ToArray(), n, 6);
    }

    [Fact]
    public void EachIndexLooksUpItsRow()
    {
        using var m = new EmbeddingLstm { Seed = 3 };
        var x = Tokens(3, 4);
        var vectors = m.PredictLayers(x, ["embedding"])[0];
        Assert.Equal([3, 6, 4], vectors.Shape.ToArray());
        var table = m.GetLayer("embedding").GetWeights()[0];
        Assert.Equal(9 * 4, table.Length);
        Assert.All(table, v => Assert.InRange(v, -0.05f, 0.05f)); // Keras's 'uniform'
        for (int r = 0; r < 18; r++)
            Assert.Equal(table.AsSpan((int)x.Data[r] * 4, 4).ToArray(), vectors.Data.AsSpan(r * 4, 4).ToArray());
    }

    [Theory]
    [InlineData(9f, "is 9")]
    [InlineData(-1f, "is -1")]
    [InlineData(2.5f, "is 2.5")]
    [InlineData(float.NaN, "is NaN")]
    public void AnIndexOutsideTheVocabularyIsAnErrorNamingIt(float bad, string says)
    {
        using var m = new EmbeddingLstm();
        m.Compile(new Adam(), Loss.BinaryCrossEntropy);
        var x = Tokens(3, 5);
        x.Data[2 * 6 + 4] = bad;
        var y = new Tensor([1, 0, 1], 3, 1);
        foreach (var call in new Action[] { () => m.Predict(x), () => m.Fit(x, y, verbose: 0), () => m.Evaluate(x, y), () => m.TrainOnBatch(x, y) })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Contains("at sample 2, position 4 " + says, e.Message);
            Assert.Contains("[0, 9)", e.Message);
        }
    }

    [Fact]
    public void TheIlgpuBackendTrainsAsTheManagedOne()
    {
        var x = Tokens(8, 6);
        var y = new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 2)).ToArray(), 8, 1);
        using var cpu = new EmbeddingLstm { Seed = 2 };
        using var ilgpu = new EmbeddingLstm { Seed = 2 };
        ilgpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.CPU)!);
        foreach (var m in new Model[] { cpu, ilgpu })
        {
            m.Compile(new Adam(0.01f), Loss.BinaryCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 4, shuffle: false, verbose: 0);
        }
        var a = cpu.GetWeights();
        var b = ilgpu.GetWeights();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-4, $"weight {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void ALearnableTokenTaskIsLearned()
    {
        // Label 1 when token 3 occurs anywhere in the sequence: the LSTM must carry it to the last step.
        var rng = new Random(7);
        int n = 512;
        var x = new float[n * 6];
        var y = new float[n];
        for (int s = 0; s < n; s++)
        {
            for (int t = 0; t < 6; t++) x[s * 6 + t] = rng.Next(9);
            y[s] = Array.IndexOf(x, 3f, s * 6, 6) >= 0 ? 1 : 0;
        }
        using var m = new EmbeddingLstm { Seed = 11 };
        m.Compile(new Adam(0.02f), Loss.BinaryCrossEntropy, Metric.Accuracy);
        m.Fit(new Tensor(x, n, 6), new Tensor(y, n, 1), epochs: 30, batchSize: 32, verbose: 0);
        var (_, accuracy) = m.Evaluate(new Tensor(x, n, 6), new Tensor(y, n, 1));
        Assert.True(accuracy > 0.95, $"accuracy {accuracy}");
    }
}
