using System.Collections.Generic;
using System.Globalization;
using System.Text;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Emit;

/// <summary>
/// Keras 2's classic <c>model.summary()</c> table (TF 2.0-2.6, <c>print_summary</c>): width 65, columns ending
/// at 29, 55 and 65, each field cut at its column end with a space before the next column. A network whose layers
/// name their inputs gets the functional model's table instead: width 98, columns ending at 32, 53, 65 and 98, an
/// <c>input_1 (InputLayer)</c> row, and a "Connected to" column with one <c>name[0][0]</c> line per input.
/// </summary>
internal static class SummaryFormatter
{
    private static readonly int[] Positions = { 29, 55, 65 };
    private static readonly int[] FunctionalPositions = { 32, 53, 65, 98 };

    public static string Format(ResolvedNetwork network)
    {
        if (network.IsGraph) return FormatFunctional(network);
        var lines = new List<string>
        {
            "Model: \"" + network.Spec.ModelName + "\"",
            new string('_', 65),
            Row("Layer (type)", "Output Shape", "Param #"),
            new string('=', 65),
        };
        var layers = network.Layers;
        for (int i = 0; i < layers.Length; i++)
        {
            var l = layers[i];
            lines.Add(Row(l.Name + " (" + l.TypeName + ")", ShapeMath.Keras(l.OutputShape.AsSpan()),
                l.ParamCount.ToString(CultureInfo.InvariantCulture)));
            lines.Add(new string(i == layers.Length - 1 ? '=' : '_', 65));
        }
        lines.Add("Total params: " + Thousands(network.ParameterCount));
        lines.Add("Trainable params: " + Thousands(Trainable(network)));
        lines.Add("Non-trainable params: " + Thousands(network.ParameterCount - Trainable(network)));
        lines.Add(new string('_', 65));
        return string.Join("\n", lines);
    }

    private static string FormatFunctional(ResolvedNetwork network)
    {
        const int width = 98;
        var lines = new List<string>
        {
            "Model: \"" + network.Spec.ModelName + "\"",
            new string('_', width),
            Row(FunctionalPositions, "Layer (type)", "Output Shape", "Param #", "Connected to"),
            new string('=', width),
            Row(FunctionalPositions, "input_1 (InputLayer)", "[" + ShapeMath.Keras(network.Spec.InputShape.AsSpan()) + "]", "0", ""),
        };
        // Running order, then any layer the output does not depend on (NG0203), which still holds parameters.
        var rows = new List<ResolvedLayer>();
        foreach (int i in network.Order) rows.Add(network.Layers[i]);
        foreach (var l in network.Layers)
            if (!l.Live) rows.Add(l);
        foreach (var l in rows)
        {
            lines.Add(new string('_', width));
            var sources = new List<string>();
            for (int k = 0; k < l.Inputs.Length; k++)
                sources.Add((l.InputLayer(k) < 0 ? "input_1" : network.Layers[l.InputLayer(k)].Name) + "[0][0]");
            bool isInput = l.Inputs.Length == 0; // an extra input: Keras shows it as an InputLayer with its shape in brackets
            lines.Add(Row(FunctionalPositions, l.Name + " (" + l.TypeName + ")",
                isInput ? "[" + ShapeMath.Keras(l.OutputShape.AsSpan()) + "]" : ShapeMath.Keras(l.OutputShape.AsSpan()),
                l.ParamCount.ToString(CultureInfo.InvariantCulture), isInput ? "" : sources[0]));
            for (int k = 1; k < sources.Count; k++) lines.Add(Row(FunctionalPositions, "", "", "", sources[k]));
        }
        lines.Add(new string('=', width));
        lines.Add("Total params: " + Thousands(network.ParameterCount));
        lines.Add("Trainable params: " + Thousands(Trainable(network)));
        lines.Add("Non-trainable params: " + Thousands(network.ParameterCount - Trainable(network)));
        lines.Add(new string('_', width));
        return string.Join("\n", lines);
    }

    /// <summary>Trainable parameters of the layers not declared <c>Trainable = false</c> (moving statistics never are).</summary>
    private static int Trainable(ResolvedNetwork network)
    {
        int n = 0;
        foreach (var l in network.Layers)
            if (l.Spec.Trainable) n += l.TrainableCount;
        return n;
    }

    public static string Thousands(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    private static string Row(params string[] fields) => Row(Positions, fields);

    private static string Row(int[] positions, params string[] fields)
    {
        var line = new StringBuilder();
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) line.Length--; // the last character before a column becomes the separating space
            if (i > 0) line.Append(' ');
            line.Append(fields[i]);
            if (line.Length > positions[i]) line.Length = positions[i];
            line.Append(' ', positions[i] - line.Length);
        }
        return line.ToString();
    }
}
