using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

[Network(6, 5, 1)]
[Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class FolderNet;

[Network(6, 5, 1)]
[Flatten]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class FolderBinaryNet;

[Network(6, 5, 1)]
[Flatten]
[Dense(30, Activation = Activation.Sigmoid)]
[Reshape(6, 5, 1)]
public partial class FolderAutoencoder;

/// <summary>
/// Pictures (Images.LoadImg) against Pillow as Keras's load_img uses it (Fixtures/images/make_images.py wrote the
/// files and expected.txt), and class-folder flows (FlowFromDirectory) against Keras's DirectoryIterator rules:
/// labels from sorted folders, per-class validation split, bad pictures, and training from folders against the
/// same pictures in memory.
/// </summary>
// Run alone: these compare two trainings bit for bit, and in 2 of about 20 full parallel runs such a comparison
// differed while other tests loaded the machine (a timing-dependent nondeterminism in the CPU backend, not yet found).
[Collection(NonParallelCollection.Name)]
public sealed class ImageFolderTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "images");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "netgen-folders-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    public static TheoryData<string> Files() => ["rgb.png", "grey.png", "rgba.png", "rgb.bmp", "rgb.jpg", "palette.gif"];

    [Theory]
    [MemberData(nameof(Files))]
    public void LoadImg_matches_Pillow_for_every_colour_mode_and_size(string file)
    {
        int checkedCases = 0;
        foreach (string line in File.ReadLines(Path.Combine(Fixtures, "expected.txt")))
        {
            var parts = line.Split(' ');
            if (parts[0] != file) continue;
            var mode = parts[1] switch { "L" => ColorMode.Grayscale, "RGB" => ColorMode.Rgb, _ => ColorMode.Rgba };
            int h = int.Parse(parts[2]), w = int.Parse(parts[3]);
            var expected = parts[4..].Select(byte.Parse).ToArray();
            (int, int)? size = h == 5 && w == 7 ? null : (h, w);
            var image = Images.LoadImg(Path.Combine(Fixtures, file), size, mode);
            Assert.Equal((h, w, Images.ChannelsOf(mode)), (image.Height, image.Width, image.Channels));
            Assert.Equal(expected.Length, image.Pixels.Length);
            if (file.EndsWith(".jpg", StringComparison.Ordinal))
            {
                // stb_image's and libjpeg's inverse DCTs round differently: a few levels apart at most.
                var diffs = expected.Zip(image.Pixels, (a, b) => Math.Abs(a - b)).ToArray();
                Assert.True(diffs.Max() <= 4 && diffs.Average() <= 1.5, $"{file} {parts[1]} {h}x{w}: max {diffs.Max()}, mean {diffs.Average():F2}");
            }
            else Assert.Equal(expected, image.Pixels);
            checkedCases++;
        }
        Assert.Equal(9, checkedCases);
    }

    [Fact]
    public void ImgToArray_is_a_batch_of_one_in_0_to_255()
    {
        var image = Images.LoadImg(Path.Combine(Fixtures, "rgb.png"), (3, 4));
        var x = Images.ImgToArray(image);
        Assert.Equal([1, 3, 4, 3], x.Shape.ToArray());
        Assert.Equal(image.Pixels.Select(b => (float)b), x.Data);
    }

    [Fact]
    public void Unreadable_pictures_are_errors_that_name_the_file()
    {
        Directory.CreateDirectory(_root);
        string text = Path.Combine(_root, "notes.png");
        File.WriteAllText(text, "not a picture");
        var e = Assert.Throws<DataFormatException>(() => Images.LoadImg(text));
        Assert.Equal(text, e.Path);
        Assert.Contains("not a PNG, JPEG", e.Message);

        var png = File.ReadAllBytes(Path.Combine(Fixtures, "rgb.png"));
        string truncated = Path.Combine(_root, "truncated.png");
        File.WriteAllBytes(truncated, png[..(png.Length / 2)]);
        e = Assert.Throws<DataFormatException>(() => Images.LoadImg(truncated));
        Assert.StartsWith(truncated, e.Message);

        string huge = Path.Combine(_root, "huge.png");
        var header = (byte[])png.Clone();
        header[16] = 0x7f; // width 0x7f000007: far past MaxPixels
        File.WriteAllBytes(huge, header);
        e = Assert.Throws<DataFormatException>(() => Images.LoadImg(huge));
        Assert.True(e.Message.Contains("pixels"), e.Message);

        Assert.Throws<FileNotFoundException>(() => Images.LoadImg(Path.Combine(_root, "missing.png")));
    }

    /// <summary>Writes <paramref name="perClass"/> 6x5 grey pictures per class, each a constant plus its class's pattern; returns them by class.</summary>
    private Dictionary<string, List<byte[]>> WriteFolders(string[] classes, int perClass, string? under = null)
    {
        var written = new Dictionary<string, List<byte[]>>();
        var rng = new Random(3);
        for (int c = 0; c < classes.Length; c++)
        {
            string folder = Path.Combine(_root, under ?? "", classes[c]);
            Directory.CreateDirectory(folder);
            written[classes[c]] = [];
            for (int i = 0; i < perClass; i++)
            {
                var pixels = new byte[30];
                for (int p = 0; p < 30; p++) pixels[p] = (byte)Math.Clamp((p % 3 == c ? 200 : 40) + rng.Next(-30, 30), 0, 255);
                Png.Save(Path.Combine(folder, $"{i:D3}.png"), pixels, 5, 6);
                written[classes[c]].Add(pixels);
            }
        }
        return written;
    }

    [Fact]
    public void Flow_lists_classes_in_ordinal_order_and_files_sorted_with_Keras_labels()
    {
        WriteFolders(["dogs", "cats", "Birds"], 3);
        Directory.CreateDirectory(Path.Combine(_root, "cats", "more"));
        File.Copy(Path.Combine(_root, "cats", "000.png"), Path.Combine(_root, "cats", "more", "a.png"));
        File.WriteAllText(Path.Combine(_root, "cats", "readme.txt"), "ignored: not a picture extension");
        var flow = new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 4);
        Assert.Equal(["Birds", "cats", "dogs"], flow.ClassNames);
        Assert.Equal(1, flow.ClassIndices["cats"]);
        Assert.Equal(10, flow.Samples);
        // os.walk order as Keras sorts it: a folder's own files before its sub-folders'.
        Assert.Equal(Path.Combine("cats", "002.png"), flow.Filenames[5]);
        Assert.Equal(Path.Combine("cats", "more", "a.png"), flow.Filenames[6]);
        Assert.Equal([0, 0, 0, 1, 1, 1, 1, 2, 2, 2], flow.Classes);
        Assert.Equal(3, flow.BatchesPerPass);

        var only = new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classes: ["dogs", "cats"], classMode: ClassMode.Binary);
        Assert.Equal(0, only.ClassIndices["dogs"]);
        Assert.Equal(7, only.Samples);
    }

    [Fact]
    public void Validation_split_takes_the_first_files_of_each_class()
    {
        WriteFolders(["a", "b"], 10);
        var generator = new ImageDataGenerator { ValidationSplit = 0.25 };
        var validation = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, subset: "validation");
        var training = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, subset: "training");
        // int(0.25 * 10) = 2 files of each class for validation, as Keras's split = (0, 0.25) and (0.25, 1).
        Assert.Equal([Path.Combine("a", "000.png"), Path.Combine("a", "001.png"), Path.Combine("b", "000.png"), Path.Combine("b", "001.png")], validation.Filenames);
        Assert.Equal(16, training.Samples);
        Assert.Empty(training.Filenames.Intersect(validation.Filenames));
        Assert.Throws<ArgumentException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), subset: "validation"));
        Assert.Throws<ArgumentException>(() => generator.FlowFromDirectory(_root, (6, 5), subset: "test"));
    }

    [Fact]
    public void Bad_arguments_and_folders_say_what_to_do()
    {
        Assert.Throws<DirectoryNotFoundException>(() => new ImageDataGenerator().FlowFromDirectory(Path.Combine(_root, "nowhere"), (6, 5)));
        Directory.CreateDirectory(_root);
        var e = Assert.Throws<ArgumentException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (6, 5)));
        Assert.Contains("no class folders", e.Message);
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        e = Assert.Throws<ArgumentException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (6, 5)));
        Assert.Contains("hold no pictures", e.Message);
        WriteFolders(["x", "y", "z"], 1);
        e = Assert.Throws<ArgumentException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), classMode: ClassMode.Binary, classes: ["x", "y", "z"]));
        Assert.Contains("exactly two classes", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (0, 5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), batchSize: 0));

        // A flow whose pictures do not fit the network: the error says which arguments would.
        using var model = new FolderNet();
        model.Compile(new Adam(), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var rgb = new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), ColorMode.Rgb, classes: ["x", "y", "z"]);
        e = Assert.Throws<ArgumentException>(() => model.Fit(rgb, verbose: 0));
        Assert.Contains("colorMode: ColorMode.Grayscale", e.Message);
        var sparse = new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classes: ["x", "y", "z"], classMode: ClassMode.Sparse);
        e = Assert.Throws<ArgumentException>(() => model.Fit(sparse, verbose: 0));
        Assert.Contains("SparseCategoricalCrossEntropy", e.Message);
        var none = new ImageDataGenerator().FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classes: ["x", "y", "z"], classMode: ClassMode.None);
        Assert.Contains("ClassMode.None", Assert.Throws<ArgumentException>(() => model.Evaluate(none)).Message);
        Assert.Equal(3, model.Predict(none).Count);
    }

    /// <summary>The same pictures in memory, in the flow's file order, scaled as the generator does.</summary>
    private static (Tensor X, Tensor Y) InMemory(DirectoryFlow flow, float scale = 1f / 255)
    {
        int n = flow.Samples;
        var x = new float[n * 30];
        var y = new float[n * flow.ClassNames.Count];
        for (int i = 0; i < n; i++)
        {
            var image = Images.LoadImg(Path.Combine(flow.Directory, flow.Filenames[i]), (6, 5), ColorMode.Grayscale);
            for (int p = 0; p < 30; p++) x[i * 30 + p] = image.Pixels[p] * scale;
            y[i * flow.ClassNames.Count + flow.Classes[i]] = 1;
        }
        return (new Tensor(x, n, 6, 5, 1), new Tensor(y, n, flow.ClassNames.Count));
    }

    [Fact]
    public void Training_from_folders_equals_training_on_the_same_pictures_in_memory()
    {
        WriteFolders(["a", "b", "c"], 7);
        var generator = new ImageDataGenerator { Rescale = 1f / 255 };
        var flow = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 5, seed: 11, prefetch: 3);
        var (x, y) = InMemory(flow, scale: 1f);

        using var fromFolders = new FolderNet { Seed = 5 };
        fromFolders.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var a = fromFolders.Fit(flow, epochs: 3, verbose: 0);

        // The in-memory flow of the same generator and seed draws the same order and transforms (none here).
        using var inMemory = new FolderNet { Seed = 5 };
        inMemory.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var b = inMemory.Fit(generator.Flow(x, y, batchSize: 5, seed: 11), epochs: 3, verbose: 0);

        Assert.Equal(b["loss"], a["loss"]);
        Assert.Equal(inMemory.GetWeights(), fromFolders.GetWeights());
        var (loss, accuracy) = fromFolders.Evaluate(generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 4));
        var (memoryLoss, memoryAccuracy) = fromFolders.Evaluate(generator.Standardize(x), y, batchSize: 4);
        Assert.Equal(memoryLoss, loss, 6);
        Assert.Equal(memoryAccuracy, accuracy);
        Assert.Equal(15, flow.Statistics.Batches); // 3 epochs of 5 batches, each taken once
    }

    [Fact]
    public void Predict_returns_rows_in_file_order_even_when_the_flow_shuffles()
    {
        WriteFolders(["a", "b", "c"], 4);
        var generator = new ImageDataGenerator { Rescale = 1f / 255 };
        var flow = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 5, shuffle: true);
        var (x, _) = InMemory(flow);
        using var model = new FolderNet();
        var expected = model.Predict(x, batchSize: 5);
        var actual = model.Predict(flow);
        Assert.Equal(expected.Data, actual.Data);
    }

    [Fact]
    public void Augmented_flows_are_reproducible_from_their_seed_whatever_the_prefetch()
    {
        WriteFolders(["a", "b", "c"], 6);
        var generator = new ImageDataGenerator { Rescale = 1f / 255, RotationRange = 20, WidthShiftRange = 0.2, HorizontalFlip = true };
        float Train(int prefetch)
        {
            using var model = new FolderNet { Seed = 1 };
            model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
            var history = model.Fit(generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 4, seed: 9, prefetch: prefetch), epochs: 2, verbose: 0);
            return (float)history["loss"][^1];
        }
        float one = Train(1), many = Train(8);
        Assert.Equal(one, many);
        using var other = new FolderNet { Seed = 1 };
        other.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy);
        var changed = other.Fit(generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 4, seed: 10), epochs: 2, verbose: 0);
        Assert.NotEqual(one, (float)changed["loss"][^1]);
    }

    [Fact]
    public void A_bad_picture_fails_with_its_path_or_is_skipped_with_a_warning()
    {
        WriteFolders(["a", "b", "c"], 4);
        string bad = Path.Combine(_root, "b", "001.png");
        File.WriteAllBytes(bad, File.ReadAllBytes(bad)[..20]);
        var generator = new ImageDataGenerator { Rescale = 1f / 255 };

        using var model = new FolderNet();
        model.Compile(new Adam(), Loss.CategoricalCrossEntropy);
        var weights = model.GetWeights();
        var e = Assert.Throws<DataFormatException>(() => model.Fit(generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 12), verbose: 0));
        Assert.Equal(bad, e.Path);
        Assert.Equal(weights, model.GetWeights()); // the batch holding it was never trained on

        var skipping = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, batchSize: 5, onBadImage: BadImageAction.Skip);
        var history = model.Fit(skipping, epochs: 2, verbose: 0);
        Assert.True(double.IsFinite(history["loss"][^1]));
        Assert.Equal([bad], skipping.SkippedFiles);
        Assert.Equal(1, skipping.Statistics.SkippedImages);
        var predictions = model.Predict(skipping);
        int row = skipping.Filenames.ToList().IndexOf(Path.Combine("b", "001.png"));
        Assert.True(float.IsNaN(predictions.Data[row * 3]));
        Assert.False(float.IsNaN(predictions.Data[(row + 1) * 3]));
    }

    [Fact]
    public void Validation_flows_binary_and_input_labels_work_as_Keras()
    {
        WriteFolders(["no", "yes"], 8);
        var generator = new ImageDataGenerator { Rescale = 1f / 255, ValidationSplit = 0.25 };
        var train = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classMode: ClassMode.Binary, batchSize: 4, subset: "training");
        var validation = generator.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classMode: ClassMode.Binary, batchSize: 4, subset: "validation");
        using var binary = new FolderBinaryNet();
        binary.Compile(new RMSprop(0.01f), Loss.BinaryCrossEntropy, Metric.Accuracy);
        var history = binary.Fit(train, epochs: 12, validationData: validation, verbose: 0);
        Assert.True(history["val_accuracy"][^1] >= 0.75, $"val_accuracy {history["val_accuracy"][^1]}");
        Assert.Equal(binary.Evaluate(validation).Loss, history["val_loss"][^1], 5);
        Assert.Throws<ArgumentException>(() => binary.Fit(train, validationData: train, verbose: 0));

        var inputs = new ImageDataGenerator { Rescale = 1f / 255 }.FlowFromDirectory(_root, (6, 5), ColorMode.Grayscale, classMode: ClassMode.Input, batchSize: 4);
        using var autoencoder = new FolderAutoencoder();
        autoencoder.Compile(new Adam(0.01f), Loss.MeanSquaredError);
        var losses = autoencoder.Fit(inputs, epochs: 20, verbose: 0)["loss"];
        Assert.True(losses[^1] < losses[0] / 2, $"reconstruction loss {losses[0]} -> {losses[^1]}");
    }
}
