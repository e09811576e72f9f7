using PureHDF;
using Xunit;

namespace NetGen.Tests;

[Network(6, 6, 2)]
[Conv2D(3, 3, Name = "conv")]
[BatchNormalization(Name = "bn")]
[Flatten(Name = "flatten")]
[Dense(4, Activation = Activation.Softmax, Name = "dense")]
public partial class KerasFixtureNet;

// The same conv and batch norm with another head, in another order of names: for loading by name.
[Network(6, 6, 2)]
[Conv2D(3, 3, Name = "conv")]
[BatchNormalization(Name = "bn")]
[GlobalAveragePooling2D]
[Dense(2, Activation = Activation.Softmax, Name = "dense")]
public partial class KerasOtherHeadNet;

/// <summary>
/// Keras 2 HDF5 weights: files h5py wrote in Keras's layout (Fixtures/keras/make_keras_h5.py, values in expected.txt)
/// loaded by order and by name, the model_weights group of a full-model file, chunked attributes, float64 weights;
/// NetGen's own files read back with PureHDF in Keras's layout and loaded again.
/// </summary>
public sealed class KerasWeightsTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "keras");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netgen-keras-" + Guid.NewGuid().ToString("N"));

    public KerasWeightsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, float[]> Expected() => File.ReadLines(Path.Combine(Fixtures, "expected.txt"))
        .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1..].Select(v => (float)double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray());

    private static void AssertLoaded(Model model, params string[] layers)
    {
        var expected = Expected();
        foreach (var name in layers)
        {
            var layer = model.GetLayer(name);
            var values = layer.GetWeights();
            for (int k = 0; k < values.Length; k++)
                Assert.Equal(expected[$"{name}/{layer.WeightNames[k]}:0"], values[k]);
        }
    }

    [Theory]
    [InlineData("weights.h5")]  // model.save_weights
    [InlineData("model.h5")]    // model.save: the model_weights group, float64
    [InlineData("chunked.h5")]  // layer_names split into layer_names0, layer_names1
    public void Files_h5py_wrote_in_Keras_layout_load_by_order(string file)
    {
        using var model = new KerasFixtureNet();
        var loaded = model.LoadKerasWeights(Path.Combine(Fixtures, file));
        Assert.Equal(["conv", "bn", "dense"], loaded);
        AssertLoaded(model, "conv", "bn", "dense");
    }

    [Fact]
    public void By_name_loads_the_namesakes_and_a_shape_mismatch_names_the_layer_and_both_shapes()
    {
        using var model = new KerasOtherHeadNet();
        var before = model.GetLayer("dense").GetWeights();
        string path = Path.Combine(Fixtures, "weights.h5");
        var e = Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(path, byName: true));
        Assert.Contains("Layer 'dense'", e.Message);
        Assert.Contains("(3, 2) (2)", e.Message);
        Assert.Contains("(48, 4) (4)", e.Message);
        Assert.Equal(before, model.GetLayer("dense").GetWeights()); // nothing loaded
        Assert.NotEqual(Expected()["conv/kernel:0"], model.GetLayer("conv").GetWeights()[0]);

        var loaded = model.LoadKerasWeights(path, byName: true, skipMismatch: true);
        Assert.Equal(["conv", "bn"], loaded);
        AssertLoaded(model, "conv", "bn");
        Assert.Equal(before, model.GetLayer("dense").GetWeights());

        // By order, the shapes differ at the head: an error that suggests loading by name.
        e = Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(path));
        Assert.Contains("load by name", e.Message);
    }

    [Fact]
    public void Saved_files_have_Keras_layout_and_load_back_exactly()
    {
        var rng = new Random(1);
        using var model = new KerasFixtureNet { Seed = 3 };
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Enumerable.Range(0, 16 * 72).Select(_ => (float)rng.NextDouble()).ToArray(), 16, 6, 6, 2);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 16).Select(i => (float)(i % 4)).ToArray(), 16), 4);
        model.Fit(x, y, epochs: 2, batchSize: 8, verbose: 0); // moving statistics away from 0 and 1
        string path = Path.Combine(_dir, "netgen.h5");
        model.SaveKerasWeights(path);
        // Fixtures/keras/netgen.h5 is such a file; read_netgen_h5.py loaded it with h5py as Keras's load_weights does.
        if (Environment.GetEnvironmentVariable("NETGEN_WRITE_FIXTURES") == "1") File.Copy(path, Path.Combine(Fixtures, "netgen.h5"), overwrite: true);

        using (var file = H5File.OpenRead(path))
        {
            Assert.Equal(["conv", "bn", "flatten", "dense"], file.Attribute("layer_names").Read<string[]>());
            Assert.Equal("tensorflow", file.Attribute("backend").Read<string>());
            Assert.StartsWith("2.", file.Attribute("keras_version").Read<string>());
            Assert.Equal(["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0", "bn/moving_variance:0"], file.Group("bn").Attribute("weight_names").Read<string[]>());
            var kernel = file.Group("conv").Dataset("conv/kernel:0");
            Assert.Equal([3UL, 3, 2, 3], kernel.Space.Dimensions);
            Assert.Equal(model.GetLayer("conv").GetWeights()[0], kernel.Read<float[]>());
            Assert.Empty(file.Group("flatten").Attribute("weight_names").Read<string[]>());
        }

        using var copy = new KerasFixtureNet { Seed = 99 };
        Assert.Equal(["conv", "bn", "dense"], copy.LoadKerasWeights(path));
        Assert.Equal(model.GetWeights(), copy.GetWeights());
        Assert.Equal(model.Predict(x).Data, copy.Predict(x).Data);
    }

    [Fact]
    public void The_file_h5py_read_as_Keras_does_loads_to_the_same_values()
    {
        // netgen.h5.txt: each weight's shape and sum as h5py read them from NetGen's netgen.h5 (read_netgen_h5.py).
        using var model = new KerasFixtureNet();
        model.LoadKerasWeights(Path.Combine(Fixtures, "netgen.h5"));
        var lines = File.ReadAllLines(Path.Combine(Fixtures, "netgen.h5.txt")).Where(l => l.StartsWith("   ", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, lines.Count);
        foreach (var line in lines)
        {
            var parts = line.Trim().Split(' ');
            string[] path = parts[0].Split('/');
            var layer = model.GetLayer(path[0]);
            var values = layer.GetWeights()[layer.WeightNames.ToList().IndexOf(path[1][..^2])];
            Assert.Equal("float32", parts[1]);
            Assert.Equal(double.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture), values.Sum(v => (double)v), 5);
        }
    }

    [Fact]
    public void ModelCheckpoint_writes_Keras_files_for_h5_paths()
    {
        var rng = new Random(5);
        using var model = new KerasFixtureNet();
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Enumerable.Range(0, 8 * 72).Select(_ => (float)rng.NextDouble()).ToArray(), 8, 6, 6, 2);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 8).Select(i => (float)(i % 4)).ToArray(), 8), 4);
        model.Fit(x, y, epochs: 2, verbose: 0, callbacks: [new ModelCheckpoint(Path.Combine(_dir, "w.{epoch:02d}.h5"))]);
        using var copy = new KerasFixtureNet();
        copy.LoadKerasWeights(Path.Combine(_dir, "w.02.h5"));
        Assert.Equal(model.GetWeights(), copy.GetWeights());
        Assert.True(File.Exists(Path.Combine(_dir, "w.01.h5")));
    }

    [Fact]
    public void Missing_and_foreign_files_are_errors_with_their_path()
    {
        using var model = new KerasFixtureNet();
        Assert.Throws<FileNotFoundException>(() => model.LoadKerasWeights(Path.Combine(_dir, "none.h5")));
        string text = Path.Combine(_dir, "text.h5");
        File.WriteAllText(text, "not HDF5");
        var e = Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(text));
        Assert.Contains(text, e.Message);
        // A NetGen weights file is not a Keras one.
        string ngw = Path.Combine(_dir, "w.ngw");
        model.SaveWeights(ngw);
        Assert.Contains(ngw, Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(ngw)).Message);
        var truncated = Path.Combine(_dir, "truncated.h5");
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures, "weights.h5"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 3)]);
        var weights = model.GetWeights();
        Assert.Contains(truncated, Assert.Throws<InvalidDataException>(() => model.LoadKerasWeights(truncated)).Message);
        Assert.Equal(weights, model.GetWeights());
    }
}
