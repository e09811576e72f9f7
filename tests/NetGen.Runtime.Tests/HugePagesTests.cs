using System.Globalization;
using System.Runtime.InteropServices;
using NetGen.Backends;
using NetGen.Cpu;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// The CPU backend asks Linux for 2 MB pages under its workspace (<see cref="HugePages"/>): the kernel records the
/// advice on the mapping (the <c>hg</c> flag of <c>/proc/self/smaps</c>), and a workspace grown in place keeps its floats.
/// </summary>
public sealed unsafe class HugePagesTests(ITestOutputHelper output)
{
    [Fact]
    public void AWorkspaceIsAdvisedAndKeepsItsValuesWhenItGrows()
    {
        using var b = new CpuBackend();
        b.EnsureCapacity(1 << 20, 0); // 4 MB
        var values = Num.Uniform(1000, 3);
        b.Upload(values, 12345);
        b.EnsureCapacity(8 << 20, 1 << 20); // 32 MB, the first 4 MB kept
        var back = new float[values.Length];
        b.Download(12345, back);
        Assert.Equal(values, back);
        if (!OperatingSystem.IsLinux())
        {
            output.WriteLine("Not Linux: the advice is not asked for; only the values were checked.");
            return;
        }
        if (!Directory.Exists("/sys/kernel/mm/transparent_hugepage"))
        {
            output.WriteLine("This kernel has no transparent huge pages: the advice is refused; only the values were checked.");
            return;
        }
        // Find the mapping that holds the middle of a freshly advised 16 MB buffer and read its flags.
        void* p = NativeMemory.AlignedAlloc(16 << 20, 64);
        try
        {
            HugePages.Advise(p, 16 << 20);
            long middle = (long)p + (8 << 20);
            string? flags = Smaps.Field(middle, "VmFlags:");
            Assert.NotNull(flags);
            Assert.Contains("hg", flags!.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }
}

/// <summary>Reads <c>/proc/self/smaps</c> (Linux): one field of the mapping that holds an address.</summary>
internal static class Smaps
{
    /// <summary>The rest of the line that starts with <paramref name="field"/> (e.g. "Rss:", "VmFlags:") in the mapping holding <paramref name="address"/>, or null.</summary>
    public static string? Field(long address, string field)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && long.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out long start) &&
                long.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out long end))
                inside = address >= start && address < end;
            else if (inside && line.StartsWith(field, StringComparison.Ordinal))
                return line[field.Length..];
        }
        return null;
    }
}
