using PureHDF;
using PureHDF.VOL.Native;

namespace NetGen;

// Keras 2's HDF5 weights files (model.save_weights('w.h5') and the model_weights group of model.save('m.h5')), read
// and written with PureHDF, in the layout of Keras's hdf5_format.py: root attributes layer_names, backend and
// keras_version; one group per layer with a weight_names attribute ("dense/kernel:0", ...) and a dataset at each
// weight name (so "dense/kernel:0" is dataset "kernel:0" in the layer group's sub-group "dense").
public abstract partial class Model
{
    /// <summary>The Keras version written into <c>keras_version</c>.</summary>
    private const string KerasVersion = "2.12.0";

    /// <summary>
    /// Writes every layer's weights in Keras 2's HDF5 layout (<c>model.save_weights("w.h5")</c>), which Keras loads
    /// with <c>model.load_weights("w.h5")</c> into the same architecture, by order or <c>by_name=True</c>. Weight names
    /// are <c>{layer}/{weight}:0</c>; layers without weights are listed with no weights, as Keras lists them.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written; the message names it. An existing file is replaced
    /// only once the new one is complete.</exception>
    public void SaveKerasWeights(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        var file = new H5File();
        var layerNames = new List<string>();
        foreach (var layer in Layers)
        {
            layerNames.Add(layer.Name);
            var weights = layer.GetWeights();
            var group = new H5Group();
            var names = new string[weights.Length];
            for (int k = 0; k < weights.Length; k++)
            {
                var info = layer.Info.Weights[k];
                names[k] = layer.Name + "/" + info.Name + ":0";
                if (!group.TryGetValue(layer.Name, out var inner)) group[layer.Name] = inner = new H5Group();
                ((H5Group)inner)[info.Name + ":0"] = new H5Dataset(weights[k], fileDims: info.Shape.Select(d => (ulong)d).ToArray());
            }
            group.Attributes = new() { ["weight_names"] = names };
            file[layer.Name] = group;
        }
        file.Attributes = new()
        {
            ["layer_names"] = layerNames.ToArray(),
            ["backend"] = "tensorflow",
            ["keras_version"] = KerasVersion,
        };
        // Into memory, then through the weights file's writer: a temporary flushed to the disk and moved into place.
        var bytes = new MemoryStream();
        file.Write(bytes, new H5WriteOptions(DefaultStringLength: 0));
        WeightsFile.WriteAtomically(full, bytes.ToArray(), "Keras weights file");
    }

    /// <summary>
    /// Loads weights from a Keras 2 HDF5 file: one written by <c>model.save_weights("w.h5")</c>, a full model saved with
    /// <c>model.save("m.h5")</c> (its <c>model_weights</c> group), or <see cref="SaveKerasWeights"/>. By default the
    /// layers with weights are matched in order, as Keras's <c>load_weights</c>; with <paramref name="byName"/>, by
    /// layer name (<c>by_name=True</c>), layers without a namesake keeping theirs. Float64 weights are converted to
    /// float32. Returns the names of the layers loaded.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not HDF5 or not in Keras's layout, the layer counts differ
    /// (by order), or a layer's weights differ in number or shape (the message names the layer and both shapes; with
    /// <paramref name="byName"/> and <paramref name="skipMismatch"/> such layers are skipped). Nothing is changed then.</exception>
    public IReadOnlyList<string> LoadKerasWeights(string path, bool byName = false, bool skipMismatch = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"No Keras weights file at '{full}'.", full);
        List<(string Name, (string Name, ulong[] Shape, float[] Values)[] Weights)> theirs;
        try
        {
            using var file = H5File.OpenRead(full);
            IH5Group root = file;
            if (!file.AttributeExists("layer_names") && file.LinkExists("model_weights")) root = file.Group("model_weights");
            theirs = [];
            foreach (string name in StringList(root, "layer_names", full))
            {
                var group = root.Group(name);
                var weightNames = StringList(group, "weight_names", full);
                var weights = new (string, ulong[], float[])[weightNames.Length];
                for (int k = 0; k < weightNames.Length; k++)
                {
                    var dataset = group.Dataset(weightNames[k]);
                    var shape = dataset.Space.Dimensions;
                    float[] values = dataset.Type.Class == H5DataTypeClass.FloatingPoint && dataset.Type.Size == 8
                        ? Array.ConvertAll(dataset.Read<double[]>(), v => (float)v)
                        : dataset.Type.Class == H5DataTypeClass.FloatingPoint && dataset.Type.Size == 4
                            ? dataset.Read<float[]>()
                            : throw new InvalidDataException($"'{full}': weight '{weightNames[k]}' of layer '{name}' holds {dataset.Type.Class} values of {dataset.Type.Size} bytes, not float32 or float64.");
                    weights[k] = (weightNames[k], shape, values);
                }
                if (weights.Length > 0) theirs.Add((name, weights));
            }
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{full}' is not a Keras HDF5 weights file that can be read: {e.Message}", e);
        }

        var ours = Layers.Where(l => l.Info.Weights.Length > 0).ToList();
        var plan = new List<(Layer Target, float[][] Values)>();
        if (!byName && theirs.Count != ours.Count)
            throw new InvalidDataException($"'{full}' holds weights for {theirs.Count} layers ({string.Join(", ", theirs.Select(t => t.Name))}) but {Info.Name} has {ours.Count} layers with weights ({string.Join(", ", ours.Select(l => l.Name))}); load by name (byName: true) if they share names.");
        for (int i = 0; i < (byName ? ours.Count : theirs.Count); i++)
        {
            var layer = ours[i];
            int at = byName ? theirs.FindIndex(t => t.Name == layer.Name) : i;
            if (at < 0) continue;
            var (theirName, weights) = theirs[at];
            var expected = layer.Info.Weights;
            bool same = expected.Length == weights.Length &&
                expected.Zip(weights).All(p => p.First.Shape.Select(d => (ulong)d).SequenceEqual(p.Second.Shape));
            if (!same)
            {
                if (byName && skipMismatch) continue;
                string Shapes(IEnumerable<IEnumerable<ulong>> shapes) => string.Join(" ", shapes.Select(s => "(" + string.Join(", ", s) + ")"));
                throw new InvalidDataException($"Layer '{layer.Name}' of {Info.Name} has weights {Shapes(expected.Select(w => w.Shape.Select(d => (ulong)d)))} " +
                    $"but layer '{theirName}' in '{full}' has {Shapes(weights.Select(w => w.Shape))}; nothing was loaded." +
                    (byName ? " Pass skipMismatch: true to skip such layers." : " Check that the file comes from the same architecture, or load by name."));
            }
            plan.Add((layer, weights.Select(w => w.Values).ToArray()));
        }
        foreach (var (target, values) in plan) target.SetWeights(values);
        return plan.Select(p => p.Target.Name).ToArray();
    }

    /// <summary>
    /// A string-list attribute as Keras's <c>load_attributes_from_hdf5_group</c> reads it: the attribute itself, or,
    /// for lists Keras split to stay under HDF5's 64 KiB attribute limit, <c>name0</c>, <c>name1</c>, ...
    /// </summary>
    private static string[] StringList(IH5Object group, string name, string path)
    {
        if (group.AttributeExists(name)) return Read(group.Attribute(name));
        var parts = new List<string>();
        for (int chunk = 0; group.AttributeExists(name + chunk); chunk++) parts.AddRange(Read(group.Attribute(name + chunk)));
        if (parts.Count == 0 && !group.AttributeExists(name + "0"))
            throw new InvalidDataException($"'{path}' is not in Keras's weights layout: {(group.Name is "/" or "" ? "the root" : "group '" + group.Name + "'")} has no '{name}' attribute.");
        return [.. parts];

        // Keras writes a layer without weights as np.asarray([]): an empty float64 array, not strings.
        static string[] Read(IH5Attribute attribute) =>
            attribute.Type.Class != H5DataTypeClass.String && attribute.Space.Dimensions.Aggregate(1UL, (a, b) => a * b) == 0 ? []
            : attribute.Space.Dimensions.Length == 0 ? [attribute.Read<string>()]
            : attribute.Read<string[]>().Select(s => s.TrimEnd('\0')).ToArray();
    }
}
