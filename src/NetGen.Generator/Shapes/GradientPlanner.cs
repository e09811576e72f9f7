using System.Collections.Generic;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>How a layer's backward pass hands the gradient to its input.</summary>
internal enum BackwardStyle
{
    /// <summary>The input's gradient is the output's (Flatten, Reshape, a fused layer, a rate-0 dropout): nothing runs.</summary>
    PassThrough,
    /// <summary>dx may be written over dy (activations, dropout, noise).</summary>
    InPlace,
    /// <summary>dx goes to its own buffer (layers with weights, pooling, padding).</summary>
    Separate,
    /// <summary>A SeparableConv2D: the pointwise gradient goes through a temporary buffer, dx may be written over dy.</summary>
    Separable,
    /// <summary>A merge layer: one call per input, which can add into a gradient that is already there.</summary>
    Merge,
}

/// <summary>
/// Plans the gradient buffers of the backward pass, in reverse running order: each tensor's gradient lives in one
/// buffer (of the largest tensor's size) from the first reader that writes it until its producer has used it; a
/// gradient that several readers contribute to is added into that buffer, never copied first. A chain alternates
/// between two buffers, with activations and dropout working in place.
/// </summary>
internal static class GradientPlanner
{
    public static BackwardStyle Style(ResolvedLayer l) =>
        l.FusedInto >= 0 ? BackwardStyle.PassThrough : Layers.LayerRegistry.Of(l.Spec.Kind).StyleOf(l.Spec);

    /// <summary>
    /// Whether the layer's backward runs: it has parameters, or something before it has (otherwise no gradient is
    /// needed there). Indexed by declaration index.
    /// </summary>
    public static bool[] NeedsBackward(List<ResolvedLayer> layers, Graph graph)
    {
        var needs = new bool[layers.Count];
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            bool n = l.ParamCount > 0;
            foreach (int s in l.Inputs.AsSpan()) n |= s >= 0 && needs[s];
            needs[i] = n;
        }
        return needs;
    }

    /// <summary>Fills each layer's gradient slots; returns the number of gradient buffers (at least two).</summary>
    public static int Plan(List<ResolvedLayer> layers, Graph graph, int[] outputs)
    {
        var needs = NeedsBackward(layers, graph);
        var slotOf = new int[layers.Count];
        for (int i = 0; i < slotOf.Length; i++) slotOf[i] = -1;
        var free = new SortedSet<int>();
        int count = 0;
        int Take()
        {
            if (free.Count == 0) return count++;
            int s = free.Min;
            free.Remove(s);
            return s;
        }

        // The loss writes dL/d(output k) into buffer k; a layer that also reads an output adds its gradient there.
        foreach (int o in outputs)
            if (needs[o]) slotOf[o] = Take();
        for (int o = graph.Order.Length - 1; o >= 0; o--)
        {
            int i = graph.Order[o];
            var l = layers[i];
            if (!l.Live || !needs[i]) continue;
            if (Layers.LayerRegistry.IsImplicit(l.Spec.Kind))
            {
                // A returned state: its owner's backward pass reads its gradient, which stays in its buffer until then.
                if (slotOf[i] >= 0)
                    layers[i] = l with { GradientOut = slotOf[i], GradientIn = new EquatableArray<int>(new[] { -1 }), GradientAccumulate = new EquatableArray<int>(new[] { 0 }) };
                continue;
            }
            // The states this layer returns, whose gradients its backward pass reads (and then frees).
            var states = new List<int>();
            foreach (var s in Layers.RecurrentStateRule.StatesOf(layers, i))
                if (slotOf[s.Index] >= 0) states.Add(slotOf[s.Index]);
            if (slotOf[i] < 0 && states.Count == 0) continue;
            int dy = slotOf[i]; // -1: only the returned states have a gradient
            var style = Style(l);
            var gin = new int[l.Inputs.Length];
            var acc = new int[l.Inputs.Length];
            int temp = -1;
            bool dyGiven = false;
            if (style == BackwardStyle.Separable) temp = Take(); // the depthwise output's gradient
            for (int k = 0; k < l.Inputs.Length; k++)
            {
                int s = l.Inputs[k];
                if (s < 0 || !needs[s])
                {
                    gin[k] = -1;
                    continue;
                }
                if (slotOf[s] >= 0)
                {
                    // Another reader wrote this gradient already: add to it.
                    gin[k] = slotOf[s];
                    acc[k] = 1;
                    // The first input's dx is written apart and added; a recurrent layer adds its initial states' itself.
                    if (style == BackwardStyle.Separate && temp < 0 && k == 0) temp = Take();
                    continue;
                }
                bool unique = true;
                for (int j = 0; j < l.Inputs.Length; j++) unique &= j == k || l.Inputs[j] != s;
                bool share = style is BackwardStyle.PassThrough or BackwardStyle.InPlace or BackwardStyle.Separable ||
                    (Layers.LayerRegistry.Of(l.Spec.Kind).PassesGradientThrough && unique);
                if (share && !dyGiven)
                {
                    slotOf[s] = dy;
                    dyGiven = true;
                }
                else slotOf[s] = Take();
                gin[k] = slotOf[s];
            }
            if (temp >= 0) free.Add(temp);
            if (!dyGiven && dy >= 0) free.Add(dy);
            foreach (int s in states) free.Add(s);
            layers[i] = l with
            {
                GradientOut = dy,
                GradientIn = new EquatableArray<int>(gin),
                GradientAccumulate = new EquatableArray<int>(acc),
                GradientTemp = temp,
            };
        }
        return count < 2 ? 2 : count;
    }
}
