using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NetGen;

/// <summary>
/// The weights file of <see cref="Model.SaveWeights"/>: the magic <c>NETGENW1</c>, the network's name and the shapes
/// of its weights (<see cref="ModelInfo.WeightShapes"/>), the parameter counts, every parameter
/// (trainable ones first, then the moving statistics) as little-endian float32, and a SHA-256 of all that, so a
/// truncated or modified file is detected. Written to a temporary file and moved into place, so an existing file is
/// never left half-written.
/// </summary>
internal static class WeightsFile
{
    private static readonly byte[] Magic = "NETGENW1"u8.ToArray();
    private const int HashBytes = 32;

    public static void Write(string path, string name, string weightShapes, int trainable, float[] weights)
    {
        var body = new MemoryStream();
        body.Write(Magic);
        WriteString(body, name);
        WriteString(body, weightShapes);
        WriteInt(body, weights.Length);
        WriteInt(body, trainable);
        var floats = new byte[4 * weights.Length];
        for (int i = 0; i < weights.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(floats.AsSpan(4 * i), weights[i]);
        body.Write(floats);
        body.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));

        string full = Path.GetFullPath(path);
        // A short name beside the target (a long target name must not push it past the file-name limit), flushed to
        // the disk before it replaces the target, so a crash leaves the old file or the new one, never a torn one.
        string temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", ".ngw-" + Guid.NewGuid().ToString("N")[..12] + ".tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(body.GetBuffer(), 0, (int)body.Length);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new IOException($"Cannot write the weights file '{full}': {e.Message}", e);
        }
    }

    public static (string Name, string WeightShapes, int Trainable, float[] Weights) Read(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"No weights file at '{full}'.", full);
        byte[] bytes = File.ReadAllBytes(full);
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{full}' is not a NetGen weights file: it does not start with NETGENW1 (write it with Model.SaveWeights).");
        if (bytes.Length < Magic.Length + HashBytes ||
            !SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashBytes)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)))
            throw new InvalidDataException($"The weights file '{full}' is corrupt: its checksum does not match its contents (truncated or modified).");
        try
        {
            int at = Magic.Length;
            string name = ReadString(bytes, ref at);
            string weightShapes = ReadString(bytes, ref at);
            int count = ReadInt(bytes, ref at), trainable = ReadInt(bytes, ref at);
            if (count < 0 || trainable < 0 || trainable > count || at + 4L * count != bytes.Length - HashBytes)
                throw new InvalidDataException("inconsistent parameter counts");
            var weights = new float[count];
            for (int i = 0; i < count; i++) weights[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at + 4 * i));
            return (name, weightShapes, trainable, weights);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or DecoderFallbackException)
        {
            throw new InvalidDataException($"The weights file '{full}' is malformed ({e.Message}).", e);
        }
    }

    private static void WriteInt(Stream s, int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteString(Stream s, string v)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(v);
        WriteInt(s, utf8.Length);
        s.Write(utf8);
    }

    private static int ReadInt(byte[] bytes, ref int at)
    {
        if (at + 4 > bytes.Length) throw new InvalidDataException("it ends early");
        int v = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
        at += 4;
        return v;
    }

    private static string ReadString(byte[] bytes, ref int at)
    {
        int length = ReadInt(bytes, ref at);
        if (length < 0 || at + (long)length > bytes.Length) throw new InvalidDataException("a text field runs past the end");
        string v = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, at, length);
        at += length;
        return v;
    }
}
