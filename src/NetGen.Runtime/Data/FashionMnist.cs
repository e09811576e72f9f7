using System.Text;

namespace NetGen.Data;

/// <summary>
/// Zalando's Fashion-MNIST (MIT licence): 70,000 28x28 greyscale images of clothing in 10 classes,
/// loaded like Keras' <c>keras.datasets.fashion_mnist.load_data()</c>. The repository ships the
/// IDX files in <c>data/fashion-mnist</c>.
/// </summary>
public static class FashionMnist
{
    /// <summary>The folder name searched for when no directory is given: <c>data/fashion-mnist</c>.</summary>
    internal static readonly string RelativeDirectory = Path.Combine("data", "fashion-mnist");

    private const string TrainImages = "train-images-idx3-ubyte";
    private const string TrainLabels = "train-labels-idx1-ubyte";
    private const string TestImages = "t10k-images-idx3-ubyte";
    private const string TestLabels = "t10k-labels-idx1-ubyte";
    private const int Side = 28;

    /// <summary>
    /// The class names, indexed by label: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    /// 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
    /// </summary>
    public static readonly string[] ClassNames =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    /// <summary>
    /// Loads the training and test sets. Images are (N, 28, 28) floats in 0..255 (not scaled; divide
    /// by 255 as in Keras tutorials), labels are (N,) floats holding class indices 0..9.
    /// </summary>
    /// <param name="directory">
    /// A folder holding <c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>,
    /// <c>t10k-images-idx3-ubyte.gz</c> and <c>t10k-labels-idx1-ubyte.gz</c> (each may also be
    /// uncompressed, without <c>.gz</c>). When null, the first <c>data/fashion-mnist</c> holding them
    /// is used, searched in the current directory and its parents, then in
    /// <see cref="AppContext.BaseDirectory"/> and its parents.
    /// </param>
    /// <returns>(XTrain (60000, 28, 28), YTrain (60000,), XTest (10000, 28, 28), YTest (10000,)).</returns>
    /// <exception cref="DirectoryNotFoundException">
    /// <paramref name="directory"/> does not exist, or it is null and no <c>data/fashion-mnist</c> was
    /// found; the message lists the places searched.
    /// </exception>
    /// <exception cref="FileNotFoundException">One of the four files is missing from the directory.</exception>
    /// <exception cref="DataFormatException">A file is not valid IDX, or does not hold Fashion-MNIST-shaped data.</exception>
    public static (Tensor XTrain, Tensor YTrain, Tensor XTest, Tensor YTest) Load(string? directory = null)
    {
        string dir;
        if (directory is null)
        {
            dir = FindDirectory(Environment.CurrentDirectory, AppContext.BaseDirectory);
        }
        else
        {
            dir = Path.GetFullPath(directory);
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException(
                    $"Fashion-MNIST directory '{dir}' does not exist. Pass a folder holding {TrainImages}.gz and " +
                    "the three other IDX files, or null to search for data/fashion-mnist.");
        }

        var (xTrain, yTrain) = LoadSplit(dir, TrainImages, TrainLabels);
        var (xTest, yTest) = LoadSplit(dir, TestImages, TestLabels);
        return (xTrain, yTrain, xTest, yTest);
    }

    /// <summary>
    /// Finds the first <c>data/fashion-mnist</c> holding the training images, walking up from each
    /// start directory in turn; throws a <see cref="DirectoryNotFoundException"/> listing every place
    /// searched when there is none.
    /// </summary>
    internal static string FindDirectory(params string[] startDirectories)
    {
        var searched = new List<string>();
        foreach (string start in startDirectories)
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (var d = new DirectoryInfo(Path.GetFullPath(start)); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, RelativeDirectory);
                if (searched.Contains(candidate)) continue;
                searched.Add(candidate);
                if (Resolve(candidate, TrainImages) is not null)
                    return candidate;
            }
        }

        var message = new StringBuilder()
            .Append("Fashion-MNIST was not found: no data/fashion-mnist folder holding ")
            .Append(TrainImages).Append(".gz was found in the current directory, next to the application, or in ")
            .AppendLine("their parents. Pass the folder to FashionMnist.Load(directory) (on Debian, package ")
            .AppendLine("dataset-fashion-mnist installs it in /usr/share/datasets/fashion-mnist). Places searched:");
        foreach (string s in searched) message.Append("  ").AppendLine(s);
        throw new DirectoryNotFoundException(message.ToString().TrimEnd());
    }

    private static (Tensor X, Tensor Y) LoadSplit(string dir, string imagesName, string labelsName)
    {
        string imagesPath = Require(dir, imagesName);
        string labelsPath = Require(dir, labelsName);
        Tensor x = Idx.Read(imagesPath);
        Tensor y = Idx.Read(labelsPath);

        if (x.Rank != 3 || x.Shape[1] != Side || x.Shape[2] != Side)
            throw new DataFormatException(imagesPath,
                $"expected Fashion-MNIST images of shape (N, {Side}, {Side}), found {x.ShapeString}.");
        if (y.Rank != 1)
            throw new DataFormatException(labelsPath, $"expected labels of shape (N,), found {y.ShapeString}.");
        if (y.Count != x.Count)
            throw new DataFormatException(labelsPath,
                $"holds {y.Count} labels but '{imagesPath}' holds {x.Count} images.");
        float[] labels = y.Data;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= ClassNames.Length)
                throw new DataFormatException(labelsPath,
                    $"label {i} is {labels[i]}, outside the class range 0..{ClassNames.Length - 1}.");
        }
        return (x, y);
    }

    /// <summary>The existing path of <paramref name="name"/>.gz or <paramref name="name"/> in <paramref name="dir"/>, or null.</summary>
    private static string? Resolve(string dir, string name)
    {
        string gz = Path.Combine(dir, name + ".gz");
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(dir, name);
        return File.Exists(raw) ? raw : null;
    }

    private static string Require(string dir, string name) =>
        Resolve(dir, name) ?? throw new FileNotFoundException(
            $"Fashion-MNIST file '{Path.Combine(dir, name + ".gz")}' was not found (nor uncompressed '{name}'). " +
            $"The folder must hold {TrainImages}.gz, {TrainLabels}.gz, {TestImages}.gz and {TestLabels}.gz.",
            Path.Combine(dir, name + ".gz"));
}
