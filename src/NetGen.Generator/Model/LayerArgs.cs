using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NetGen.Generator.Model;

/// <summary>
/// A layer's own declared arguments: one sealed record per kind, or per family of kinds that read the same arguments
/// (the convolutions, the poolings, the recurrent layers). Each rule in <c>Layers/</c> reads its attribute into its
/// record, declared in the rule's file, and reads its fields back by name (<see cref="LayerSpec.As{T}"/>), so that no
/// field means one thing for one kind and another for the next. Values stay as declared; shape inference reports the
/// invalid ones.
/// Records are immutable and value-equal (their arrays are <see cref="EquatableArray{T}"/>): the generator caches on them.
/// </summary>
internal abstract record LayerArgs
{
    /// <summary>
    /// Adds the arguments that differ from their defaults to <c>LayerInfo.Config</c> (what ONNX export reads), as
    /// <c>key=value</c> pairs: units, activation and use_bias first (<see cref="ConfigWriter.Common"/>), then the kind's own.
    /// </summary>
    public abstract void WriteConfig(ConfigWriter config);

    /// <summary>
    /// These arguments with every integer a block's [UseBlock] may set (<c>BlockArg.Filters</c>, <c>Strides</c>,
    /// <c>KernelSize</c>: units or filters, kernel sizes, strides) passed through <paramref name="set"/>.
    /// </summary>
    public virtual LayerArgs WithBlockArguments(Func<int, int> set) => this;
}

/// <summary>The <c>key=value</c> pairs of a layer's <c>LayerInfo.Config</c>, written by its <see cref="LayerArgs"/>.</summary>
internal sealed class ConfigWriter
{
    private readonly List<string> _parts = new();

    public void Int(string key, int value) => _parts.Add(key + "=" + value.ToString(CultureInfo.InvariantCulture));

    public void Real(string key, double value) => _parts.Add(key + "=" + value.ToString("R", CultureInfo.InvariantCulture));

    public void Ints(string key, IEnumerable<int> values) =>
        _parts.Add(key + "=" + string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture))));

    public void Text(string key, string value) => _parts.Add(key + "=" + value);

    /// <summary>Units, the activation's name (when declared and not linear) and <c>use_bias=0</c>: the order ONNX export reads them in.</summary>
    public void Common(int units, int activation, bool useBias)
    {
        if (units != 0) Int("units", units);
        if (activation is > 0 and < 15) Text("activation", Emit.Emitter.ActivationNames[activation]);
        if (!useBias) Text("use_bias", "0");
    }

    public override string ToString() => string.Join(";", _parts);
}

/// <summary>A layer without arguments of its own (Flatten, ActivityRegularization: its factors are the regularizers every layer has).</summary>
internal sealed record NoArgs : LayerArgs
{
    public static readonly NoArgs Instance = new();

    public override void WriteConfig(ConfigWriter config) { }
}

/// <summary>
/// A 2-D window: kernel or pool size, strides (a pooling's 0: its pool size), dilation and padding.
/// </summary>
/// <param name="KernelH">Kernel or pool height (a 1-D layer's length).</param>
/// <param name="KernelW">Kernel or pool width (1 for a 1-D layer).</param>
/// <param name="Strides">The vertical stride, and the horizontal one unless <paramref name="StridesW"/> is given.</param>
/// <param name="StridesW">The horizontal stride when declared apart (Keras's strides=(h, w)); null: <paramref name="Strides"/>.</param>
/// <param name="Dilation">The dilation rate (1 for the poolings).</param>
/// <param name="Padding">0 valid, 1 same, 2 causal (Conv1D only).</param>
internal sealed record WindowArgs(int KernelH, int KernelW, int Strides, int? StridesW, int Dilation, int Padding)
{
    /// <summary>The horizontal stride: <see cref="StridesW"/> where declared apart, else <see cref="Strides"/>.</summary>
    public int WidthStrides => StridesW ?? Strides;

    /// <summary>The strides as the generated comments show them: "2", or "2x1" when they differ.</summary>
    public string StridesText => Strides == WidthStrides
        ? Strides.ToString(CultureInfo.InvariantCulture)
        : Strides.ToString(CultureInfo.InvariantCulture) + "x" + WidthStrides.ToString(CultureInfo.InvariantCulture);

    public WindowArgs WithBlockArguments(Func<int, int> set) =>
        this with { KernelH = set(KernelH), KernelW = set(KernelW), Strides = set(Strides) };

    /// <summary><c>kernel</c> (with a window), <c>strides</c> (with a window, or when declared), <c>dilation</c>, <c>padding</c>.</summary>
    public void WriteConfig(ConfigWriter config)
    {
        bool window = KernelH != 0 || KernelW != 0;
        if (window) config.Ints("kernel", new[] { KernelH, KernelW });
        // Always with a window (a pooling's default 0 means its pool size, so 1 must be stated).
        if (window || Strides != 1 || StridesW is not null) config.Ints("strides", new[] { Strides, WidthStrides });
        if (Dilation != 1) config.Int("dilation", Dilation);
        if (Padding != 0) config.Int("padding", Padding);
    }
}
