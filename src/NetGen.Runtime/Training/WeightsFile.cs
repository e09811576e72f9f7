using System.Globalization;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NetGen;

/// <summary>
/// The weights file of <see cref="Model.SaveWeights"/>: the magic <c>NETGENW2</c>, the network's name and the shapes
/// of its weights (<see cref="ModelInfo.WeightShapes"/>), the parameter counts, each layer with weights (its name, and
/// each weight's name, shape and offset, for loading by layer name), every parameter
/// (trainable ones first, then the moving statistics) as little-endian float32, and a SHA-256 of all that, so a
/// truncated or modified file is detected. Written to a temporary file and moved into place, so an existing file is
/// never left half-written.
/// </summary>
internal static class WeightsFile
{
    private static readonly byte[] Magic = "NETGENW2"u8.ToArray();
    private static readonly byte[] MagicV1 = "NETGENW1"u8.ToArray(); // before layer names: still read

    /// <summary>A layer's weights as the file records them.</summary>
    public sealed record FileLayer(string Name, (string Name, int[] Shape, int Offset)[] Weights);
    private const int HashBytes = 32;

    public static void Write(string path, string name, string weightShapes, int trainable, float[] weights, IReadOnlyList<LayerInfo> layers) =>
        WriteAtomically(path, Encode(name, weightShapes, trainable, weights, layers), "weights file");

    /// <summary>The file's bytes, checksum included.</summary>
    public static byte[] Encode(string name, string weightShapes, int trainable, float[] weights, IReadOnlyList<LayerInfo> layers)
    {
        var body = new MemoryStream();
        body.Write(Magic);
        WriteString(body, name);
        WriteString(body, weightShapes);
        WriteInt(body, weights.Length);
        WriteInt(body, trainable);
        var withWeights = layers.Where(l => l.Weights.Length > 0).ToArray();
        WriteInt(body, withWeights.Length);
        foreach (var layer in withWeights)
        {
            WriteString(body, layer.Name);
            WriteInt(body, layer.Weights.Length);
            foreach (var w in layer.Weights)
            {
                WriteString(body, w.Name);
                WriteInt(body, w.Shape.Length);
                foreach (int d in w.Shape) WriteInt(body, d);
                WriteInt(body, w.Offset);
            }
        }
        var floats = new byte[4 * weights.Length];
        for (int i = 0; i < weights.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(floats.AsSpan(4 * i), weights[i]);
        body.Write(floats);
        body.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));
        return body.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> through a temporary file flushed to the disk and moved
    /// into place; errors name the path and say it is a <paramref name="what"/>.
    /// </summary>
    public static void WriteAtomically(string path, byte[] bytes, string what)
    {
        string full = Path.GetFullPath(path);
        // As Keras (h5py cannot open a read-only file for writing): a read-only file is not replaced.
        if (File.Exists(full) && (File.GetAttributes(full) & FileAttributes.ReadOnly) != 0)
            throw new UnauthorizedAccessException($"Cannot write the {what} '{full}': it is read-only; make it writable, or save to another path.");
        // A short name beside the target (a long target name must not push it past the file-name limit), flushed to
        // the disk before it replaces the target, so a crash leaves the old file or the new one, never a torn one. The
        // name says which target and which process: a later save of the same target removes what a killed one left.
        string directory = Path.GetDirectoryName(full) ?? ".";
        string prefix = ".ngw-" + TargetTag(full) + "-";
        RemoveAbandonedTemporaries(directory, prefix);
        string temporary = Path.Combine(directory, prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6] + ".tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
            SyncDirectory(directory); // the rename itself reaches the disk
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new IOException($"Cannot write the {what} '{full}': {e.Message}", e);
        }
    }

    /// <summary>Eight hex digits of the target's full path: temporaries of one target share them.</summary>
    private static string TargetTag(string full) =>
        Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(full)).AsSpan(0, 4)).ToLowerInvariant();

    /// <summary>Deletes this target's temporaries whose writing process is gone (killed during a save).</summary>
    private static void RemoveAbandonedTemporaries(string directory, string prefix)
    {
        string[] files;
        try { files = Directory.GetFiles(directory, prefix + "*.tmp"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (string file in files)
        {
            string rest = Path.GetFileName(file)[prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || IsRunning(pid)) continue;
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return false; // this process writes one temporary at a time and deletes it on failure
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }    // no such process
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>fsync of the directory on Linux and macOS, so that the rename survives a power loss; best effort elsewhere.</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        Native.fsync(fd);
        Native.close(fd);
    }

    private static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }

    public static (string Name, string WeightShapes, int Trainable, float[] Weights, FileLayer[]? Layers) Read(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"No weights file at '{full}'.", full);
        byte[] bytes = File.ReadAllBytes(full);
        if (Checkpoint.IsCheckpoint(bytes)) bytes = Checkpoint.Decode(bytes, full).Weights; // a checkpoint's weights
        return Decode(bytes, full);
    }

    /// <summary>Reads a weights file's bytes; errors name <paramref name="full"/>.</summary>
    public static (string Name, string WeightShapes, int Trainable, float[] Weights, FileLayer[]? Layers) Decode(byte[] bytes, string full)
    {
        bool v1 = bytes.Length >= MagicV1.Length && bytes.AsSpan(0, MagicV1.Length).SequenceEqual(MagicV1);
        if (!v1 && (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)))
            throw new InvalidDataException($"'{full}' is not a NetGen weights file: it does not start with NETGENW2 or NETGENW1 (write it with Model.SaveWeights).");
        if (bytes.Length < Magic.Length + HashBytes ||
            !SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashBytes)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)))
            throw new InvalidDataException($"The weights file '{full}' is corrupt: its checksum does not match its contents (truncated or modified).");
        try
        {
            int at = Magic.Length;
            string name = ReadString(bytes, ref at);
            string weightShapes = ReadString(bytes, ref at);
            int count = ReadInt(bytes, ref at), trainable = ReadInt(bytes, ref at);
            if (count < 0 || trainable < 0 || trainable > count)
                throw new InvalidDataException("inconsistent parameter counts");
            FileLayer[]? layers = null;
            if (!v1)
            {
                int layerCount = ReadInt(bytes, ref at);
                if (layerCount < 0 || layerCount > bytes.Length) throw new InvalidDataException("a bad layer count");
                layers = new FileLayer[layerCount];
                for (int l = 0; l < layerCount; l++)
                {
                    string layerName = ReadString(bytes, ref at);
                    int weightCount = ReadInt(bytes, ref at);
                    if (weightCount < 0 || weightCount > 64) throw new InvalidDataException($"layer '{layerName}' has {weightCount} weights");
                    var list = new (string, int[], int)[weightCount];
                    for (int k = 0; k < weightCount; k++)
                    {
                        string weightName = ReadString(bytes, ref at);
                        int rank = ReadInt(bytes, ref at);
                        if (rank < 0 || rank > 8) throw new InvalidDataException($"weight '{layerName}/{weightName}' has rank {rank}");
                        var shape = new int[rank];
                        long size = 1;
                        for (int d = 0; d < rank; d++) { shape[d] = ReadInt(bytes, ref at); size *= shape[d]; }
                        int offset = ReadInt(bytes, ref at);
                        if (shape.Any(d => d < 0) || offset < 0 || offset + size > count)
                            throw new InvalidDataException($"weight '{layerName}/{weightName}' lies outside the parameters");
                        list[k] = (weightName, shape, offset);
                    }
                    layers[l] = new FileLayer(layerName, list);
                }
            }
            if (at + 4L * count != bytes.Length - HashBytes) throw new InvalidDataException("inconsistent parameter counts");
            var weights = new float[count];
            for (int i = 0; i < count; i++) weights[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at + 4 * i));
            return (name, weightShapes, trainable, weights, layers);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or DecoderFallbackException or OverflowException)
        {
            throw new InvalidDataException($"The weights file '{full}' is malformed ({e.Message}).", e);
        }
    }

    internal static void WriteInt(Stream s, int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, v);
        s.Write(b);
    }

    internal static void WriteString(Stream s, string v)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(v);
        WriteInt(s, utf8.Length);
        s.Write(utf8);
    }

    internal static int ReadInt(byte[] bytes, ref int at)
    {
        if (at + 4 > bytes.Length) throw new InvalidDataException("it ends early");
        int v = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
        at += 4;
        return v;
    }

    internal static string ReadString(byte[] bytes, ref int at)
    {
        int length = ReadInt(bytes, ref at);
        if (length < 0 || at + (long)length > bytes.Length) throw new InvalidDataException("a text field runs past the end");
        string v = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, at, length);
        at += length;
        return v;
    }
}
