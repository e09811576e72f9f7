using Xunit;

namespace NetGen.Tests;

[Network(6)]
[Dense(4)]
[BatchNormalization]
[Dense(3, Activation = Activation.Softmax)]
public partial class BnTinyNet;

/// <summary>
/// Fit's callbacks against Keras 2's rules (keras/callbacks.py, summarised in shared/notes/keras2-semantics.md §10):
/// the monitored sequences below are worked through by hand in the comments, epoch by epoch.
/// </summary>
[Collection(NonParallelCollection.Name)] // the console is captured by some tests
public class CallbackTests
{
    private static (Tensor X, Tensor Y) Data(int n, int seed)
    {
        var x = Num.Uniform(n * 7, seed, -1, 1);
        var y = new float[n * 3];
        for (int i = 0; i < n; i++) y[i * 3 + (x[i * 7] > 0 ? 1 : x[i * 7 + 1] > 0 ? 2 : 0)] = 1;
        return (new Tensor(x, n, 7), new Tensor(y, n, 3));
    }

    private static TinyNet Compiled(float lr, ulong seed = 1)
    {
        var m = new TinyNet { Seed = seed };
        m.Compile(new SGD(lr), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        return m;
    }

    private static Dictionary<string, double> Logs(string key, double value) => new() { ["loss"] = 1, [key] = value };

    [Fact]
    public void ReduceLROnPlateauFollowsKerasWaitCooldownAndMinLr()
    {
        using var m = Compiled(0.1f);
        var cb = new ReduceLROnPlateau(factor: 0.5f, patience: 2, cooldown: 2, minLr: 0.02f) { Model = m };
        cb.OnTrainBegin();
        double[] valLoss = [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.95, 0.96, 0.97, 0.98];
        var logged = new List<double>();
        for (int e = 0; e < valLoss.Length; e++)
        {
            var logs = Logs("val_loss", valLoss[e]);
            cb.OnEpochEnd(e, logs);
            logged.Add(logs["lr"]);
        }
        // e0 best 1.0; e1 best 0.9; e2 wait 1; e3 wait 2: 0.1 -> 0.05, cooldown 2; e4 cooldown 1 left: no waiting;
        // e5 cooldown ends (0 after the decrement), wait 1; e6 wait 2: -> 0.025, cooldown 2; e7 cooling; e8 wait 1;
        // e9 wait 2: max(0.0125, 0.02) = 0.02. Each epoch logs the rate it trained with, before any reduction.
        double[] expected = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025];
        for (int e = 0; e < expected.Length; e++) Assert.Equal(expected[e], logged[e], 1e-7);
        Assert.Equal(0.02f, m.Optimizer!.LearningRate, 1e-7);

        // At min_lr nothing more happens, however long the plateau.
        for (int e = 10; e < 16; e++) cb.OnEpochEnd(e, Logs("val_loss", 2.0));
        Assert.Equal(0.02f, m.Optimizer!.LearningRate, 1e-7);

        // Patience 1, cooldown 2, always worse: a reduction every other epoch, none while still cooling down after the
        // decrement (e2, e4), the next as soon as the cooldown has run out (e3, e5).
        m.Optimizer!.LearningRate = 0.1f;
        var quick = new ReduceLROnPlateau(factor: 0.5f, patience: 1, cooldown: 2) { Model = m };
        quick.OnTrainBegin();
        var rates = new List<float>();
        for (int e = 0; e < 6; e++)
        {
            quick.OnEpochEnd(e, Logs("val_loss", 1.0 + 0.1 * e));
            rates.Add(m.Optimizer.LearningRate);
        }
        Assert.Equal(new[] { 0.1f, 0.05f, 0.05f, 0.025f, 0.025f, 0.0125f }, rates);
    }

    [Fact]
    public void ReduceLROnPlateauMaximisesAccuracyAndHonoursMinDelta()
    {
        using var m = Compiled(1f);
        var cb = new ReduceLROnPlateau(monitor: "val_accuracy", factor: 0.1f, patience: 1, minDelta: 0.05) { Model = m };
        cb.OnTrainBegin();
        // 'acc' in the name: larger is better. 0.50 best; 0.52 is not 0.05 better: wait 1 >= 1, reduce; 0.60 better.
        foreach (var (e, v) in new[] { (0, 0.50), (1, 0.52), (2, 0.60) }) cb.OnEpochEnd(e, Logs("val_accuracy", v));
        Assert.Equal(0.1f, m.Optimizer!.LearningRate, 1e-7);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(factor: 1f));
        Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(mode: "biggest"));
    }

    [Fact]
    public void EarlyStoppingStopsAfterPatienceAndRestoresTheBestEpochsWeights()
    {
        using var m = Compiled(0.1f);
        var cb = new EarlyStopping(patience: 2, restoreBestWeights: true) { Model = m };
        cb.OnTrainBegin();
        var w0 = m.GetWeights();
        float[] WeightsOf(int epoch) => w0.Select(v => v + epoch).ToArray();
        double[] valLoss = [1.0, 0.8, 0.85, 0.9, 0.7];
        int stoppedAfter = -1;
        for (int e = 0; e < valLoss.Length && !m.StopTraining; e++)
        {
            m.SetWeights(WeightsOf(e)); // what epoch e's training left
            cb.OnEpochEnd(e, Logs("val_loss", valLoss[e]));
            stoppedAfter = e;
        }
        // e0 best 1.0; e1 best 0.8 (snapshot); e2 wait 1; e3 wait 2 >= 2: stop, restore epoch 1.
        Assert.True(m.StopTraining);
        Assert.Equal(3, stoppedAfter);
        Assert.Equal(3, cb.StoppedEpoch);
        Assert.Equal(1, cb.BestEpoch);
        Assert.Equal(WeightsOf(1), m.GetWeights());
    }

    [Fact]
    public void EarlyStoppingKeepsGoingWhileImprovingAndUsesTheBaseline()
    {
        static int Run(EarlyStopping cb, TinyNet m, double[] values, string key = "val_loss")
        {
            m.StopTraining = false;
            cb.Model = m;
            cb.OnTrainBegin();
            for (int e = 0; e < values.Length; e++)
            {
                cb.OnEpochEnd(e, Logs(key, values[e]));
                if (m.StopTraining) return e;
            }
            return -1;
        }
        using var m = Compiled(0.1f);
        // Keras 2.12: an improving epoch returns before the stop check, so patience 0 stops at the first non-improvement.
        Assert.Equal(2, Run(new EarlyStopping(), m, [1.0, 0.9, 1.0, 0.5]));
        Assert.Equal(-1, Run(new EarlyStopping(), m, [1.0, 0.9, 0.8, 0.7]));
        // min_delta: 0.95 is not 0.1 better than 1.0.
        Assert.Equal(1, Run(new EarlyStopping(minDelta: 0.1), m, [1.0, 0.95]));
        // A baseline of 0.5: improvements above it do not reset the wait (but still return early).
        Assert.Equal(-1, Run(new EarlyStopping(patience: 1, baseline: 0.5), m, [1.0, 0.9, 0.8]));
        Assert.Equal(1, Run(new EarlyStopping(patience: 1, baseline: 0.5), m, [1.0, 1.1]));
        Assert.Equal(1, Run(new EarlyStopping(patience: 2, baseline: 0.5), m, [1.0, 1.1])); // e0's wait was not reset
        Assert.Equal(-1, Run(new EarlyStopping(patience: 2), m, [1.0, 1.1]));
        // 'accuracy' at the end of the name: larger is better.
        Assert.Equal(2, Run(new EarlyStopping(monitor: "val_accuracy"), m, [0.5, 0.6, 0.6], "val_accuracy"));
        // A missing monitor is skipped (with a warning), never stops.
        Assert.Equal(-1, Run(new EarlyStopping(monitor: "val_auc"), m, [1.0, 2.0, 3.0]));
    }

    [Fact]
    public void FitStopsEarlyAndRecordsTheLearningRateInTheHistory()
    {
        var (x, y) = Data(64, 3);
        using var m = Compiled(0.2f);
        var stop = new EarlyStopping(monitor: "loss", minDelta: 10); // nothing improves by 10: stop after epoch index 1
        var plateau = new ReduceLROnPlateau(monitor: "loss", factor: 0.5f, patience: 0, minDelta: 10);
        var h = m.Fit(x, y, epochs: 10, batchSize: 16, verbose: 0, callbacks: [plateau, stop]);
        Assert.Equal(2, h.Epochs);
        Assert.Equal(1, stop.StoppedEpoch);
        Assert.Equal(new[] { 0.2, 0.2 }, h["lr"]); // float32 0.2 logged as 0.2, as Keras's history shows it
        Assert.Equal(0.1f, m.Optimizer!.LearningRate, 1e-7); // reduced at the end of epoch index 1
        Assert.Equal(new[] { "loss", "accuracy", "lr" }, h.Values.Keys);
    }

    private sealed class StopAt(int batch) : Callback
    {
        public int Batches { get; private set; }

        public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
        {
            if (epoch == 0) logs["extra"] = 42; // only in the first epoch's logs
        }

        public override void OnBatchEnd(int b, IDictionary<string, double> logs)
        {
            Batches++;
            if (b == batch) Model.StopTraining = true;
        }
    }

    [Fact]
    public void StopTrainingEndsFitAfterTheCurrentBatch()
    {
        var (x, y) = Data(64, 6);
        using var m = Compiled(0.1f);
        var stop = new StopAt(1);
        var h = m.Fit(x, y, epochs: 3, batchSize: 8, verbose: 0, callbacks: [stop]);
        Assert.Equal(2, stop.Batches); // batches 0 and 1 of 8
        Assert.Equal(1, h.Epochs);     // the epoch still ends (logs, history), as Keras

        // Running out of epochs is not early stopping: the best weights are not restored then.
        using var n = Compiled(0.1f);
        var early = new EarlyStopping(monitor: "loss", patience: 5, restoreBestWeights: true);
        n.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, callbacks: [early, new LearningRateScheduler((e, lr) => e == 1 ? 10f : 0.1f)]);
        Assert.Equal(0, early.StoppedEpoch);
        using var fresh = Compiled(0.1f);
        fresh.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, callbacks: [new LearningRateScheduler((e, lr) => e == 1 ? 10f : 0.1f)]);
        Assert.Equal(fresh.GetWeights(), n.GetWeights());
    }

    [Fact]
    public void ADivergedBatchLeavesTheMovingStatisticsAsTheyWere()
    {
        var (x, y) = (new Tensor(Num.Uniform(8 * 6, 7, -1, 1), 8, 6), new Tensor(new float[8 * 3].Select((_, i) => i % 3 == 0 ? 1f : 0f).ToArray(), 8, 3));
        var bad = new Tensor(Enumerable.Repeat(float.NaN, 8 * 6).ToArray(), 8, 6);
        using var m = new BnTinyNet { Seed = 3 };
        m.Compile(new SGD(0.1f), Loss.CategoricalCrossEntropy);
        m.TrainOnBatch(x, y); // moving statistics away from (0, 1)
        var before = m.GetWeights();
        Assert.Throws<TrainingDivergedException>(() => m.TrainOnBatch(bad, y));
        Assert.Equal(before, m.GetWeights());
        var terminate = new TerminateOnNaN();
        m.Fit(bad, y, epochs: 2, batchSize: 4, verbose: 0, callbacks: [terminate]);
        Assert.Equal(0, terminate.TerminatedBatch);
        Assert.Equal(before, m.GetWeights());
        Assert.All(m.Predict(x).Data, v => Assert.True(float.IsFinite(v)));

        // ComputeGradients updates nothing either: the moving statistics stay, and they get no gradient.
        var (_, g) = m.ComputeGradients(x, y);
        Assert.Equal(before, m.GetWeights());
        Assert.All(g.AsSpan(BnTinyNet.TrainableParameterCount).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(g.AsSpan(0, BnTinyNet.TrainableParameterCount).ToArray(), v => v != 0f);
    }

    [Fact]
    public void RedirectedOutputGetsProgressLinesWithoutCarriageReturns()
    {
        Assert.True(Console.IsOutputRedirected, "the test host's output is redirected, as a CI log's");
        var (x, y) = Data(32, 8);
        using var m = Compiled(0.001f);
        var console = Console.Out;
        var captured = new StringWriter();
        long interval = Model.RedirectedProgressMilliseconds;
        Console.SetOut(captured);
        Model.RedirectedProgressMilliseconds = 0; // a line after every batch (10 s apart by default)
        try
        {
            m.Fit(x, y, epochs: 1, batchSize: 8, verbose: 1);
        }
        finally
        {
            Console.SetOut(console);
            Model.RedirectedProgressMilliseconds = interval;
        }
        string text = captured.ToString();
        Assert.DoesNotContain("\r", text);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("Epoch 1/1", lines[0]);
        for (int step = 1; step <= 3; step++)
            Assert.Matches($@"^{step}/4 \[=*>\.*\] - ETA: .* - loss: [0-9.]+ - accuracy: [0-9.]+$", lines[step]);
        Assert.Matches(@"^4/4 \[=+\] - .* - loss: [0-9.]+ - accuracy: [0-9.]+$", lines[4]);
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public void TheEpochLineShowsWhatCallbacksLoggedAsKerasDoes()
    {
        var (x, y) = Data(32, 8);
        using var m = Compiled(0.001f);
        var console = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            m.Fit(x, y, epochs: 2, batchSize: 16, verbose: 2, validationData: (x, y),
                callbacks: [new ReduceLROnPlateau(monitor: "loss", patience: 0, minDelta: 10, verbose: 1)]);
        }
        finally
        {
            Console.SetOut(console);
        }
        string[] lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Epoch 2's reduction message comes before its line, which shows the rate it trained with (float32 0.001: 0.0010).
        // (0.001f · 0.1 in double, then to float32, as Keras: 1.00000005e-4, not 0.0001f.)
        int message = Array.FindIndex(lines, l => l == "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.000100000005.");
        Assert.True(message > 0, captured.ToString());
        Assert.Matches(@"^2/2 \[=+\] - .* - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+ - lr: 0\.0010$", lines[message + 1]);
    }

    [Fact]
    public void ALearningRateScheduleTrainsLikeSettingTheRateByHand()
    {
        var (x, y) = Data(48, 4);
        using var scheduled = Compiled(1f, seed: 9);
        using var manual = Compiled(1f, seed: 9);
        var h = scheduled.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0,
            callbacks: [new LearningRateScheduler((epoch, lr) => 0.3f / (1 << epoch))]);
        for (int e = 0; e < 3; e++)
        {
            manual.Optimizer!.LearningRate = 0.3f / (1 << e);
            manual.Fit(x, y, epochs: 1, batchSize: 16, shuffle: false, verbose: 0);
        }
        Assert.Equal(manual.GetWeights(), scheduled.GetWeights());
        Assert.Equal(new[] { 0.3, 0.15, 0.075 }, h["lr"]);
        using var untrained = Compiled(1f, seed: 9);
        Assert.NotEqual(untrained.GetWeights(), scheduled.GetWeights()); // it did train
        var bad = new LearningRateScheduler((epoch, lr) => float.NaN);
        Assert.Throws<InvalidOperationException>(() => manual.Fit(x, y, epochs: 1, verbose: 0, callbacks: [bad]));
    }

    [Fact]
    public void TerminateOnNaNEndsTrainingWithTheWeightsFromBeforeTheBadBatch()
    {
        // A linear layer fed 1e30: the squared error overflows to infinity on the first batch.
        var x = new Tensor(Enumerable.Repeat(1e30f, 8 * 300).ToArray(), 8, 300);
        var y = new Tensor(new float[8 * 4], 8, 4);
        using var m = new ShallowWideNet { Seed = 2 };
        m.Compile(new SGD(0.1f), Loss.MeanSquaredError);
        var before = m.GetWeights();
        Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, epochs: 2, batchSize: 4, verbose: 0));

        var terminate = new TerminateOnNaN();
        var h = m.Fit(x, y, epochs: 2, batchSize: 4, verbose: 0, callbacks: [terminate]);
        Assert.Equal(0, terminate.TerminatedBatch);
        Assert.True(m.StopTraining);
        Assert.Equal(1, h.Epochs);
        Assert.Equal(before, m.GetWeights());
    }

    [Fact]
    public void CsvLoggerWritesKerasColumnsAndAppends()
    {
        var (x, y) = Data(40, 5);
        using var m = Compiled(0.1f);
        string path = Path.Combine(Path.GetTempPath(), $"netgen-csv-{Guid.NewGuid():N}.csv");
        try
        {
            // StopAt(-1) never stops; it logs "extra" in the first epoch only, so the second row has NA there.
            var h = m.Fit(x, y, epochs: 2, batchSize: 8, validationData: (x, y), verbose: 0, callbacks: [new StopAt(-1), new CSVLogger(path)]);
            m.Fit(x, y, epochs: 1, batchSize: 8, validationData: (x, y), verbose: 0, callbacks: [new CSVLogger(path, append: true)]);
            string text = File.ReadAllText(path);
            Assert.Contains("\r\n", text); // csv.excel's line ends
            string[] lines = File.ReadAllLines(path);
            Assert.Equal("epoch,accuracy,extra,loss,val_accuracy,val_loss", lines[0]); // sorted, as Keras
            Assert.Equal(4, lines.Length);                                            // one header, 2 + 1 rows
            Assert.Equal("42", lines[1].Split(',')[2]);
            var row = lines[2].Split(',');
            Assert.Equal("1", row[0]);
            Assert.Equal("NA", row[2]);
            Assert.Equal(h["loss"][1], double.Parse(row[3], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(h["val_accuracy"][1], double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture));
            Assert.StartsWith("0,", lines[3]); // the appended run counts its epochs from 0 again

            // A Fit that throws still closes the file: it can be deleted (or reopened exclusively) at once.
            var nan = new LearningRateScheduler((e, lr) => float.NaN);
            Assert.Throws<InvalidOperationException>(() => m.Fit(x, y, epochs: 1, verbose: 0, callbacks: [new CSVLogger(path), nan]));
            using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
        }
        finally
        {
            File.Delete(path);
        }
        string missing = Path.Combine(Path.GetTempPath(), $"netgen-no-such-dir-{Guid.NewGuid():N}", "log.csv");
        var e = Assert.Throws<IOException>(() => m.Fit(x, y, epochs: 1, verbose: 0, callbacks: [new CSVLogger(missing)]));
        Assert.Contains(missing, e.Message);
    }
}
