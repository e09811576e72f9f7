namespace NetGen.Data;

/// <summary>
/// A data file exists but its contents are not what the reader expects: a bad magic number, an
/// unknown element type, fewer bytes than its header declares, or a corrupt gzip stream.
/// The message starts with the file's path and says what is wrong.
/// </summary>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file that could not be read; it is prefixed to the message.</param>
    /// <param name="problem">What is wrong with the file, in words.</param>
    public DataFormatException(string path, string problem)
        : base(Compose(path, problem))
    {
        Path = path;
    }

    /// <summary>Creates the exception for the file at <paramref name="path"/>, wrapping the error that revealed the problem.</summary>
    /// <param name="path">The file that could not be read; it is prefixed to the message.</param>
    /// <param name="problem">What is wrong with the file, in words.</param>
    /// <param name="innerException">The lower-level error (for example the decompressor's).</param>
    public DataFormatException(string path, string problem, Exception? innerException)
        : base(Compose(path, problem), innerException)
    {
        Path = path;
    }

    /// <summary>The path of the offending file, as it was resolved when the error was raised.</summary>
    public string Path { get; }

    private static string Compose(string path, string problem) => $"{path}: {problem}";
}
