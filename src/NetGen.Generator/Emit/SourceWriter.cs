using System.Text;

namespace NetGen.Generator.Emit;

/// <summary>Writes C# with 4-space indentation, one statement per line.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    public void Indent() => _indent++;
    public void Unindent() => _indent--;

    public void WriteLine() => _sb.Append('\n');

    public void WriteLine(string line)
    {
        if (line.Length > 0) _sb.Append(' ', 4 * _indent);
        _sb.Append(line).Append('\n');
    }

    public void OpenBlock(string header)
    {
        WriteLine(header);
        WriteLine("{");
        _indent++;
    }

    public void CloseBlock(string suffix = "")
    {
        _indent--;
        WriteLine("}" + suffix);
    }

    public override string ToString() => _sb.ToString();
}
