using System.Runtime.InteropServices;

namespace NetGen.Cpu;

/// <summary>
/// The CPU backend's workspace as an anonymous mapping on Linux (mmap, mremap, madvise). Pages of a fresh mapping read 0
/// and cost no memory until first written, so the parts of a workspace a run never touches (a model only predicting
/// never writes its gradients or Adam's slots) stay free; growing it remaps the pages instead of copying them, so it
/// never holds the old and the new workspace at once; and zeroing a region hands its pages back. Elsewhere, or where
/// the calls are refused, the backend keeps its realloc workspace (<see cref="Supported"/> is false).
/// </summary>
internal static unsafe partial class VirtualMemory
{
    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20; // Linux's values on x64 and arm64
    private const int MremapMayMove = 1;
    private const int MadvDontNeed = 4;
    private const long PageBytes = 4096;

    /// <summary>Whether the workspace is mapped (Linux on x64 or arm64; <c>NETGEN_MMAP=0</c> turns it off for the process).</summary>
    internal static bool Supported = OperatingSystem.IsLinux() &&
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 &&
        Environment.GetEnvironmentVariable("NETGEN_MMAP")?.Trim() != "0";

    /// <summary>Bytes a mapping of <paramref name="bytes"/> takes: whole pages.</summary>
    public static long Rounded(long bytes) => (bytes + PageBytes - 1) & ~(PageBytes - 1);

    /// <summary>A new mapping of at least <paramref name="bytes"/> (page aligned, reading 0), or null if it is refused.</summary>
    public static void* Map(long bytes)
    {
        try
        {
            nint p = MMap(0, (nuint)Rounded(bytes), ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            return p == -1 ? null : (void*)p;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Supported = false; // no such C library here: never ask again
            return null;
        }
    }

    /// <summary>
    /// The mapping at <paramref name="block"/> grown from <paramref name="oldBytes"/> to <paramref name="newBytes"/>, its
    /// contents kept (it may move; the new pages read 0), or null if it is refused (the old mapping is then unchanged).
    /// </summary>
    public static void* Grow(void* block, long oldBytes, long newBytes)
    {
        nint p = MRemap((nint)block, (nuint)Rounded(oldBytes), (nuint)Rounded(newBytes), MremapMayMove);
        return p == -1 ? null : (void*)p;
    }

    /// <summary>Unmaps a mapping made by <see cref="Map"/> or <see cref="Grow"/>.</summary>
    public static void Unmap(void* block, long bytes) => _ = MUnmap((nint)block, (nuint)Rounded(bytes));

    /// <summary>
    /// Sets [<paramref name="start"/>, start + <paramref name="bytes"/>) of a mapping to 0: the whole pages inside are handed
    /// back (they read 0 and cost nothing until written again), the partial pages at its ends are cleared.
    /// </summary>
    public static void Zero(void* start, long bytes)
    {
        if (bytes <= 0) return;
        long from = (long)start, to = from + bytes;
        long first = (from + PageBytes - 1) & ~(PageBytes - 1), last = to & ~(PageBytes - 1);
        if (last <= first || MAdvise((nint)first, (nuint)(last - first), MadvDontNeed) != 0)
        {
            NativeMemory.Clear(start, (nuint)bytes);
            return;
        }
        NativeMemory.Clear(start, (nuint)(first - from));
        NativeMemory.Clear((void*)last, (nuint)(to - last));
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MMap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mremap", SetLastError = true)]
    private static partial nint MRemap(nint oldAddress, nuint oldSize, nuint newSize, int flags);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int MUnmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nint address, nuint length, int advice);
}
