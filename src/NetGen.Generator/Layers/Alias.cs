using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Layers;

/// <summary>
/// Flatten and Reshape: the output is the input's memory seen with another shape (row-major, so NHWC order), so
/// nothing runs in either pass; the arena gives the output the input's slot, and the gradient passes through.
/// Reshape takes a target with at most one -1, which is inferred (Keras 2 <c>Reshape(target_shape)</c>).
/// </summary>
internal sealed class AliasRule(LayerKind layerKind) : LayerRule(layerKind)
{
    public override string KerasName => Kind == LayerKind.Flatten ? "flatten" : "reshape";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.PassThrough;

    public override bool OutputAliasesInput => true;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int[] target = Kind == LayerKind.Reshape && args.Length > 0 && args[0].Kind == TypedConstantKind.Array && !args[0].IsNull
            ? args[0].Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : Array.Empty<int>();
        return new LayerSpec(Kind, name, Kind == LayerKind.Reshape ? new ReshapeArgs(new EquatableArray<int>(target)) : NoArgs.Instance);
    }

    public override int[]? InferShape(LayerSpec layer, int index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors) =>
        Kind == LayerKind.Flatten
            ? new[] { ShapeMath.Product(inputShapes[0]) }
            : Reshape(layer, inputShapes[0], index, (index + 1).ToString(CultureInfo.InvariantCulture), errors);

    public override string Describe(ResolvedLayer layer) => "";

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string y) =>
        w.WriteLine("// Nothing to compute: the output aliases the input.");

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string dy, string dx) =>
        w.WriteLine("// Nothing to compute: the gradient passes through unchanged.");

    private static int[]? Reshape(LayerSpec layer, int[] shape, int i, string index, List<ShapeError> errors)
    {
        int[] target = layer.As<ReshapeArgs>().Target.AsSpan().ToArray();
        string targetText = ShapeMath.Tuple(target.Length == 0 ? new[] { 0 } : target);
        if (target.Length == 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadReshapeDimensionId, new[] { index, "()", "give at least one dimension, e.g. [Reshape(28, 28, 1)]" }));
            return null;
        }
        int unknowns = 0;
        foreach (int d in target)
        {
            if (d == -1) unknowns++;
            else if (d <= 0)
            {
                errors.Add(new ShapeError(i, Descriptors.BadReshapeDimensionId, new[] { index, targetText, "every dimension must be positive, or -1 for the one to infer" }));
                return null;
            }
        }
        if (unknowns > 1)
        {
            errors.Add(new ShapeError(i, Descriptors.ReshapeTwoUnknownsId, new[] { index, targetText }));
            return null;
        }
        long count = ShapeMath.LongProduct(shape);
        long known = 1;
        foreach (int d in target)
        {
            if (d == -1) continue;
            known *= d; // known <= count < 2^31 before this step and d < 2^31: no overflow
            if (known > count)
            {
                errors.Add(new ShapeError(i, Descriptors.ReshapeMismatchId, new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText,
                    (unknowns == 1 ? "the known dimensions multiply to more than " : "more than ") + Invariant(count) + (unknowns == 1 ? "" : " elements") }));
                return null;
            }
        }
        if (unknowns == 1)
        {
            if (count % known != 0)
            {
                errors.Add(new ShapeError(i, Descriptors.ReshapeMismatchId, new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText,
                    "the known dimensions multiply to " + Invariant(known) + ", which does not divide " + Invariant(count) }));
                return null;
            }
            int[] resolved = (int[])target.Clone();
            resolved[Array.IndexOf(resolved, -1)] = (int)(count / known);
            return resolved;
        }
        if (known != count)
        {
            errors.Add(new ShapeError(i, Descriptors.ReshapeMismatchId, new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText, Invariant(known) + " elements" }));
            return null;
        }
        return target;
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Reshape's target shape (empty for Flatten).</summary>
internal sealed record ReshapeArgs(EquatableArray<int> Target) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Target.Length > 0) config.Ints("target", Target);
    }
}
