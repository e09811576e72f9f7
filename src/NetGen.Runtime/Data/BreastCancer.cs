using System.Globalization;

namespace NetGen.Data;

/// <summary>
/// The Breast Cancer Wisconsin (Diagnostic) data set shipped in the repository's <c>data/breast-cancer</c> (scikit-
/// learn's <c>load_breast_cancer</c>): 569 samples of 30 features, labels 0 malignant and 1 benign.
/// </summary>
public static class BreastCancer
{
    private const string FileName = "breast_cancer.csv";

    /// <summary>Reads the CSV: X (569, 30) and Y (569) with 0 malignant, 1 benign.</summary>
    /// <param name="path">The CSV file; null searches for <c>data/breast-cancer/breast_cancer.csv</c> from the current directory and the application's up.</param>
    /// <exception cref="FileNotFoundException">No file at the path, or none found (the places searched are listed).</exception>
    /// <exception cref="DataFormatException">A line that is not 30 numbers and a 0/1 label, or a count that does not match the header.</exception>
    public static (Tensor X, Tensor Y) Load(string? path = null)
    {
        string file = path is null ? Find() : Path.GetFullPath(path);
        if (!File.Exists(file)) throw new FileNotFoundException($"The breast cancer CSV '{file}' was not found.", file);
        var lines = File.ReadAllLines(file);
        if (lines.Length < 2) throw new DataFormatException(file, "the file has no samples.");
        var header = lines[0].Split(',');
        if (header.Length < 2 || !int.TryParse(header[0], out int samples) || !int.TryParse(header[1], out int features))
            throw new DataFormatException(file, "the first line must be scikit-learn's header: samples, features, class names.");
        if (lines.Length - 1 < samples)
            throw new DataFormatException(file, $"the header declares {samples} samples but the file holds {lines.Length - 1}.");
        var x = new float[samples * features];
        var y = new float[samples];
        for (int s = 0; s < samples; s++)
        {
            var cells = lines[s + 1].Split(',');
            if (cells.Length != features + 1)
                throw new DataFormatException(file, $"line {s + 2} has {cells.Length} values, not {features} features and a label.");
            for (int f = 0; f <= features; f++)
            {
                if (!float.TryParse(cells[f], NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                    throw new DataFormatException(file, $"line {s + 2}, value {f + 1} ('{cells[f]}') is not a number.");
                if (f < features) x[s * features + f] = v;
                else if (v is 0 or 1) y[s] = v;
                else throw new DataFormatException(file, $"line {s + 2} has label {cells[f]}; labels are 0 (malignant) and 1 (benign).");
            }
        }
        return (new Tensor(x, samples, features), new Tensor(y, samples));
    }

    private static string Find()
    {
        var searched = new List<string>();
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "data", "breast-cancer", FileName);
                if (File.Exists(candidate)) return candidate;
                searched.Add(candidate);
            }
        throw new FileNotFoundException("The breast cancer CSV was not found; pass its path to BreastCancer.Load(path). Places searched:\n  " +
            string.Join("\n  ", searched.Distinct()));
    }
}
