using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

[Network(7)]
[Dense(5, Activation = Activation.Tanh)]
[Dense(3, Activation = Activation.Softmax)]
public partial class OptimizerProbeNet;

/// <summary>
/// Every optimizer over several steps against the Keras 2 OptimizerV2 update rules in double precision, first
/// through <see cref="CpuBackend.OptimizerStep"/> directly and then through a compiled model.
/// </summary>
public class OptimizerTests
{
    /// <summary>The Keras 2 (OptimizerV2) rules, with slots that start at zero (Adagrad's accumulator at its initial value).</summary>
    private sealed class Reference
    {
        private readonly Optimizer _o;
        private readonly double[] _s1, _s2, _s3;
        private long _iterations;

        public Reference(Optimizer optimizer, int count)
        {
            _o = optimizer;
            _s1 = new double[count];
            _s2 = new double[count];
            _s3 = new double[count];
            if (optimizer is Adagrad a) Array.Fill(_s1, (double)a.InitialAccumulatorValue);
        }

        public void Step(double[] w, float[] g)
        {
            double lr = _o.LearningRate / (1.0 + _o.Decay * (double)_iterations); // _decayed_lr, iterations before the increment
            long t = _iterations + 1;
            for (int i = 0; i < w.Length; i++)
            {
                double gi = g[i];
                switch (_o)
                {
                    case SGD s when s.Momentum == 0:
                        w[i] -= lr * gi;
                        break;
                    case SGD s:
                        // ApplyKerasMomentum: v = m·v − lr·g; w += v, or w += m·v − lr·g with Nesterov.
                        _s1[i] = s.Momentum * _s1[i] - lr * gi;
                        w[i] += s.Nesterov ? s.Momentum * _s1[i] - lr * gi : _s1[i];
                        break;
                    case Adam a:
                    {
                        double b1 = a.Beta1, b2 = a.Beta2;
                        _s1[i] = b1 * _s1[i] + (1 - b1) * gi;
                        _s2[i] = b2 * _s2[i] + (1 - b2) * gi * gi;
                        double alpha = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
                        double v = _s2[i];
                        if (a.AmsGrad) v = _s3[i] = Math.Max(_s3[i], _s2[i]);
                        w[i] -= alpha * _s1[i] / (Math.Sqrt(v) + a.Epsilon); // ε on the uncorrected √v
                        break;
                    }
                    case RMSprop r:
                    {
                        double rho = r.Rho;
                        _s1[i] = rho * _s1[i] + (1 - rho) * gi * gi;
                        double d = _s1[i];
                        if (r.Centered)
                        {
                            _s3[i] = rho * _s3[i] + (1 - rho) * gi;
                            d -= _s3[i] * _s3[i];
                        }
                        if (r.Momentum > 0)
                        {
                            // ApplyRMSProp / ApplyCenteredRMSProp: ε inside the square root.
                            _s2[i] = r.Momentum * _s2[i] + lr * gi / Math.Sqrt(d + r.Epsilon);
                            w[i] -= _s2[i];
                        }
                        else
                        {
                            w[i] -= lr * gi / (Math.Sqrt(d) + r.Epsilon);
                        }
                        break;
                    }
                    case Adagrad ad:
                        _s1[i] += gi * gi;
                        w[i] -= lr * gi / (Math.Sqrt(_s1[i]) + ad.Epsilon);
                        break;
                    default:
                        throw new NotSupportedException(_o.GetType().Name);
                }
            }
            _iterations++;
        }
    }

    public static TheoryData<string> Optimizers() => new(Catalogue.Keys);

    private static readonly Dictionary<string, Func<Optimizer>> Catalogue = new()
    {
        ["sgd"] = () => new SGD(0.05f),
        ["sgd decay"] = () => new SGD(0.05f, decay: 0.3f),
        ["sgd momentum"] = () => new SGD(0.05f, momentum: 0.9f),
        ["sgd nesterov"] = () => new SGD(0.05f, momentum: 0.8f, nesterov: true),
        ["sgd nesterov decay"] = () => new SGD(0.05f, momentum: 0.8f, nesterov: true, decay: 0.25f),
        ["adam"] = () => new Adam(0.02f),
        ["adam amsgrad"] = () => new Adam(0.02f, amsgrad: true),
        ["adam decay"] = () => new Adam(0.02f, decay: 0.2f),
        ["adam amsgrad decay betas"] = () => new Adam(0.03f, beta1: 0.8f, beta2: 0.95f, epsilon: 1e-3f, amsgrad: true, decay: 0.1f),
        ["rmsprop"] = () => new RMSprop(0.01f),
        ["rmsprop momentum"] = () => new RMSprop(0.01f, momentum: 0.9f),
        ["rmsprop centered"] = () => new RMSprop(0.01f, centered: true),
        ["rmsprop centered momentum"] = () => new RMSprop(0.01f, rho: 0.8f, momentum: 0.5f, centered: true),
        ["rmsprop decay"] = () => new RMSprop(0.01f, decay: 0.5f),
        ["adagrad"] = () => new Adagrad(0.05f),
        ["adagrad decay"] = () => new Adagrad(0.05f, initialAccumulatorValue: 0.5f, decay: 0.3f),
    };

    private static int AlignUp(int n) => (n + 15) / 16 * 16;

    /// <summary>Gradients that change magnitude from step to step (so AMSGrad's running max matters) and include zeros.</summary>
    private static float[] Gradient(int count, int step)
    {
        float[] scales = [1f, 0.1f, 2f, 0.05f, 1.5f, 0.3f, 0.7f];
        var g = Num.Uniform(count, 1000 + step * 17 + count, -scales[step % scales.Length], scales[step % scales.Length]);
        g[step % count] = 0f;
        return g;
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void BackendStepsMatchKeras(string name)
    {
        foreach (int count in new[] { 37, 45, 133 })
        {
            var optimizer = Catalogue[name]();
            int a = AlignUp(count), slots = optimizer.StateSlots;
            // The layout Model uses: parameters, gradients, then one 16-float-aligned slot per state vector.
            int parameters = 0, gradients = a, state = 2 * a;
            using var backend = new CpuBackend();
            backend.EnsureCapacity(state + Math.Max(1, slots) * a, 0);
            var w0 = Num.Uniform(count, count);
            backend.Upload(w0, parameters);
            if (slots > 0) backend.Fill(state, slots * a, optimizer.InitialState);

            var reference = new Reference(optimizer, count);
            var w = Array.ConvertAll(w0, v => (double)v);
            for (int step = 0; step < 7; step++)
            {
                var g = Gradient(count, step);
                backend.Upload(g, gradients);
                backend.OptimizerStep(optimizer.UpdateFor(step), parameters, gradients, state, count);
                reference.Step(w, g);
                var actual = new float[count];
                backend.Download(parameters, actual);
                Num.Close(w, actual, 2e-6, 2e-5, $"{name}, {count} parameters, step {step + 1}");
                var gAfter = new float[count];
                backend.Download(gradients, gAfter);
                Assert.Equal(g, gAfter); // gradients are read-only
            }
            Assert.NotEqual(w0, Array.ConvertAll(w, v => (float)v));
        }
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void ModelTrainOnBatchMatchesKeras(string name)
    {
        // Through the public API: Compile lays out the state, TrainOnBatch counts iterations and applies the decay.
        var optimizer = Catalogue[name]();
        using var model = new OptimizerProbeNet { Seed = 7 };
        model.Compile(optimizer, Loss.CategoricalCrossEntropy);
        Assert.Equal(58, model.CountParams()); // not a multiple of 16: each state slot is padded
        var x = new Tensor(Num.Uniform(9 * 7, 3), 9, 7);
        var y = Utils.ToCategorical(new Tensor([0, 1, 2, 2, 1, 0, 1, 2, 0], 9), 3);
        var reference = new Reference(optimizer, model.CountParams());
        var w = Array.ConvertAll(model.GetWeights(), v => (double)v);
        for (int step = 0; step < 5; step++)
        {
            var (loss, g) = model.ComputeGradients(x, y);
            float trainLoss = model.TrainOnBatch(x, y);
            Assert.Equal(loss, trainLoss);
            reference.Step(w, g);
            Num.Close(w, model.GetWeights(), 2e-6, 2e-5, $"{name}, step {step + 1}");
            Assert.Equal(step + 1, model.Iterations);
            // Keep the reference on the model's float weights so errors do not compound.
            w = Array.ConvertAll(model.GetWeights(), v => (double)v);
        }
    }

    [Fact]
    public void CompileResetsOptimizerState()
    {
        var x = new Tensor(Num.Uniform(4 * 7, 8), 4, 7);
        var y = Utils.ToCategorical(new Tensor([0, 1, 2, 1], 4), 3);
        using var a = new OptimizerProbeNet { Seed = 3 };
        a.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        for (int i = 0; i < 3; i++) a.TrainOnBatch(x, y);
        // Recompiling a with a fresh Adam must behave like a fresh model holding a's weights.
        a.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        using var c = new OptimizerProbeNet { Seed = 3 };
        c.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        c.SetWeights(a.GetWeights());
        Assert.Equal(0, a.Iterations);
        a.TrainOnBatch(x, y);
        c.TrainOnBatch(x, y);
        Assert.Equal(c.GetWeights(), a.GetWeights());
    }

    [Fact]
    public void RejectsBadHyperParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RMSprop(float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad(0.01f, decay: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(0.01f, momentum: 1.5f));
    }

    [Fact]
    public void KerasDefaults()
    {
        var sgd = new SGD();
        Assert.Equal(0.01f, sgd.LearningRate);
        Assert.Equal(0, sgd.StateSlots);
        Assert.Equal(1, new SGD(momentum: 0.9f).StateSlots);
        var adam = new Adam();
        Assert.Equal((0.001f, 0.9f, 0.999f, 1e-7f, 2), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.StateSlots));
        Assert.Equal(3, new Adam(amsgrad: true).StateSlots);
        var rms = new RMSprop();
        Assert.Equal((0.001f, 0.9f, 0f, 1e-7f, 1), (rms.LearningRate, rms.Rho, rms.Momentum, rms.Epsilon, rms.StateSlots));
        Assert.Equal(3, new RMSprop(momentum: 0.5f, centered: true).StateSlots);
        var adagrad = new Adagrad();
        Assert.Equal((0.001f, 0.1f, 1e-7f, 0.1f), (adagrad.LearningRate, adagrad.InitialAccumulatorValue, adagrad.Epsilon, adagrad.InitialState));
        Assert.Equal(0.05f / (1 + 0.5f * 4), new SGD(0.05f, decay: 0.5f).RateAt(4), 6);
    }
}
