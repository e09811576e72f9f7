using Xunit;

namespace NetGen.Tests;

[Network(6)]
[Dense(4, Name = "first")]
[BatchNormalization(Name = "bn")]
[Dense(3, Activation = Activation.Softmax)]
public partial class BnTinyRenamedNet;

// The same output shapes and parameter counts, different kernels: (3, 1) against (1, 3).
[Network(6, 6, 2)]
[Conv2D(3, 3, 1, Padding = Padding.Same)]
[Flatten]
[Dense(2)]
public partial class TallKernelNet;

[Network(6, 6, 2)]
[Conv2D(3, 1, 3, Padding = Padding.Same)]
[Flatten]
[Dense(2)]
public partial class WideKernelNet;

[Network(6)]
[Dense(5)]
[BatchNormalization]
[Dense(3, Activation = Activation.Softmax)]
public partial class BnWiderNet;

/// <summary>Model.SaveWeights / LoadWeights and ModelCheckpoint: round trips, and every bad file an error naming its path.</summary>
[Collection(NonParallelCollection.Name)]
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netgen-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (Tensor X, Tensor Y) Data()
    {
        var x = new Tensor(Num.Uniform(12 * 6, 21, -1, 1), 12, 6);
        var y = new float[12 * 3];
        for (int i = 0; i < 12; i++) y[i * 3 + i % 3] = 1;
        return (x, new Tensor(y, 12, 3));
    }

    private static BnTinyNet Trained()
    {
        var (x, y) = Data();
        var m = new BnTinyNet { Seed = 4 };
        m.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        for (int i = 0; i < 3; i++) m.TrainOnBatch(x, y);
        return m;
    }

    [Fact]
    public void SavedWeightsLoadBitForBitIntoTheSameLayersUnderOtherNames()
    {
        using var m = Trained();
        string path = Path.Combine(_dir, "w.ngw");
        m.SaveWeights(path);
        using var copy = new BnTinyRenamedNet { Seed = 99 }; // other names and seed, same layers
        Assert.NotEqual(m.GetWeights(), copy.GetWeights());
        copy.LoadWeights(path);
        Assert.Equal(m.GetWeights(), copy.GetWeights()); // moving statistics included
        var (x, _) = Data();
        Assert.Equal(m.Predict(x).Data, copy.Predict(x).Data);

        m.SaveWeights(path); // over an existing file: replaced, no temporary file left behind
        Assert.Equal(["w.ngw"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void MissingCorruptForeignOrMismatchedFilesAreErrorsNamingThePath()
    {
        using var m = Trained();
        var before = m.GetWeights();
        string path = Path.Combine(_dir, "w.ngw");
        m.SaveWeights(path);
        byte[] good = File.ReadAllBytes(path);

        string missing = Path.Combine(_dir, "nope.ngw");
        var notFound = Assert.Throws<FileNotFoundException>(() => m.LoadWeights(missing));
        Assert.Contains(missing, notFound.Message);

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x10; // one bit in the parameters
        File.WriteAllBytes(path, flipped);
        var corrupt = Assert.Throws<InvalidDataException>(() => m.LoadWeights(path));
        Assert.Contains(path, corrupt.Message);
        Assert.Contains("checksum", corrupt.Message);

        File.WriteAllBytes(path, good[..(good.Length - 7)]); // truncated
        Assert.Contains("corrupt", Assert.Throws<InvalidDataException>(() => m.LoadWeights(path)).Message);

        File.WriteAllText(path, "{\"weights\": [1, 2, 3]}");
        var foreign = Assert.Throws<InvalidDataException>(() => m.LoadWeights(path));
        Assert.Contains("not a NetGen weights file", foreign.Message);
        Assert.Contains(path, foreign.Message);

        using var wider = new BnWiderNet();
        string widerPath = Path.Combine(_dir, "wider.ngw");
        wider.SaveWeights(widerPath);
        var mismatch = Assert.Throws<InvalidDataException>(() => m.LoadWeights(widerPath));
        Assert.Contains(widerPath, mismatch.Message);
        Assert.Contains("layer with weights #1 is Dense (6, 5) (5,) there but Dense (6, 4) (4,) here", mismatch.Message);

        using var tall = new TallKernelNet();
        using var wide = new WideKernelNet();
        Assert.Equal(tall.Summary().Split('\n').Skip(1), wide.Summary().Split('\n').Skip(1)); // the summaries cannot tell them apart
        string tallPath = Path.Combine(_dir, "tall.ngw");
        tall.SaveWeights(tallPath);
        Assert.Contains("Conv2D (3, 1, 2, 3) (3,) there but Conv2D (1, 3, 2, 3) (3,) here",
            Assert.Throws<InvalidDataException>(() => wide.LoadWeights(tallPath)).Message);

        Assert.Equal(before, m.GetWeights()); // nothing was half-loaded

        var unwritable = Assert.Throws<IOException>(() => m.SaveWeights(Path.Combine(_dir, "no-such-dir", "w.ngw")));
        Assert.Contains(Path.Combine(_dir, "no-such-dir", "w.ngw"), unwritable.Message);
    }

    [Fact]
    public void ModelCheckpointSavesEveryEpochOrOnlyImprovementsUnderFormattedNames()
    {
        var logs = new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.123456, ["val_accuracy"] = 0.875 };
        Assert.Equal("w.07-0.12.ngw", ModelCheckpoint.FormatPath("w.{epoch:02d}-{val_loss:.2f}.ngw", 7, logs));
        Assert.Equal("e7_a0.8750_l1.2346e-01_{x}", ModelCheckpoint.FormatPath("e{epoch}_a{val_accuracy:.4f}_l{val_loss:.4e}_{{x}}", 7, logs));
        Assert.Equal("   7", ModelCheckpoint.FormatPath("{epoch:4d}", 7, logs));
        Assert.Contains("val_acc", Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("{val_acc:.2f}", 1, logs)).Message);
        Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("{val_loss:d}", 1, logs));
        Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("{epoch:.q}", 1, logs));
        Assert.Throws<ArgumentException>(() => ModelCheckpoint.FormatPath("x}y", 1, logs));
        Assert.Equal("007", ModelCheckpoint.FormatPath("{epoch:03}", 7, logs));
        var odd = new Dictionary<string, double> { ["lr"] = 1e-5, ["v"] = double.NaN, ["w"] = 3 };
        Assert.Equal("1e-05_nan_3.0", ModelCheckpoint.FormatPath("{lr}_{v:.2f}_{w}", 1, odd)); // Python's repr and format

        using var m = Trained();
        var every = new ModelCheckpoint(Path.Combine(_dir, "e{epoch:02d}.ngw"), saveBestOnly: false) { Model = m };
        every.OnTrainBegin();
        for (int e = 0; e < 3; e++) every.OnEpochEnd(e, new Dictionary<string, double> { ["val_loss"] = 1 });
        Assert.Equal(["e01.ngw", "e02.ngw", "e03.ngw"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());

        // Best only, strictly better (no min_delta): saves at epochs 1, 3 and 4 of val_loss 1.0, 1.0, 0.9, 0.5, 0.5.
        string best = Path.Combine(_dir, "best.ngw");
        var cb = new ModelCheckpoint(best, saveBestOnly: true) { Model = m };
        cb.OnTrainBegin();
        var saved = new List<int>();
        double[] valLoss = [1.0, 1.0, 0.9, 0.5, 0.5];
        for (int e = 0; e < valLoss.Length; e++)
        {
            var w = m.GetWeights();
            w[0] = e; // a marker of the epoch in the first kernel weight
            m.SetWeights(w);
            cb.OnEpochEnd(e, new Dictionary<string, double> { ["val_loss"] = valLoss[e] });
            using var probe = new BnTinyNet();
            probe.LoadWeights(best);
            if (probe.GetWeights()[0] == e) saved.Add(e + 1);
        }
        Assert.Equal([1, 3, 4], saved);
        Assert.Equal(0.5, cb.Best);

        // As Keras, the best value carries over to the next Fit: a worse epoch there does not replace the best file.
        var w2 = m.GetWeights();
        w2[0] = 99;
        m.SetWeights(w2);
        cb.OnTrainBegin();
        cb.OnEpochEnd(0, new Dictionary<string, double> { ["val_loss"] = 0.7 });
        using (var probe = new BnTinyNet())
        {
            probe.LoadWeights(best);
            Assert.Equal(3f, probe.GetWeights()[0]);
        }

        // The folder of a checkpoint path is created, as Keras does.
        var nested = new ModelCheckpoint(Path.Combine(_dir, "runs", "a", "w{epoch}.ngw")) { Model = m };
        nested.OnEpochEnd(1, new Dictionary<string, double> { ["val_loss"] = 1 });
        Assert.True(File.Exists(Path.Combine(_dir, "runs", "a", "w2.ngw")));
    }

    [Fact]
    public void FitWithModelCheckpointKeepsTheBestEpochsWeights()
    {
        var (x, y) = Data();
        using var m = new BnTinyNet { Seed = 5 };
        m.Compile(new Adam(0.05f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        string path = Path.Combine(_dir, "best.ngw");
        var snapshots = new List<float[]>();
        var h = m.Fit(x, y, epochs: 4, batchSize: 4, validationData: (x, y), verbose: 0,
            callbacks: [new ModelCheckpoint(path, monitor: "val_loss", saveBestOnly: true), new Snapshot(snapshots)]);
        int bestEpoch = h["val_loss"].Select((v, i) => (v, i)).MinBy(p => p.v).i;
        using var restored = new BnTinyNet();
        restored.LoadWeights(path);
        Assert.Equal(snapshots[bestEpoch], restored.GetWeights());
    }

    private sealed class Snapshot(List<float[]> into) : Callback
    {
        public override void OnEpochEnd(int epoch, IDictionary<string, double> logs) => into.Add(Model.GetWeights());
    }
}
