using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace NetGen.Tests;

/// <summary>History.Plot's SVG: one panel per quantity, curves whose points follow the values, NaN epochs left out.</summary>
public class HistoryPlotTests
{
    private static History Make(params (string Name, double[] Values)[] series)
    {
        var h = new History();
        foreach (var (name, values) in series)
            foreach (var v in values) h.Add(name, v);
        return h;
    }

    private static List<(double X, double Y)[]> Polylines(XDocument svg, string colour) =>
        svg.Descendants().Where(e => e.Name.LocalName == "polyline" && (string?)e.Attribute("stroke") == colour)
            .Select(e => ((string)e.Attribute("points")!).Split(' ').Select(p => p.Split(','))
                .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture))).ToArray())
            .ToList();

    [Fact]
    public void Each_quantity_gets_a_panel_with_training_and_validation_curves_that_follow_the_values()
    {
        var history = Make(("loss", [1.0, 0.5, 0.4, 0.45]), ("val_loss", [1.1, 0.7, 0.6, 0.65]),
            ("accuracy", [0.5, 0.8, 0.85, 0.9]), ("val_accuracy", [0.4, 0.7, 0.8, 0.82]), ("lr", [1e-3, 1e-3, 1e-4, 1e-4]));
        var svg = XDocument.Parse(HistoryPlot.ToSvg(history));
        var titles = svg.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).Where(t => t.StartsWith("Training and", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Training and validation loss", "Training and validation accuracy"], titles);
        var train = Polylines(svg, "#1f77b4");
        var validation = Polylines(svg, "#ff7f0e");
        Assert.Equal(2, train.Count);
        Assert.Equal(2, validation.Count);
        Assert.All(train.Concat(validation), line => Assert.Equal(4, line.Length));
        // Loss panel: x grows with the epoch; a smaller value is drawn higher (smaller y); one scale for both curves.
        var loss = train[0];
        Assert.True(loss[0].X < loss[1].X && loss[1].X < loss[2].X);
        Assert.True(loss[1].Y > loss[0].Y);   // 0.5 below 1.0 in value: lower on screen, a larger y
        Assert.True(loss[2].Y > loss[1].Y);
        Assert.True(loss[3].Y < loss[2].Y);   // 0.45 above 0.4
        Assert.True(validation[0][0].Y < loss[0].Y); // val 1.1 above train 1.0
        // The accuracy panel lies to the right of the loss panel.
        Assert.True(train[1][0].X > loss[^1].X);
    }

    [Fact]
    public void A_NaN_epoch_breaks_the_line_and_an_empty_history_is_an_error()
    {
        var svg = XDocument.Parse(HistoryPlot.ToSvg(Make(("loss", [1.0, 0.8, double.NaN, 0.5, 0.4]))));
        var lines = Polylines(svg, "#1f77b4");
        Assert.Equal([2, 2], lines.Select(l => l.Length));
        Assert.Throws<ArgumentException>(() => HistoryPlot.ToSvg(new History()));
    }

    [Fact]
    public void Plot_writes_the_picture_of_a_real_fit()
    {
        var rng = new Random(2);
        var x = new Tensor(Enumerable.Range(0, 64 * 12).Select(_ => (float)rng.NextDouble()).ToArray(), 64, 12);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 64).Select(i => (float)(i % 4)).ToArray(), 64), 4);
        using var model = new SequentialChainNet();
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        var history = model.Fit(x, y, epochs: 3, batchSize: 16, validationSplit: 0.25f, verbose: 0);
        string path = Path.Combine(Path.GetTempPath(), "netgen-history-" + Guid.NewGuid().ToString("N") + ".svg");
        try
        {
            history.Plot(path);
            var svg = XDocument.Load(path);
            Assert.Equal(4, Polylines(svg, "#1f77b4").Concat(Polylines(svg, "#ff7f0e")).Count());
            Assert.Matches(new Regex("validation accuracy"), File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
        var e = Assert.Throws<IOException>(() => history.Plot(Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "h.svg")));
        Assert.Contains("no-such-folder-", e.Message);
    }
}
