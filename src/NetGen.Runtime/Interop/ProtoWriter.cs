using System.Buffers.Binary;
using System.Text;

namespace NetGen;

/// <summary>The few protocol-buffer encodings NetGen writes (TensorBoard events, ONNX models; proto3 wire format).</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _out = new();

    internal void Raw(ulong value)
    {
        while (value >= 0x80)
        {
            _out.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _out.WriteByte((byte)value);
    }

    private void Tag(int field, int wireType) => Raw((ulong)(field << 3 | wireType));

    public void Varint(int field, ulong value)
    {
        Tag(field, 0);
        Raw(value);
    }

    public void Double(int field, double value)
    {
        Tag(field, 1);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, value);
        _out.Write(b);
    }

    public void Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _out.Write(b);
    }

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Raw((ulong)value.Length);
        _out.Write(value);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public void PackedFloats(int field, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        Bytes(field, bytes);
    }

    public void PackedVarints(int field, ReadOnlySpan<long> values)
    {
        var packed = new ProtoWriter();
        foreach (long v in values) packed.Raw(unchecked((ulong)v));
        Bytes(field, packed.ToArray());
    }

    public void PackedDoubles(int field, ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        Bytes(field, bytes);
    }

    public byte[] ToArray() => _out.ToArray();
}
