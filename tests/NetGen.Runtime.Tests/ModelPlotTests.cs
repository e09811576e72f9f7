using System.Runtime.CompilerServices;
using System.Xml.Linq;
using Xunit;

namespace NetGen.Tests;

/// <summary>plot_model: the SVG is well-formed, has one box per layer and one edge per connection, places every layer
/// below what it reads without overlapping boxes, and matches its committed baseline (rewrite with NETGEN_UPDATE_BASELINES=1).</summary>
public class ModelPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static string BaselinePath(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Baselines", name + ".svg");

    [Fact]
    public void InceptionModuleDiagram()
    {
        using var m = new GradInceptionNet();
        string svg = ModelPlot.ToSvg(m);
        var doc = XDocument.Parse(svg);
        var boxes = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "layer").ToList();
        Assert.Equal(m.Layers.Count + 1, boxes.Count); // the input layer too
        var texts = boxes.Select(b => b.Elements(Svg + "text").First().Value).ToList();
        Assert.Contains("input_1: InputLayer", texts);
        Assert.Contains("concatenate: Concatenate", texts);
        Assert.Contains("input:  [(None, 5, 5, 2), (None, 5, 5, 3), (None, 5, 5, 2)]", svg);
        // Edges: input -> b1, b3, pool; pool -> bp; b1, b3, bp -> concatenate; then a chain of two.
        Assert.Equal(3 + 1 + 3 + 2, doc.Descendants(Svg + "path").Count(p => p.Attribute("marker-end") is not null));

        // Every box lies below the boxes it reads, and no two boxes overlap.
        var rects = boxes.Select(b => b.Element(Svg + "rect")!).Select(r => (X: D(r, "x"), Y: D(r, "y"), W: D(r, "width"), H: D(r, "height"))).ToList();
        for (int i = 0; i < rects.Count; i++)
            for (int j = i + 1; j < rects.Count; j++)
            {
                var (a, b) = (rects[i], rects[j]);
                bool apart = a.X + a.W <= b.X || b.X + b.W <= a.X || a.Y + a.H <= b.Y || b.Y + b.H <= a.Y;
                Assert.True(apart, $"boxes {texts[i]} and {texts[j]} overlap");
            }
        foreach (var p in doc.Descendants(Svg + "path").Where(p => p.Attribute("marker-end") is not null))
        {
            var numbers = ((string)p.Attribute("d")!).Split([' ', ',', 'M', 'C', 'L'], StringSplitOptions.RemoveEmptyEntries).Select(double.Parse).ToArray();
            Assert.True(numbers[^1] > numbers[1], "an edge goes down, from a layer to one that reads it");
        }

        string baseline = BaselinePath("InceptionModule");
        if (Environment.GetEnvironmentVariable("NETGEN_UPDATE_BASELINES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(baseline)!);
            File.WriteAllText(baseline, svg);
        }
        Assert.Equal(File.ReadAllText(baseline).ReplaceLineEndings("\n"), svg);
    }

    [Fact]
    public void FrozenLayersAreShadedAndShapesCanBeLeftOut()
    {
        using var m = new NewHeadNet();
        string svg = ModelPlot.ToSvg(m, showShapes: false);
        Assert.DoesNotContain("output:", svg);
        Assert.Equal(2, svg.Split("fill=\"#e0e0e0\"").Length - 1); // conv and bn are frozen
        string path = Path.Combine(Path.GetTempPath(), "netgen-plot-" + Guid.NewGuid().ToString("N") + ".svg");
        try
        {
            m.PlotModel(path);
            Assert.StartsWith("<svg", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
        var e = Assert.Throws<IOException>(() => m.PlotModel(Path.Combine(path, "no", "such", "dir.svg")));
        Assert.Contains("Cannot write the model plot", e.Message);
    }

    private static double D(XElement e, string name) => double.Parse((string)e.Attribute(name)!, System.Globalization.CultureInfo.InvariantCulture);
}
