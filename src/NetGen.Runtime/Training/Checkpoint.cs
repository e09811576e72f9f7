using System.Buffers.Binary;
using System.Security.Cryptography;

namespace NetGen;

/// <summary>
/// A training checkpoint (<see cref="Model.SaveCheckpoint"/>): the magic <c>NETGENC1</c>, the optimizer's type and
/// state-slot count, the iteration count (Adam's bias correction, Keras's decay, the dropout masks' keys), the learning
/// rate as callbacks left it, the number of epochs done, a whole weights file (<see cref="WeightsFile"/>, so
/// <see cref="Model.LoadWeights"/> reads a checkpoint's weights too), the optimizer's state vectors as little-endian
/// float32, and a SHA-256 of all that.
/// </summary>
internal static class Checkpoint
{
    private static readonly byte[] Magic = "NETGENC1"u8.ToArray();
    private const int HashBytes = 32;

    public sealed record Contents(string Optimizer, int Slots, long Iteration, float LearningRate, int Epoch, byte[] Weights, float[] State);

    public static bool IsCheckpoint(byte[] bytes) => bytes.Length >= Magic.Length && bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic);

    public static byte[] Encode(Contents c)
    {
        var body = new MemoryStream();
        body.Write(Magic);
        WeightsFile.WriteString(body, c.Optimizer);
        WeightsFile.WriteInt(body, c.Slots);
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(eight, c.Iteration);
        body.Write(eight);
        BinaryPrimitives.WriteSingleLittleEndian(eight, c.LearningRate);
        body.Write(eight[..4]);
        WeightsFile.WriteInt(body, c.Epoch);
        WeightsFile.WriteInt(body, c.Weights.Length);
        body.Write(c.Weights);
        WeightsFile.WriteInt(body, c.State.Length);
        var floats = new byte[4 * c.State.Length];
        for (int i = 0; i < c.State.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(floats.AsSpan(4 * i), c.State[i]);
        body.Write(floats);
        body.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));
        return body.ToArray();
    }

    public static Contents Decode(byte[] bytes, string full)
    {
        if (!IsCheckpoint(bytes))
            throw new InvalidDataException($"'{full}' is not a NetGen checkpoint: it does not start with NETGENC1 (write it with Model.SaveCheckpoint, or ModelCheckpoint(..., saveWeightsOnly: false)).");
        if (bytes.Length < Magic.Length + HashBytes ||
            !SHA256.HashData(bytes.AsSpan(0, bytes.Length - HashBytes)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)))
            throw new InvalidDataException($"The checkpoint '{full}' is corrupt: its checksum does not match its contents (truncated or modified).");
        try
        {
            int at = Magic.Length;
            string optimizer = WeightsFile.ReadString(bytes, ref at);
            int slots = WeightsFile.ReadInt(bytes, ref at);
            if (at + 12 > bytes.Length) throw new InvalidDataException("it ends early");
            long iteration = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at));
            float rate = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at + 8));
            at += 12;
            int epoch = WeightsFile.ReadInt(bytes, ref at);
            int weightBytes = WeightsFile.ReadInt(bytes, ref at);
            if (slots < 0 || iteration < 0 || epoch < 0 || weightBytes < 0 || at + (long)weightBytes > bytes.Length - HashBytes)
                throw new InvalidDataException("inconsistent counts");
            var weights = bytes.AsSpan(at, weightBytes).ToArray();
            at += weightBytes;
            int count = WeightsFile.ReadInt(bytes, ref at);
            if (count < 0 || at + 4L * count != bytes.Length - HashBytes) throw new InvalidDataException("inconsistent state size");
            var state = new float[count];
            for (int i = 0; i < count; i++) state[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at + 4 * i));
            return new Contents(optimizer, slots, iteration, rate, epoch, weights, state);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or System.Text.DecoderFallbackException)
        {
            throw new InvalidDataException($"The checkpoint '{full}' is malformed ({e.Message}).", e);
        }
    }
}

public abstract partial class Model
{
    /// <summary>
    /// Writes what resuming training needs (Keras's <c>model.save</c> with the optimizer): every weight, the optimizer's
    /// state (momenta, Adam's moments), the iteration count, the learning rate and <paramref name="epoch"/>, the number
    /// of epochs done. <see cref="LoadCheckpoint"/> then <c>Fit(..., initialEpoch: epoch)</c> continues as if training
    /// had never stopped: the same weights, bit for bit. An existing file is replaced only once the new one is complete.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not compiled (there is no optimizer state).</exception>
    public void SaveCheckpoint(string path, int epoch)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(path);
            ArgumentOutOfRangeException.ThrowIfNegative(epoch);
            RequireCompiled();
            var optimizer = _optimizer!;
            var state = new float[optimizer.StateSlots * AlignUp(Info.TrainableParameterCount)];
            if (state.Length > 0) Backend.Download(_stateOffset, state);
            var weights = WeightsFile.Encode(Info.Name, Info.WeightShapes, Info.TrainableParameterCount, GetWeights(), Info.Layers);
            var bytes = Checkpoint.Encode(new(optimizer.GetType().Name, optimizer.StateSlots, _iteration, optimizer.LearningRate, epoch, weights, state));
            WeightsFile.WriteAtomically(path, bytes, "checkpoint");
        }
    }

    /// <summary>
    /// Restores a <see cref="SaveCheckpoint"/>: weights, optimizer state, iteration count and learning rate, into a
    /// model compiled with the same optimizer type. Returns the epochs done, to pass as <c>Fit</c>'s <c>initialEpoch</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is missing, corrupt, from another network, or from another
    /// optimizer; the message names the path, and nothing is changed.</exception>
    public int LoadCheckpoint(string path)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(path);
            RequireCompiled();
            string full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new FileNotFoundException($"No checkpoint at '{full}'.", full);
            var c = Checkpoint.Decode(File.ReadAllBytes(full), full);
            var optimizer = _optimizer!;
            int expected = optimizer.StateSlots * AlignUp(Info.TrainableParameterCount);
            if (c.Optimizer != optimizer.GetType().Name || c.Slots != optimizer.StateSlots || c.State.Length != expected)
                throw new InvalidDataException($"The checkpoint '{full}' holds the state of {c.Optimizer} ({c.Slots} state vectors, {c.State.Length:N0} floats) but {Info.Name} is compiled with {optimizer.GetType().Name} ({optimizer.StateSlots}, {expected:N0}); compile with the optimizer it was trained with.");
            var (name, shapes, trainable, weights, _) = WeightsFile.Decode(c.Weights, full);
            if (shapes != Info.WeightShapes || weights.Length != Info.ParameterCount || trainable != Info.TrainableParameterCount)
                throw new InvalidDataException($"The checkpoint '{full}' holds the weights of '{name}' ({weights.Length:N0} parameters), which do not fit '{Info.Name}' ({Info.ParameterCount:N0}).");
            SetWeights(weights);
            if (c.State.Length > 0) Backend.Upload(c.State, _stateOffset);
            _iteration = c.Iteration;
            optimizer.LearningRate = c.LearningRate;
            return c.Epoch;
        }
    }
}
