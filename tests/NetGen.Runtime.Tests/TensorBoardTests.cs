using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// The TensorBoard callback's event files, read back with this file's own TFRecord and protocol-buffer reader (a
/// bitwise CRC-32C, not the writer's), and a fixed file against what Python's protobuf read from it
/// (Fixtures/tensorboard/read_events.py wrote events.fixture.txt).
/// </summary>
public sealed class TensorBoardTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netgen-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        crc = ~crc;
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8);
    }

    /// <summary>Every record's Event bytes, after checking both CRCs.</summary>
    private static List<byte[]> Records(string path)
    {
        var data = File.ReadAllBytes(path);
        var records = new List<byte[]>();
        for (int at = 0; at < data.Length;)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at));
            Assert.Equal(Crc32C(data.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 8)));
            var body = data.AsSpan(at + 12, (int)length).ToArray();
            Assert.Equal(Crc32C(body), BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 12 + (int)length)));
            records.Add(body);
            at += 16 + (int)length;
        }
        return records;
    }

    /// <summary>A message's fields as (number, wire type, value: ulong for varints and fixed, bytes for length-delimited).</summary>
    private static List<(int Field, int Wire, ulong Number, byte[] Bytes)> Fields(byte[] message)
    {
        var fields = new List<(int, int, ulong, byte[])>();
        int at = 0;
        ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = message[at++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }
        while (at < message.Length)
        {
            ulong key = Varint();
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: fields.Add((field, wire, Varint(), [])); break;
                case 1: fields.Add((field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(at)), [])); at += 8; break;
                case 5: fields.Add((field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(at)), [])); at += 4; break;
                case 2:
                    int n = (int)Varint();
                    fields.Add((field, wire, 0, message.AsSpan(at, n).ToArray()));
                    at += n;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
        return fields;
    }

    private sealed record Event(long Step, string? FileVersion, byte[]? Graph, List<(string Tag, float Value)> Scalars, List<(string Tag, byte[] Histogram)> Histograms);

    private static Event Decode(byte[] record)
    {
        long step = 0;
        string? version = null;
        byte[]? graph = null;
        var scalars = new List<(string, float)>();
        var histograms = new List<(string, byte[])>();
        foreach (var f in Fields(record))
        {
            if (f.Field == 2) step = (long)f.Number;
            else if (f.Field == 3) version = Encoding.UTF8.GetString(f.Bytes);
            else if (f.Field == 4) graph = f.Bytes;
            else if (f.Field == 5)
                foreach (var value in Fields(f.Bytes).Where(v => v.Field == 1))
                {
                    var parts = Fields(value.Bytes);
                    string tag = Encoding.UTF8.GetString(parts.Single(p => p.Field == 1).Bytes);
                    if (parts.Any(p => p.Field == 2)) scalars.Add((tag, BitConverter.UInt32BitsToSingle((uint)parts.Single(p => p.Field == 2).Number)));
                    else histograms.Add((tag, parts.Single(p => p.Field == 5).Bytes));
                }
        }
        return new Event(step, version, graph, scalars, histograms);
    }

    [Fact]
    public void Training_logs_every_epoch_value_weight_histograms_and_the_graph()
    {
        var rng = new Random(4);
        var x = new Tensor(Enumerable.Range(0, 40 * 75).Select(_ => (float)rng.NextDouble()).ToArray(), 40, 5, 5, 3);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 40).Select(i => (float)(i % 4)).ToArray(), 40), 4);
        using var model = new GradInceptionNet();
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var board = new TensorBoard(_dir, histogramFreq: 2);
        var history = model.Fit(x.Slice(0, 30), y.Slice(0, 30), epochs: 3, batchSize: 10, validationData: (x.Slice(30, 10), y.Slice(30, 10)), verbose: 0, callbacks: [board]);

        Assert.StartsWith(Path.Combine(_dir, "train", "events.out.tfevents."), board.TrainFile);
        var train = Records(board.TrainFile!).Select(Decode).ToList();
        Assert.Equal("brain.Event:2", train[0].FileVersion);

        // The graph: the input, then every layer with its type and inbound layers.
        var nodes = Fields(train[1].Graph!).Select(n => Fields(n.Bytes)).ToList();
        string Text(List<(int Field, int Wire, ulong Number, byte[] Bytes)> node, int field) =>
            string.Join(",", node.Where(p => p.Field == field).Select(p => Encoding.UTF8.GetString(p.Bytes)));
        Assert.Equal(["input_1", .. model.Layers.Select(l => l.Name)], nodes.Select(n => Text(n, 1)));
        int concat = model.Layers.ToList().FindIndex(l => l.Type == "Concatenate") + 1;
        Assert.Equal("Concatenate", Text(nodes[concat], 2));
        Assert.Equal("b1,b3,bp", Text(nodes[concat], 3));

        var scalars = train.Where(e => e.Scalars.Count > 0).ToList();
        Assert.Equal([0L, 1, 2], scalars.Select(e => e.Step));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var logged = scalars[epoch].Scalars.ToDictionary(s => s.Tag, s => s.Value);
            Assert.Equal((float)history["loss"][epoch], logged["epoch_loss"]);
            Assert.Equal((float)history["accuracy"][epoch], logged["epoch_accuracy"]);
            Assert.Equal(0.01f, logged["epoch_learning_rate"]);
        }
        var validation = Records(board.ValidationFile!).Select(Decode).Where(e => e.Scalars.Count > 0).ToList();
        Assert.Equal((float)history["val_loss"][2], validation[2].Scalars.Single(s => s.Tag == "epoch_loss").Value);

        // Histograms at epochs 0 and 2: one per weight, counting all its values, its sum the weights' sum then.
        var histograms = train.Where(e => e.Histograms.Count > 0).ToList();
        Assert.Equal([0L, 2], histograms.Select(e => e.Step).Distinct());
        var kernel = histograms.Last(e => e.Histograms.Any(h => h.Tag == "dense/kernel_0")).Histograms.Single(h => h.Tag == "dense/kernel_0").Histogram;
        var values = Fields(kernel);
        double Get(int field) => BitConverter.UInt64BitsToDouble(values.Single(v => v.Field == field).Number);
        var weights = model.GetLayer("dense").GetWeights()[0];
        Assert.Equal(weights.Length, Get(3));
        Assert.Equal(weights.Sum(w => (double)w), Get(4), 9);
        Assert.Equal(weights.Min(), Get(1));
        var counts = values.Single(v => v.Field == 7).Bytes;
        Assert.Equal(30 * 8, counts.Length);
        Assert.Equal(weights.Length, Enumerable.Range(0, 30).Sum(i => BitConverter.ToDouble(counts, i * 8)));
    }

    [Fact]
    public void The_event_file_is_byte_for_byte_what_Python_protobuf_read()
    {
        using var model = new GradInceptionNet();
        double time = 1_765_000_000.25;
        var writer = new EventFileWriter(_dir, () => time += 0.5);
        writer.Write(0, graphDef: TensorBoard.GraphDef(model));
        writer.Write(1, scalars: [("epoch_loss", 0.6931f), ("epoch_accuracy", 0.75f)]);
        writer.Write(2, histogram: ("dense/kernel_0", [-1f, -0.5f, 0f, 0.25f, 0.25f, 2f]));
        writer.Write(3, histogram: ("dense/bias_0", [0f, 0f]));
        writer.Dispose();
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tensorboard", "events.fixture");
        if (Environment.GetEnvironmentVariable("NETGEN_WRITE_FIXTURES") == "1") File.Copy(writer.Path, fixture, overwrite: true);
        Assert.Equal(File.ReadAllBytes(fixture), File.ReadAllBytes(writer.Path));
        // What Python read from that file (its records decode to the same values).
        var python = File.ReadAllLines(fixture + ".txt");
        Assert.Equal("5 records, every length and data CRC correct", python[^1]);
        Assert.Contains("scalar epoch_loss 0.6930999755859375", python[2]);
        Assert.Contains("graph input_1 InputLayer <- ; b1 Conv2D <- input_1; b3 Conv2D <- input_1", python[1]);
    }

    [Fact]
    public void An_unwritable_log_folder_is_an_error_that_names_it()
    {
        File.WriteAllText(_dir, "a file where the folder should be");
        try
        {
            using var model = new GradInceptionNet();
            model.Compile(new Adam(), Loss.CategoricalCrossEntropy);
            var x = Tensor.Zeros(2, 5, 5, 3);
            var y = Utils.ToCategorical(new Tensor([0f, 1f], 2), 4);
            var e = Assert.Throws<IOException>(() => model.Fit(x, y, verbose: 0, callbacks: [new TensorBoard(_dir)]));
            Assert.Contains(Path.Combine(_dir, "train"), e.Message);
        }
        finally
        {
            File.Delete(_dir);
        }
    }
}
