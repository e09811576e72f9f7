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
/// Embedding (input_dim, output_dim, embeddings_initializer): integer indices in, one learned vector each out, an axis
/// appended (Keras 2). It reads the network's input or an [Input] layer (NG0109 otherwise), whose values the model
/// checks are whole numbers in [0, input_dim). The spec keeps input_dim in <c>KernelH</c> and output_dim in
/// <c>Units</c>. What it writes, e.g. for Embedding(1000, 64) on (20,):
/// <code>
///   b.EmbeddingForward(batch * 20, 64, 1000, x: Slot(training, T0, I0, batch), table: p + P1_Embeddings, y: ...);
///   b.EmbeddingBackward(batch * 20, 64, 1000, x: Train(T0, batch), dy: Train(D0, batch), dTable: g + P1_Embeddings);
/// </code>
/// </summary>
internal sealed class EmbeddingRule() : LayerRule(LayerKind.Embedding)
{
    public override string KerasName => "embedding";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override int IndexLimit(LayerSpec layer) => layer.As<EmbeddingArgs>().InputDim;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        var args = data.ConstructorArguments;
        int init = 9; // NetGen.Initializer.RandomUniform
        foreach (var pair in data.NamedArguments)
            if (pair.Key == "EmbeddingsInitializer" && pair.Value.Value is int v) init = v;
        return new LayerSpec(Kind, name, new EmbeddingArgs(Int(args, 0), Int(args, 1), init), Regularizers: ReadRegularizers(data));
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var a = layer.As<EmbeddingArgs>();
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (a.InputDim <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "input dimension", I(a.InputDim),
                "give the number of distinct indices (the vocabulary size), e.g. [Embedding(10000, 64)]" }));
            return null;
        }
        if (a.OutputDim <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { name, index, I(a.OutputDim) }));
            return null;
        }
        var shape = inputShapes[0];
        var output = new int[shape.Length + 1];
        shape.CopyTo(output, 0);
        output[shape.Length] = a.OutputDim;
        return output;
    }

    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var a = layer.As<EmbeddingArgs>();
        return new[] { new WeightSlot("embeddings", "Embeddings", new EquatableArray<int>(new[] { a.InputDim, a.OutputDim }), a.EmbeddingsInitializer, a.InputDim, a.OutputDim) };
    }

    public override string Describe(ResolvedLayer l) => ", " + I(Args(l).InputDim) + " x " + I(Args(l).OutputDim);

    private static EmbeddingArgs Args(ResolvedLayer l) => l.Spec.As<EmbeddingArgs>();

    private static string Rows(ResolvedLayer l) => "batch * " + I(l.InputSize);

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        w.WriteLine("b.EmbeddingForward(" + Rows(l) + ", " + I(Args(l).OutputDim) + ", " + I(Args(l).InputDim) + ", x: Slot(training, T" + prev + ", I" + prev +
            ", batch), table: p + P" + n + "_Embeddings, y: " + y + ");");
    }

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        w.WriteLine("b.EmbeddingBackward(" + Rows(l) + ", " + I(Args(l).OutputDim) + ", " + I(Args(l).InputDim) + ", x: Train(T" + prev + ", batch), dy: " + dy +
            ", dTable: g + P" + n + "_Embeddings); // indices have no gradient");
    }
}

/// <summary>Embedding: the number of indices (Keras's input_dim), the vector length (output_dim) and the initializer id.</summary>
internal sealed record EmbeddingArgs(int InputDim, int OutputDim, int EmbeddingsInitializer) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        config.Int("input_dim", InputDim);
        config.Int("output_dim", OutputDim);
    }

    public override LayerArgs WithBlockArguments(Func<int, int> set) => this with { InputDim = set(InputDim), OutputDim = set(OutputDim) };
}
