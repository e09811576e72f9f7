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

[Network(30)]
[Dense(40, Activation = Activation.Relu)]
[Dense(30)]
public partial class BreastCancerAE;

public sealed class BreastCancerTests
{
    [Fact]
    public void TheShippedDataLoadsAndAnAutoencoderFlagsMalignantSamples()
    {
        var (x, y) = NetGen.Data.BreastCancer.Load();
        Assert.Equal([569, 30], x.Shape.ToArray());
        Assert.Equal(212, y.Data.Count(v => v == 0));
        Assert.Equal(357, y.Data.Count(v => v == 1));
        // Standardise, train on the benign samples, score everything by reconstruction error.
        int f = 30;
        var mean = new double[f];
        var std = new double[f];
        var benign = Enumerable.Range(0, 569).Where(i => y.Data[i] == 1).ToArray();
        foreach (int r in benign) for (int j = 0; j < f; j++) mean[j] += x.Data[r * f + j] / benign.Length;
        foreach (int r in benign) for (int j = 0; j < f; j++) std[j] += Math.Pow(x.Data[r * f + j] - mean[j], 2) / benign.Length;
        var z = new float[569 * f];
        for (int i = 0; i < 569; i++) for (int j = 0; j < f; j++) z[i * f + j] = (float)((x.Data[i * f + j] - mean[j]) / Math.Sqrt(std[j]));
        var all = new Tensor(z, 569, f);
        var train = new Tensor(benign.SelectMany(r => z.AsSpan(r * f, f).ToArray()).ToArray(), benign.Length, f);
        using var m = new BreastCancerAE { Seed = 3 };
        m.Compile(new Adam(1e-3f), Loss.MeanSquaredError);
        m.Fit(train, train, epochs: 40, batchSize: 32, verbose: 0);
        var recon = m.Predict(all);
        var scores = Enumerable.Range(0, 569).Select(i => (float)Enumerable.Range(0, f).Average(j => Math.Pow(recon.Data[i * f + j] - z[i * f + j], 2))).ToArray();
        var malignant = y.Data.Select(v => v == 0 ? 1f : 0f).ToArray();
        Assert.True(Curves.RocAuc(scores, malignant) > 0.85, $"ROC AUC {Curves.RocAuc(scores, malignant)}");
    }

    [Fact]
    public void ABrokenFileIsAnErrorWithItsPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bc-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "2,3,malignant,benign\n1,2,3,0\n1,2,x,1\n");
        try
        {
            var e = Assert.Throws<NetGen.Data.DataFormatException>(() => NetGen.Data.BreastCancer.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("line 3, value 3 ('x') is not a number", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

// Seed 004's contractive autoencoder: a sigmoid encoder with the penalty λ·‖∂h/∂x‖²_F.
[Network(5)]
[Dense(4, Activation = Activation.Sigmoid, ContractiveRegularizer = 0.5, Name = "encoder")]
[Dense(5)]
public partial class ContractiveNet;

[Network(5)]
[Dense(4, Activation = Activation.Sigmoid, Name = "encoder")]
[Dense(5)]
public partial class UncontractedNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ContractivePenaltyThroughTheEncoderAndItsKernel()
    {
        using var m = new ContractiveNet { Seed = 121 };
        m.Compile(new SGD(), Loss.MeanSquaredError);
        var x = Inputs(4, 122, 5);
        Check(m, x, x);
    }
}

public sealed class ContractiveTests
{
    [Fact]
    public void ThePenaltyIsTheJacobiansSquaredNormAveragedOverTheBatch()
    {
        using var c = new ContractiveNet { Seed = 1 };
        using var u = new UncontractedNet { Seed = 1 };
        c.Compile(new SGD(), Loss.MeanSquaredError);
        u.Compile(new SGD(), Loss.MeanSquaredError);
        var x = new Tensor(Num.Uniform(6 * 5, 4), 6, 5);
        var w = c.GetLayer("encoder").GetWeights()[0]; // (5, 4)
        var h = c.PredictLayers(x, ["encoder"])[0].Data;
        // ‖∂h/∂x‖²_F of a sigmoid layer: Σ_j (h_j(1 − h_j))² Σ_i W_ij², computed here as the Jacobian itself.
        double total = 0;
        for (int s = 0; s < 6; s++)
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 5; i++)
                {
                    double dhdx = h[s * 4 + j] * (1 - h[s * 4 + j]) * w[i * 4 + j];
                    total += dhdx * dhdx;
                }
        double expected = u.Evaluate(x, x, batchSize: 6).Loss + 0.5 * total / 6;
        Assert.Equal(expected, c.Evaluate(x, x, batchSize: 6).Loss, 5);
    }
}

// Found by a hostile run: the regularized output's inference block was reused by later layers before Evaluate read it.
[Network(4)]
[Dense(5, ActivityRegularizerL1 = 0.5, ActivityRegularizerL2 = 0.25, Name = "reg")]
[Dense(5)]
[Dense(5)]
[Dense(5)]
[Dense(1, Name = "out")]
public partial class DeepActivityNet;

public sealed class ActivityEvaluateTests
{
    [Fact]
    public void EvaluateSeesTheRegularizedOutputAsTrainingDoes()
    {
        using var m = new DeepActivityNet { Seed = 2 };
        m.Compile(new SGD(0.01f), Loss.MeanSquaredError);
        var x = new Tensor(Num.Uniform(8 * 4, 1), 8, 4);
        var y = new Tensor(Num.Uniform(8, 2), 8, 1);
        var o = m.PredictLayers(x, ["reg", "out"]);
        double mse = o[1].Data.Select((v, i) => Math.Pow(v - y.Data[i], 2)).Average();
        double penalty = o[0].Data.Sum(v => 0.5 * Math.Abs(v) + 0.25 * v * (double)v) / 8;
        Assert.Equal(mse + penalty, m.ComputeGradients(x, y).Loss, 5);
        Assert.Equal(mse + penalty, m.Evaluate(x, y, batchSize: 8).Loss, 5);
    }
}


[Network(6)]
[Dense(5, Activation = Activation.Tanh, Name = "code")]
[ActivityRegularization(L1 = 0.03, L2 = 0.01)]
[Dense(3, Activation = Activation.Softmax, Name = "out")]
public partial class ActivityLayerNet;

[Network(6)]
[Dense(5, Activation = Activation.Tanh, ActivityRegularizerL1 = 0.03, ActivityRegularizerL2 = 0.01, Name = "code")]
[Dense(3, Activation = Activation.Softmax, Name = "out")]
public partial class ActivityArgumentNet;

public partial class GradientCheckTests
{
    [Fact]
    public void ActivityRegularizationLayer()
    {
        using var m = new ActivityLayerNet { Seed = 98 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Check(m, Inputs(4, 99, 6), OneHot(4, 3, 100));
    }
}

public sealed class ActivityRegularizationLayerTests
{
    [Fact]
    public void TheLayerIsTheDenseArgumentWrittenAsALayer()
    {
        // Keras: Dense(activity_regularizer=l1_l2(...)) and Dense + ActivityRegularization(...) are the same model.
        using var layer = new ActivityLayerNet { Seed = 7 };
        using var argument = new ActivityArgumentNet { Seed = 7 };
        argument.SetWeights(layer.GetWeights()); // the seeds follow the layer positions; the weights line up one to one
        var x = new Tensor(Num.Uniform(16 * 6, 5), 16, 6);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 16).Select(i => (float)(i % 3)).ToArray(), 16), 3);
        layer.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        argument.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        Assert.Equal(argument.Evaluate(x, y, batchSize: 8).Loss, layer.Evaluate(x, y, batchSize: 8).Loss, 6);
        var a = layer.Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, shuffle: false);
        var b = argument.Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, shuffle: false);
        for (int e = 0; e < 3; e++) Assert.Equal(b["loss"][e], a["loss"][e], 5);
        var h = layer.PredictLayers(x, ["code"])[0].Data;
        double penalty = h.Sum(v => 0.03 * Math.Abs((double)v) + 0.01 * v * (double)v) / 16;
        using var plain = new PlainNet { Seed = 7 };
        plain.SetWeights(layer.GetWeights());
        plain.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Assert.Equal(plain.Evaluate(x, y, batchSize: 16).Loss + penalty, layer.Evaluate(x, y, batchSize: 16).Loss, 5);
        Assert.Contains("activity_regularization", layer.Summary());
    }
}

// Weight regularizers on every layer kind that has weights besides Dense: Keras's kernel_regularizer,
// bias_regularizer, recurrent_regularizer and embeddings_regularizer.
[Network(6)]
[Embedding(7, 4, EmbeddingsRegularizerL2 = 0.01, Name = "embedding")]
[Conv1D(3, 2, KernelRegularizerL1 = 0.02, BiasRegularizerL2 = 0.03, Activation = Activation.Tanh, Name = "conv")]
[LSTM(3, KernelRegularizerL2 = 0.01, RecurrentRegularizerL1 = 0.02, BiasRegularizerL1 = 0.01, Bidirectional = BidirectionalMerge.Concat, Name = "lstm")]
[Dense(2, Activation = Activation.Softmax, Name = "out")]
public partial class RegularizedSequenceNet;

[Network(6)]
[Embedding(7, 4, Name = "embedding")]
[Conv1D(3, 2, Activation = Activation.Tanh, Name = "conv")]
[LSTM(3, Bidirectional = BidirectionalMerge.Concat, Name = "lstm")]
[Dense(2, Activation = Activation.Softmax, Name = "out")]
public partial class PlainSequenceNet;

[Network(5, 5, 2)]
[Conv2D(3, 3, KernelRegularizerL2 = 0.05, BiasRegularizerL1 = 0.02, Activation = Activation.Tanh)]
[GRU(2, RecurrentRegularizerL2 = 0.1, Input = "input_seq")]
[Input(4, 3, Name = "input_seq")]
[Flatten(Input = "conv2d")]
[Concatenate("flatten", "gru")]
[Dense(2, Activation = Activation.Softmax)]
public partial class RegularizedConvGru;

public partial class GradientCheckTests
{
    [Fact]
    public void WeightRegularizersOnEmbeddingConv1DAndBidirectionalLstm()
    {
        using var m = new RegularizedSequenceNet { Seed = 81 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var ids = new Tensor(Enumerable.Range(0, 4 * 6).Select(i => (float)(i * 5 % 7)).ToArray(), 4, 6);
        Check(m, ids, OneHot(4, 2, 82));
    }

    [Fact]
    public void WeightRegularizersOnConv2DAndGru()
    {
        using var m = new RegularizedConvGru { Seed = 83 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = new[] { Inputs(3, 84, 5, 5, 2), Inputs(3, 85, 4, 3) };
        var y = new[] { OneHot(3, 2, 86) };
        var w = m.GetWeights();
        var (loss, analytic) = m.ComputeGradients(x, y);
        Assert.True(float.IsFinite(loss));
        var numeric = new double[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            var plus = (float[])w.Clone(); plus[i] += 1e-3f;
            var minus = (float[])w.Clone(); minus[i] -= 1e-3f;
            m.SetWeights(plus);
            double lp = m.ComputeGradients(x, y).Loss;
            m.SetWeights(minus);
            double lm = m.ComputeGradients(x, y).Loss;
            numeric[i] = (lp - lm) / 2e-3;
        }
        m.SetWeights(w);
        var c = Compare(analytic, numeric);
        Assert.True(c.Passes, c.ToString());
    }
}

public sealed class WeightRegularizerTests
{
    [Fact]
    public void ThePenaltiesOfEveryWeightAreAddedToTheLossAsKeras()
    {
        using var r = new RegularizedSequenceNet { Seed = 2 };
        using var p = new PlainSequenceNet { Seed = 2 };
        p.SetWeights(r.GetWeights());
        r.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        p.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Enumerable.Range(0, 8 * 6).Select(i => (float)(i * 3 % 7)).ToArray(), 8, 6);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 2)).ToArray(), 8), 2);
        static double L1(float[] w, double f) => f * w.Sum(v => Math.Abs((double)v));
        static double L2(float[] w, double f) => f * w.Sum(v => (double)v * v);
        var emb = r.GetLayer("embedding").GetWeights();
        var conv = r.GetLayer("conv").GetWeights();
        var lstm = r.GetLayer("lstm").GetWeights(); // forward kernel, recurrent, bias, then the backward direction's
        Assert.Equal(6, lstm.Length);
        double penalty = L2(emb[0], 0.01) + L1(conv[0], 0.02) + L2(conv[1], 0.03);
        for (int d = 0; d < 2; d++) penalty += L2(lstm[3 * d], 0.01) + L1(lstm[3 * d + 1], 0.02) + L1(lstm[3 * d + 2], 0.01);
        Assert.Equal(p.Evaluate(x, y, batchSize: 8).Loss + penalty, r.Evaluate(x, y, batchSize: 8).Loss, 5);
        Assert.Equal(p.Evaluate(x, y, batchSize: 8).Loss + penalty, r.ComputeGradients(x, y).Loss, 5);
    }
}
