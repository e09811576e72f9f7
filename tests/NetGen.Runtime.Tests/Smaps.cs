using System.Globalization;

namespace NetGen.Tests;

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
