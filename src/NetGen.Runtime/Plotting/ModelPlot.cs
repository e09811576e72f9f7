using System.Globalization;
using System.Security;
using System.Text;

namespace NetGen;

/// <summary>
/// Keras's <c>plot_model</c>: an SVG picture of a network, drawn from the graph the generator emitted (no external
/// program). Each layer is a box with its name and type, and its input and output shapes; edges go from each layer to
/// the layers that read it. Layers are placed in rows by depth (the longest path from the input), and ordered within a
/// row by where the layers they read are, which keeps the edges of Inception- and ResNet-style graphs short.
/// </summary>
public static class ModelPlot
{
    private const double CharWidth = 7.5; // 12 px monospace is 7.2 px a character; a little room on the right
    private const int LineHeight = 16, Padding = 8, RowGap = 36, BoxGap = 24, Margin = 16;

    /// <summary>The picture as SVG text.</summary>
    public static string ToSvg(Model model, bool showShapes = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = model.Layers.Where(l => l.Info.InspectSlot >= 0).ToList(); // layers the output depends on
        var input = model.InputShape;

        // Nodes: -1 is the input layer, then the layers by index.
        var rank = new Dictionary<int, int> { [-1] = 0 };
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var l in layers)
            {
                if (!l.Info.Inputs.All(rank.ContainsKey)) continue;
                int r = l.Info.Inputs.Length == 0 ? 0 : l.Info.Inputs.Max(s => rank[s]) + 1; // an extra input sits in the first row
                if (!rank.TryGetValue(l.Index, out int old) || old != r) { rank[l.Index] = r; changed = true; }
            }
        }
        var lines = new Dictionary<int, string[]>
        {
            [-1] = Lines("input_1", "InputLayer", null, Shape(input), showShapes),
        };
        foreach (var l in layers)
        {
            string inShape = string.Join(", ", l.Info.Inputs.Select(s => Shape(s < 0 ? input : model.Layers[s].OutputShape)));
            lines[l.Index] = l.Info.Inputs.Length == 0
                ? Lines(l.Name, l.Type, null, Shape(l.OutputShape), showShapes)
                : Lines(l.Name, l.Type, l.Info.Inputs.Length > 1 ? "[" + inShape + "]" : inShape, Shape(l.OutputShape), showShapes);
        }
        var width = lines.ToDictionary(p => p.Key, p => (double)(p.Value.Max(s => s.Length) * CharWidth + 2 * Padding));
        int height = (showShapes ? 3 : 1) * LineHeight + 2 * Padding - 4;

        // An edge that skips rows passes through a narrow placeholder in each row between (as graphviz does), so it
        // runs beside the boxes of those rows instead of through them.
        var above = new Dictionary<int, List<int>>(); // node -> the nodes in the row above it that connect to it
        var edges = new List<List<int>>();            // each edge as its chain of nodes
        int nextDummy = -2;
        foreach (var l in layers)
            foreach (int s in l.Info.Inputs.Distinct())
            {
                var chain = new List<int> { s };
                for (int r = rank[s] + 1; r < rank[l.Index]; r++)
                {
                    int d = nextDummy--;
                    rank[d] = r;
                    width[d] = 2;
                    chain.Add(d);
                }
                chain.Add(l.Index);
                for (int i = 1; i < chain.Count; i++)
                {
                    if (!above.TryGetValue(chain[i], out var list)) above[chain[i]] = list = new List<int>();
                    list.Add(chain[i - 1]);
                }
                edges.Add(chain);
            }

        int rows = rank.Values.Max() + 1;
        var byRow = Enumerable.Range(0, rows).Select(r => rank.Where(p => p.Value == r).Select(p => p.Key).ToList()).ToList();
        var x = new Dictionary<int, double>();
        var y = new Dictionary<int, double>();
        double canvasWidth = byRow.Max(row => row.Sum(k => width[k]) + BoxGap * (row.Count - 1.0));
        for (int r = 0; r < rows; r++)
        {
            // Each row centred (a chain is a straight column), ordered by where the nodes above it that connect to it are.
            var row = byRow[r].OrderBy(k => above.TryGetValue(k, out var up) ? up.Average(s => x[s]) : 0).ThenBy(k => k < -1 ? int.MaxValue + (double)k : k).ToList();
            double rowWidth = row.Sum(k => width[k]) + BoxGap * (row.Count - 1);
            double left = (canvasWidth - rowWidth) / 2;
            foreach (int k in row)
            {
                x[k] = left + width[k] / 2.0;
                y[k] = r * (height + RowGap);
                left += width[k] + BoxGap;
            }
        }

        var svg = new StringBuilder();
        double w = canvasWidth + 2 * Margin, h = rows * (height + RowGap) - RowGap + 2 * Margin;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:0}\" height=\"{h:0}\" viewBox=\"0 0 {w:0} {h:0}\" font-family=\"monospace\" font-size=\"12\">\n");
        svg.Append("  <title>").Append(Escape(model.Name)).Append("</title>\n");
        svg.Append("  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n");
        svg.Append("  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        // Edges first, so the boxes cover their ends: a curve between rows, straight down through placeholders.
        foreach (var chain in edges)
        {
            var d = new StringBuilder();
            double px = Margin + x[chain[0]], py = Margin + y[chain[0]] + height;
            d.Append(CultureInfo.InvariantCulture, $"M{px:0.#},{py:0.#}");
            for (int i = 1; i < chain.Count; i++)
            {
                double nx = Margin + x[chain[i]], ny = Margin + y[chain[i]], mid = (py + ny) / 2;
                d.Append(CultureInfo.InvariantCulture, $" C{px:0.#},{mid:0.#} {nx:0.#},{mid:0.#} {nx:0.#},{ny:0.#}");
                if (chain[i] < -1)
                {
                    ny += height;
                    d.Append(CultureInfo.InvariantCulture, $" L{nx:0.#},{ny:0.#}");
                }
                (px, py) = (nx, ny);
            }
            svg.Append("  <path d=\"").Append(d).Append("\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\n");
        }
        foreach (var (k, text) in lines.OrderBy(p => p.Key))
        {
            double left = Margin + x[k] - width[k] / 2.0, top = Margin + y[k];
            bool merge = k >= 0 && model.Layers[k].Info.Inputs.Length > 1;
            string fill = k < 0 || model.Layers[k].Info.Inputs.Length == 0 ? "#e8f0fe" : merge ? "#fdf0e0" : model.Layers[k].Trainable ? "#f4f4f4" : "#e0e0e0";
            svg.Append(CultureInfo.InvariantCulture,
                $"  <g class=\"layer\"><rect x=\"{left:0.#}\" y=\"{top:0.#}\" width=\"{width[k]:0.#}\" height=\"{height}\" rx=\"4\" fill=\"{fill}\" stroke=\"#333\"/>\n");
            for (int i = 0; i < text.Length; i++)
                svg.Append(CultureInfo.InvariantCulture,
                    $"    <text x=\"{left + Padding:0.#}\" y=\"{top + Padding + 12 + i * LineHeight:0.#}\"{(i == 0 ? " font-weight=\"bold\"" : "")}>{Escape(text[i])}</text>\n");
            svg.Append("  </g>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Writes the picture to <paramref name="path"/> (Keras's <c>plot_model(model, to_file=path, show_shapes=True)</c>).</summary>
    public static void Save(Model model, string path, bool showShapes = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        try
        {
            File.WriteAllText(full, ToSvg(model, showShapes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write the model plot '{full}': {e.Message}", e);
        }
    }

    private static string[] Lines(string name, string type, string? inShape, string outShape, bool showShapes) =>
        showShapes ? [name + ": " + type, "input:  " + (inShape ?? outShape), "output: " + outShape] : [name + ": " + type];

    private static string Shape(IReadOnlyList<int> shape) => "(None" + string.Concat(shape.Select(d => ", " + d.ToString(CultureInfo.InvariantCulture))) + ")";

    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";
}

public abstract partial class Model
{
    /// <summary>Writes an SVG picture of the network (Keras's <c>plot_model</c>); see <see cref="ModelPlot"/>.</summary>
    public void PlotModel(string path, bool showShapes = true) => ModelPlot.Save(this, path, showShapes);
}
