using System.Globalization;
using NetGen.Backends;
using NetGen.Cpu;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// The CPU backend's workspace on Linux is an anonymous mapping (<see cref="VirtualMemory"/>): its pages cost memory only
/// once written, growing it keeps the kept floats and zeroes the rest, and <see cref="CpuBackend.Release"/> hands pages
/// back. Resident sizes are read from the workspace's own line of <c>/proc/self/smaps</c>, which no other test touches.
/// </summary>
public sealed class WorkspaceMemoryTests(ITestOutputHelper output)
{
    private const long MB = 1 << 20;

    [Fact]
    public void AWorkspaceCostsMemoryOnlyWhereWrittenAndReadsZeroPastWhatItKeeps()
    {
        using var b = new CpuBackend();
        b.EnsureCapacity(16 * MB, 0); // 64 MB
        var values = Num.Uniform(1000, 3);
        b.Upload(values, 12345);
        var ones = Enumerable.Repeat(1f, (int)(4 * MB)).ToArray();
        b.Upload(ones, (int)(8 * MB));          // 16 MB at [32 MB, 48 MB)
        b.Upload(values, (int)(3 * MB));        // past what the growth below keeps
        long written = Resident(b);

        b.Release((int)(8 * MB), 4 * MB);
        long released = Resident(b);
        Assert.Equal(new float[4 * MB], Get(b, (int)(8 * MB), (int)(4 * MB)));

        b.Release(12345 + 500, 100);            // inside one page: cleared, the rest of the page kept
        b.EnsureCapacity(64 * MB, 1 * MB);     // 256 MB, the first 4 MB kept
        long grown = Resident(b);
        Assert.Equal([.. values.AsSpan(0, 500), .. new float[100], .. values.AsSpan(600)], Get(b, 12345, values.Length));
        Assert.Equal(new float[values.Length], Get(b, (int)(3 * MB), values.Length));
        Assert.Equal(new float[1000], Get(b, (int)(60 * MB), 1000));
        output.WriteLine($"resident: {written / 1e6:F1} MB written, {released / 1e6:F1} MB after the release, {grown / 1e6:F1} MB grown to 256 MB");
        if (!b.IsMapped)
        {
            output.WriteLine("Not Linux (or mmap refused): the workspace is not mapped; only the values were checked.");
            return;
        }
        Assert.True(written >= 16 * 1_000_000, $"{written:N0} bytes resident after writing 16 MB");
        Assert.True(released <= written - 12 * 1_000_000, $"{released:N0} bytes resident after releasing 16 MB of {written:N0}");
        Assert.True(grown <= released + 8 * 1_000_000, $"{grown:N0} bytes resident after growing to 256 MB ({released:N0} before)");
    }

    /// <summary>
    /// A model that only predicts never writes its gradients or its optimizer's slots: on the CPU they cost no memory (the
    /// Fashion CNN's 432 MB of them were all resident before, and growing the workspace copied it).
    /// </summary>
    [Fact]
    public void AModelThatOnlyPredictsKeepsNoResidentGradientsOrOptimizerSlots()
    {
        using var m = new FourMillionWeights { Seed = 4 };
        var cpu = new CpuBackend();
        m.UseBackend(cpu);
        m.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy);
        var x = new Tensor(Num.Uniform(8 * 2000, 5), 8, 2000);
        var y = new Tensor(Enumerable.Range(0, 80).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray(), 8, 10);
        var before = m.Predict(x, 8);
        long parameters = 4L * m.CountParams();
        long predicting = Resident(cpu);
        m.TrainOnBatch(x, y);
        long training = Resident(cpu);
        output.WriteLine($"resident: {predicting / 1e6:F1} MB predicting, {training / 1e6:F1} MB after a training step ({parameters / 1e6:F1} MB of parameters)");
        Assert.NotEqual(before.Data, m.Predict(x, 8).Data); // the step trained
        if (!cpu.IsMapped)
        {
            output.WriteLine("Not Linux (or mmap refused): the workspace is not mapped; nothing to measure.");
            return;
        }
        Assert.True(predicting < 1.5 * parameters, $"{predicting:N0} bytes resident while predicting with {parameters:N0} bytes of parameters");
        Assert.True(training > 3.5 * parameters, $"{training:N0} bytes resident after a step: parameters, gradients and two slots should be");
    }

    /// <summary>Where the workspace cannot be mapped (not Linux), the realloc workspace keeps and zeroes the same floats.</summary>
    [Fact]
    public void TheReallocWorkspaceKeepsAndZeroesTheSameFloats()
    {
        bool supported = VirtualMemory.Supported;
        VirtualMemory.Supported = false; // backends other tests make meanwhile are then not mapped either: both are valid
        try
        {
            using var b = new CpuBackend();
            b.EnsureCapacity(4 * MB, 0);
            Assert.False(b.IsMapped);
            var values = Num.Uniform(1000, 7);
            b.Upload(values, 12345);
            b.Upload(values, (int)(3 * MB));
            b.Release(12345 + 500, 100);
            b.EnsureCapacity(8 * MB, 1 * MB);
            Assert.Equal([.. values.AsSpan(0, 500), .. new float[100], .. values.AsSpan(600)], Get(b, 12345, values.Length));
            Assert.Equal(new float[values.Length], Get(b, (int)(3 * MB), values.Length));
            Assert.Equal(new float[1000], Get(b, (int)(7 * MB), 1000));
        }
        finally
        {
            VirtualMemory.Supported = supported;
        }
    }

    private static float[] Get(CpuBackend b, int offset, int count)
    {
        var result = new float[count];
        b.Download(offset, result);
        return result;
    }

    /// <summary>The resident bytes of the mapping that holds the workspace's start (0 off Linux).</summary>
    private static long Resident(CpuBackend b)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        long address = b.WorkspaceAddress;
        string rss = Smaps.Field(address, "Rss:") ?? throw new InvalidOperationException($"No mapping in /proc/self/smaps holds the workspace at {address:x}.");
        return long.Parse(rss.Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
