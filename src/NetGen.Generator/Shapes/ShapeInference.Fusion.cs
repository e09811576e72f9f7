using System;
using System.Collections.Generic;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

// The fusion planner, the step between shape inference and arena planning: which layers run inside which kernels.
internal static partial class ShapeInference
{
    /// <summary>The largest kernel (floats) a batch norm is folded into: 4M (16 MB), as the CPU backend's packed kernels.</summary>
    internal const int MaxFoldedKernelFloats = 4 << 20;

    /// <summary>
    /// Decides every fusion and fold, in the order they are decided (each sees the ones before it), and returns them
    /// with the parameter buffer's new end (folded kernels take scratch after the parameters). Each decision is also
    /// applied to the two layers it pairs (<see cref="Apply"/>), the view the arena planner and the emitter read. A pair
    /// is fused only where the producer's output has that one reader, and never into or out of an output layer, whose
    /// activation the loss may fuse instead.
    /// </summary>
    private static (List<Fusion> Fusions, int BufferCount) PlanFusions(Graph graph, List<ResolvedLayer> layers, bool[] isOutput, int bufferCount)
    {
        var fusions = new List<Fusion>();
        void Decide(Fusion fusion)
        {
            fusions.Add(fusion);
            Apply(layers, fusion);
        }

        // Who reads each layer's output (live layers only); fusions pair a layer with its sole reader.
        var readers = new List<int>[layers.Count];
        for (int i = 0; i < layers.Count; i++) readers[i] = new List<int>();
        foreach (int i in graph.Order)
            if (layers[i].Live)
                foreach (int source in Graph.Distinct(layers[i].Inputs.AsSpan().ToArray()))
                    if (source >= 0) readers[source].Add(i);
        // The layer that alone reads i's output, as its only input; -1 when there is none or several, or when either is
        // an output (whose values the loss and Predict read as declared).
        int Next(int i) => i >= 0 && !isOutput[i] && readers[i].Count == 1 && layers[readers[i][0]].Inputs.Length == 1 && !isOutput[readers[i][0]]
            ? readers[i][0] : -1;

        // Fusion, decided here: an element-wise activation layer after a layer that takes any (batch norm), or after a
        // layer that owns its activation (dense, convolutions) and has none, runs inside that layer's
        // kernel (the activation layer then aliases its output). Not for the output layer, whose activation the loss
        // may fuse instead.
        foreach (int i in graph.Order)
        {
            int next = Next(i);
            if (next < 0) continue;
            var producer = layers[i];
            var act = layers[next];
            var actRule = Layers.LayerRegistry.Get(act.Spec.Kind);
            bool elementwise = actRule is { IsActivationLayer: true } && actRule.FusesAsActivation(act); // not softmax, max_value, threshold
            // An element-wise merge (Add, ...) takes one too, as ResNet's Add + ReLU: the activation runs in place on the
            // merged values, and the merge's backward takes its derivative from the output first.
            var producerRule = Layers.LayerRegistry.Of(producer.Spec.Kind);
            bool takesAny = producerRule.TakesAnyActivation;
            bool canTake = takesAny ||
                ((producerRule.OwnsActivation || producerRule.TakesActivationInPlace) &&
                 producer.Activation == ActivationKind.Linear && !(producerRule.TakesActivationInPlace && NeedsPreActivation(act.Activation)));
            // A negative LeakyReLU slope or ELU alpha makes the derivative unreadable from the output, which dense and
            // the convolutions rely on.
            if (!takesAny && elementwise && actRule!.ActivationAlpha(act.Spec) < 0) continue;
            if (!canTake || producer.FusedWith >= 0 || !elementwise || HasActivityRegularizer(producer.Spec)) continue;
            Decide(new Fusion(FusionKind.Activation, i, next));
        }

        // A dropout fused into batch norm in training: a dropout right after a layer that takes one, or after the activation
        // fused into it, is applied by the batch-norm kernel as it writes its output (same mask, keyed by the dropout
        // layer), and the dropout layer aliases that output. The batch-norm backward masks the gradient first and takes
        // the activation's derivative from the pre-activation, which it keeps. Not for the output layer.
        foreach (int i in graph.Order)
        {
            var bn = layers[i];
            int d = Next(bn.FusedWith >= 0 ? bn.FusedWith : i);
            if (Layers.LayerRegistry.Get(bn.Spec.Kind)?.TakesDropout != true || d < 0) continue;
            var dropout = layers[d];
            if (Layers.LayerRegistry.Get(dropout.Spec.Kind)?.FusesAsDropout(dropout.Spec) != true) continue;
            Decide(new Fusion(FusionKind.Dropout, i, d));
        }

        // Inference folding, decided here: a batch norm right after a layer that can take it (Layers.IFoldsBatchNorm;
        // a SeparableConv2D: its pointwise part) without an activation is folded into that layer's kernel and bias (refreshed when the weights change), so inference
        // runs one fused kernel for layer + batch norm + the activation fused into the batch norm. The folded copy
        // lives in scratch after the parameters; training runs the layers as declared. A kernel of more than
        // MaxFoldedKernelFloats is not copied: the batch norm then runs its own pass over the layer's output (the Fashion
        // CNN's 25,088 x 1,024 kernel: a pass over 1,024 values a sample instead of a second, 103 MB copy of its weights).
        foreach (int i in graph.Order)
        {
            int next = Next(i);
            if (next < 0) continue;
            var layer = layers[i];
            var bn = layers[next];
            if (Layers.LayerRegistry.Get(layer.Spec.Kind) is not Layers.IFoldsBatchNorm ||
                layer.Activation != ActivationKind.Linear || Layers.LayerRegistry.Get(bn.Spec.Kind)?.FoldsIntoPrevious != true || HasActivityRegularizer(layer.Spec) ||
                FoldedKernelCount(layer) > MaxFoldedKernelFloats) continue;
            Decide(new Fusion(FusionKind.BatchNormFold, i, next, bufferCount));
            bufferCount += FoldedKernelCount(layers[i]) + layer.LastOutput;
        }

        // A residual block's Add, in inference, decided here: an Add of two tensors (its rule: RunsInResidualEpilogue), one
        // of which a layer that can add a residual computes (its rule: AddsResidual; linear, with its batch norm folded in
        // or none, the Add its only reader) after the other is ready, runs in that layer's epilogue (Epilogue.Residual)
        // with the activation fused into the Add; the Add's output aliases the layer's, and its pass over the tensors
        // disappears. Of two such layers the later one takes it (the other's output is then ready). Training runs the
        // layers as declared.
        var position = new int[layers.Count];
        for (int k = 0; k < graph.Order.Length; k++) position[graph.Order[k]] = k;
        foreach (int a in graph.Order)
        {
            var add = layers[a];
            if (!add.Live || !Layers.LayerRegistry.Of(add.Spec.Kind).RunsInResidualEpilogue || add.Inputs.Length != 2 ||
                add.Inputs[0] == add.Inputs[1] || isOutput[a] || HasActivityRegularizer(add.Spec)) continue;
            int chosen = -1;
            for (int k = 0; k < 2; k++)
            {
                int producer = ResidualProducer(layers, readers, isOutput, add.Inputs[k]);
                int other = add.Inputs[1 - k];
                if (producer < 0 || (other >= 0 && position[other] > position[producer])) continue;
                if (chosen < 0 || position[producer] > position[chosen]) chosen = producer;
            }
            if (chosen >= 0) Decide(new Fusion(FusionKind.ResidualAdd, chosen, a));
        }

        // Pooling fused into the activation before it, in inference: max pooling commutes with a non-decreasing
        // activation (max f(x) = f(max x)), so an activation layer that no kernel before it could take runs on the
        // pooled values instead (a quarter of them for 2x2), in place, and its pass over the full tensor disappears.
        // Training keeps the declared order: the backward pass reads both tensors.
        foreach (int i in graph.Order)
        {
            int next = Next(i);
            if (next < 0) continue;
            var act = layers[i];
            var pool = layers[next];
            if (act.FusedInto >= 0 || !Layers.LayerRegistry.Of(pool.Spec.Kind).PoolsActivations ||
                !IsNonDecreasingActivationLayer(act)) continue;
            Decide(new Fusion(FusionKind.PoolFirst, i, next));
        }

        return (fusions, bufferCount);
    }

    /// <summary>
    /// The layer that computes <paramref name="source"/> alone and could add a residual in its epilogue (its rule:
    /// <c>AddsResidual</c>): the source itself (linear), or a batch norm without an activation folded into one; -1
    /// otherwise. The source must have one reader (the Add) and neither may be an output or regularized.
    /// </summary>
    private static int ResidualProducer(List<ResolvedLayer> layers, List<int>[] readers, bool[] isOutput, int source)
    {
        if (source < 0 || isOutput[source] || readers[source].Count != 1) return -1;
        var s = layers[source];
        if (s.FoldedInto >= 0 && (s.Activation != ActivationKind.Linear || s.FusedWith >= 0 || s.FusedDropout >= 0)) return -1;
        int conv = s.FoldedInto >= 0 ? s.FoldedInto : source;
        var c = layers[conv];
        if (Layers.LayerRegistry.Of(c.Spec.Kind) is not ({ AddsResidual: true } and Layers.IFoldsBatchNorm) || c.Activation != ActivationKind.Linear ||
            c.FusedWith >= 0 || isOutput[conv] || HasActivityRegularizer(c.Spec) || (conv == source && c.FoldsBatchNorm >= 0)) return -1;
        return conv;
    }

    /// <summary>
    /// Which input of an Add fused into the layer before it (<see cref="FusionKind.ResidualAdd"/>) that layer computes (0
    /// or 1), given the layer of each index.
    /// </summary>
    internal static int ProducerOperand(ResolvedLayer add, Func<int, ResolvedLayer> layerAt)
    {
        int s = add.Inputs[0];
        return s >= 0 && (s == add.AddedInto || layerAt(s).FoldedInto == add.AddedInto) ? 0 : 1;
    }

    /// <summary>Marks the two layers of a fusion (their fields are the emitter's and the arena planner's view of it).</summary>
    private static void Apply(List<ResolvedLayer> layers, Fusion f)
    {
        var (first, second) = (layers[f.First], layers[f.Second]);
        switch (f.Kind)
        {
            case FusionKind.Activation:
                layers[f.First] = first with { Activation = second.Activation, FusedWith = f.Second };
                layers[f.Second] = second with { FusedInto = f.First };
                break;
            case FusionKind.Dropout:
                layers[f.First] = first with { FusedDropout = f.Second };
                layers[f.Second] = second with { FusedInto = f.First };
                break;
            case FusionKind.BatchNormFold:
                layers[f.First] = first with { FoldsBatchNorm = f.Second, FoldOffset = f.FoldOffset };
                layers[f.Second] = second with { FoldedInto = f.First };
                break;
            case FusionKind.PoolFirst:
                layers[f.First] = first with { PooledBy = f.Second };
                layers[f.Second] = second with { PoolsActivationOf = f.First };
                break;
            case FusionKind.ResidualAdd:
                layers[f.First] = first with { ResidualAdd = f.Second };
                layers[f.Second] = second with { AddedInto = f.First };
                break;
        }
    }
}
