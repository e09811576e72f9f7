using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

[Network(10)]
[Dense(16, Activation = Activation.Relu)]
[BatchNormalization]
[Dropout(0.3)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ResumeNet;

/// <summary>
/// Resuming from a checkpoint (weights, optimizer state, iteration, learning rate, epochs done) gives the weights of
/// a run that never stopped, bit for bit: shuffling, dropout masks, Adam's moments and decay all continue.
/// </summary>
// Run alone: these compare two trainings bit for bit, and in 2 of about 20 full parallel runs such a comparison
// differed while other tests loaded the machine (a timing-dependent nondeterminism in the CPU backend, not yet found).
[Collection(NonParallelCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netgen-resume-" + Guid.NewGuid().ToString("N"));

    public ResumeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (Tensor X, Tensor Y) Data()
    {
        var rng = new Random(8);
        var x = new Tensor(Enumerable.Range(0, 90 * 10).Select(_ => (float)rng.NextDouble()).ToArray(), 90, 10);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 90).Select(i => (float)(i % 3)).ToArray(), 90), 3);
        return (x, y);
    }

    private static ResumeNet Compiled()
    {
        var model = new ResumeNet { Seed = 21 };
        model.Compile(new Adam(0.01f, decay: 1e-3f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        return model;
    }

    [Fact]
    public void A_run_resumed_from_its_checkpoint_ends_with_the_weights_of_one_never_stopped()
    {
        var (x, y) = Data();
        using var straight = Compiled();
        var full = straight.Fit(x, y, epochs: 5, batchSize: 16, verbose: 0);

        string path = Path.Combine(_dir, "ckpt-{epoch}.ngc");
        using (var first = Compiled())
            first.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, callbacks: [new ModelCheckpoint(path, saveWeightsOnly: false)]);
        using var resumed = Compiled();
        int done = resumed.LoadCheckpoint(Path.Combine(_dir, "ckpt-2.ngc"));
        Assert.Equal(2, done);
        Assert.Equal(2 * 6, resumed.Iterations);
        var rest = resumed.Fit(x, y, epochs: 5, batchSize: 16, verbose: 0, initialEpoch: done);

        Assert.Equal(straight.GetWeights(), resumed.GetWeights());
        Assert.Equal(full["loss"].Skip(2), rest["loss"]);

        // The same weights without the optimizer's state and iteration do not continue the run.
        using var weightsOnly = Compiled();
        weightsOnly.LoadWeights(Path.Combine(_dir, "ckpt-2.ngc")); // LoadWeights reads a checkpoint's weights
        weightsOnly.Fit(x, y, epochs: 5, batchSize: 16, verbose: 0, initialEpoch: 2);
        Assert.NotEqual(straight.GetWeights(), weightsOnly.GetWeights());
    }

    [Fact]
    public void Augmented_flows_resume_where_they_were()
    {
        var rng = new Random(3);
        var x = new Tensor(Enumerable.Range(0, 24 * 112).Select(_ => (float)rng.NextDouble()).ToArray(), 24, 8, 7, 2);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 24).Select(i => (float)(i % 3)).ToArray(), 24), 3);
        var generator = new ImageDataGenerator { RotationRange = 15, WidthShiftRange = 0.1, HorizontalFlip = true };
        AugmentNet Make()
        {
            var m = new AugmentNet { Seed = 4 };
            m.Compile(new RMSprop(0.005f, momentum: 0.5f), Loss.CategoricalCrossEntropy);
            return m;
        }
        using var straight = Make();
        straight.Fit(generator.Flow(x, y, batchSize: 8, seed: 6), epochs: 3, stepsPerEpoch: 2, verbose: 0);
        using var first = Make();
        first.Fit(generator.Flow(x, y, batchSize: 8, seed: 6), epochs: 1, stepsPerEpoch: 2, verbose: 0);
        string path = Path.Combine(_dir, "flow.ngc");
        first.SaveCheckpoint(path, 1);
        using var resumed = Make();
        resumed.Fit(generator.Flow(x, y, batchSize: 8, seed: 6), epochs: 3, stepsPerEpoch: 2, verbose: 0, initialEpoch: resumed.LoadCheckpoint(path));
        Assert.Equal(straight.GetWeights(), resumed.GetWeights());
    }

    [Fact]
    public void A_checkpoint_of_another_optimizer_or_a_damaged_one_changes_nothing()
    {
        var (x, y) = Data();
        using var model = Compiled();
        model.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0);
        string path = Path.Combine(_dir, "a.ngc");
        model.SaveCheckpoint(path, 1);

        using var sgd = new ResumeNet();
        sgd.Compile(new SGD(0.1f, momentum: 0.9f), Loss.CategoricalCrossEntropy);
        var before = sgd.GetWeights();
        var e = Assert.Throws<InvalidDataException>(() => sgd.LoadCheckpoint(path));
        Assert.Contains("Adam", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(before, sgd.GetWeights());

        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 1;
        string damaged = Path.Combine(_dir, "damaged.ngc");
        File.WriteAllBytes(damaged, bytes);
        using var other = Compiled();
        before = other.GetWeights();
        Assert.Contains("corrupt", Assert.Throws<InvalidDataException>(() => other.LoadCheckpoint(damaged)).Message);
        Assert.Equal(before, other.GetWeights());
        Assert.Equal(0, other.Iterations);

        string weights = Path.Combine(_dir, "w.ngw");
        model.SaveWeights(weights);
        Assert.Contains("not a NetGen checkpoint", Assert.Throws<InvalidDataException>(() => other.LoadCheckpoint(weights)).Message);
        using var uncompiled = new ResumeNet();
        Assert.Throws<InvalidOperationException>(() => uncompiled.SaveCheckpoint(path, 0));
    }
}
