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
/// An extra network input (Keras's <c>keras.Input(shape, name)</c>): a layer that reads nothing. The runtime copies
/// each batch of that input's data straight into its arena slot before the forward pass, so it emits no code; the
/// arena planner places it before every other tensor so that nothing overwrites it. Its default name continues
/// Keras's <c>input_1</c> (the network's own input): <c>input_2</c>, <c>input_3</c>, ...
/// </summary>
internal sealed class InputRule() : LayerRule(LayerKind.Input)
{
    public override string KerasName => "input";

    public override (int Min, int Max) InputCount => (0, 0);

    /// <summary>Its inputs are its (absent) arguments: an <c>Input = "..."</c> on it is reported (NG0206).</summary>
    public override bool InputsFromArguments => true;

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.PassThrough;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int[] shape = args.Length > 0 && args[0].Kind == TypedConstantKind.Array && !args[0].IsNull
            ? args[0].Values.Select(v => v.Value is int i ? i : 0).ToArray()
            : Array.Empty<int>();
        return new LayerSpec(Kind, name, new InputArgs(new EquatableArray<int>(shape)));
    }

    /// <summary>The sample shape an [Input] layer declares.</summary>
    internal static int[] ShapeOf(LayerSpec layer) => layer.As<InputArgs>().Shape.AsSpan().ToArray();

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        int[] shape = ShapeOf(layer);
        string index = (i + 1).ToString(CultureInfo.InvariantCulture);
        string? problem = shape.Length == 0 ? "give the shape of one sample, e.g. [Input(10, Name = \"meta\")]"
            : Array.Exists(shape, d => d <= 0) ? "every dimension must be positive (the batch axis is not part of the shape)"
            : ShapeMath.LongProduct(shape) > int.MaxValue / 4 ? "one sample may have at most 536,870,911 elements"
            : null;
        if (problem is null) return shape;
        errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { "Input", index, "shape", ShapeMath.Tuple(shape.Length == 0 ? new[] { 0 } : shape), problem }));
        return null;
    }

    public override string Describe(ResolvedLayer layer) => "";

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string y) =>
        w.WriteLine("// Nothing to compute: the batch of this input is copied into " + y.Replace("Slot(training, ", "its slot (").Replace(", batch)", ")") + " before the pass.");

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer layer, string dy, string dx) =>
        w.WriteLine("// An input: no gradient is needed.");
}

/// <summary>An [Input] layer's sample shape.</summary>
internal sealed record InputArgs(EquatableArray<int> Shape) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Shape.Length > 0) config.Ints("sizes", Shape);
    }
}
