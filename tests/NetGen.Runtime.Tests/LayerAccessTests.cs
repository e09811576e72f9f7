using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

// Conv -> BN (+ tanh fused into it, a dropout fused into it; folded into the conv in inference) -> max pooling ->
// Flatten -> Dense relu (a LeakyReLU layer fused into it) -> softmax head.
[Network(6, 6, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Name = "conv")]
[BatchNormalization(Name = "bn")]
[Activation(Activation.Tanh, Name = "act")]
[Dropout(0.3, Name = "drop")]
[MaxPooling2D(2, Name = "pool")]
[Flatten(Name = "flat")]
[Dense(5, Name = "hidden")]
[LeakyReLU(0.2, Name = "leaky")]
[Dense(3, Activation = Activation.Softmax, Name = "head")]
public partial class InspectNet;

// The same feature extractor with a new head (seed 003's transfer learning): the base layers keep their names.
[Network(6, 6, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Name = "conv", Trainable = false)]
[BatchNormalization(Name = "bn", Trainable = false)]
[Activation(Activation.Tanh, Name = "act")]
[Dropout(0.3, Name = "drop")]
[MaxPooling2D(2, Name = "pool")]
[Flatten(Name = "flat")]
[Dense(8, Activation = Activation.Relu, Name = "new_hidden")]
[Dense(2, Activation = Activation.Softmax, Name = "new_head")]
public partial class NewHeadNet;

// A frozen batch norm between trainable layers: the gradient flows through it in inference mode.
[Network(7)]
[Dense(6, Name = "first")]
[BatchNormalization(Name = "bn", Trainable = false)]
[Activation(Activation.Sigmoid)]
[Dropout(0.25)]
[Dense(3, Activation = Activation.Softmax)]
public partial class FrozenBnNet;

// A batch norm (its sigmoid and dropout fused in, so a frozen one keeps its pre-activation) reading a tensor another
// layer read first: its input gradient is added to the other's, frozen (through a temporary) or training (directly).
[Network(7)]
[Dense(6, Name = "first")]
[BatchNormalization(Name = "bn", Trainable = false)]
[Activation(Activation.Sigmoid)]
[Dropout(0.25, Name = "drop")]
[Dense(5, Activation = Activation.Tanh, Name = "side", Input = "first")]
[Concatenate("drop", "side")]
[Dense(3, Activation = Activation.Softmax)]
public partial class SharedInputBnNet;

// The same with a ReLU and no dropout: a frozen batch norm takes the ReLU's derivative from its output and adds its
// input gradient into the shared one directly.
[Network(7)]
[Dense(6, Name = "first")]
[BatchNormalization(Name = "bn", Trainable = false)]
[ReLU(Name = "relu")]
[Dense(5, Activation = Activation.Tanh, Name = "side", Input = "first")]
[Concatenate("relu", "side")]
[Dense(3, Activation = Activation.Softmax)]
public partial class SharedInputReluBnNet;

// Four Dense + ReLU pairs (each ReLU fused into its Dense): PredictLayers needs every Dense's own output on top of the
// training arena, more than the training arena and the gradient buffers together.
[Network(4)]
[Dense(64, Name = "d1")]
[ReLU]
[Dense(64, Name = "d2")]
[ReLU]
[Dense(64, Name = "d3")]
[ReLU]
[Dense(64, Name = "d4")]
[ReLU]
[Dense(2, Activation = Activation.Softmax, Name = "out")]
public partial class DeepReluNet;

// A frozen batch norm with an ELU and no dropout: it keeps no pre-activation, the ELU's derivative comes from its output.
[Network(7)]
[Dense(6, Name = "first")]
[BatchNormalization(Name = "bn", Trainable = false)]
[ELU(0.7)]
[Dense(3, Activation = Activation.Softmax)]
public partial class FrozenBnEluNet;

// The layers that act in training only, each on its own (no batch norm to fuse a dropout into).
[Network(6, 6, 2)]
[Conv2D(4, 3, Padding = Padding.Same, Name = "conv")]
[Dropout(0.5, Name = "drop")]
[GaussianNoise(0.3, Name = "noise")]
[GaussianDropout(0.3, Name = "gdrop")]
[SpatialDropout2D(0.5, Name = "sdrop")]
[Conv2D(4, 3, Padding = Padding.Same, Name = "conv2")]
[Flatten(Name = "flat")]
[Dense(3, Activation = Activation.Softmax, Name = "head")]
public partial class TrainingOnlyInspectNet;

/// <summary>Keras's layer API: model.Layers, GetLayer, per-layer weights, intermediate outputs, freezing, transfer.</summary>
public sealed class LayerAccessTests(IlgpuCpuFixture fixture) : IClassFixture<IlgpuCpuFixture>
{
    private static Tensor X(int n, int seed) => new(Num.Uniform(n * 72, seed), n, 6, 6, 2);

    private static Tensor Y(int n, int classes)
    {
        var y = new float[n * classes];
        for (int i = 0; i < n; i++) y[i * classes + i % classes] = 1;
        return new Tensor(y, n, classes);
    }

    [Fact]
    public void LayersListNamesTypesShapesAndParameterCountsAsTheSummary()
    {
        using var m = new InspectNet();
        Assert.Equal(["conv", "bn", "act", "drop", "pool", "flat", "hidden", "leaky", "head"], m.Layers.Select(l => l.Name));
        Assert.Equal("BatchNormalization", m.GetLayer("bn").Type);
        Assert.Equal([3, 3, 4], m.GetLayer("pool").OutputShape);
        Assert.Equal(m.CountParams(), m.Layers.Sum(l => l.CountParams()));
        Assert.Equal(["gamma", "beta", "moving_mean", "moving_variance"], m.GetLayer("bn").WeightNames);
        Assert.Equal(["pool"], m.GetLayer("flat").InboundLayers);
        Assert.Same(m.GetLayer("head"), m.GetLayer(8));
        var e = Assert.Throws<KeyNotFoundException>(() => m.GetLayer("hiden"));
        Assert.Contains("did you mean 'hidden'?", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.GetLayer(9));
    }

    [Fact]
    public void LayerWeightsAreKerasArraysOverTheFlatBuffer()
    {
        using var m = new InspectNet { Seed = 3 };
        var all = m.GetWeights();
        var hidden = m.GetLayer("hidden").GetWeights();
        Assert.Equal(2, hidden.Length);
        Assert.Equal(36 * 5, hidden[0].Length); // kernel [in, units]
        Assert.Equal(5, hidden[1].Length);
        Assert.True(all.AsSpan().IndexOf(hidden[0]) >= 0, "the kernel is a slice of the flat weights");
        // Replace the head: predictions follow, the rest is untouched; a wrong size changes nothing.
        var x = X(4, 1);
        var before = m.Predict(x).Data;
        var head = m.GetLayer("head");
        head.SetWeights(new float[5 * 3], [10f, 0f, 0f]);
        Assert.All(m.Predict(x).Data.Chunk(3), p => Assert.True(p[0] > 0.99f));
        Assert.NotEqual(before, m.Predict(x).Data);
        var ex = Assert.Throws<ArgumentException>(() => head.SetWeights(new float[14], new float[3]));
        Assert.Contains("'kernel' has shape (5, 3), 15 floats, but 14 were given", ex.Message);
        Assert.Equal(new float[15], head.GetWeights()[0]);
    }

    [Fact]
    public void PredictLayersReservesItsArenaOnlyWhenCalled()
    {
        using var m = new DeepReluNet { Seed = 3 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Num.Uniform(8 * 4, 12), 8, 4);
        var y = new Tensor([1f, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], 8, 2);
        m.TrainOnBatch(x, y);
        var predicted = m.Predict(x, 8).Data;
        long trained = m.Backend.Capacity;
        var outs = m.PredictLayers(x, ["d1", "out"], batchSize: 8);
        Assert.True(m.Backend.Capacity > trained, $"{m.Backend.Capacity} floats after PredictLayers, {trained} before");
        Assert.Equal(predicted, outs[1].Data);
        Assert.Contains(outs[0].Data, v => v < 0); // d1's own output, before its ReLU
        // Training again after it keeps the larger workspace and gives the same step as a model that never inspected.
        using var plain = new DeepReluNet { Seed = 3 };
        plain.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        plain.TrainOnBatch(x, y);
        Assert.Equal(plain.TrainOnBatch(x, y), m.TrainOnBatch(x, y));
        Assert.Equal(plain.GetWeights(), m.GetWeights());
    }

    [Fact]
    public void PredictLayersPassesValuesThroughTheTrainingOnlyLayers()
    {
        // PredictLayers runs on the training slots: a dropout or noise layer there must be the identity, not leave the
        // last training batch's masked values for the layers after it.
        using var m = new TrainingOnlyInspectNet { Seed = 4 };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        for (int i = 0; i < 2; i++) m.TrainOnBatch(X(5, 8 + i), Y(5, 3));
        var x = X(5, 20);
        var outs = m.PredictLayers(x, ["conv", "drop", "noise", "gdrop", "sdrop", "head"], batchSize: 5);
        for (int k = 1; k <= 4; k++) Assert.Equal(outs[0].Data, outs[k].Data);
        Assert.Equal(m.Predict(x, 5).Data, outs[5].Data);
    }

    [Fact]
    public void PredictLayersGivesEachLayersOwnInferenceOutput()
    {
        using var m = new InspectNet { Seed = 5 };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var x = X(6, 7);
        for (int i = 0; i < 5; i++) m.TrainOnBatch(x, Y(6, 3)); // moving statistics away from (0, 1)
        var outs = m.PredictLayers(x, ["conv", "bn", "act", "drop", "pool", "hidden", "leaky", "head"], batchSize: 4);
        var (conv, bn, act, drop, pool, hidden, leaky, head) = (outs[0], outs[1], outs[2], outs[3], outs[4], outs[5], outs[6], outs[7]);
        Assert.Equal([6, 6, 6, 4], conv.Shape);

        // conv: a double reference from the layer's own weights (3x3 same on 6x6x2).
        var kw = m.GetLayer("conv").GetWeights();
        var convRef = new double[6 * 144];
        for (int n = 0; n < 6; n++)
            for (int h = 0; h < 6; h++)
                for (int w = 0; w < 6; w++)
                    for (int f = 0; f < 4; f++)
                    {
                        double s = kw[1][f];
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++)
                            {
                                int ih = h + i - 1, iw = w + j - 1;
                                if (ih < 0 || ih >= 6 || iw < 0 || iw >= 6) continue;
                                for (int c = 0; c < 2; c++) s += x.Data[((n * 6 + ih) * 6 + iw) * 2 + c] * kw[0][((i * 3 + j) * 2 + c) * 4 + f];
                            }
                        convRef[((n * 6 + h) * 6 + w) * 4 + f] = s;
                    }
        Num.Close(convRef, conv.Data, 1e-5, 1e-5, "conv output (before the batch norm folded into it)");

        // bn: γ(x − moving mean)/√(moving variance + ε) + β, before the tanh fused into it.
        var b = m.GetLayer("bn").GetWeights();
        var bnRef = conv.Data.Select((v, i) => { int c = i % 4; return b[0][c] * (v - b[2][c]) / Math.Sqrt(b[3][c] + 1e-3) + b[1][c]; }).ToArray();
        Num.Close(bnRef, bn.Data, 1e-5, 1e-5, "bn output (pre-activation)");
        Num.Close(bn.Data.Select(v => Math.Tanh(v)).ToArray(), act.Data, 1e-6, 1e-5, "act output");
        Assert.Equal(act.Data, drop.Data); // dropout is the identity in inference
        Num.Close(hidden.Data.Select(v => (double)(v > 0 ? v : 0.2f * v)).ToArray(), leaky.Data, 1e-7, 1e-6, "leaky output from hidden's pre-activation");
        Assert.Contains(hidden.Data, v => v < 0); // so the check above is not vacuous
        // The last layer agrees with Predict (folded batch norm, activation after pooling) to rounding.
        Num.Close(m.Predict(x).Data.Select(v => (double)v).ToArray(), head.Data, 1e-6, 1e-5, "head vs Predict");
        // Inspecting leaves the model as it was: Predict and training go on with the same numbers.
        Assert.Equal(m.Predict(x).Data, m.Predict(x).Data);
        Assert.Throws<KeyNotFoundException>(() => m.PredictLayers(x, ["nope"]));
    }

    [Fact]
    public void FrozenLayersKeepTheirWeightsBitForBitAndTheSummaryCountsThem()
    {
        using var m = new NewHeadNet { Seed = 2 };
        string summary = m.Summary();
        int frozen = m.GetLayer("conv").CountParams() + 8; // conv, and bn's gamma and beta (its moving statistics never train)
        Assert.Contains($"Trainable params: {m.CountParams() - frozen - 8:N0}", summary);
        Assert.Contains($"Non-trainable params: {frozen + 8:N0}", summary);
        m.Compile(new Adam(0.05f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var conv = m.GetLayer("conv").GetWeights();
        var bn = m.GetLayer("bn").GetWeights();
        var head = m.GetLayer("new_head").GetWeights();
        m.Fit(X(32, 3), Y(32, 2), epochs: 2, batchSize: 8, verbose: 0);
        Assert.Equal(conv, m.GetLayer("conv").GetWeights());
        Assert.Equal(bn, m.GetLayer("bn").GetWeights()); // inference mode: moving statistics untouched too
        Assert.NotEqual(head, m.GetLayer("new_head").GetWeights());
        // Unfreeze at run time: now they train, and the summary says so.
        m.SetTrainable(true, "conv", "bn");
        Assert.Contains($"Non-trainable params: 8", m.Summary());
        m.Fit(X(32, 3), Y(32, 2), epochs: 1, batchSize: 8, verbose: 0);
        Assert.NotEqual(conv, m.GetLayer("conv").GetWeights());
        Assert.NotEqual(bn[2], m.GetLayer("bn").GetWeights()[2]); // batch statistics move the moving mean again
    }

    [Fact]
    public void AFrozenBaseGetsNoGradientAndTheHeadsGradientIsRight()
    {
        using var m = new NewHeadNet { Seed = 4 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        var x = X(5, 9);
        var y = Y(5, 2);
        var (_, g) = m.ComputeGradients(x, y);
        var conv = m.GetLayer("conv").Info.Weights[0];
        Assert.All(g.AsSpan(conv.Offset, conv.Count).ToArray(), v => Assert.Equal(0f, v)); // the base's backward did not run
        CheckCentralDifferences(m, x, y, g, m.GetLayer("new_hidden").Info.Weights[0], step: 7, "dL/dw");
    }

    /// <summary>Every <paramref name="step"/>-th float of a weight: the analytic gradient against (L(w + h) − L(w − h)) / 2h.</summary>
    private static void CheckCentralDifferences(Model m, Tensor x, Tensor y, float[] g, WeightInfo weight, int step, string what)
    {
        const float h = 1e-3f;
        var w = m.GetWeights();
        for (int i = weight.Offset; i < weight.Offset + weight.Count; i += step)
        {
            var probe = (float[])w.Clone();
            probe[i] = w[i] + h;
            m.SetWeights(probe);
            double up = m.ComputeGradients(x, y).Loss;
            probe[i] = w[i] - h;
            m.SetWeights(probe);
            double down = m.ComputeGradients(x, y).Loss;
            Num.Close((up - down) / (2 * h), g[i], 2e-4, 2e-2, $"{what}[{i}]");
        }
        m.SetWeights(w);
    }

    [Fact]
    public void GradientsFlowThroughAFrozenBatchNormInInferenceMode()
    {
        using var m = new FrozenBnNet { Seed = 6 };
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        // Moving statistics that are not (0, 1), so that the inference-mode scale matters.
        m.GetLayer("bn").SetWeights(Num.Uniform(6, 1, 0.5, 2), Num.Uniform(6, 2), Num.Uniform(6, 3), Num.Uniform(6, 4, 0.3, 3));
        var x = new Tensor(Num.Uniform(6 * 7, 10), 6, 7);
        var y = new Tensor([1f, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], 6, 3);
        var (_, g) = m.ComputeGradients(x, y);
        var w = m.GetWeights();
        var first = m.GetLayer("first").Info.Weights[0];
        CheckCentralDifferences(m, x, y, g, first, step: 1, "dL/dw through the frozen batch norm");
        Assert.True(g.AsSpan(first.Offset, first.Count).ToArray().Max(Math.Abs) > 1e-3, "gradient nearly zero");
        m.SetWeights(w);
        // The same network with the batch norm unfrozen trains it with batch statistics: a different gradient.
        m.GetLayer("bn").Trainable = true;
        Assert.NotEqual(g[first.Offset], m.ComputeGradients(x, y).Gradients[first.Offset]);
    }

    [Fact]
    public void ABatchNormAddsItsGradientToASharedInputsFrozenOrNot()
    {
        CheckSharedInputBatchNorm(new SharedInputBnNet { Seed = 8 });
        CheckSharedInputBatchNorm(new SharedInputReluBnNet { Seed = 9 });
    }

    private static void CheckSharedInputBatchNorm(Model model)
    {
        using var m = model;
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        m.GetLayer("bn").SetWeights(Num.Uniform(6, 1, 0.5, 2), Num.Uniform(6, 2), Num.Uniform(6, 3), Num.Uniform(6, 4, 0.3, 3));
        var x = new Tensor(Num.Uniform(6 * 7, 11), 6, 7);
        var y = new Tensor([1f, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], 6, 3);
        var first = m.GetLayer("first").Info.Weights[0];
        var (_, frozen) = m.ComputeGradients(x, y);
        CheckCentralDifferences(m, x, y, frozen, first, step: 1, "dL/dw into a shared input through a frozen batch norm");
        m.GetLayer("bn").Trainable = true;
        var (_, training) = m.ComputeGradients(x, y);
        CheckCentralDifferences(m, x, y, training, first, step: 1, "dL/dw into a shared input through a training batch norm");
        Assert.NotEqual(frozen[first.Offset], training[first.Offset]);
    }

    [Fact]
    public void AFrozenBatchNormWithoutAPreActivationTakesTheDerivativeFromItsOutput()
    {
        using var m = new FrozenBnEluNet { Seed = 6 };
        using var gpu = new FrozenBnEluNet { Seed = 6 };
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        var x = new Tensor(Num.Uniform(6 * 7, 10), 6, 7);
        var y = new Tensor([1f, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], 6, 3);
        foreach (var n in new Model[] { m, gpu })
        {
            n.Compile(new SGD(), Loss.CategoricalCrossEntropy);
            n.GetLayer("bn").SetWeights(Num.Uniform(6, 1, 0.5, 2), Num.Uniform(6, 2, -1, 1), Num.Uniform(6, 3), Num.Uniform(6, 4, 0.3, 3));
        }
        // The input 7, Dense 6, the batch norm's output (its ELU's) 6 and no pre-activation, Dense 3 with its logits 3;
        // then the gradients: the output's 3, and the batch norm's output's 6, over which its input's is written.
        Assert.Equal(7 + 6 + 6 + 3 + 3 + 3 + 6, m.Memory.TrainingFloatsPerSample);
        var (_, g) = m.ComputeGradients(x, y);
        var first = m.GetLayer("first").Info.Weights[0];
        CheckCentralDifferences(m, x, y, g, first, step: 1, "dL/dw through the frozen batch norm and its ELU");
        Assert.True(g.AsSpan(first.Offset, first.Count).ToArray().Max(Math.Abs) > 1e-3, "gradient nearly zero");
        var gg = gpu.ComputeGradients(x, y).Gradients;
        for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - gg[i]) <= 1e-5 * Math.Abs(g[i]) + 1e-6, $"gradient {i}: {gg[i]} vs {g[i]}");
    }

    [Fact]
    public void Ilgpu_FrozenBatchNormTrainsLikeCpu()
    {
        using var cpu = new FrozenBnNet { Seed = 8 };
        using var gpu = new FrozenBnNet { Seed = 8 };
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        var x = new Tensor(Num.Uniform(6 * 7, 11), 6, 7);
        var y = new Tensor([1f, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], 6, 3);
        foreach (var m in new Model[] { cpu, gpu })
        {
            m.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
            m.GetLayer("bn").SetWeights(Num.Uniform(6, 1, 0.5, 2), Num.Uniform(6, 2), Num.Uniform(6, 3), Num.Uniform(6, 4, 0.3, 3));
        }
        for (int step = 0; step < 3; step++)
        {
            float lc = cpu.TrainOnBatch(x, y), lg = gpu.TrainOnBatch(x, y);
            Assert.True(Math.Abs(lc - lg) <= 1e-5 * Math.Abs(lc) + 1e-6, $"step {step}: {lg} vs {lc}");
        }
        var wc = cpu.GetWeights();
        var wg = gpu.GetWeights();
        for (int i = 0; i < wc.Length; i++) Assert.True(Math.Abs(wc[i] - wg[i]) <= 1e-5 + 1e-4 * Math.Abs(wc[i]), $"weight {i}: {wg[i]} vs {wc[i]}");
    }

    [Fact]
    public void Ilgpu_PredictLayersMatchesCpu()
    {
        using var cpu = new InspectNet { Seed = 14 };
        using var gpu = new InspectNet { Seed = 14 };
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        var x = X(3, 15);
        string[] names = ["conv", "bn", "act", "pool", "hidden", "leaky", "head"];
        var a = cpu.PredictLayers(x, names);
        var b = gpu.PredictLayers(x, names);
        for (int k = 0; k < names.Length; k++)
            Num.Close(a[k].Data.Select(v => (double)v).ToArray(), b[k].Data, 1e-6, 1e-5, names[k] + " on ILGPU");
        using var blocks = new GradResidualNet { Seed = 16 };
        using var blocksGpu = new GradResidualNet { Seed = 16 };
        blocksGpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        var xr = new Tensor(Num.Uniform(2 * 72, 17), 2, 6, 6, 2);
        var ra = blocks.PredictLayers(xr, ["add", "activation"]);
        var rb = blocksGpu.PredictLayers(xr, ["add", "activation"]);
        for (int k = 0; k < 2; k++) Num.Close(ra[k].Data.Select(v => (double)v).ToArray(), rb[k].Data, 1e-6, 1e-5, $"residual output {k} on ILGPU");
    }

    /// <summary>
    /// GradResidualNet's "bn" output is read only by the Add, whose backward does not read it: training reuses its slot,
    /// so PredictLayers has it written to one of its own. The Add's own output (before its fused ELU) is exactly
    /// stem_relu + bn, before and after training steps, and "bn" equals the inference output of the same layers.
    /// </summary>
    [Fact]
    public void PredictLayersReadsATensorTrainingDoesNotKeep()
    {
        using var m = new GradResidualNet { Seed = 18 };
        // bn is short-lived (GraphPlanTests): its slot constant is a property that PredictLayers redirects.
        Assert.Contains(typeof(GradResidualNet).GetProperties(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance),
            p => System.Text.RegularExpressions.Regex.IsMatch(p.Name, @"^T\d+$"));
        var x = new Tensor(Num.Uniform(3 * 72, 19), 3, 6, 6, 2);
        void Check(string when)
        {
            var r = m.PredictLayers(x, ["stem_relu", "bn", "add"]);
            for (int i = 0; i < r[2].Data.Length; i++)
                Assert.True(r[0].Data[i] + r[1].Data[i] == r[2].Data[i], $"{when}: element {i}: {r[0].Data[i]} + {r[1].Data[i]} != {r[2].Data[i]}");
            Assert.Contains(r[1].Data, v => v != 0);
        }
        Check("fresh");
        m.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
        var y = new float[3 * 3];
        for (int i = 0; i < 3; i++) y[i * 3 + i] = 1;
        m.Fit(x, new Tensor(y, 3, 3), epochs: 2, batchSize: 3, verbose: 0);
        Check("trained");
    }

    [Fact]
    public void TransferLearningCopiesTheBaseByName()
    {
        using var trained = new InspectNet { Seed = 11 };
        trained.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        trained.Fit(X(16, 12), Y(16, 3), epochs: 1, batchSize: 8, verbose: 0);
        using var transfer = new NewHeadNet { Seed = 12 };
        var copied = transfer.CopyWeightsFrom(trained);
        Assert.Equal(["conv", "bn"], copied); // 'hidden' and 'head' have no namesake here
        Assert.Equal(trained.GetLayer("conv").GetWeights(), transfer.GetLayer("conv").GetWeights());
        Assert.Equal(trained.GetLayer("bn").GetWeights(), transfer.GetLayer("bn").GetWeights());
        // The frozen base then gives the same features as in the trained model.
        var x = X(3, 13);
        Assert.Equal(trained.PredictLayers(x, ["pool"])[0].Data, transfer.PredictLayers(x, ["pool"])[0].Data);
    }

    [Fact]
    public void LoadWeightsByNameFromAFileLoadsTheNamesakes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netgen-byname-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var trained = new InspectNet { Seed = 21 };
            trained.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
            trained.Fit(X(16, 22), Y(16, 3), epochs: 1, batchSize: 8, verbose: 0);
            string path = Path.Combine(dir, "base.ngw");
            trained.SaveWeights(path);
            using var transfer = new NewHeadNet { Seed = 23 };
            var head = transfer.GetLayer("new_head").GetWeights();
            Assert.Equal(["conv", "bn"], transfer.LoadWeightsByName(path));
            Assert.Equal(trained.GetLayer("bn").GetWeights(), transfer.GetLayer("bn").GetWeights());
            Assert.Equal(head, transfer.GetLayer("new_head").GetWeights());
            // The whole-network load still checks every shape.
            Assert.Throws<InvalidDataException>(() => transfer.LoadWeights(path));
            // A namesake with other shapes is an error naming both, and nothing changes; skipMismatch skips it.
            using var other = new FrozenBnNet();
            string otherPath = Path.Combine(dir, "other.ngw");
            other.SaveWeights(otherPath);
            var before = transfer.GetWeights();
            var e = Assert.Throws<InvalidDataException>(() => transfer.LoadWeightsByName(otherPath));
            Assert.Contains("Layer 'bn' has weights (4) (4) (4) (4)", e.Message);
            Assert.Equal(before, transfer.GetWeights());
            Assert.Empty(transfer.LoadWeightsByName(otherPath, skipMismatch: true));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
