using System.Buffers.Binary;
using System.IO.Compression;
using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

public sealed class IdxTests : IDisposable
{
    private readonly string _dir;

    public IdxTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "netgen-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static int ElementSize(byte code) => code switch
    {
        0x08 or 0x09 => 1,
        0x0B => 2,
        0x0C or 0x0D => 4,
        0x0E => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };

    /// <summary>An IDX image: header for <paramref name="shape"/>, then <paramref name="values"/> encoded big-endian.</summary>
    private static byte[] Encode(byte code, int[] shape, double[] values)
    {
        int size = ElementSize(code);
        var bytes = new byte[4 + 4 * shape.Length + size * values.Length];
        bytes[2] = code;
        bytes[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), shape[i]);
        var data = bytes.AsSpan(4 + 4 * shape.Length);
        for (int i = 0; i < values.Length; i++)
        {
            var at = data.Slice(i * size);
            switch (code)
            {
                case 0x08: at[0] = (byte)values[i]; break;
                case 0x09: at[0] = unchecked((byte)(sbyte)values[i]); break;
                case 0x0B: BinaryPrimitives.WriteInt16BigEndian(at, (short)values[i]); break;
                case 0x0C: BinaryPrimitives.WriteInt32BigEndian(at, (int)values[i]); break;
                case 0x0D: BinaryPrimitives.WriteSingleBigEndian(at, (float)values[i]); break;
                case 0x0E: BinaryPrimitives.WriteDoubleBigEndian(at, values[i]); break;
            }
        }
        return bytes;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            gz.Write(raw);
        return ms.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static double[] SampleValues(byte code) => code switch
    {
        0x08 => [0, 1, 127, 128, 200, 255],
        0x09 => [-128, -1, 0, 1, 64, 127],
        0x0B => [-32768, -300, 0, 1, 258, 32767],
        0x0C => [-16777216, -70000, 0, 1, 65537, 16777216],
        0x0D => [-1.5, -0.0, 0, 0.25, 3.1415927410125732, 1e30],
        0x0E => [-2.5, -1e-3, 0, 0.5, 1234.5, 1e-30],
        _ => throw new ArgumentOutOfRangeException(nameof(code)),
    };

    // ---- round trips ---------------------------------------------------------------------------

    public static TheoryData<byte, bool> TypeCodes()
    {
        var data = new TheoryData<byte, bool>();
        foreach (byte code in new byte[] { 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E })
        {
            data.Add(code, false);
            data.Add(code, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TypeCodes))]
    public void RoundTrip_AllTypeCodes(byte code, bool gzip)
    {
        double[] values = SampleValues(code);
        int[] shape = [2, 1, 3];
        byte[] raw = Encode(code, shape, values);
        string path = Write($"t{code:X2}{(gzip ? ".idx.gz" : ".idx")}", gzip ? Gzip(raw) : raw);

        Tensor t = Idx.Read(path);

        Assert.Equal(shape, t.Shape.ToArray());
        Assert.Equal(values.Select(v => (float)v).ToArray(), t.Data);
    }

    [Fact]
    public void RoundTrip_ImagesLikeMnist_RawAndGzip()
    {
        const int n = 5, h = 4, w = 3;
        var values = Enumerable.Range(0, n * h * w).Select(i => (double)(i * 37 % 256)).ToArray();
        byte[] raw = Encode(0x08, [n, h, w], values);

        Tensor a = Idx.Read(Write("images-idx3-ubyte", raw));
        Tensor b = Idx.Read(Write("images-idx3-ubyte.gz", Gzip(raw)));

        Assert.Equal("(5, 4, 3)", a.ShapeString);
        Assert.Equal(a.Shape.ToArray(), b.Shape.ToArray());
        Assert.Equal(values.Select(v => (float)v).ToArray(), a.Data);
        Assert.Equal(a.Data, b.Data);
    }

    [Fact]
    public void Gzip_IsDetectedByMagicBytes_NotByFileName()
    {
        byte[] raw = Encode(0x08, [3], [7, 8, 9]);
        Tensor compressedNoExtension = Idx.Read(Write("labels.idx", Gzip(raw)));
        Tensor rawWithGzExtension = Idx.Read(Write("labels.gz", raw));
        Assert.Equal(new float[] { 7, 8, 9 }, compressedNoExtension.Data);
        Assert.Equal(new float[] { 7, 8, 9 }, rawWithGzExtension.Data);
    }

    [Fact]
    public void RankOne_AndEmptyTensor()
    {
        Tensor labels = Idx.Read(Write("one.idx", Encode(0x08, [4], [3, 1, 4, 1])));
        Assert.Equal("(4,)", labels.ShapeString);

        Tensor empty = Idx.Read(Write("empty.idx", Encode(0x0D, [0, 28, 28], [])));
        Assert.Equal("(0, 28, 28)", empty.ShapeString);
        Assert.Empty(empty.Data);
    }

    [Fact]
    public void LargeFile_SpanningSeveralReadChunks()
    {
        // 3 MB of float32 data: crosses the reader's 1 MiB chunks, in raw and gzip form.
        const int n = 3 * 1024 * 1024 / 4 + 5;
        var values = Enumerable.Range(0, n).Select(i => (double)(i % 1000) - 500).ToArray();
        byte[] raw = Encode(0x0D, [n], values);
        var expected = values.Select(v => (float)v).ToArray();
        Assert.Equal(expected, Idx.Read(Write("big.idx", raw)).Data);
        Assert.Equal(expected, Idx.Read(Write("big.idx.gz", Gzip(raw))).Data);
    }

    // ---- errors --------------------------------------------------------------------------------

    [Fact]
    public void MissingFile_ThrowsFileNotFound_WithPathAndHint()
    {
        string path = Path.Combine(_dir, "no-such-file-idx3-ubyte.gz");
        var e = Assert.Throws<FileNotFoundException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FileName);
        Assert.Contains("check the path", e.Message);
    }

    [Fact]
    public void DirectoryInsteadOfFile_ThrowsFileNotFound_SayingItIsADirectory()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Idx.Read(_dir));
        Assert.Contains(_dir, e.Message);
        Assert.Contains("directory", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagic_Throws_WithPath(bool gzip)
    {
        byte[] raw = "P5\n28 28\n255\n"u8.ToArray().Concat(new byte[784]).ToArray(); // a PGM, not IDX
        string path = Write(gzip ? "bad.pgm.gz" : "bad.pgm", gzip ? Gzip(raw) : raw);
        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.Path);
        Assert.Contains("bad magic number 0x50350A32", e.Message);
    }

    [Fact]
    public void UnknownTypeCode_Throws_WithPathAndCode()
    {
        byte[] raw = Encode(0x08, [2], [1, 2]);
        raw[2] = 0x0A;
        string path = Write("code0a.idx", raw);
        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("unknown IDX type code 0x0A", e.Message);
    }

    [Fact]
    public void ZeroDimensions_Throws_WithPath()
    {
        string path = Write("rank0.idx", [0, 0, 0x08, 0]);
        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("0 dimensions", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedData_Throws_WithExpectedAndActualBytes(bool gzip)
    {
        // int16 (2, 3): 12-byte header + 12 bytes of data = 24 bytes; keep 20.
        byte[] raw = Encode(0x0B, [2, 3], [1, 2, 3, 4, 5, 6]);
        Assert.Equal(24, raw.Length);
        byte[] cut = raw[..20];
        string path = Write(gzip ? "short.idx.gz" : "short.idx", gzip ? Gzip(cut) : cut);

        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("truncated data", e.Message);
        Assert.Contains("shape (2, 3) of int16", e.Message);
        Assert.Contains("needs 24 bytes", e.Message);
        Assert.Contains("only 20 bytes", e.Message);
        Assert.Contains(gzip ? "decompresses to" : "file holds", e.Message);
    }

    [Fact]
    public void TruncatedHeader_Throws_WithPath()
    {
        string tooShort = Write("tiny.idx", [0, 0, 0x08]);
        var e1 = Assert.Throws<DataFormatException>(() => Idx.Read(tooShort));
        Assert.Contains(tooShort, e1.Message);
        Assert.Contains("expected at least 4 bytes", e1.Message);

        string noDims = Write("nodims.idx", [0, 0, 0x08, 3, 0, 0, 0, 1]);
        var e2 = Assert.Throws<DataFormatException>(() => Idx.Read(noDims));
        Assert.Contains(noDims, e2.Message);
        Assert.Contains("need 16 header bytes", e2.Message);
        Assert.Contains("only 8 bytes", e2.Message);

        string empty = Write("empty.gz", []);
        var e3 = Assert.Throws<DataFormatException>(() => Idx.Read(empty));
        Assert.Contains(empty, e3.Message);
        Assert.Contains("only 0 bytes", e3.Message);
    }

    [Fact]
    public void TrailingBytes_Throws_WithPath()
    {
        byte[] raw = Encode(0x08, [3], [1, 2, 3]).Concat(new byte[] { 4, 5 }).ToArray();
        string path = Write("long.idx", raw);
        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("2 bytes too many", e.Message);
    }

    [Fact]
    public void CorruptGzip_Throws_WithPath()
    {
        byte[] gz = Gzip(Encode(0x08, [64], Enumerable.Range(0, 64).Select(i => (double)i).ToArray()));
        // Keep the gzip header (10 bytes) and replace the deflate stream by an invalid block type (0b11).
        byte[] corrupt = gz[..10].Concat(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }).ToArray();
        string path = Write("corrupt.idx.gz", corrupt);

        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("corrupt gzip data", e.Message);
        Assert.IsType<InvalidDataException>(e.InnerException);
    }

    [Fact]
    public void TruncatedGzipStream_Throws_WithPath()
    {
        var values = Enumerable.Range(0, 4096).Select(i => (double)(i * 7919 % 251)).ToArray();
        byte[] gz = Gzip(Encode(0x08, [4096], values));
        string path = Write("cut.idx.gz", gz[..(gz.Length / 2)]);

        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));

        // Depending on where the cut falls the decompressor reports corruption or simply ends early.
        Assert.Contains(path, e.Message);
        Assert.True(e.Message.Contains("corrupt gzip data") || e.Message.Contains("truncated data"), e.Message);
    }

    // ---- Fashion-MNIST -------------------------------------------------------------------------

    [Fact]
    public void FashionMnist_ShippedData_LoadsLikeKeras()
    {
        var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load();

        Assert.Equal("(60000, 28, 28)", xTrain.ShapeString);
        Assert.Equal("(60000,)", yTrain.ShapeString);
        Assert.Equal("(10000, 28, 28)", xTest.ShapeString);
        Assert.Equal("(10000,)", yTest.ShapeString);

        // Balanced classes 0..9: 6,000 per class in training, 1,000 in test.
        Assert.All(yTrain.Data, y => Assert.InRange(y, 0f, 9f));
        Assert.All(yTest.Data, y => Assert.True(y == MathF.Floor(y) && y >= 0 && y <= 9));
        for (int c = 0; c < 10; c++)
        {
            Assert.Equal(6000, yTrain.Data.Count(y => y == c));
            Assert.Equal(1000, yTest.Data.Count(y => y == c));
        }
        Assert.Equal(new float[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }, yTrain.Data[..10]);
        Assert.Equal(new float[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, yTest.Data[..10]);

        // Pixel statistics on the 0..255 scale (NumPy on the same files: 72.940352, 73.146567).
        Assert.Equal(0f, xTrain.Data.Min());
        Assert.Equal(255f, xTrain.Data.Max());
        Assert.Equal(72.940352, xTrain.Data.Average(v => (double)v), 1e-4);
        Assert.Equal(73.146567, xTest.Data.Average(v => (double)v), 1e-4);
        Assert.Equal(76247.0, xTrain.Data[..784].Sum(v => (double)v), 1e-9);

        Assert.Equal(10, FashionMnist.ClassNames.Length);
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[(int)yTrain[0]]);
    }

    [Fact]
    public void FashionMnist_ExplicitDirectory_ReadsSmallSetAndValidates()
    {
        string dir = Path.Combine(_dir, "tiny");
        var pixels = Enumerable.Range(0, 2 * 28 * 28).Select(i => (double)(i % 256)).ToArray();
        Write("tiny/train-images-idx3-ubyte.gz", Gzip(Encode(0x08, [2, 28, 28], pixels)));
        Write("tiny/train-labels-idx1-ubyte.gz", Gzip(Encode(0x08, [2], [3, 7])));
        Write("tiny/t10k-images-idx3-ubyte", Encode(0x08, [1, 28, 28], pixels[..784]));   // uncompressed is accepted too
        Write("tiny/t10k-labels-idx1-ubyte.gz", Gzip(Encode(0x08, [1], [9])));

        var (xTrain, yTrain, xTest, yTest) = FashionMnist.Load(dir);
        Assert.Equal("(2, 28, 28)", xTrain.ShapeString);
        Assert.Equal(new float[] { 3, 7 }, yTrain.Data);
        Assert.Equal("(1, 28, 28)", xTest.ShapeString);
        Assert.Equal(new float[] { 9 }, yTest.Data);

        // Label out of range and count mismatch name the labels file.
        string labels = Write("tiny/t10k-labels-idx1-ubyte.gz", Gzip(Encode(0x08, [1], [10])));
        var e1 = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir));
        Assert.Contains(labels, e1.Message);
        Assert.Contains("outside the class range", e1.Message);

        Write("tiny/t10k-labels-idx1-ubyte.gz", Gzip(Encode(0x08, [2], [1, 2])));
        var e2 = Assert.Throws<DataFormatException>(() => FashionMnist.Load(dir));
        Assert.Contains(labels, e2.Message);
        Assert.Contains("holds 2 labels", e2.Message);

        // A missing file names the expected path.
        File.Delete(labels);
        var e3 = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(dir));
        Assert.Contains(labels, e3.Message);
    }

    [Fact]
    public void FashionMnist_MissingDirectory_Throws_WithPath()
    {
        string dir = Path.Combine(_dir, "nowhere");
        var e = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Load(dir));
        Assert.Contains(dir, e.Message);
    }

    [Fact]
    public void FashionMnist_Search_FindsDataFolderInParent_OrListsPlacesSearched()
    {
        string root = Path.Combine(_dir, "project");
        string nested = Path.Combine(root, "bin", "Release");
        Directory.CreateDirectory(nested);

        var e = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.FindDirectory(nested));
        Assert.Contains(Path.Combine(nested, "data", "fashion-mnist"), e.Message);
        Assert.Contains(Path.Combine(root, "data", "fashion-mnist"), e.Message);
        Assert.Contains("FashionMnist.Load(directory)", e.Message);

        Write("project/data/fashion-mnist/train-images-idx3-ubyte.gz", Gzip(Encode(0x08, [0, 28, 28], [])));
        Assert.Equal(Path.Combine(root, "data", "fashion-mnist"), FashionMnist.FindDirectory(nested));
    }
}
