using System.Text;

namespace NetGen.Data;

/// <summary>
/// Shared plumbing of the data sets shipped in the repository's <c>data/&lt;name&gt;</c> folders in
/// the MNIST file layout (<see cref="FashionMnist"/>, <see cref="Mnist"/>): finding the folder,
/// resolving the four IDX files (gzip or raw) and loading a split with its checks.
/// </summary>
internal static class DataDirectory
{
    internal const string TrainImages = "train-images-idx3-ubyte";
    internal const string TrainLabels = "train-labels-idx1-ubyte";
    internal const string TestImages = "t10k-images-idx3-ubyte";
    internal const string TestLabels = "t10k-labels-idx1-ubyte";
    private const int Side = 28;

    /// <summary>
    /// Finds the first <c>data/<paramref name="folder"/></c> holding the training images, walking up
    /// from each start directory in turn; throws a <see cref="DirectoryNotFoundException"/> whose
    /// message says what was looked for, <paramref name="hint"/>, and every place searched.
    /// </summary>
    /// <param name="folder">The folder name under <c>data/</c>, e.g. <c>mnist</c>.</param>
    /// <param name="dataset">The data set's display name, e.g. <c>MNIST</c>.</param>
    /// <param name="hint">What to do instead, e.g. "Pass the folder to Mnist.Load(directory).".</param>
    /// <param name="startDirectories">Where to start; null or empty entries are skipped.</param>
    internal static string Find(string folder, string dataset, string hint, params string[] startDirectories)
    {
        string relative = Path.Combine("data", folder);
        var searched = new List<string>();
        foreach (string start in startDirectories)
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (var d = new DirectoryInfo(Path.GetFullPath(start)); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, relative);
                if (searched.Contains(candidate)) continue;
                searched.Add(candidate);
                if (Resolve(candidate, TrainImages) is not null)
                    return candidate;
            }
        }

        var message = new StringBuilder()
            .Append(dataset).Append(" was not found: no data/").Append(folder).Append(" folder holding ")
            .Append(TrainImages).Append(".gz was found in the current directory, next to the application, or in ")
            .Append("their parents. ").AppendLine(hint).AppendLine("Places searched:");
        foreach (string s in searched) message.Append("  ").AppendLine(s);
        throw new DirectoryNotFoundException(message.ToString().TrimEnd());
    }

    /// <summary>
    /// The full path of <paramref name="directory"/> when given (it must exist), else the result of
    /// <see cref="Find"/> from the current directory and <see cref="AppContext.BaseDirectory"/>.
    /// </summary>
    internal static string Locate(string? directory, string folder, string dataset, string hint)
    {
        if (directory is null)
            return Find(folder, dataset, hint, Environment.CurrentDirectory, AppContext.BaseDirectory);

        string dir = Path.GetFullPath(directory);
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException(
                $"{dataset} directory '{dir}' does not exist. Pass a folder holding {TrainImages}.gz and " +
                $"the three other IDX files, or null to search for data/{folder}.");
        return dir;
    }

    /// <summary>
    /// Reads one split (images and labels) of 28x28 images from <paramref name="dir"/> and checks
    /// its shapes, its counts and that every label is a class index below <paramref name="classes"/>.
    /// </summary>
    internal static (Tensor X, Tensor Y) LoadSplit(
        string dir, string imagesName, string labelsName, string dataset, int classes)
    {
        string imagesPath = Require(dir, imagesName, dataset);
        string labelsPath = Require(dir, labelsName, dataset);
        Tensor x = Idx.Read(imagesPath);
        Tensor y = Idx.Read(labelsPath);

        if (x.Rank != 3 || x.Shape[1] != Side || x.Shape[2] != Side)
            throw new DataFormatException(imagesPath,
                $"expected {dataset} images of shape (N, {Side}, {Side}), found {x.ShapeString}.");
        if (y.Rank != 1)
            throw new DataFormatException(labelsPath, $"expected labels of shape (N,), found {y.ShapeString}.");
        if (y.Count != x.Count)
            throw new DataFormatException(labelsPath,
                $"holds {y.Count} labels but '{imagesPath}' holds {x.Count} images.");
        float[] labels = y.Data;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes)
                throw new DataFormatException(labelsPath,
                    $"label {i} is {labels[i]}, outside the class range 0..{classes - 1}.");
        }
        return (x, y);
    }

    /// <summary>The existing path of <paramref name="name"/>.gz or <paramref name="name"/> in <paramref name="dir"/>, or null.</summary>
    internal static string? Resolve(string dir, string name)
    {
        string gz = Path.Combine(dir, name + ".gz");
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(dir, name);
        return File.Exists(raw) ? raw : null;
    }

    private static string Require(string dir, string name, string dataset) =>
        Resolve(dir, name) ?? throw new FileNotFoundException(
            $"{dataset} file '{Path.Combine(dir, name + ".gz")}' was not found (nor uncompressed '{name}'). " +
            $"The folder must hold {TrainImages}.gz, {TrainLabels}.gz, {TestImages}.gz and {TestLabels}.gz.",
            Path.Combine(dir, name + ".gz"));
}
