using System.Collections.Generic;
using System.Globalization;
using System.Text;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Emit;

/// <summary>
/// Keras 2's classic <c>model.summary()</c> table (TF 2.0-2.6, <c>print_summary</c>): width 65, columns ending
/// at 29, 55 and 65, each field cut at its column end with a space before the next column.
/// </summary>
internal static class SummaryFormatter
{
    private static readonly int[] Positions = { 29, 55, 65 };

    public static string Format(ResolvedNetwork network)
    {
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
        lines.Add("Trainable params: " + Thousands(network.TrainableCount));
        lines.Add("Non-trainable params: " + Thousands(network.ParameterCount - network.TrainableCount));
        lines.Add(new string('_', 65));
        return string.Join("\n", lines);
    }

    public static string Thousands(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    private static string Row(params string[] fields)
    {
        var line = new StringBuilder();
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) line.Length--; // the last character before a column becomes the separating space
            if (i > 0) line.Append(' ');
            line.Append(fields[i]);
            if (line.Length > Positions[i]) line.Length = Positions[i];
            line.Append(' ', Positions[i] - line.Length);
        }
        return line.ToString();
    }
}
