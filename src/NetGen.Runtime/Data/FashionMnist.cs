namespace NetGen.Data;

/// <summary>
/// Zalando's Fashion-MNIST (MIT licence): 70,000 28x28 greyscale images of clothing in 10 classes,
/// loaded like Keras' <c>keras.datasets.fashion_mnist.load_data()</c>. The repository ships the
/// IDX files in <c>data/fashion-mnist</c>.
/// </summary>
public static class FashionMnist
{
    /// <summary>The folder name searched for under <c>data/</c> when no directory is given.</summary>
    internal const string Folder = "fashion-mnist";

    private const string DatasetName = "Fashion-MNIST";
    private const string SearchHint =
        "Pass the folder to FashionMnist.Load(directory) (on Debian, package dataset-fashion-mnist " +
        "installs it in /usr/share/datasets/fashion-mnist).";

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
        string dir = DataDirectory.Locate(directory, Folder, DatasetName, SearchHint);
        var (xTrain, yTrain) = DataDirectory.LoadSplit(
            dir, DataDirectory.TrainImages, DataDirectory.TrainLabels, DatasetName, ClassNames.Length);
        var (xTest, yTest) = DataDirectory.LoadSplit(
            dir, DataDirectory.TestImages, DataDirectory.TestLabels, DatasetName, ClassNames.Length);
        return (xTrain, yTrain, xTest, yTest);
    }

    /// <summary>
    /// Finds the first <c>data/fashion-mnist</c> holding the training images, walking up from each
    /// start directory in turn; throws a <see cref="DirectoryNotFoundException"/> listing every place
    /// searched when there is none.
    /// </summary>
    internal static string FindDirectory(params string[] startDirectories) =>
        DataDirectory.Find(Folder, DatasetName, SearchHint, startDirectories);
}
