using System.Diagnostics;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// The NetGen package as a user installs it: `dotnet pack` of src/NetGen.Runtime into a local folder feed, then a fresh
/// console project in a temporary folder (outside the repository, so none of its build settings apply) that runs
/// `dotnet add package NetGen`, declares a network, builds and trains it, and a declaration error that the packaged
/// generator reports as a compiler error.
/// </summary>
[Collection(NonParallelCollection.Name)] // it runs the .NET CLI, which wants the machine to itself
public sealed class PackageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netgen-package-" + Guid.NewGuid().ToString("N"));

    public PackageTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NetGen.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("NetGen.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs the .NET CLI without the test host's MSBuild settings; returns the exit code and all output.</summary>
    private static (int Code, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var key in start.Environment.Keys.ToArray())
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd() + stderr.Result;
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(" ", args)} ran past 5 minutes:\n{output}");
        }
        return (process.ExitCode, output);
    }

    private const string Program = """
        using NetGen;

        var rng = new Random(1);
        var x = new Tensor(Enumerable.Range(0, 32 * 4).Select(_ => (float)rng.NextDouble()).ToArray(), 32, 4);
        var y = Utils.ToCategorical(new Tensor(Enumerable.Range(0, 32).Select(i => (float)(i % 3)).ToArray(), 32), 3);
        using var model = new Tiny();
        model.Compile(new Adam(0.01f), Loss.CategoricalCrossEntropy, Metric.Accuracy);
        float first = model.TrainOnBatch(x, y);
        var history = model.Fit(x, y, epochs: 30, batchSize: 8, verbose: 0);
        Console.WriteLine($"loss {first:R} -> {history["loss"][^1]:R}, {model.CountParams()} params");

        [Network(4)]
        [Dense(8, Activation = Activation.Relu)]
        [Dense(3, Activation = Activation.Softmax)]
        public partial class Tiny;
        """;

    [Fact]
    public void A_fresh_project_installs_the_package_and_trains_with_the_packaged_generator()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        string feed = Path.Combine(_dir, "feed"), version = "0.1.0-test" + DateTime.UtcNow.Ticks;
        // PackageVersion, not Version: the assemblies are not rebuilt, only the package gets a version of its own.
        var pack = Dotnet(RepositoryRoot(), "pack", "src/NetGen.Runtime", "-c", configuration, "-o", feed, "-p:PackageVersion=" + version);
        Assert.True(pack.Code == 0, pack.Output);
        File.WriteAllText(Path.Combine(_dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="netgen-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var created = Dotnet(_dir, "new", "console", "-n", "App", "-o", "app");
        Assert.True(created.Code == 0, created.Output);
        string app = Path.Combine(_dir, "app");
        var added = Dotnet(app, "add", "package", "NetGen", "--version", version);
        Assert.True(added.Code == 0, added.Output);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);

        var run = Dotnet(app, "run", "-c", "Release");
        Assert.True(run.Code == 0, run.Output);
        var line = run.Output.Split('\n').Single(l => l.StartsWith("loss ", StringComparison.Ordinal));
        var parts = line.Split(' ');
        Assert.True(float.Parse(parts[3].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture) < float.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), line);
        Assert.Contains("67 params", line);

        // A shape mistake is a compiler error from the packaged generator, on the attribute.
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using NetGen;

            Console.WriteLine(typeof(Bad).Name);

            [Network(6, 6, 1)]
            [Conv2D(2, 9)]
            [Flatten]
            [Dense(3)]
            public partial class Bad;
            """);
        var build = Dotnet(app, "build", "-c", "Release");
        Assert.NotEqual(0, build.Code);
        Assert.Contains("Program.cs(6,2): error NG0104", build.Output);
        Assert.Contains("use Padding = Padding.Same", build.Output);
    }
}
