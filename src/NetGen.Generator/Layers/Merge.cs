using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Layers;

/// <summary>
/// The merge layers, Keras 2's <c>merge.py</c>: Add, Subtract, Multiply, Average, Maximum, Minimum (element-wise over
/// inputs of one shape) and Concatenate (joined along one axis). One rule per kind (<see cref="LayerRegistry"/>):
/// reading the attribute, the shape rule, names and the description here, the emitted calls in <c>Merge.Emit.cs</c>.
/// </summary>
internal sealed partial class MergeRule(LayerKind layerKind, int minInputs, int maxInputs) : LayerRule(layerKind)
{
    public override string KerasName => Kind.ToString().ToLowerInvariant();

    public override (int Min, int Max) InputCount => (minInputs, maxInputs);

    public override bool InputsFromArguments => true;

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Merge;

    /// <summary>Add, Subtract, Multiply, Average: their backward does not read their output (Maximum and Minimum compare with it).</summary>
    public override bool TakesActivationInPlace => Kind is LayerKind.Add or LayerKind.Subtract or LayerKind.Multiply or LayerKind.Average;

    /// <summary>Add: each input's gradient is the output's.</summary>
    public override bool PassesGradientThrough => Kind == LayerKind.Add;

    public override bool RunsInResidualEpilogue => Kind == LayerKind.Add;

    // A sum, difference, average or concatenation passes gradients on without reading the values it merged (a product,
    // maximum or minimum reads them).
    public override bool BackwardReadsInputs(ResolvedLayer layer) =>
        Kind is not (LayerKind.Add or LayerKind.Subtract or LayerKind.Average or LayerKind.Concatenate);




    public override LayerSpec Read(AttributeData data, string? name) => Read(data, Kind, name);

    public override int[]? InferShape(LayerSpec layer, int index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors) =>
        InferShape(layer, index, inputShapes, inputNames, errors, 0);

    /// <summary>Reads a merge attribute: its input names (the constructor's <c>params string[]</c>) and Concatenate's axis.</summary>
    private static LayerSpec Read(AttributeData data, LayerKind kind, string? name)
    {
        var args = data.ConstructorArguments;
        var inputs = new List<string>();
        if (args.Length == 1 && args[0].Kind == TypedConstantKind.Array && !args[0].IsNull)
            foreach (var v in args[0].Values) inputs.Add(v.Value as string ?? "");
        int axis = -1;
        foreach (var pair in data.NamedArguments)
            if (pair.Key == "Axis" && pair.Value.Value is int a) axis = a;
        return new LayerSpec(kind, name, new MergeArgs(axis), Inputs: new EquatableArray<string>(inputs.ToArray()));
    }

    /// <summary>
    /// The output shape, or null with an error: element-wise merges need one shape (NG0204), Concatenate needs every
    /// axis but its own to match and an axis inside the rank (NG0205).
    /// </summary>
    private static int[]? InferShape(LayerSpec layer, int i, int[][] shapes, string[] inputNames, List<ShapeError> errors, int _)
    {
        string kind = layer.Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        int[] first = shapes[0];
        if (layer.Kind != LayerKind.Concatenate)
        {
            for (int k = 1; k < shapes.Length; k++)
            {
                if (Same(first, shapes[k])) continue;
                errors.Add(new ShapeError(i, Descriptors.MergeShapeMismatchId, new[] { kind, index, ShapeMath.Keras(first), inputNames[0], ShapeMath.Keras(shapes[k]), inputNames[k],
                    ElementwiseFix(first, shapes[k], inputNames[0], inputNames[k]) }));
                return null;
            }
            return (int[])first.Clone();
        }

        int rank = first.Length, declared = layer.As<MergeArgs>().Axis;
        int axis = declared < 0 ? rank + declared : declared - 1; // Keras counts the batch axis as 0
        if (declared == 0 || axis < 0 || axis >= rank)
        {
            errors.Add(new ShapeError(i, Descriptors.ConcatenateMismatchId, new[] { kind, index, "axis " + I(declared), "its inputs " + ShapeMath.Keras(first) + " have axes 1 to " + I(rank) +
                " (or -1 to -" + I(rank) + ") after the batch axis 0; use Axis = -1 (the default) to join the channels" }));
            return null;
        }
        var output = (int[])first.Clone();
        long sum = first[axis];
        for (int k = 1; k < shapes.Length; k++)
        {
            var s = shapes[k];
            bool match = s.Length == rank;
            for (int d = 0; match && d < rank; d++)
                if (d != axis && s[d] != first[d]) match = false;
            if (!match)
            {
                errors.Add(new ShapeError(i, Descriptors.ConcatenateMismatchId, new[] { kind, index, "axis " + I(declared),
                    "'" + inputNames[0] + "' gives " + ShapeMath.Keras(first) + " and '" + inputNames[k] + "' gives " + ShapeMath.Keras(s) +
                    ", which differ off that axis; every other axis must match: " + ConcatFix(first, s, axis, inputNames[k]) }));
                return null;
            }
            sum += s[axis];
        }
        if (sum > int.MaxValue / 4)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, sum.ToString("N0", CultureInfo.InvariantCulture), "elements along the joined axis" }));
            return null;
        }
        output[axis] = (int)sum;
        return output;
    }

    /// <summary>Concatenate's geometry: rows (per sample) before the axis, and each input's run length from the axis on.</summary>
    public static (int Outer, int[] Widths, int Total) ConcatGeometry(int[] output, int[][] inputs, int keraxAxis)
    {
        int rank = output.Length;
        int axis = keraxAxis < 0 ? rank + keraxAxis : keraxAxis - 1;
        int outer = 1;
        for (int d = 0; d < axis; d++) outer *= output[d];
        var widths = new int[inputs.Length];
        int total = 0;
        for (int k = 0; k < inputs.Length; k++)
        {
            int w = 1;
            for (int d = axis; d < rank; d++) w *= inputs[k][d];
            widths[k] = w;
            total += w;
        }
        return (outer, widths, total);
    }

    private static string ElementwiseFix(int[] a, int[] b, string nameA, string nameB)
    {
        if (a.Length == 3 && b.Length == 3)
        {
            if (a[0] == b[0] && a[1] == b[1])
                return "give '" + nameA + "' a 1x1 Conv2D with " + I(b[2]) + " filters, or give both branches the same number of filters";
            // The ResNet case: a shortcut that skips a strided or wider block needs a projection.
            var (big, small, bigName) = a[0] >= b[0] ? (a, b, nameA) : (b, a, nameB);
            if (big[0] % small[0] == 0 && big[1] % small[1] == 0 && big[0] / small[0] == big[1] / small[1])
            {
                int stride = big[0] / small[0];
                return "give the shortcut '" + bigName + "' a 1x1 convolution with Strides = " + I(stride) + " and " + I(small[2]) +
                    " filters, e.g. [Conv2D(" + I(small[2]) + ", 1, Strides = " + I(stride) + ", Input = \"" + bigName + "\")], and add that instead";
            }
        }
        return "every input of an element-wise merge must have one shape; reshape or project one branch, or use Concatenate";
    }

    private static string ConcatFix(int[] a, int[] b, int axis, string nameB)
    {
        if (a.Length != b.Length) return "the ranks differ; Flatten or Reshape one branch";
        if (a.Length == 3 && axis == 2)
            return "give the branches the same height and width (Padding = Padding.Same and the same strides on '" + nameB + "')";
        return "make them equal, or join along the axis where they differ";
    }

    private static bool Same(int[] a, int[] b)
    {
        if (a.Length != b.Length) return false;
        for (int d = 0; d < a.Length; d++)
            if (a[d] != b[d]) return false;
        return true;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Concatenate's axis, counted as Keras does (-1 last, 1 the first axis after the batch); -1 for the other merges.</summary>
internal sealed record MergeArgs(int Axis) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Axis != -1) config.Int("axis", Axis);
    }
}
