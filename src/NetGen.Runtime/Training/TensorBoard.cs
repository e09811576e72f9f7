using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace NetGen;

/// <summary>
/// Keras's <c>TensorBoard</c> callback: event files that TensorBoard opens (<c>tensorboard --logdir logs</c>), in
/// <c>{logDir}/train</c> and <c>{logDir}/validation</c> as TF 2 Keras writes them. At each epoch's end: the scalars
/// <c>epoch_loss</c>, <c>epoch_{metric}</c> and <c>epoch_learning_rate</c> (training run) and the <c>val_</c> values
/// under the same tags (validation run); every <c>histogramFreq</c> epochs a histogram of each weight
/// (<c>{layer}/{weight}_0</c>, 30 equal buckets as TF 2); with <c>writeGraph</c>, the layer graph (a GraphDef whose
/// nodes are the layers, with their type as op and their inbound layers as inputs). The files are TFRecord streams
/// (length, masked CRC-32C, <c>Event</c> protocol buffer, masked CRC-32C), flushed at each epoch's end.
/// </summary>
public sealed class TensorBoard : Callback
{
    private readonly string _logDir;
    private readonly int _histogramFreq;
    private readonly bool _writeGraph;
    private readonly Func<double> _clock;
    private EventFileWriter? _train, _validation;

    /// <summary>Keras's <c>TensorBoard(log_dir, histogram_freq, write_graph)</c>.</summary>
    /// <param name="logDir">The run's folder (created if needed).</param>
    /// <param name="histogramFreq">Write weight histograms every this many epochs; 0: never.</param>
    /// <param name="writeGraph">Write the layer graph once, at the start of training.</param>
    public TensorBoard(string logDir = "logs", int histogramFreq = 0, bool writeGraph = true)
        : this(logDir, histogramFreq, writeGraph, () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0)
    {
    }

    /// <summary>With a clock (seconds since 1970) for the events' wall times: for reproducible files in tests.</summary>
    internal TensorBoard(string logDir, int histogramFreq, bool writeGraph, Func<double> clock)
    {
        _logDir = logDir ?? throw new ArgumentNullException(nameof(logDir));
        if (histogramFreq < 0) throw new ArgumentOutOfRangeException(nameof(histogramFreq), histogramFreq, "histogramFreq is 0 (no histograms) or a number of epochs.");
        _histogramFreq = histogramFreq;
        _writeGraph = writeGraph;
        _clock = clock;
    }

    /// <summary>The training run's event file of the last Fit, once it has begun.</summary>
    public string? TrainFile { get; private set; }

    /// <summary>The validation run's event file of the last Fit, once a validation value was logged.</summary>
    public string? ValidationFile { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        Close();
        _train = new EventFileWriter(Path.Combine(_logDir, "train"), _clock);
        TrainFile = _train.Path;
        ValidationFile = null;
        if (_writeGraph) _train.Write(0, graphDef: GraphDef(Model));
        _train.Flush();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        if (_train is null) return;
        var train = new List<(string, float)>();
        var validation = new List<(string, float)>();
        foreach (var (name, value) in logs.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (name == "lr") continue; // logged as learning_rate below, as Keras
            if (name.StartsWith("val_", StringComparison.Ordinal)) validation.Add(("epoch_" + name[4..], (float)value));
            else train.Add(("epoch_" + name, (float)value));
        }
        if (Model.Optimizer is { } optimizer) train.Add(("epoch_learning_rate", optimizer.LearningRate));
        _train.Write(epoch, scalars: train);
        if (_histogramFreq > 0 && epoch % _histogramFreq == 0)
            foreach (var layer in Model.Layers)
            {
                var weights = layer.GetWeights();
                for (int w = 0; w < weights.Length; w++)
                    _train.Write(epoch, histogram: (layer.Name + "/" + layer.WeightNames[w] + "_0", weights[w]));
            }
        _train.Flush();
        if (validation.Count > 0)
        {
            if (_validation is null)
            {
                _validation = new EventFileWriter(Path.Combine(_logDir, "validation"), _clock);
                ValidationFile = _validation.Path;
            }
            _validation.Write(epoch, scalars: validation);
            _validation.Flush();
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd() => Close();

    internal override void OnTrainAborted() => Close();

    private void Close()
    {
        _train?.Dispose();
        _validation?.Dispose();
        _train = _validation = null;
    }

    /// <summary>A GraphDef: one NodeDef per layer (name, op = its type, inputs = its inbound layers), after an input node.</summary>
    internal static byte[] GraphDef(Model model)
    {
        var graph = new ProtoWriter();
        var input = new ProtoWriter();
        input.String(1, "input_1");
        input.String(2, "InputLayer");
        graph.Message(1, input);
        foreach (var layer in model.Layers)
        {
            var node = new ProtoWriter();
            node.String(1, layer.Name);
            node.String(2, layer.Type);
            foreach (var inbound in layer.InboundLayers) node.String(3, inbound);
            graph.Message(1, node);
        }
        return graph.ToArray();
    }
}

/// <summary>
/// One TensorBoard event file, <c>events.out.tfevents.{seconds}.{host}.netgen</c>: TFRecord framing of <c>Event</c>
/// messages, the first holding <c>file_version = "brain.Event:2"</c>.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly Func<double> _clock;

    public EventFileWriter(string directory, Func<double> clock)
    {
        _clock = clock;
        double now = clock();
        string name = "events.out.tfevents." + ((long)now).ToString(CultureInfo.InvariantCulture) + "." + Host() + ".netgen";
        try
        {
            Directory.CreateDirectory(directory);
            Path = System.IO.Path.Combine(directory, name);
            _file = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"TensorBoard cannot write its event file in '{System.IO.Path.GetFullPath(directory)}': {e.Message}", e);
        }
        var first = new ProtoWriter();
        first.Double(1, now);
        first.String(3, "brain.Event:2");
        Record(first.ToArray());
    }

    public string Path { get; }

    private static string Host()
    {
        var name = new StringBuilder();
        foreach (char c in Environment.MachineName) name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_');
        return name.Length > 0 ? name.ToString() : "localhost";
    }

    /// <summary>An event at <paramref name="step"/> with scalars, a histogram, or a graph.</summary>
    public void Write(long step, IReadOnlyList<(string Tag, float Value)>? scalars = null, (string Tag, float[] Values)? histogram = null, byte[]? graphDef = null)
    {
        var e = new ProtoWriter();
        e.Double(1, _clock());
        if (step != 0) e.Varint(2, (ulong)step);
        if (graphDef is not null) e.Bytes(4, graphDef);
        else
        {
            var summary = new ProtoWriter();
            foreach (var (tag, value) in scalars ?? [])
            {
                var v = new ProtoWriter();
                v.String(1, tag);
                v.Float(2, value);
                summary.Message(1, v);
            }
            if (histogram is { } h)
            {
                var v = new ProtoWriter();
                v.String(1, h.Tag);
                v.Message(5, Histogram(h.Values));
                summary.Message(1, v);
            }
            e.Message(5, summary);
        }
        Record(e.ToArray());
    }

    /// <summary>
    /// A HistogramProto of 30 equal buckets between the values' minimum and maximum (TF 2's histogram summary; one
    /// bucket when they are all equal): bucket_limit holds each bucket's right edge.
    /// </summary>
    internal static ProtoWriter Histogram(float[] values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        foreach (float f in values)
        {
            min = Math.Min(min, f);
            max = Math.Max(max, f);
            sum += f;
            squares += (double)f * f;
        }
        if (values.Length == 0) min = max = 0;
        int buckets = max > min ? 30 : 1;
        var counts = new double[buckets];
        double width = (max - min) / buckets;
        foreach (float f in values)
            counts[buckets == 1 ? 0 : Math.Min(buckets - 1, (int)((f - min) / width))]++;
        var p = new ProtoWriter();
        p.Double(1, min);
        p.Double(2, max);
        p.Double(3, values.Length);
        p.Double(4, sum);
        p.Double(5, squares);
        var limits = new double[buckets];
        for (int b = 0; b < buckets; b++) limits[b] = b == buckets - 1 ? max : min + (b + 1) * width;
        p.PackedDoubles(6, limits);
        p.PackedDoubles(7, counts);
        return p;
    }

    /// <summary>TFRecord framing: length (u64), its masked CRC-32C, the data, its masked CRC-32C; all little-endian.</summary>
    private void Record(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(data));
        _file.Write(header);
        _file.Write(data);
        _file.Write(footer);
    }

    /// <summary>TFRecord's masked CRC-32C (Castagnoli): the CRC rotated right by 15 bits, plus 0xa282ead8.</summary>
    internal static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);
    }

    public void Flush() => _file.Flush(flushToDisk: false);

    public void Dispose() => _file.Dispose();
}
