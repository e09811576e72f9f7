using System.Globalization;
using System.Text;

namespace NetGen;

/// <summary>
/// Hooks into <c>Model.Fit</c>, as Keras's <c>tf.keras.callbacks.Callback</c>. The logs are the epoch's (or,
/// at batch end, the running) values by their Keras names: <c>loss</c>, the metric (<c>accuracy</c>, ...), and at
/// epoch end <c>val_loss</c> and <c>val_accuracy</c>; a callback may add entries (ReduceLROnPlateau adds <c>lr</c>),
/// which the returned <see cref="History"/> records. Set <see cref="Model.StopTraining"/> to end training after the
/// current batch.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained; set by <c>Model.Fit</c> before <see cref="OnTrainBegin"/>.</summary>
    public Model Model { get; internal set; } = null!;

    /// <summary>Before the first epoch.</summary>
    public virtual void OnTrainBegin() { }

    /// <summary>After the last epoch (or after training was stopped).</summary>
    public virtual void OnTrainEnd() { }

    /// <summary>Before epoch <paramref name="epoch"/> (0-based, as Keras).</summary>
    public virtual void OnEpochBegin(int epoch) { }

    /// <summary>After epoch <paramref name="epoch"/> (0-based) and its validation.</summary>
    public virtual void OnEpochEnd(int epoch, IDictionary<string, double> logs) { }

    /// <summary>After batch <paramref name="batch"/> (0-based within the epoch); the logs hold the epoch's running means.</summary>
    public virtual void OnBatchEnd(int batch, IDictionary<string, double> logs) { }

    /// <summary>When <c>Model.Fit</c> throws after <see cref="OnTrainBegin"/>: release what training holds (open files).</summary>
    internal virtual void OnTrainAborted() { }

    /// <summary>Keras's mode argument: whether a larger monitored value is better.</summary>
    private protected static bool Maximizes(string mode, bool auto) => mode switch
    {
        "min" => false,
        "max" => true,
        "auto" => auto,
        _ => throw new ArgumentException($"Unknown mode '{mode}': use \"auto\", \"min\" or \"max\".", nameof(mode)),
    };

    /// <summary>The learning rate the model's optimizer starts from (before Keras's decay).</summary>
    private protected float LearningRate
    {
        get => Model.Optimizer?.LearningRate ?? throw new InvalidOperationException("Compile the model before training it.");
        set => Model.Optimizer!.LearningRate = value;
    }

    /// <summary>A float32 value as Keras logs it: the double its shortest form names (0.001f gives 0.001, not 0.0010000000474974513).</summary>
    private protected static double Logged(float v) => double.Parse(v.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>Python's <c>format(v, '.Nf')</c>: fixed digits, and nan, inf, -inf.</summary>
    private protected static string Fixed(double v, int digits) =>
        double.IsNaN(v) ? "nan" : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf") : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    /// <summary>Keras's float formatting in callback messages.</summary>
    private protected static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// Stops training when a monitored value has stopped improving, with Keras 2.12's semantics: an epoch improves when
/// the value beats the best so far by more than |<c>minDelta</c>|; after <c>patience</c> epochs without improvement
/// (and not on the first epoch) training stops, and with <c>restoreBestWeights</c> the weights of the best epoch are
/// restored then (only then, as Keras). With a <c>baseline</c>, an improvement resets the wait only if it also beats
/// the baseline.
/// </summary>
public sealed class EarlyStopping : Callback
{
    private readonly string _monitor;
    private readonly double _minDelta;
    private readonly int _patience, _verbose, _startFromEpoch;
    private readonly bool _maximize, _restoreBestWeights;
    private readonly double? _baseline;
    private int _wait, _stoppedEpoch, _bestEpoch;
    private double _best;
    private float[]? _bestWeights;
    private bool _warned;

    /// <summary>Keras's <c>EarlyStopping</c>, same defaults.</summary>
    /// <param name="monitor">The log entry to watch, e.g. <c>val_loss</c> or <c>val_accuracy</c>.</param>
    /// <param name="minDelta">The least change that counts as an improvement (its absolute value is used).</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="verbose">1 prints the epoch at which training stopped and the restore.</param>
    /// <param name="mode"><c>auto</c> (larger is better for a monitor ending in acc, accuracy or auc), <c>min</c> or <c>max</c>.</param>
    /// <param name="baseline">A value the monitor must beat for an improvement to reset the wait.</param>
    /// <param name="restoreBestWeights">Restore the best epoch's weights when training stops early.</param>
    /// <param name="startFromEpoch">Epochs to let pass before watching (warm-up).</param>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, int verbose = 0, string mode = "auto",
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be 0 or more.");
        _monitor = monitor;
        _minDelta = Math.Abs(minDelta);
        _patience = patience;
        _verbose = verbose;
        _maximize = Maximizes(mode,
            monitor.EndsWith("acc", StringComparison.Ordinal) || monitor.EndsWith("accuracy", StringComparison.Ordinal) ||
            monitor.EndsWith("auc", StringComparison.Ordinal));
        _baseline = baseline;
        _restoreBestWeights = restoreBestWeights;
        _startFromEpoch = startFromEpoch;
    }

    /// <summary>The epoch (0-based) at which training was stopped, or 0 if it was not.</summary>
    public int StoppedEpoch => _stoppedEpoch;

    /// <summary>The epoch (0-based) with the best monitored value.</summary>
    public int BestEpoch => _bestEpoch;

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _wait = 0;
        _stoppedEpoch = 0;
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _bestWeights = null;
        _bestEpoch = 0;
    }

    private bool Improves(double current, double reference) =>
        _maximize ? current - _minDelta > reference : current + _minDelta < reference;

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(_monitor, out double current))
        {
            if (!_warned) Console.WriteLine($"Early stopping conditioned on metric `{_monitor}` which is not available. Available metrics are: {string.Join(",", logs.Keys)}");
            _warned = true;
            return;
        }
        if (epoch < _startFromEpoch) return;
        if (_restoreBestWeights && _bestWeights is null) _bestWeights = Model.GetWeights();
        _wait++;
        if (Improves(current, _best))
        {
            _best = current;
            _bestEpoch = epoch;
            if (_restoreBestWeights) _bestWeights = Model.GetWeights();
            if (_baseline is not { } b || Improves(current, b)) _wait = 0;
            return;
        }
        if (_wait >= _patience && epoch > 0)
        {
            _stoppedEpoch = epoch;
            Model.StopTraining = true;
            if (_restoreBestWeights && _bestWeights is not null)
            {
                if (_verbose > 0) Console.WriteLine($"Restoring model weights from the end of the best epoch: {_bestEpoch + 1}.");
                Model.SetWeights(_bestWeights);
            }
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd()
    {
        if (_stoppedEpoch > 0 && _verbose > 0) Console.WriteLine($"Epoch {_stoppedEpoch + 1}: early stopping");
    }
}

/// <summary>
/// Multiplies the learning rate by <c>factor</c> when a monitored value has stopped improving, with Keras 2's
/// semantics: an epoch improves when the value beats the best so far by more than <c>minDelta</c>; after
/// <c>patience</c> epochs without improvement the rate becomes max(rate·factor, minLr) (if it is above minLr), then
/// <c>cooldown</c> epochs pass before waiting starts again. Each epoch's rate goes into the logs as <c>lr</c>.
/// </summary>
public sealed class ReduceLROnPlateau : Callback
{
    private readonly string _monitor;
    private readonly double _factor;
    private readonly float _minLr;
    private readonly int _patience, _verbose, _cooldown;
    private readonly double _minDelta;
    private readonly bool _maximize;
    private int _wait, _cooldownCounter;
    private double _best;
    private bool _warned;

    /// <summary>Keras's <c>ReduceLROnPlateau</c>, same defaults.</summary>
    /// <param name="monitor">The log entry to watch.</param>
    /// <param name="factor">The factor the rate is multiplied by; below 1.</param>
    /// <param name="patience">Epochs without improvement before the rate is reduced.</param>
    /// <param name="verbose">1 prints each reduction.</param>
    /// <param name="mode"><c>auto</c> (larger is better when the monitor contains acc), <c>min</c> or <c>max</c>.</param>
    /// <param name="minDelta">The least change that counts as an improvement.</param>
    /// <param name="cooldown">Epochs after a reduction before waiting resumes.</param>
    /// <param name="minLr">The lowest rate.</param>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, int verbose = 0, string mode = "auto",
        double minDelta = 1e-4, int cooldown = 0, float minLr = 0f)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        if (!(factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau does not support a factor >= 1.0: use e.g. 0.1 or 0.5.");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be 0 or more.");
        if (!(factor > 0)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1), e.g. 0.1 or 0.5.");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, "cooldown must be 0 (none) or more epochs.");
        if (!(minLr >= 0) || float.IsInfinity(minLr)) throw new ArgumentOutOfRangeException(nameof(minLr), minLr, "minLr must be a finite number of at least 0.");
        _monitor = monitor;
        _factor = factor;
        _patience = patience;
        _verbose = verbose;
        _maximize = Maximizes(mode, monitor.Contains("acc", StringComparison.Ordinal));
        _minDelta = minDelta;
        _cooldown = cooldown;
        _minLr = minLr;
    }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _cooldownCounter = 0;
        _wait = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        float lr = LearningRate;
        logs["lr"] = Logged(lr);
        if (!logs.TryGetValue(_monitor, out double current))
        {
            if (!_warned) Console.WriteLine($"Learning rate reduction is conditioned on metric `{_monitor}` which is not available. Available metrics are: {string.Join(",", logs.Keys)}");
            _warned = true;
            return;
        }
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _wait = 0;
        }
        if (_maximize ? current > _best + _minDelta : current < _best - _minDelta)
        {
            _best = current;
            _wait = 0;
        }
        else if (_cooldownCounter == 0)
        {
            _wait++;
            if (_wait >= _patience && lr > _minLr)
            {
                float reduced = (float)Math.Max(lr * _factor, _minLr); // in double, rounded once, as Keras
                LearningRate = reduced;
                if (_verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {Show(Logged(reduced))}.");
                _cooldownCounter = _cooldown;
                _wait = 0;
            }
        }
    }
}

/// <summary>
/// Sets the learning rate at the start of each epoch from a schedule (epoch, current rate) → new rate, as Keras's
/// <c>LearningRateScheduler</c>; each epoch's rate goes into the logs as <c>lr</c>.
/// </summary>
public sealed class LearningRateScheduler : Callback
{
    private readonly Func<int, float, float> _schedule;
    private readonly int _verbose;

    /// <summary>Keras's <c>LearningRateScheduler(schedule, verbose=0)</c>.</summary>
    /// <param name="schedule">The new rate from the epoch (0-based) and the current rate.</param>
    /// <param name="verbose">1 prints each rate.</param>
    public LearningRateScheduler(Func<int, float, float> schedule, int verbose = 0)
    {
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        _verbose = verbose;
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch)
    {
        float lr = _schedule(epoch, LearningRate);
        if (!float.IsFinite(lr) || lr < 0)
            throw new InvalidOperationException($"The learning-rate schedule returned {Show(lr)} for epoch {epoch}; it must return a finite rate of 0 or more.");
        LearningRate = lr;
        if (_verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {Show(Logged(lr))}.");
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs) => logs["lr"] = Logged(LearningRate);
}

/// <summary>
/// Ends training when the loss becomes NaN or infinite, as Keras's <c>TerminateOnNaN</c>, instead of letting
/// <c>Model.Fit</c> throw <see cref="TrainingDivergedException"/>. Unlike Keras, the diverged batch has not
/// changed the weights: they are the ones from before it.
/// </summary>
public sealed class TerminateOnNaN : Callback
{
    /// <summary>The batch (0-based, within its epoch) whose loss was not finite, or -1.</summary>
    public int TerminatedBatch { get; private set; } = -1;

    /// <inheritdoc/>
    public override void OnTrainBegin() => TerminatedBatch = -1;

    internal void Terminate(int batch)
    {
        TerminatedBatch = batch;
        Console.WriteLine($"Batch {batch}: Invalid loss, terminating training");
        Model.StopTraining = true;
    }
}

/// <summary>
/// Saves the weights at the end of each epoch, or only when the monitored value improves, as Keras's
/// <c>ModelCheckpoint(filepath, monitor='val_loss', save_best_only=False, mode='auto')</c> with
/// <c>save_weights_only=True</c> (NetGen saves weights: a path ending in .h5 or .hdf5 in Keras's HDF5 layout, see
/// <see cref="Model.SaveKerasWeights"/>; any other in <see cref="Model.SaveWeights"/>'s format). The path may name
/// the epoch (1-based) and any log value with Python's format fields, e.g. <c>w.{epoch:02d}-{val_loss:.2f}.ngw</c>.
/// With <c>saveBestOnly</c> an epoch improves when the value is strictly better than the best so far (no min_delta;
/// larger is better in auto mode when the monitor contains acc).
/// </summary>
public sealed class ModelCheckpoint : Callback
{
    private readonly string _filepath, _monitor;
    private readonly bool _saveBestOnly, _maximize, _saveWeightsOnly;
    private readonly int _verbose;
    private double _best;

    /// <summary>Keras's <c>ModelCheckpoint</c>, same defaults.</summary>
    /// <param name="filepath">Where to save; may hold <c>{epoch}</c> and <c>{log name}</c> fields with Python format specs (d, f, e).</param>
    /// <param name="monitor">The log entry compared with <paramref name="saveBestOnly"/>.</param>
    /// <param name="verbose">1 prints each save (and each epoch that did not improve).</param>
    /// <param name="saveBestOnly">Save only when the monitored value beats the best so far.</param>
    /// <param name="mode"><c>auto</c>, <c>min</c> or <c>max</c>.</param>
    /// <param name="initialValueThreshold">The value the first save must beat (instead of ±∞).</param>
    /// <param name="saveWeightsOnly">True (the default here): the weights. False: a checkpoint to resume training from
    /// (<see cref="Model.SaveCheckpoint"/>: weights, optimizer state, iteration and the epochs done), as Keras's
    /// <c>save_weights_only=False</c> keeps the optimizer; resume with <see cref="Model.LoadCheckpoint"/> and <c>initialEpoch</c>.</param>
    public ModelCheckpoint(string filepath, string monitor = "val_loss", int verbose = 0, bool saveBestOnly = false, string mode = "auto",
        double? initialValueThreshold = null, bool saveWeightsOnly = true)
    {
        _saveWeightsOnly = saveWeightsOnly;
        _filepath = filepath ?? throw new ArgumentNullException(nameof(filepath));
        _monitor = monitor ?? throw new ArgumentNullException(nameof(monitor));
        _verbose = verbose;
        _saveBestOnly = saveBestOnly;
        _maximize = Maximizes(mode, monitor.Contains("acc", StringComparison.Ordinal) || monitor.StartsWith("fmeasure", StringComparison.Ordinal));
        _best = initialValueThreshold ?? (_maximize ? double.NegativeInfinity : double.PositiveInfinity);
    }

    /// <summary>The best monitored value so far (±∞ before the first). As Keras, it carries over to a later Fit with this callback.</summary>
    public double Best => _best;

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        string path = FormatPath(_filepath, epoch + 1, logs);
        if (!_saveBestOnly)
        {
            if (_verbose > 0) Console.WriteLine($"\nEpoch {epoch + 1}: saving model to {path}");
            Save(path, epoch + 1);
            return;
        }
        if (!logs.TryGetValue(_monitor, out double current))
        {
            Console.WriteLine($"Can save best model only with {_monitor} available, skipping.");
            return;
        }
        if (_maximize ? current > _best : current < _best)
        {
            if (_verbose > 0)
                Console.WriteLine($"\nEpoch {epoch + 1}: {_monitor} improved from {Fixed(_best, 5)} to {Fixed(current, 5)}, saving model to {path}");
            _best = current;
            Save(path, epoch + 1);
        }
        else if (_verbose > 0)
            Console.WriteLine($"\nEpoch {epoch + 1}: {_monitor} did not improve from {Fixed(_best, 5)}");
    }

    /// <summary>Saves, creating the folder first as Keras does.</summary>
    private void Save(string path, int epochsDone)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        if (!_saveWeightsOnly)
            Model.SaveCheckpoint(path, epochsDone);
        else if (path.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".hdf5", StringComparison.OrdinalIgnoreCase))
            Model.SaveKerasWeights(path); // Keras's HDF5 layout, as Keras writes a .h5 path
        else
            Model.SaveWeights(path);
    }

    /// <summary>Python's <c>repr(float)</c> (shortest round trip, e.g. 1e-05, 0.5, 3.0), and nan, inf, -inf.</summary>
    private static string PythonRepr(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return Fixed(v, 0);
        string r = v.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        if (e < 0) return r.Contains('.') ? r : r + ".0";
        string exponent = r[(e + 1)..];
        char sign = exponent[0] == '-' ? '-' : '+';
        string digits = exponent.TrimStart('+', '-');
        return r[..e] + "e" + sign + digits.PadLeft(2, '0');
    }

    /// <summary>
    /// Python's <c>filepath.format(epoch=epoch, **logs)</c> for the fields Keras users write: <c>{name}</c> and
    /// <c>{name:spec}</c> with a spec of [0][width][.precision] and d, f or e.
    /// </summary>
    internal static string FormatPath(string filepath, int epoch, IDictionary<string, double> logs)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < filepath.Length; i++)
        {
            char ch = filepath[i];
            if ((ch == '{' || ch == '}') && i + 1 < filepath.Length && filepath[i + 1] == ch) { sb.Append(ch); i++; continue; }
            if (ch == '}') throw new ArgumentException($"The checkpoint path '{filepath}' has a single '}}': write '}}}}' for one.", nameof(filepath));
            if (ch != '{') { sb.Append(ch); continue; }
            int end = filepath.IndexOf('}', i);
            if (end < 0) throw new ArgumentException($"The checkpoint path '{filepath}' has a '{{' without its '}}'.", nameof(filepath));
            string field = filepath[(i + 1)..end];
            int colon = field.IndexOf(':');
            string name = colon < 0 ? field : field[..colon], spec = colon < 0 ? "" : field[(colon + 1)..];
            double value;
            if (name == "epoch") value = epoch;
            else if (!logs.TryGetValue(name, out value))
                throw new ArgumentException($"The checkpoint path '{filepath}' names '{name}', which is not in the logs ({string.Join(", ", ["epoch", .. logs.Keys])}).", nameof(filepath));
            sb.Append(FormatValue(value, spec, name == "epoch", filepath));
            i = end;
        }
        return sb.ToString();
    }

    private static string FormatValue(double value, string spec, bool integer, string filepath)
    {
        if (spec.Length == 0) return integer ? ((long)value).ToString(CultureInfo.InvariantCulture) : PythonRepr(value);
        if (integer && char.IsDigit(spec[^1])) spec += "d"; // {epoch:03} formats an int as {epoch:03d}
        var bad = new ArgumentException(
            $"The checkpoint path '{filepath}' uses the format spec '{spec}'; use [0][width][.precision] with d (the epoch), f or e, e.g. {{epoch:02d}} or {{val_loss:.2f}}.",
            nameof(filepath));
        char kind = spec[^1];
        string body = spec[..^1];
        bool zero = body.StartsWith('0');
        int dot = body.IndexOf('.');
        string widthText = (dot < 0 ? body : body[..dot]).TrimStart('0');
        int width = 0, precision = 6;
        if ((widthText.Length > 0 && !int.TryParse(widthText, NumberStyles.None, CultureInfo.InvariantCulture, out width)) ||
            (dot >= 0 && !int.TryParse(body[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out precision)) ||
            (kind == 'd' && (!integer || dot >= 0)))
            throw bad;
        string text = kind switch
        {
            'd' => ((long)value).ToString(CultureInfo.InvariantCulture),
            'f' or 'e' when !double.IsFinite(value) => Fixed(value, 0),
            'f' => value.ToString("F" + precision, CultureInfo.InvariantCulture),
            'e' => value.ToString((precision == 0 ? "0" : "0." + new string('0', precision)) + "e+00", CultureInfo.InvariantCulture),
            _ => throw bad,
        };
        if (text.Length >= width) return text;
        bool negative = text.StartsWith('-');
        return zero ? (negative ? "-" + text[1..].PadLeft(width - 1, '0') : text.PadLeft(width, '0')) : text.PadLeft(width);
    }
}

/// <summary>
/// Streams each epoch's logs to a CSV file, as Keras's <c>CSVLogger(filename, separator=',', append=False)</c>: a
/// header <c>epoch</c> plus the sorted log names of the first epoch, then one row per epoch (0-based); a missing
/// value is written as <c>NA</c>.
/// </summary>
public sealed class CSVLogger : Callback
{
    private readonly string _path;
    private readonly string _separator;
    private readonly bool _append;
    private StreamWriter? _writer;
    private string[]? _keys;
    private bool _writeHeader;

    /// <summary>Keras's <c>CSVLogger</c>.</summary>
    /// <param name="filename">The file; its folder must exist.</param>
    /// <param name="separator">Between fields.</param>
    /// <param name="append">Add to an existing file (the header is written only if the file is empty).</param>
    public CSVLogger(string filename, string separator = ",", bool append = false)
    {
        _path = filename ?? throw new ArgumentNullException(nameof(filename));
        _separator = separator ?? throw new ArgumentNullException(nameof(separator));
        _append = append;
    }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _writeHeader = !(_append && File.Exists(_path) && new FileInfo(_path).Length > 0);
        _keys = null;
        try
        {
            _writer?.Dispose();
            _writer = new StreamWriter(_path, _append) { AutoFlush = true, NewLine = "\r\n" }; // csv.excel's line ends
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"CSVLogger cannot write '{Path.GetFullPath(_path)}': {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        if (_writer is null) return;
        if (_keys is null)
        {
            _keys = logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            if (_writeHeader) _writer.WriteLine(string.Join(_separator, ["epoch", .. _keys]));
        }
        var fields = new string[_keys.Length + 1];
        fields[0] = epoch.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < _keys.Length; i++)
            fields[i + 1] = logs.TryGetValue(_keys[i], out double v) ? PythonString(v) : "NA";
        _writer.WriteLine(string.Join(_separator, fields));
    }

    /// <summary>Python's str(float): shortest round-trip digits, nan, inf, -inf.</summary>
    private static string PythonString(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : Fixed(v, 0);

    /// <inheritdoc/>
    public override void OnTrainEnd()
    {
        _writer?.Dispose();
        _writer = null;
    }

    internal override void OnTrainAborted() => OnTrainEnd();
}
