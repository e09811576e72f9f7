using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace NetGen.Data;

/// <summary>
/// Writes 8-bit PNG images (grey or RGB) with no dependency: an IHDR, one zlib-compressed IDAT of unfiltered rows, and
/// IEND, each with its CRC-32. For feature maps, filters and samples written by the examples.
/// </summary>
public static class Png
{
    /// <summary>Writes <paramref name="pixels"/> (row-major, <paramref name="channels"/> bytes a pixel: 1 grey, 3 RGB).</summary>
    /// <exception cref="ArgumentException">The buffer does not hold width·height·channels bytes, or channels is not 1 or 3.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void Save(string path, ReadOnlySpan<byte> pixels, int width, int height, int channels = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (channels is not (1 or 3)) throw new ArgumentException($"PNG channels must be 1 (grey) or 3 (RGB), not {channels}.", nameof(channels));
        if (width <= 0 || height <= 0 || (long)width * height * channels != pixels.Length)
            throw new ArgumentException($"A {width}x{height} image with {channels} channel(s) needs {(long)width * height * channels} bytes, not {pixels.Length}.", nameof(pixels));
        var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = (byte)(channels == 1 ? 0 : 2); // colour type: grey, RGB
        Chunk(file, "IHDR", header);
        var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * channels;
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels.Slice(y * stride, stride));
            }
        }
        Chunk(file, "IDAT", raw.ToArray());
        Chunk(file, "IEND", []);
        string full = Path.GetFullPath(path);
        try
        {
            File.WriteAllBytes(full, file.ToArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write the image '{full}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes a float image scaled as seed 003 shows feature maps: standardised (mean 0, std 1), times 64, plus 128,
    /// clipped to [0, 255]; a constant image becomes mid-grey.
    /// </summary>
    public static byte[] Standardize(ReadOnlySpan<float> values)
    {
        double mean = 0, square = 0;
        foreach (float v in values) mean += v;
        mean /= Math.Max(1, values.Length);
        foreach (float v in values) square += (v - mean) * (v - mean);
        double std = Math.Sqrt(square / Math.Max(1, values.Length));
        var bytes = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
            bytes[i] = (byte)Math.Clamp(std > 1e-12 ? (values[i] - mean) / std * 64 + 128 : 128, 0, 255);
        return bytes;
    }

    private static void Chunk(Stream file, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        file.Write(four);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        file.Write(typeBytes);
        file.Write(data);
        uint crc = Crc32(Crc32(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(four, crc);
        file.Write(four);
    }

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The running CRC-32 (ISO-HDLC, PNG's) of <paramref name="data"/>, before the final inversion.</summary>
    internal static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
