using System.IO.Compression;
using NetGen.Backends;
using NetGen.Data;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

[Network(6)]
[Dense(16, Activation = Activation.Tanh)]
[Dense(3, Activation = Activation.Softmax)]
public partial class ThreadNet;

[Network(4)]
[Dense(8)]
[BatchNormalization]
[Dense(2, Activation = Activation.Softmax)]
public partial class NormNet;

/// <summary>
/// Issue 10's hostile-user findings at run time, each with the behaviour it has now: threads, disposal, bad batch
/// sizes and data, labels, diverging batch norm, IDX headers, weights files, and activation edge cases.
/// </summary>
public sealed class ReliabilityTests(ITestOutputHelper output)
{
    private static Tensor Uniform(int n, int seed, params int[] sample)
    {
        int size = 1;
        foreach (int d in sample) size *= d;
        return new Tensor(Num.Uniform(n * size, seed), [n, .. sample]);
    }

    private static Tensor Classes(int n, int classes, int seed)
    {
        var rng = new Random(seed);
        return new Tensor(Enumerable.Range(0, n).Select(_ => (float)rng.Next(classes)).ToArray(), [n]);
    }

    // ---- Threads ----------------------------------------------------------------------------------------------

    [Fact]
    public void PredictFromFourThreadsGivesTheSequentialResults()
    {
        using var m = new ThreadNet { Seed = 3 };
        var inputs = Enumerable.Range(0, 4).Select(t => Uniform(200 + 37 * t, 10 + t, 6)).ToArray();
        var expected = inputs.Select(x => m.Predict(x, batchSize: 16).Data).ToArray();
        for (int round = 0; round < 5; round++)
        {
            var results = new float[4][];
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t => results[t] = m.Predict(inputs[t], batchSize: 16 + t).Data);
            for (int t = 0; t < 4; t++) Assert.Equal(expected[t], results[t]);
        }
    }

    private sealed class Gate(Action<int> onBatch) : Callback
    {
        public override void OnBatchEnd(int batch, IDictionary<string, double> logs) => onBatch(batch);
    }

    [Fact]
    public async Task ASecondConcurrentFitThrowsAndTheFirstFinishes()
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(64, 1, 6);
        var y = Classes(64, 3, 2);
        using var inFit = new ManualResetEventSlim();
        using var tried = new ManualResetEventSlim();
        var first = Task.Run(() => m.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0, callbacks: [new Gate(b =>
        {
            if (b != 0) return;
            inFit.Set();
            tried.Wait(TimeSpan.FromSeconds(30));
        })]));
        Assert.True(inFit.Wait(TimeSpan.FromSeconds(30)));
        var e = Assert.Throws<InvalidOperationException>(() => m.Fit(x, y, verbose: 0));
        tried.Set();
        Assert.Contains("Fit is already running on ThreadNet in another thread", e.Message);
        var history = await first;
        Assert.Equal(2, history.Epochs);
        Assert.All(history["loss"], l => Assert.True(double.IsFinite(l)));
        m.Fit(x, y, verbose: 0); // and Fit works again afterwards
    }

    [Fact]
    public async Task TwoModelsTrainOnTwoThreadsAsTheyDoOneAfterTheOther()
    {
        var x = Uniform(96, 1, 6);
        var y = Classes(96, 3, 2);
        float[] Train()
        {
            using var m = new ThreadNet { Seed = 12 };
            m.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
            m.Fit(x, y, epochs: 3, batchSize: 8, verbose: 0);
            return m.GetWeights();
        }
        var alone = Train();
        var together = new Task<float[]>[3];
        for (int t = 0; t < together.Length; t++) together[t] = Task.Run(Train);
        foreach (var task in together) Assert.Equal(alone, await task);
    }

    [Fact]
    public void FitFromItsOwnCallbackThrows()
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(16, 1, 6);
        var y = Classes(16, 3, 2);
        var e = Assert.Throws<InvalidOperationException>(() =>
            m.Fit(x, y, verbose: 0, callbacks: [new Gate(_ => m.Fit(x, y, verbose: 0))]));
        Assert.Contains("called from one of its callbacks", e.Message);
    }

    // ---- Disposal ---------------------------------------------------------------------------------------------

    [Fact]
    public void EveryCallAfterDisposeThrowsObjectDisposedException()
    {
        var m = new ThreadNet();
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(4, 1, 6);
        var y = Classes(4, 3, 2);
        m.Predict(x);
        m.Dispose();
        m.Dispose(); // twice is fine
        string path = Path.Combine(Path.GetTempPath(), $"disposed-{Guid.NewGuid():N}.ngw");
        Action[] calls =
        [
            () => m.Predict(x), () => m.Fit(x, y, verbose: 0), () => m.Evaluate(x, y), () => m.TrainOnBatch(x, y),
            () => m.GetWeights(), () => m.SetWeights(new float[ThreadNet.ParameterCount]), () => m.SaveWeights(path),
            () => m.Compile(new SGD(), Loss.MeanSquaredError), () => m.GetLayer("dense").GetWeights(), () => m.ComputeGradients(x, y),
            () => m.PredictLayers(x, ["dense"]),
        ];
        foreach (var call in calls) Assert.Throws<ObjectDisposedException>(call);
        Assert.False(File.Exists(path));
        Assert.Contains("dense", m.Summary()); // what needs no memory still answers
    }

    [Fact]
    public void AModelThatIsNeverDisposedGivesItsMemoryBackWhenCollected()
    {
        long before = CpuBackend.ReclaimedByFinalizer;
        static void Use()
        {
            var m = new ThreadNet();
            m.UseBackend(new CpuBackend());
            m.Predict(Uniform(64, 1, 6));
        }
        for (int i = 0; i < 3; i++) Use();
        for (int i = 0; i < 5 && CpuBackend.ReclaimedByFinalizer < before + 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.True(CpuBackend.ReclaimedByFinalizer >= before + 3, $"{CpuBackend.ReclaimedByFinalizer - before} of 3 freed");
    }

    // ---- Batch sizes and data ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void NonPositiveBatchSizesNameTheParameter(int batchSize)
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(4, 1, 6);
        var y = Classes(4, 3, 2);
        foreach (var call in new Action[] { () => m.Predict(x, batchSize), () => m.Evaluate(x, y, batchSize), () => m.Fit(x, y, batchSize: batchSize, verbose: 0), () => m.PredictLayers(x, ["dense"], batchSize) })
            Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(call).ParamName);
    }

    [Fact]
    public void AHugeBatchSizeIsTheWholeData()
    {
        using var a = new ThreadNet { Seed = 5 };
        using var b = new ThreadNet { Seed = 5 };
        var x = Uniform(40, 1, 6);
        var y = Classes(40, 3, 2);
        a.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy);
        b.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy);
        var h = a.Fit(x, y, epochs: 2, batchSize: int.MaxValue, shuffle: false, verbose: 2);
        b.Fit(x, y, epochs: 2, batchSize: 40, shuffle: false, verbose: 0);
        Assert.True(double.IsFinite(h["loss"][1]));
        Assert.Equal(b.GetWeights(), a.GetWeights());
        Assert.Equal(2, a.Iterations);
        Assert.Equal(a.Predict(x, batchSize: int.MaxValue).Data, a.Predict(x).Data);
    }

    [Fact]
    public void EmptyDataAndSplitsThatLeaveNothingAreClearErrors()
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(), Loss.SparseCategoricalCrossEntropy);
        var empty = new Tensor([], 0, 6);
        var noLabels = new Tensor([], 0);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => m.Fit(empty, noLabels, verbose: 0)).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => m.Evaluate(empty, noLabels)).Message);
        Assert.Equal([0, 3], m.Predict(empty).Shape);
        var x = Uniform(3, 1, 6);
        var y = Classes(3, 3, 2);
        Assert.Contains("leaves no training sample", Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(x, y, validationSplit: 0.9f, verbose: 0)).Message);
        Assert.Contains("leaves no validation sample", Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(x, y, validationSplit: 1e-9f, verbose: 0)).Message);
        Assert.Contains("validationData has no samples", Assert.Throws<ArgumentException>(() => m.Fit(x, y, validationData: (empty, noLabels), verbose: 0)).Message);
    }

    [Theory]
    [InlineData(1.5f, "sample 7 is 1.5")]
    [InlineData(float.NaN, "sample 7 is NaN")]
    [InlineData(3f, "sample 7 is 3")]
    [InlineData(-1f, "sample 7 is -1")]
    public void SparseLabelsMustBeClassIndicesAndABadOneChangesNothing(float label, string says)
    {
        using var m = new NormNet { Seed = 2 };
        m.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(20, 1, 4);
        var y = Classes(20, 2, 2);
        y.Data[7] = label;
        var before = m.GetWeights();
        var e = Assert.Throws<ArgumentException>(() => m.Fit(x, y, batchSize: 4, verbose: 0));
        Assert.Contains(says, e.Message);
        Assert.Contains("not a class index in [0, 2)", e.Message);
        Assert.Throws<ArgumentException>(() => m.TrainOnBatch(x, y));
        Assert.Equal(before, m.GetWeights()); // moving statistics included
        y.Data[7] = 1;
        m.Fit(x, y, batchSize: 4, verbose: 0);
    }

    [Fact]
    public void AMovingVarianceThatOverflowsStopsTrainingWithTheLayerNamed()
    {
        using var m = new NormNet { Seed = 4 };
        m.Compile(new SGD(0.01f), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(16, 1, 4);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] *= 3e19f; // the batch variance overflows; the loss stays finite
        var y = Classes(16, 2, 2);
        var before = m.GetWeights();
        var e = Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, batchSize: 16, verbose: 0));
        output.WriteLine(e.Message);
        Assert.Contains("'batch_normalization'", e.Message);
        Assert.Contains("although the loss was finite", e.Message);
        Assert.Equal(before, m.GetWeights());
        Assert.All(m.Predict(Uniform(3, 2, 4)).Data, v => Assert.True(float.IsFinite(v)));
        var stop = new TerminateOnNaN();
        m.Fit(x, y, batchSize: 16, verbose: 0, callbacks: [stop]);
        Assert.Equal(0, stop.TerminatedBatch);
    }

    // ---- Files ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnIdxHeaderThatClaimsGigabytesFailsWithoutAllocatingThem(bool gzip)
    {
        string path = Path.Combine(Path.GetTempPath(), $"huge-{Guid.NewGuid():N}.idx" + (gzip ? ".gz" : ""));
        byte[] header = [0, 0, 0x0D, 3, 0, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x10, 1, 2, 3, 4, 5, 6, 7, 8]; // float32, 8192 x 8192 x 16: 4 GiB
        try
        {
            if (gzip)
            {
                using var file = File.Create(path);
                using var zip = new GZipStream(file, CompressionLevel.Fastest);
                zip.Write(header);
            }
            else File.WriteAllBytes(path, header);
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));
            Assert.Contains("truncated data", e.Message);
            Assert.Contains(Path.GetFullPath(path), e.Message);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 64 << 20, "allocated what the header claims");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SavingOverAReadOnlyFileFailsAndLeavesIt()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        if (Environment.UserName == "root") { output.WriteLine("skipped: root may write read-only files"); }
        string dir = Directory.CreateTempSubdirectory("netgen-ro").FullName;
        string path = Path.Combine(dir, "w.ngw");
        try
        {
            using var m = new ThreadNet();
            m.SaveWeights(path);
            byte[] before = File.ReadAllBytes(path);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead);
            m.SetWeights(new float[ThreadNet.ParameterCount]);
            var e = Assert.Throws<UnauthorizedAccessException>(() => m.SaveWeights(path));
            Assert.Contains("read-only", e.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir)); // no temporary left behind
        }
        finally
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ATemporaryLeftByAKilledSaveIsRemovedByTheNextSave()
    {
        string dir = Directory.CreateTempSubdirectory("netgen-kill").FullName;
        string path = Path.Combine(dir, "w.ngw");
        try
        {
            using var m = new ThreadNet();
            m.SaveWeights(path);
            Assert.Single(Directory.GetFiles(dir));
            // What a save killed between writing and renaming leaves: its temporary, named for the target and a process
            // that is gone (pid 2^22 + 1 is above Linux's pid_max default). One for another target stays.
            string tag = Directory.GetFiles(dir).Length == 1 ? TagOf(m, dir) : "";
            string orphan = Path.Combine(dir, $".ngw-{tag}-4194305-abcdef.tmp");
            string other = Path.Combine(dir, ".ngw-00000000-4194305-abcdef.tmp");
            File.WriteAllBytes(orphan, new byte[1000]);
            File.WriteAllBytes(other, new byte[10]);
            m.SaveWeights(path);
            Assert.False(File.Exists(orphan));
            Assert.True(File.Exists(other));
            Assert.Equal(2, Directory.GetFiles(dir).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The tag a save gives its temporaries for w.ngw in <paramref name="dir"/>: seen by saving beside a watcher.</summary>
    private static string TagOf(Model m, string dir)
    {
        using var watcher = new FileSystemWatcher(dir, ".ngw-*.tmp") { EnableRaisingEvents = true };
        string? seen = null;
        watcher.Created += (_, e) => seen ??= e.Name;
        for (int i = 0; i < 50 && seen is null; i++)
        {
            m.SaveWeights(Path.Combine(dir, "w.ngw"));
            Thread.Sleep(20);
        }
        Assert.NotNull(seen);
        return seen!.Split('-')[1];
    }

    // ---- Activation edge cases against Keras 2 ----------------------------------------------------------------

    [Fact]
    public void ActivationEdgeCasesMatchKeras()
    {
        // selu'(0) is the positive branch (TensorFlow's SeluGrad), hard_sigmoid' is 0.2 at the clip's ends.
        Assert.Equal(1.05070098f, Activations.Derivative(ActivationFunction.Selu, 0, 0f, Activations.Forward(ActivationFunction.Selu, 0, 0f)));
        Assert.Equal(0.2f, Activations.Derivative(ActivationFunction.HardSigmoid, 0, 2.5f, 1f));
        Assert.Equal(0.2f, Activations.Derivative(ActivationFunction.HardSigmoid, 0, -2.5f, 0f));
        Assert.Equal(0f, Activations.Derivative(ActivationFunction.HardSigmoid, 0, 2.6f, 1f));
        // softplus keeps its precision far below 0 (log1p(eˣ), not log(1 + eˣ) in float).
        foreach (float x in new[] { -10f, -16f, -20f, -40f, -80f })
        {
            double u = Math.Exp(x), log1p = u < 1e-8 ? u - u * u / 2 : Math.Log(1 + u); // 1 + u is exact enough in double above 1e-8
            Assert.Equal(log1p, Activations.Forward(ActivationFunction.Softplus, 0, x), u * 1e-6);
        }
        // exp and tanh near 0, and the same value for an element wherever it sits in a tensor.
        var backend = new CpuBackend();
        backend.EnsureCapacity(64, 0);
        foreach (var (f, exact) in new (ActivationFunction, Func<double, double>)[] { (ActivationFunction.Tanh, Math.Tanh), (ActivationFunction.Exponential, Math.Exp), (ActivationFunction.Sigmoid, v => 1 / (1 + Math.Exp(-v))) })
        {
            var values = new float[31];
            for (int i = 0; i < values.Length; i++) values[i] = i % 3 == 0 ? 0f : i % 3 == 1 ? 1e-6f : -3.7e-3f * i;
            backend.Upload(values, 0);
            backend.ActivationForward(f, 0, 1, values.Length, 0, 32);
            var got = new float[values.Length];
            backend.Download(32, got);
            for (int i = 0; i < values.Length; i++)
            {
                double want = exact(values[i]);
                Assert.True(Math.Abs(got[i] - want) <= 2.5e-7 * Math.Abs(want), $"{f}({values[i]}) = {got[i]:R}, not {want:R}");
                Assert.Equal(got[i], Activations.Forward(f, 0, values[i])); // the scalar form agrees bit for bit
            }
        }
        Assert.Equal(1f, Activations.Forward(ActivationFunction.Exponential, 0, 0f));
        Assert.Equal(1e-6f, Activations.Forward(ActivationFunction.Tanh, 0, 1e-6f));
        backend.Dispose();
    }

    [Fact]
    public void OneSamplesOutputDoesNotDependOnItsBatch()
    {
        using var m = new ThreadNet { Seed = 9 };
        var x = Uniform(37, 3, 6);
        for (int i = 0; i < 6; i++) x.Data[5 * 6 + i] = 1e-7f * i; // tiny pre-activations: where the old vector tanh was off
        var all = m.Predict(x, batchSize: 37).Data;
        for (int s = 0; s < 37; s += 4)
            Assert.Equal(all.AsSpan(s * 3, 3).ToArray(), m.Predict(x.Slice(s, 1)).Data);
    }

    // ---- Found by a hostile-user run (issue 10's "go looking for the next ones") ----------------------------------

    [Fact]
    public void CompileFromACallbackDuringFitThrowsInsteadOfCorruptingMemory()
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(64, 1, 6);
        var y = Classes(64, 3, 2);
        var e = Assert.Throws<InvalidOperationException>(() => m.Fit(x, y, epochs: 2, batchSize: 4, verbose: 0,
            callbacks: [new Gate(_ => m.Compile(new Adam(), Loss.CategoricalCrossEntropy))]));
        Assert.Contains("Compile was called while Fit runs", e.Message);
        m.Fit(x, y, batchSize: 4, verbose: 0); // the model is intact
        Assert.All(m.GetWeights(), w => Assert.True(float.IsFinite(w)));
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)]
    public void ANonFiniteInputTheForwardPassAbsorbsNeverReachesTheWeights(float bad)
    {
        using var m = new ThreadNet { Seed = 2 };
        m.Compile(new Adam(0.01f), Loss.SparseCategoricalCrossEntropy);
        var x = Uniform(20, 1, 6);
        x.Data[3] = bad; // tanh(∞) = 1: the loss stays finite, the kernel's gradient does not
        var y = Classes(20, 3, 2);
        var before = m.GetWeights();
        var e = Assert.Throws<TrainingDivergedException>(() => m.Fit(x, y, batchSize: 20, verbose: 0));
        Assert.Contains(float.IsNaN(bad) ? "The loss became NaN" : "A gradient became NaN or infinite", e.Message); // NaN reaches the loss; ∞ only the gradient
        Assert.Equal(before, m.GetWeights());
        Assert.Throws<TrainingDivergedException>(() => m.TrainOnBatch(x, y));
        Assert.Equal(before, m.GetWeights());
        Assert.Equal(0, m.Iterations);
    }

    [Fact]
    public void OptimizerHyperparametersAreChecked()
    {
        Action[] bad =
        [
            () => new SGD(0.1f, decay: float.PositiveInfinity), () => new Adam(beta1: 1f), () => new Adam(beta1: 1.5f),
            () => new Adam(beta2: -0.1f), () => new Adam(epsilon: float.NaN), () => new Adam(epsilon: 0f), () => new RMSprop(rho: -1f),
            () => new RMSprop(rho: float.NaN), () => new RMSprop(momentum: 2f), () => new Adagrad(initialAccumulatorValue: -1f),
            () => new Adagrad(epsilon: float.PositiveInfinity),
        ];
        foreach (var create in bad) Assert.Throws<ArgumentOutOfRangeException>(create);
        var sgd = new SGD(0.1f);
        foreach (float rate in new[] { float.NaN, float.PositiveInfinity, -0.5f })
            Assert.Throws<ArgumentOutOfRangeException>(() => sgd.LearningRate = rate);
        sgd.LearningRate = 0f; // a scheduler may stop learning
        Assert.Equal(0f, sgd.LearningRate);
    }

    [Fact]
    public void ABackendServesOneModel()
    {
        using var a = new ThreadNet();
        using var b = new NormNet();
        var e = Assert.Throws<InvalidOperationException>(() => b.UseBackend(a.Backend));
        Assert.Contains("already holds the workspace of model 'ThreadNet'", e.Message);
    }

    [Fact]
    public void CallbackAndAugmentationArgumentsThatWouldSilentlyMisbehaveAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(cooldown: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(factor: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(minLr: -1));
        var images = Uniform(4, 1, 8, 8, 1);
        var labels = Classes(4, 3, 2);
        foreach (var g in new[] { new ImageDataGenerator { RotationRange = double.NaN }, new ImageDataGenerator { ShearRange = double.PositiveInfinity },
                     new ImageDataGenerator { HeightShiftRange = 1e300 }, new ImageDataGenerator { Rescale = float.NaN }, new ImageDataGenerator { Cval = float.NaN } })
            Assert.Throws<ArgumentOutOfRangeException>(() => g.Flow(images, labels));
        var ok = new ImageDataGenerator { RotationRange = 10 };
        Assert.Throws<ArgumentOutOfRangeException>(() => ok.ApplyTransform(new float[64], new float[64], -8, -8, 1, default));
    }

    [Fact]
    public void EmptyBatchesAndHugeShapesAreClearErrors()
    {
        using var m = new ThreadNet();
        m.Compile(new SGD(), Loss.CategoricalCrossEntropy);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => m.TrainOnBatch(Tensor.Zeros(0, 6), Tensor.Zeros(0, 3))).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => m.ComputeGradients(Tensor.Zeros(0, 6), Tensor.Zeros(0, 3))).Message);
        Assert.Throws<ArgumentException>(() => new Tensor([], 65536, 65536, 65536, 65536));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(65536, 65536, 65536, 65536));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(-2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Uniform(4, 1, 3).Slice(2, int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => Utils.ToCategorical(Classes(3, 2, 1), -1));
        Assert.Equal([0, 5], new Tensor([], 0, 5).Shape.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Compile(new SGD(), Loss.MeanSquaredError, (Metric)99));
    }

    [Fact]
    public void Cpu_WorkspaceGrowsInPlaceKeepingItsPrefixAndZeroingTheRest()
    {
        using var b = new CpuBackend();
        var r = Workspaces.GrowFrom10To100KeepingSix(b);
        b.Fill(6, 94, 3f);
        // Past the C library's threshold for mapping a block of its own (the block is then remapped, not copied), and
        // again: the kept floats stay, the rest reads 0.
        foreach (var (floats, keep) in new[] { (24L << 20, 50L), (40L << 20, 24L << 20) })
        {
            b.EnsureCapacity(floats, keep);
            b.Download(0, r);
            Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], r[..6]);
            Assert.All(r[6..50], v => Assert.Equal(3f, v));
            Assert.All(r[50..], v => Assert.Equal(0f, v));
            var tail = new float[64];
            b.Download((int)(floats - 64), tail);
            Assert.All(tail, v => Assert.Equal(0f, v));
            b.Fill((int)(floats - 64), 64, 7f); // kept by the next growth (its keep covers it), zeroed by none
        }
        var kept = new float[64];
        b.Download((int)((24L << 20) - 64), kept);
        Assert.All(kept, v => Assert.Equal(7f, v));
        Assert.Equal(40L << 20, b.Capacity);
    }
}
