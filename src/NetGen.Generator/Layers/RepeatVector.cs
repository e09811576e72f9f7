using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// RepeatVector(n): (features) → (n, features). It runs as n copies of the input into the output's rows, with the
/// concatenation kernels (the output is the input concatenated with itself n times, then seen as n rows); the
/// backward pass adds the n gradients. What it writes, e.g. for RepeatVector(3) on (8,):
/// <code>
///   b.ConcatenateForward(batch, 8, 24, 0, x: ..., y: ...); // and at offsets 8 and 16
///   b.ConcatenateBackward(batch, 8, 24, 0, dy: ..., dx: ..., accumulate: false); // then 8 and 16, accumulating
/// </code>
/// </summary>
internal sealed class RepeatVectorRule() : LayerRule(LayerKind.RepeatVector)
{
    public override string KerasName => "repeat_vector";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override LayerSpec Read(AttributeData data, string? name) =>
        new(Kind, name, new RepeatVectorArgs(Int(data.ConstructorArguments, 0)));

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (shape.Length != 1)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "an input of shape", ShapeMath.Keras(shape),
                "RepeatVector repeats a vector: give it (features) samples, e.g. an LSTM's last state or a Flatten" }));
            return null;
        }
        int times = layer.As<RepeatVectorArgs>().Times;
        if (times <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "n", I(times), "repeat the vector at least once, e.g. [RepeatVector(10)]" }));
            return null;
        }
        return new[] { times, shape[0] };
    }

    public override string Describe(ResolvedLayer l) => ", n " + I(l.Spec.As<RepeatVectorArgs>().Times);

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        int f = l.InputShape[0], n = l.Spec.As<RepeatVectorArgs>().Times;
        w.WriteLine("for (int k = 0; k < " + I(n) + "; k++) b.ConcatenateForward(batch, " + I(f) + ", " + I(n * f) + ", k * " + I(f) +
            ", x: Slot(training, T" + prev + ", I" + prev + ", batch), y: " + y + ");");
    }

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        int f = l.InputShape[0], n = l.Spec.As<RepeatVectorArgs>().Times;
        w.WriteLine("int dxRepeat = " + dx + ";");
        w.WriteLine("if (dxRepeat >= 0)");
        w.WriteLine("    for (int k = 0; k < " + I(n) + "; k++) b.ConcatenateBackward(batch, " + I(f) + ", " + I(n * f) + ", k * " + I(f) +
            ", dy: " + dy + ", dx: dxRepeat, accumulate: k > 0);");
    }
}

/// <summary>RepeatVector: how many times (Keras's n).</summary>
internal sealed record RepeatVectorArgs(int Times) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Times != 0) config.Int("units", Times);
    }

    public override LayerArgs WithBlockArguments(Func<int, int> set) => this with { Times = set(Times) };
}
