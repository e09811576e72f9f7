using System.Globalization;
using System.Text;
using ILGPU.Runtime.CPU;
using Microsoft.CodeAnalysis;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Generator.Tests;

/// <summary>
/// Random branching declarations (valid and invalid: forward references, unknown names, self-reads, merges of
/// mismatched shapes, unused layers, fusible chains inside branches, merges of the network input with itself) through
/// the generator: each ends in generated code that compiles without warnings, or in NG diagnostics alone, never in an
/// exception (NG9999), a lost file or a compiler error in generated code. A failing seed is printed; keep it as a
/// regression case in <see cref="Regressions"/>.
/// </summary>
public class GraphFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Regressions = [];

    internal static string RandomNetwork(int seed)
    {
        var rng = new Random(seed);
        bool image = rng.Next(2) == 0;
        var sb = new StringBuilder("using NetGen;\n\n");
        // Blocks used by some networks: one with a per-use filter count and the block's input read twice.
        sb.Append("[Block]\n[Dense(BlockArg.Filters, Activation = Activation.Relu)]\n[Dense(BlockArg.Filters)]\n[Add(\"input\", \"dense_1\")]\ninternal sealed class DenseBlock;\n\n");
        sb.Append("[Block]\n[Conv2D(BlockArg.Filters, BlockArg.KernelSize, Strides = BlockArg.Strides, Padding = Padding.Same)]\n[BatchNormalization]\n[ReLU]\ninternal sealed class ConvBlock;\n\n");
        int networkAt = sb.Length; // the [Network] line goes here once the layer names are known
        int count = rng.Next(2, 12);
        var names = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string name = "l" + i.ToString(CultureInfo.InvariantCulture);
            string Pick() => rng.Next(12) == 0 ? "missing" : rng.Next(5) == 0 || names.Count == 0 ? "input"
                : rng.Next(20) == 0 ? "l" + (i + rng.Next(1, 3)).ToString(CultureInfo.InvariantCulture) // forward reference (maybe a cycle)
                : names[rng.Next(names.Count)];
            string input = rng.Next(3) == 0 ? $", Input = \"{Pick()}\"" : "";
            string frozen = rng.Next(10) == 0 ? ", Trainable = false" : "";
            string attr;
            int kind = rng.Next(image ? 15 : 10);
            if (rng.Next(14) == 0)
            {
                // A second input: sometimes with a bad shape or an Input property (NG0017, NG0206).
                string shape = image ? $"8, 8, {rng.Next(0, 4)}" : rng.Next(1, 6).ToString(CultureInfo.InvariantCulture);
                attr = $"Input({shape}, Name = \"{name}\"{(rng.Next(15) == 0 ? input : "")})";
            }
            else if (kind == (image ? 14 : 9))
            {
                // A block use: Filters sometimes missing or wrong for the block's Add, strides and kernel sizes at random.
                string block = image && rng.Next(2) == 0 ? "ConvBlock" : "DenseBlock";
                string filters = rng.Next(8) == 0 ? "" : ", Filters = " + rng.Next(1, 5).ToString(CultureInfo.InvariantCulture);
                string strides = block == "ConvBlock" ? $", Strides = {rng.Next(1, 3)}, KernelSize = {rng.Next(1, 4)}" : "";
                attr = $"UseBlock(typeof({block}){filters}{strides}, Name = \"{name}\"{input}{frozen})";
            }
            else if (kind < 3)
            {
                string merge = new[] { "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate" }[rng.Next(7)];
                int n = rng.Next(10) == 0 ? 1 : rng.Next(2, 4);
                var inputs = Enumerable.Range(0, n).Select(_ => "\"" + Pick() + "\"");
                string axis = merge == "Concatenate" && rng.Next(4) == 0 ? ", Axis = " + rng.Next(-4, 4).ToString(CultureInfo.InvariantCulture) : "";
                attr = $"{merge}({string.Join(", ", inputs)}{axis}, Name = \"{name}\"{frozen})";
            }
            else
            {
                attr = (image ? kind : kind % 9) switch
                {
                    3 => $"Dense({rng.Next(1, 6)}, Activation = Activation.{(rng.Next(2) == 0 ? "Relu" : "Tanh")}",
                    4 => "Dense(" + rng.Next(1, 6).ToString(CultureInfo.InvariantCulture),
                    5 => "Activation(Activation.Sigmoid",
                    6 => "Dropout(0.25",
                    7 => "BatchNormalization(",
                    8 => "LeakyReLU(0.2",
                    9 => $"Conv2D({rng.Next(1, 5)}, {rng.Next(1, 4)}, Padding = Padding.{(rng.Next(3) == 0 ? "Valid" : "Same")}",
                    10 => "MaxPooling2D(2, Strides = 1, Padding = Padding.Same",
                    11 => "Flatten(",
                    12 => "GlobalAveragePooling2D(",
                    _ => "ReLU(",
                };
                bool noArgs = attr.EndsWith('(');
                attr += (noArgs ? "" : ", ") + $"Name = \"{name}\"{input}{frozen})";
            }
            sb.Append('[').Append(attr).Append("]\n");
            names.Add(name);
        }
        sb.Append(image ? "[Flatten(Name = \"out_flat\")]\n" : "").Append("[Dense(3, Activation = Activation.Softmax, Name = \"out\")]\n");
        // Sometimes several outputs: the last layer and others (maybe unknown, an input, or listed twice: NG0208).
        string outputs = rng.Next(4) != 0 || names.Count == 0 ? ""
            : ", Outputs = new[] { \"out\", " + string.Join(", ", Enumerable.Range(0, rng.Next(1, 3)).Select(_ => "\"" + (rng.Next(10) == 0 ? "nope" : names[rng.Next(names.Count)]) + "\"")) + " }";
        sb.Insert(networkAt, (image ? "[Network(8, 8, 3" : "[Network(12") + outputs + ")]\n");
        sb.Append("public partial class Net;\n");
        return sb.ToString();
    }

    /// <summary>
    /// A network on (6, 4) sequences of recurrent layers that return their states and start from others' (maybe an
    /// LSTM's state_c given to a GRU, a missing ReturnState, wrong counts or units, with Bidirectional), merges and Dense.
    /// </summary>
    internal static string RandomSequenceNetwork(int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("using NetGen;\n\n");
        int networkAt = sb.Length;
        int count = rng.Next(2, 9);
        var names = new List<string>();
        var states = new List<string>();
        for (int i = 0; i < count; i++)
        {
            string name = "l" + i.ToString(CultureInfo.InvariantCulture);
            string Pick() => rng.Next(30) == 0 ? "missing" : rng.Next(5) == 0 || names.Count == 0 ? "input" : names[rng.Next(names.Count)];
            string input = rng.Next(3) == 0 ? $", Input = \"{Pick()}\"" : "";
            string attr;
            int kind = rng.Next(8);
            if (kind < 4)
            {
                string cell = new[] { "LSTM", "GRU", "SimpleRNN", "LSTM" }[kind];
                int units = rng.Next(8) == 0 ? 3 : 2;
                string sequences = rng.Next(2) == 0 ? ", ReturnSequences = true" : "";
                string state = rng.Next(2) == 0 ? ", ReturnState = true" : "";
                // Mostly states that exist, in the right number; sometimes anything.
                int wanted = cell == "LSTM" ? 2 : 1;
                string initial = rng.Next(2) == 0 || (states.Count == 0 && rng.Next(6) != 0) ? "" : ", InitialState = new[] { " + string.Join(", ", Enumerable.Range(0, rng.Next(4) == 0 ? rng.Next(1, 3) : wanted)
                    .Select(k => "\"" + (states.Count > 0 && rng.Next(6) != 0 ? states[rng.Next(states.Count)]
                        : Pick() + (rng.Next(5) == 0 ? "" : rng.Next(2) == 0 ? ".state_h" : ".state_c")) + "\"")) + " }";
                if (state.Length > 0)
                {
                    states.Add(name + ".state_h");
                    if (cell == "LSTM") states.Add(name + ".state_c");
                }
                string bidirectional = rng.Next(8) == 0 ? ", Bidirectional = BidirectionalMerge.Concat" : "";
                attr = $"{cell}({units}{sequences}{state}{initial}{bidirectional}, Name = \"{name}\"{input})";
            }
            else if (kind == 4)
            {
                var inputs = Enumerable.Range(0, 2).Select(_ => "\"" + (states.Count > 0 && rng.Next(3) == 0 ? states[rng.Next(states.Count)] : Pick()) + "\"");
                attr = $"{(rng.Next(2) == 0 ? "Add" : "Concatenate")}({string.Join(", ", inputs)}, Name = \"{name}\")";
            }
            else if (kind == 5) attr = $"Input({(rng.Next(2) == 0 ? "2" : "6, 4")}, Name = \"{name}\")";
            else attr = $"Dense(2, Activation = Activation.Tanh, Name = \"{name}\"{input})";
            sb.Append('[').Append(attr).Append("]\n");
            names.Add(name);
        }
        sb.Append("[Dense(3, Activation = Activation.Softmax, Name = \"out\")]\n");
        string outputs = rng.Next(4) != 0 ? "" : ", Outputs = new[] { \"out\", \"" + (states.Count > 0 && rng.Next(2) == 0 ? states[rng.Next(states.Count)] : names[rng.Next(names.Count)]) + "\" }";
        sb.Insert(networkAt, "[Network(6, 4" + outputs + ")]\n");
        sb.Append("public partial class Net;\n");
        return sb.ToString();
    }

    /// <summary>
    /// A valid branching network on 6x6x4 images: same-padded convolutions and per-pixel Dense layers (some with an
    /// activation), batch norms,
    /// activation layers, dropout and noise layers, stride-1 poolings, and merges (Add, Subtract, Multiply of tensors
    /// with the same channels, Concatenate of any), each reading any earlier tensor, so that every fusion meets every
    /// neighbour: activations into convolutions, batch norms and merges, dropouts into batch norms, folds, activations
    /// after poolings, Adds into convolutions and Dense layers (with and without batch norms, read once or more, either
    /// input first). <paramref name="flat"/>: on vectors of 12, Dense layers instead of convolutions, no poolings.
    /// </summary>
    internal static string RandomResidualNetwork(int seed, bool flat)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder(flat ? "using NetGen;\n\n[Network(12)]\n" : "using NetGen;\n\n[Network(6, 6, 4)]\n");
        var names = new List<(string Name, int Channels)> { ("input", flat ? 12 : 4) };
        int count = rng.Next(3, 12);
        for (int i = 0; i < count; i++)
        {
            string name = "l" + i.ToString(CultureInfo.InvariantCulture);
            var from = rng.Next(3) == 0 ? names[rng.Next(names.Count)] : names[^1];
            string input = from.Name == names[^1].Name ? "" : $", Input = \"{from.Name}\"";
            int channels = from.Channels;
            string attr;
            switch (rng.Next(10))
            {
                case 0:
                case 1:
                case 2:
                    channels = flat ? (rng.Next(3) == 0 ? 16 : 12) : rng.Next(3) == 0 ? 8 : 4;
                    string activation = rng.Next(4) == 0 ? $", Activation = Activation.{new[] { "Relu", "Tanh", "Elu" }[rng.Next(3)]}" : "";
                    attr = flat || rng.Next(4) == 0 // a Dense layer (on each pixel's channels)
                        ? $"Dense({channels}{activation}, Name = \"{name}\"{input})"
                        : $"Conv2D({channels}, {(rng.Next(3) == 0 ? 1 : 3)}, Padding = Padding.Same{activation}, Name = \"{name}\"{input})";
                    break;
                case 3:
                    attr = $"BatchNormalization(Name = \"{name}\"{input})";
                    break;
                case 4:
                    attr = new[] { "ReLU(", "LeakyReLU(0.1, ", "Activation(Activation.Tanh, ", "ELU(1.0, ", "Dropout(0.2, ", "GaussianNoise(0.1, ",
                        "SpatialDropout2D(0.3, " }[rng.Next(flat ? 6 : 7)] + $"Name = \"{name}\"{input})";
                    break;
                case 5 when flat:
                    goto case 3;
                case 5:
                    attr = (rng.Next(2) == 0 ? "MaxPooling2D" : "AveragePooling2D") + $"(2, Strides = 1, Padding = Padding.Same, Name = \"{name}\"{input})";
                    break;
                case 6 when rng.Next(2) == 0:
                    var any = names[rng.Next(names.Count)];
                    attr = $"Concatenate(\"{from.Name}\", \"{any.Name}\", Name = \"{name}\")";
                    channels = from.Channels + any.Channels;
                    break;
                default:
                    var same = names.Where(n => n.Channels == from.Channels && n.Name != from.Name).ToList();
                    if (same.Count == 0) goto case 3;
                    var other = same[rng.Next(same.Count)];
                    var (a, b) = rng.Next(2) == 0 ? (from.Name, other.Name) : (other.Name, from.Name);
                    string merge = rng.Next(4) switch { 0 => "Subtract", 1 => "Multiply", _ => "Add" };
                    attr = $"{merge}(\"{a}\", \"{b}\", Name = \"{name}\")";
                    break;
            }
            sb.Append('[').Append(attr).Append("]\n");
            names.Add((name, channels));
        }
        sb.Append(flat ? "" : "[GlobalAveragePooling2D(Name = \"pool\")]\n")
            .Append("[Dense(3, Activation = Activation.Softmax, Name = \"out\")]\npublic partial class Net;\n");
        return sb.ToString();
    }

    [Fact]
    public void RandomGraphsCompileOrGiveOnlyNetGenDiagnostics() =>
        CheckAll(Enumerable.Range(1, 600).Select(i => RandomNetwork(i)).Concat(Regressions).ToList(), 100);

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // vectors: Dense layers instead of convolutions and poolings
    public void RandomBranchingNetworksPredictWhatTheirLayersAsDeclaredDo(bool flat)
    {
        int fused = 0, generated = 0;
        double worst = 0;
        for (int seed = 1; seed <= 150; seed++)
        {
            string source = RandomResidualNetwork(seed, flat);
            var result = GeneratorTest.Run([source], runtime: true, out var compilation);
            // Warnings only (a branch nothing reads: NG0203).
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, $"seed {seed}: {string.Join("; ", errors.Take(3))}\n{source}");
            var problems = compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            Assert.True(problems.Count == 0, $"seed {seed}: {string.Join("; ", problems.Take(3))}\n{source}");
            generated++;
            if (result.GeneratedTrees[0].ToString().Contains(", residual: ", StringComparison.Ordinal)) fused++;
            worst = Math.Max(worst, FusedAgainstDeclared(compilation, seed, source, flat));
        }
        output.WriteLine($"{generated} random branching {(flat ? "vector" : "image")} networks compile and predict within {worst:E1} of their layers as declared; " +
            $"{fused} run an Add in a convolution's or Dense layer's epilogue in inference");
        Assert.True(fused >= 15, $"only {fused} of {generated} networks fuse an Add");
    }

    /// <summary>
    /// The first branching networks of each kind run on the ILGPU backend (ILGPU's CPU accelerator, one for all) with the
    /// CPU backend's weights after a training step: the same predictions to float rounding, folds and fused Adds included.
    /// </summary>
    [Fact]
    public void RandomBranchingNetworksPredictTheSameOnIlgpu()
    {
        using var context = ILGPU.Context.Create(b => b.CPU(new CPUDevice(4, 1, 1)));
        using var accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel);
        double worst = 0;
        int fused = 0;
        foreach (bool flat in new[] { false, true })
            for (int seed = 1; seed <= 12; seed++)
            {
                string source = RandomResidualNetwork(seed, flat);
                var result = GeneratorTest.Run([source], runtime: true, out var compilation);
                if (result.GeneratedTrees[0].ToString().Contains(", residual: ", StringComparison.Ordinal)) fused++;
                var type = Load(compilation, seed);
                using var cpu = (NetGen.Model)Activator.CreateInstance(type)!;
                using var gpu = (NetGen.Model)Activator.CreateInstance(type)!;
                cpu.UseBackend(new NetGen.Backends.CpuBackend());
                gpu.UseBackend(new NetGen.Backends.IlgpuBackend(accelerator));
                foreach (var m in new[] { cpu, gpu }) m.Compile(new NetGen.Adam(0.01f), NetGen.Loss.CategoricalCrossEntropy);
                var (x, y) = Batch(seed, flat);
                cpu.TrainOnBatch(x, y);
                gpu.SetWeights(cpu.GetWeights());
                var a = cpu.Predict(x, 3).Data;
                var b = gpu.Predict(x, 3).Data;
                var declared = gpu.PredictLayers(x, ["out"], 3)[0].Data;
                for (int i = 0; i < a.Length; i++)
                {
                    double d = Math.Max(Math.Abs(a[i] - b[i]), Math.Abs(b[i] - declared[i]));
                    Assert.True(d < 1e-4, $"seed {seed} ({(flat ? "vectors" : "images")}): ILGPU {b[i]}, its layers as declared {declared[i]}, CPU {a[i]}\n{source}");
                    worst = Math.Max(worst, d);
                }
            }
        output.WriteLine($"24 random branching networks on ILGPU's CPU accelerator ({fused} with a fused Add): within {worst:E1} of the CPU " +
            "backend and of their layers as declared");
        Assert.True(fused > 0, "no network with an Add in a layer's epilogue");
    }

    private static Type Load(Compilation compilation, int seed)
    {
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, $"seed {seed}: {string.Join("; ", emitted.Diagnostics.Take(3))}");
        return System.Reflection.Assembly.Load(image.ToArray()).GetType("Net")!;
    }

    /// <summary>Three random samples of the network's input and one-hot labels of its 3 classes.</summary>
    private static (NetGen.Tensor X, NetGen.Tensor Y) Batch(int seed, bool flat)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, flat ? 3 * 12 : 3 * 144).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = flat ? new NetGen.Tensor(values, 3, 12) : new NetGen.Tensor(values, 3, 6, 6, 4);
        return (x, new NetGen.Tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], 3, 3));
    }

    /// <summary>
    /// Loads a generated network, trains it a step (the batch norms' statistics move), and compares Predict (folded, the
    /// Adds in the convolutions) with PredictLayers of the output (every layer as declared); returns the largest difference.
    /// </summary>
    private static double FusedAgainstDeclared(Compilation compilation, int seed, string source, bool flat)
    {
        using var model = (NetGen.Model)Activator.CreateInstance(Load(compilation, seed))!;
        model.UseBackend(new NetGen.Backends.CpuBackend());
        model.Compile(new NetGen.Adam(0.01f), NetGen.Loss.CategoricalCrossEntropy);
        var (x, y) = Batch(seed, flat);
        model.TrainOnBatch(x, y);
        var fused = model.Predict(x, 3).Data;
        var declared = model.PredictLayers(x, ["out"], 3)[0].Data;
        double worst = 0;
        for (int i = 0; i < fused.Length; i++) worst = Math.Max(worst, Math.Abs(fused[i] - declared[i]));
        Assert.True(worst < 1e-4, $"seed {seed}: Predict differs from the declared layers by {worst}\n{source}");
        return worst;
    }

    [Fact]
    public void RandomRecurrentStateGraphsCompileOrGiveOnlyNetGenDiagnostics() =>
        CheckAll(Enumerable.Range(1, 300).Select(i => RandomSequenceNetwork(i)).ToList(), 30);

    /// <summary>
    /// The valid recurrent-state networks with one output, trained a step: Predict (inference kernels) and PredictLayers
    /// (the layers as declared, on the training slots) give the same predictions.
    /// </summary>
    [Fact]
    public void RandomRecurrentStateGraphsPredictWhatTheirLayersAsDeclaredDo()
    {
        int checkedCount = 0;
        double worst = 0;
        for (int seed = 1; seed <= 300 && checkedCount < 60; seed++)
        {
            string source = RandomSequenceNetwork(seed);
            var result = GeneratorTest.Run([source], runtime: true, out var compilation);
            if (result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) || source.Contains("Outputs = ", StringComparison.Ordinal) ||
                source.Contains("[Input(", StringComparison.Ordinal)) continue; // one input and one output
            using var model = (NetGen.Model)Activator.CreateInstance(Load(compilation, seed))!;
            model.UseBackend(new NetGen.Backends.CpuBackend());
            model.Compile(new NetGen.Adam(0.01f), NetGen.Loss.CategoricalCrossEntropy);
            var random = new Random(seed);
            var x = new NetGen.Tensor(Enumerable.Range(0, 3 * 24).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), 3, 6, 4);
            // One-hot labels shaped as the output (a class per sample, or per step of a sequence output).
            var shape = model.Predict(x, 3).Shape;
            int size = 1;
            foreach (int d in shape) size *= d;
            var labels = new float[size];
            for (int r = 0; r < labels.Length / shape[^1]; r++) labels[r * shape[^1] + r % shape[^1]] = 1;
            model.TrainOnBatch(x, new NetGen.Tensor(labels, [.. shape]));
            var fused = model.Predict(x, 3).Data;
            var declared = model.PredictLayers(x, ["out"], 3)[0].Data;
            for (int i = 0; i < fused.Length; i++)
            {
                double d = Math.Abs(fused[i] - declared[i]);
                Assert.True(d < 1e-4, $"seed {seed}: Predict {fused[i]}, the layers as declared {declared[i]}\n{source}");
                worst = Math.Max(worst, d);
            }
            checkedCount++;
        }
        output.WriteLine($"{checkedCount} random recurrent-state networks predict within {worst:E1} of their layers as declared");
        Assert.True(checkedCount >= 30, $"only {checkedCount} valid one-output networks");
    }

    private void CheckAll(List<string> seeds, int atLeast)
    {
        int generated = 0, rejected = 0;
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal); // the first error of each rejected network
        foreach (var (source, index) in seeds.Select((s, i) => (s, i)))
        {
            var result = GeneratorTest.Run([source], runtime: true, out var compilation);
            var ngErrors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.DoesNotContain(result.Diagnostics, d => d.Id == "NG9999" || !d.Id.StartsWith("NG", StringComparison.Ordinal));
            var compilerProblems = compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
            if (ngErrors.Count == 0)
            {
                Assert.True(result.GeneratedTrees.Length == 1, $"seed {index + 1}: no generated file without an error\n{source}");
                Assert.True(compilerProblems.Count == 0, $"seed {index + 1}: {string.Join("; ", compilerProblems.Take(3))}\n{source}");
                generated++;
            }
            else
            {
                Assert.True(result.GeneratedTrees.Length == 0, $"seed {index + 1}: code generated despite {ngErrors[0].Id}\n{source}");
                Assert.True(compilerProblems.All(d => d.Severity < DiagnosticSeverity.Error), $"seed {index + 1}: {string.Join("; ", compilerProblems.Take(3))}\n{source}");
                rejected++;
                reasons[ngErrors[0].Id] = reasons.GetValueOrDefault(ngErrors[0].Id) + 1;
            }
        }
        output.WriteLine($"{seeds.Count} random graphs: {generated} generated code that compiles, {rejected} rejected with NG diagnostics only (first errors: " +
            string.Join(", ", reasons.Select(r => r.Key + " " + r.Value)) + ")");
        Assert.True(generated > atLeast && rejected > atLeast, $"the generator should see both kinds: {generated} generated, {rejected} rejected");
    }
}
