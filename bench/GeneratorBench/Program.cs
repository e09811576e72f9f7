using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetGen.Generator;

BenchmarkRunner.Run<GeneratorBenchmarks>(args: args);

/// <summary>
/// The generator on one declaration: a cold run (a new driver: parse, check, plan, emit), and the run after an edit
/// to an unrelated file and after an edit inside the [Network] class (a layer's units changed), on a driver that has
/// run once. Sequential: Dense/Conv2D stacks; branching: Inception-like blocks (three branches and a Concatenate).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class GeneratorBenchmarks
{
    [Params(5, 50, 200)] public int Layers;
    [Params("sequential", "branching")] public string Shape = "";

    private CSharpCompilation _compilation = null!;
    private GeneratorDriver _warm = null!;
    private SyntaxTree _network = null!, _unrelated = null!;
    private int _edit;

    private static readonly MetadataReference[] References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(NetGen.NetworkAttribute).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(NetGen.Model).Assembly.Location),
    ];

    /// <summary>A network of about <paramref name="layers"/> layers.</summary>
    public static string Declaration(int layers, string shape, int units = 16)
    {
        var s = new StringBuilder("using NetGen;\n\n");
        if (shape == "sequential")
        {
            s.Append("[Network(16, 16, 3)]\n");
            int convs = layers / 2;
            for (int i = 0; i < convs; i++) s.Append($"[Conv2D({units}, 3, Padding = Padding.Same, Activation = Activation.Relu)]\n");
            s.Append("[Flatten]\n");
            for (int i = convs + 1; i < layers - 1; i++) s.Append($"[Dense({units}, Activation = Activation.Relu)]\n");
            s.Append("[Dense(10, Activation = Activation.Softmax)]\n");
        }
        else
        {
            s.Append("[Network(16, 16, 3)]\n[Conv2D(8, 3, Padding = Padding.Same, Name = \"b0\")]\n");
            int blocks = Math.Max(1, (layers - 3) / 4);
            for (int b = 1; b <= blocks; b++)
            {
                string input = "b" + (b - 1);
                s.Append($"[Conv2D({units}, 1, Activation = Activation.Relu, Name = \"b{b}_1\", Input = \"{input}\")]\n");
                s.Append($"[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu, Name = \"b{b}_3\", Input = \"{input}\")]\n");
                s.Append($"[MaxPooling2D(3, Strides = 1, Padding = Padding.Same, Name = \"b{b}_p\", Input = \"{input}\")]\n");
                s.Append($"[Concatenate(\"b{b}_1\", \"b{b}_3\", \"b{b}_p\", Name = \"b{b}\")]\n");
            }
            s.Append("[GlobalAveragePooling2D]\n[Dense(10, Activation = Activation.Softmax)]\n");
        }
        s.Append("public partial class Net;\n");
        return s.ToString();
    }

    [GlobalSetup]
    public void Setup()
    {
        _network = CSharpSyntaxTree.ParseText(Declaration(Layers, Shape), path: "Net.cs");
        _unrelated = CSharpSyntaxTree.ParseText("namespace App; public static class Helper { public static int Value() => 1; }", path: "Helper.cs");
        _compilation = CSharpCompilation.Create("Bench", [_network, _unrelated], References, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        _warm = CSharpGeneratorDriver.Create(new NetGenGenerator()).RunGenerators(_compilation);
        // The declaration must be valid, or the benchmark would time the diagnostics path.
        var run = _warm.GetRunResult();
        if (run.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) || run.GeneratedTrees.Length == 0)
            throw new InvalidOperationException($"{Layers} {Shape}: " + string.Join("; ", run.Diagnostics));
    }

    [Benchmark(Description = "cold")]
    public GeneratorDriverRunResult Cold() => CSharpGeneratorDriver.Create(new NetGenGenerator()).RunGenerators(_compilation).GetRunResult();

    [Benchmark(Description = "after an unrelated edit")]
    public GeneratorDriverRunResult UnrelatedEdit()
    {
        var edited = CSharpSyntaxTree.ParseText($"namespace App; public static class Helper {{ public static int Value() => {++_edit}; }}", path: "Helper.cs");
        return _warm.RunGenerators(_compilation.ReplaceSyntaxTree(_unrelated, edited)).GetRunResult();
    }

    [Benchmark(Description = "after an edit in the network")]
    public GeneratorDriverRunResult NetworkEdit()
    {
        var edited = CSharpSyntaxTree.ParseText(Declaration(Layers, Shape, units: 16 + (++_edit % 7)), path: "Net.cs");
        return _warm.RunGenerators(_compilation.ReplaceSyntaxTree(_network, edited)).GetRunResult();
    }
}
