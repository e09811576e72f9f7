using System.Globalization;
using System.Security;
using System.Text;

namespace NetGen;

/// <summary>
/// The training curves the seed tutorials draw with matplotlib after <c>fit</c>: one panel per quantity (loss first,
/// then each metric), the training values as a solid line and the validation values (<c>val_</c>) as a dashed line,
/// against the epoch. Written as SVG with no dependency (it opens in any browser and renders on GitHub).
/// </summary>
public static class HistoryPlot
{
    private const int PanelWidth = 430, PanelHeight = 300, Left = 72, Right = 16, Top = 34, Bottom = 46;
    private const string TrainColour = "#1f77b4", ValidationColour = "#ff7f0e"; // matplotlib's first two colours

    /// <summary>The curves as an SVG document.</summary>
    /// <exception cref="ArgumentException">The history has no epochs.</exception>
    public static string ToSvg(History history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = history.Values.Keys.Where(k => !k.StartsWith("val_", StringComparison.Ordinal) && k != "lr")
            .OrderBy(k => k == "loss" ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal).ToList();
        if (names.Count == 0 || history.Values.All(v => v.Value.Count == 0))
            throw new ArgumentException("The history has no epochs to plot; plot what Fit returned after at least one epoch.", nameof(history));
        var svg = new StringBuilder();
        int width = PanelWidth * names.Count;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{PanelHeight}\" viewBox=\"0 0 {width} {PanelHeight}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"  <rect width=\"{width}\" height=\"{PanelHeight}\" fill=\"white\"/>\n");
        for (int p = 0; p < names.Count; p++)
        {
            history.Values.TryGetValue("val_" + names[p], out var validation);
            Panel(svg, p * PanelWidth, names[p], history.Values[names[p]], validation);
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Writes the curves to <paramref name="path"/> (an .svg file).</summary>
    public static void Save(History history, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string svg = ToSvg(history), full = Path.GetFullPath(path);
        try
        {
            File.WriteAllText(full, svg);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write the training curves '{full}': {e.Message}", e);
        }
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static void Panel(StringBuilder svg, int x0, string name, List<double> train, List<double>? validation)
    {
        int plotW = PanelWidth - Left - Right, plotH = PanelHeight - Top - Bottom, epochs = Math.Max(train.Count, validation?.Count ?? 0);
        var finite = train.Concat(validation ?? []).Where(double.IsFinite).ToList();
        double lo = finite.Count > 0 ? finite.Min() : 0, hi = finite.Count > 0 ? finite.Max() : 1;
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
        double X(int epoch) => x0 + Left + (epochs == 1 ? plotW / 2.0 : plotW * (double)epoch / (epochs - 1));
        double Y(double v) => Top + plotH * (1 - (v - lo) / (hi - lo));

        string title = SecurityElement.Escape(char.ToUpperInvariant(name[0]) + name[1..]);
        svg.Append(CultureInfo.InvariantCulture, $"  <text x=\"{F(x0 + Left + plotW / 2.0)}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">Training and validation {SecurityElement.Escape(name)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"  <rect x=\"{x0 + Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n");
        // Five value ticks with grid lines, and the epochs (1-based, as Keras prints them) along the bottom.
        for (int t = 0; t <= 4; t++)
        {
            double v = lo + (hi - lo) * t / 4, y = Y(v);
            svg.Append(CultureInfo.InvariantCulture, $"  <line x1=\"{x0 + Left}\" y1=\"{F(y)}\" x2=\"{x0 + Left + plotW}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"  <text x=\"{x0 + Left - 6}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{v.ToString("G3", CultureInfo.InvariantCulture)}</text>\n");
        }
        int step = Math.Max(1, (int)Math.Ceiling(epochs / 10.0));
        for (int e = 0; e < epochs; e += step)
            svg.Append(CultureInfo.InvariantCulture, $"  <text x=\"{F(X(e))}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{e + 1}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"  <text x=\"{F(x0 + Left + plotW / 2.0)}\" y=\"{PanelHeight - 8}\" text-anchor=\"middle\">epoch</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"  <text transform=\"translate({x0 + 14},{F(Top + plotH / 2.0)}) rotate(-90)\" text-anchor=\"middle\">{title}</text>\n");
        Curve(svg, train, X, Y, TrainColour, dashed: false);
        if (validation is not null) Curve(svg, validation, X, Y, ValidationColour, dashed: true);
        // Legend inside the panel on the right, at the top unless the curves end in the upper half (accuracy).
        double last = train.LastOrDefault(double.IsFinite);
        int lx = x0 + Left + plotW - 110, ly = Y(last) < Top + plotH / 2.0 ? Top + plotH - 30 : Top + 14;
        svg.Append(CultureInfo.InvariantCulture, $"  <line x1=\"{lx}\" y1=\"{ly}\" x2=\"{lx + 22}\" y2=\"{ly}\" stroke=\"{TrainColour}\" stroke-width=\"2\"/><text x=\"{lx + 28}\" y=\"{ly + 4}\">training</text>\n");
        if (validation is not null)
            svg.Append(CultureInfo.InvariantCulture, $"  <line x1=\"{lx}\" y1=\"{ly + 16}\" x2=\"{lx + 22}\" y2=\"{ly + 16}\" stroke=\"{ValidationColour}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/><text x=\"{lx + 28}\" y=\"{ly + 20}\">validation</text>\n");
    }

    /// <summary>A polyline through the finite values (a NaN or infinite epoch breaks the line), with a dot at each epoch.</summary>
    private static void Curve(StringBuilder svg, List<double> values, Func<int, double> x, Func<double, double> y, string colour, bool dashed)
    {
        var points = new StringBuilder();
        void Flush()
        {
            if (points.Length == 0) return;
            svg.Append(CultureInfo.InvariantCulture, $"  <polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 4\"" : "")} points=\"{points.ToString().TrimEnd()}\"/>\n");
            points.Clear();
        }
        for (int e = 0; e < values.Count; e++)
        {
            if (!double.IsFinite(values[e]))
            {
                Flush();
                continue;
            }
            points.Append(F(x(e))).Append(',').Append(F(y(values[e]))).Append(' ');
            svg.Append(CultureInfo.InvariantCulture, $"  <circle cx=\"{F(x(e))}\" cy=\"{F(y(values[e]))}\" r=\"2.5\" fill=\"{colour}\"/>\n");
        }
        Flush();
    }
}
