using System.Runtime.InteropServices;

namespace NetGen.Cpu;

/// <summary>
/// Asks Linux for 2 MB pages (transparent huge pages) under a large buffer, before its first touch. The CPU backend's
/// tensors are tens of megabytes, read in several streams at once: with 4 KB pages they need more TLB entries than the
/// core has (an Intel core's 2,048 cover 8 MB), and every few kilobytes of a stream costs a page walk. Where the
/// system's setting is <c>madvise</c> (Debian's default) nothing else gives a process such pages; under
/// <c>always</c> this changes nothing, under <c>never</c> the call is refused. Failures are ignored: the pages are a
/// speed hint, never needed.
/// </summary>
internal static unsafe partial class HugePages
{
    private const int MadvHugePage = 14;
    private const long PageBytes = 2L << 20;

    /// <summary>Smaller buffers are left alone: less than one whole 2 MB page lies inside them.</summary>
    private const long MinBytes = 2 * PageBytes;

    /// <summary>Whether to ask (on by default on Linux; <c>NETGEN_HUGEPAGES=0</c> turns it off for the process).</summary>
    internal static bool Enabled = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("NETGEN_HUGEPAGES")?.Trim() != "0";

    /// <summary>Advises the whole 2 MB pages inside [<paramref name="start"/>, start + <paramref name="bytes"/>).</summary>
    public static void Advise(void* start, long bytes)
    {
        if (!Enabled || bytes < MinBytes || start == null) return;
        long first = ((long)start + PageBytes - 1) & ~(PageBytes - 1);
        long end = ((long)start + bytes) & ~(PageBytes - 1);
        if (end <= first) return;
        try
        {
            _ = MAdvise((nint)first, (nuint)(end - first), MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Enabled = false; // not glibc-like: never ask again
        }
    }

    /// <summary>
    /// Advises a whole mapping (<see cref="VirtualMemory"/>), exactly as mapped: advising only its 2 MB-aligned middle
    /// would split it into three, and Linux cannot remap (grow) a range that spans several.
    /// </summary>
    public static void AdviseMapping(void* start, long bytes)
    {
        if (!Enabled || bytes < MinBytes || start == null) return;
        try
        {
            _ = MAdvise((nint)start, (nuint)VirtualMemory.Rounded(bytes), MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Enabled = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(nint address, nuint length, int advice);
}
