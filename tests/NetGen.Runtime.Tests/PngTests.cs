using System.Buffers.Binary;
using System.IO.Compression;
using NetGen.Data;
using Xunit;

namespace NetGen.Tests;

/// <summary>The PNG writer, read back by an independent parser: signature, chunk CRCs (against a bitwise CRC-32), header and pixels.</summary>
public class PngTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void WrittenPngReadsBackExactly(int channels)
    {
        int width = 7, height = 5;
        var pixels = Enumerable.Range(0, width * height * channels).Select(i => (byte)(i * 37 % 256)).ToArray();
        string path = Path.Combine(Path.GetTempPath(), "netgen-png-" + Guid.NewGuid().ToString("N") + ".png");
        try
        {
            Png.Save(path, pixels, width, height, channels);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            int at = 8;
            var chunks = new List<(string Type, byte[] Data)>();
            while (at < bytes.Length)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
                string type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
                var data = bytes.AsSpan(at + 8, length).ToArray();
                uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8 + length));
                Assert.Equal(BitwiseCrc32(bytes.AsSpan(at + 4, 4 + length)), crc);
                chunks.Add((type, data));
                at += 12 + length;
            }
            Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
            var header = chunks[0].Data;
            Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(header));
            Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4)));
            Assert.Equal(channels == 1 ? 0 : 2, header[9]);
            using var inflate = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
            var raw = new MemoryStream();
            inflate.CopyTo(raw);
            var rows = raw.ToArray();
            int stride = width * channels;
            Assert.Equal(height * (stride + 1), rows.Length);
            for (int y = 0; y < height; y++)
            {
                Assert.Equal(0, rows[y * (stride + 1)]);
                Assert.Equal(pixels.AsSpan(y * stride, stride).ToArray(), rows.AsSpan(y * (stride + 1) + 1, stride).ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BadSizesAndPathsAreClearErrors()
    {
        Assert.Contains("needs 12 bytes, not 11", Assert.Throws<ArgumentException>(() => Png.Save("x.png", new byte[11], 4, 3)).Message);
        Assert.Throws<ArgumentException>(() => Png.Save("x.png", new byte[12], 2, 3, channels: 2));
        string bad = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "a.png");
        Assert.Contains(bad, Assert.Throws<IOException>(() => Png.Save(bad, new byte[4], 2, 2)).Message);
    }

    [Fact]
    public void StandardizeScalesAsSeed003()
    {
        var bytes = Png.Standardize([1f, 3f]); // mean 2, std 1: ±64 around 128
        Assert.Equal(new byte[] { 64, 192 }, bytes);
        Assert.Equal(new byte[] { 128, 128 }, Png.Standardize([5f, 5f]));
    }

    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
