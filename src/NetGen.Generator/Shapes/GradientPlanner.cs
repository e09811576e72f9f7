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
/// A block of the training arena the forward pass keeps for the backward pass: <c>Owner</c> is the layer whose backward
/// pass is the last to read it (readers run before their producer in reverse order), after which the block is free for
/// gradients; -1: never free (outputs, which the metrics read after the step; activity-regularized tensors); -2: free
/// from the start (tensors no backward pass reads).
/// </summary>
internal readonly record struct KeptRegion(int Offset, int Size, int Owner);

/// <summary>A block of the training arena holding one gradient (or a layer's gradient scratch) while it is needed.</summary>
internal readonly record struct GradientRegion(int Offset, int Size, int Tensor);

/// <summary>
/// Plans the gradients of the backward pass, in reverse running order: each tensor's gradient lives in a region of the
/// training arena from the first reader that writes it until its producer has used it; a gradient that several readers
/// contribute to is added into that region, never copied first. A chain alternates between two regions, with
/// activations and dropout working in place. An Add's inputs may all hold their gradients in its dy region at once
/// (each is dy): the planner counts a region's holders and frees it when the last is done. Regions go where the arena
/// is free: first the blocks of kept tensors whose backward readers have all run, then above the kept tensors.
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

    /// <summary>
    /// Fills each layer's gradient regions (indices into the returned table); <paramref name="top"/> is the end of the
    /// highest region, floats per sample (at least <paramref name="keptTop"/>, the end of the kept tensors).
    /// </summary>
    /// <remarks>
    /// <c>uniform</c> 0: each region has the size its gradients need; otherwise every region has at least this size, as
    /// the two ping-pong buffers of a chain had: a small gradient then never leaves a gap too small for the next large one.
    /// </remarks>
    public static GradientRegion[] Plan(List<ResolvedLayer> layers, Graph graph, int[] outputs, IReadOnlyList<KeptRegion> kept, int keptTop, int uniform, out long top)
    {
        var needs = NeedsBackward(layers, graph);
        var slotOf = new int[layers.Count];
        for (int i = 0; i < slotOf.Length; i++) slotOf[i] = -1;
        var position = new int[layers.Count];
        for (int o = 0; o < graph.Order.Length; o++) position[graph.Order[o]] = o;
        var readers = new List<int>[layers.Count];
        for (int i = 0; i < readers.Length; i++) readers[i] = new List<int>();
        foreach (int j in graph.Order)
            if (layers[j].Live)
                foreach (int s in layers[j].Inputs.AsSpan())
                    if (s >= 0) readers[s].Add(j);
        // The floats a region given to a tensor's gradient must hold: the layers that pass dy's region on to their input
        // (in place, through, an Add) hand it to a tensor of the same size, a SeparableConv2D to its (maybe larger) input.
        var need = new int[layers.Count];
        foreach (int i in graph.Order)
        {
            var l = layers[i];
            need[i] = System.Math.Max(1, l.OutputSize);
            var style = Style(l);
            if (style is BackwardStyle.PassThrough or BackwardStyle.InPlace or BackwardStyle.Separable || Layers.LayerRegistry.Of(l.Spec.Kind).PassesGradientThrough)
                foreach (int s in l.Inputs.AsSpan())
                    if (s >= 0) need[i] = System.Math.Max(need[i], need[s]);
        }

        // The arena's free blocks (sorted, merged): kept tensors' blocks join them as their last backward reader is done.
        // Free blocks, not live ones as ArenaPlanner tracks: memory nobody listed (the inputs, the outputs) is never free.
        var gaps = new List<(int Offset, int Size)>();
        long end = keptTop;
        int Place(int size)
        {
            for (int k = 0; k < gaps.Count; k++)
            {
                var (at, room) = gaps[k];
                if (room < size) continue;
                if (room == size) gaps.RemoveAt(k);
                else gaps[k] = (at + size, room - size);
                return at;
            }
            if (gaps.Count > 0 && gaps[gaps.Count - 1].Offset + gaps[gaps.Count - 1].Size == end)
            {
                int at = gaps[gaps.Count - 1].Offset; // the free block at the top grows
                gaps.RemoveAt(gaps.Count - 1);
                end = System.Math.Max(end, (long)at + size);
                return at;
            }
            long placed = end;
            end += size;
            return (int)System.Math.Min(placed, int.MaxValue); // the caller reports an arena past the limit
        }
        void Free(int offset, int size)
        {
            int k = 0;
            while (k < gaps.Count && gaps[k].Offset < offset) k++;
            gaps.Insert(k, (offset, size));
            if (k + 1 < gaps.Count && offset + size == gaps[k + 1].Offset)
            {
                gaps[k] = (offset, size + gaps[k + 1].Size);
                gaps.RemoveAt(k + 1);
            }
            if (k > 0 && gaps[k - 1].Offset + gaps[k - 1].Size == gaps[k].Offset)
            {
                gaps[k - 1] = (gaps[k - 1].Offset, gaps[k - 1].Size + gaps[k].Size);
                gaps.RemoveAt(k);
            }
        }
        var keptBy = new Dictionary<int, List<KeptRegion>>();
        foreach (var r in kept)
        {
            if (r.Size <= 0 || r.Owner == -1) continue;
            if (r.Owner == -2) Free(r.Offset, r.Size);
            else
            {
                if (!keptBy.TryGetValue(r.Owner, out var list)) keptBy[r.Owner] = list = new List<KeptRegion>();
                list.Add(r);
            }
        }

        var regions = new List<GradientRegion>();
        // How many tensors' pending gradients each region holds: an Add's inputs may share one (see CanShareDy).
        var holders = new List<int>();
        int Take(int size, int tensor)
        {
            size = System.Math.Max(size, uniform);
            regions.Add(new GradientRegion(Place(size), size, tensor));
            holders.Add(0);
            return regions.Count - 1;
        }
        void Hold(int tensor, int slot)
        {
            slotOf[tensor] = slot;
            holders[slot]++;
        }
        void Release(int slot)
        {
            if (--holders[slot] == 0) Free(regions[slot].Offset, regions[slot].Size);
        }
        // A layer's own gradient scratch: its first input's dx written apart, or a SeparableConv2D's depthwise gradient.
        int TempSize(ResolvedLayer l)
        {
            int size = System.Math.Max(1, ShapeInference.GradientCacheSize(l));
            foreach (int s in l.Inputs.AsSpan())
                if (s >= 0) size = System.Math.Max(size, layers[s].OutputSize);
            return size;
        }

        // Whether input s of Add i may read its gradient from dy's buffer while input x (which got that buffer) still
        // holds its own there: s's backward only reads dy, nothing else will add into s's gradient (i alone reads s), and
        // s's backward runs before anything writes into the buffer as x's gradient (x's other readers adding theirs, x's
        // producer working in place or passing it on).
        bool CanShareDy(int i, int s, int x)
        {
            var rule = Layers.LayerRegistry.Of(layers[s].Spec.Kind);
            if (Style(layers[s]) != BackwardStyle.Separate || !rule.BackwardKeepsOutputGradient(layers[s])) return false;
            if (readers[s].Count != 1 || System.Array.IndexOf(outputs, s) >= 0) return false;
            foreach (int r in readers[x])
                if (r != i && position[r] >= position[s]) return false;
            var producer = Layers.LayerRegistry.Of(layers[x].Spec.Kind);
            return position[x] < position[s] || (Style(layers[x]) == BackwardStyle.Separate && producer.BackwardKeepsOutputGradient(layers[x]));
        }

        // The loss writes dL/d(output k) into its region; a layer that also reads an output adds its gradient there.
        foreach (int o in outputs)
            if (needs[o]) Hold(o, Take(need[o], o));
        for (int o = graph.Order.Length - 1; o >= 0; o--)
        {
            int i = graph.Order[o];
            PlanLayer(i);
            // Every backward pass that reads what this layer kept has run (its readers come after it).
            if (keptBy.TryGetValue(i, out var done))
                foreach (var r in done) Free(r.Offset, r.Size);
        }
        top = end;
        return regions.ToArray();

        void PlanLayer(int i)
        {
            var l = layers[i];
            if (!l.Live || !needs[i]) return;
            if (Layers.LayerRegistry.IsImplicit(l.Spec.Kind))
            {
                // A returned state: its owner's backward pass reads its gradient, which stays in its region until then.
                if (slotOf[i] >= 0)
                    layers[i] = l with { GradientOut = slotOf[i], GradientIn = new EquatableArray<int>(new[] { -1 }), GradientAccumulate = new EquatableArray<int>(new[] { 0 }) };
                return;
            }
            // The states this layer returns, whose gradients its backward pass reads (and then frees).
            var states = new List<int>();
            foreach (var s in Layers.RecurrentStateRule.StatesOf(layers, i))
                if (slotOf[s.Index] >= 0) states.Add(slotOf[s.Index]);
            if (slotOf[i] < 0 && states.Count == 0) return;
            int dy = slotOf[i]; // -1: only the returned states have a gradient
            var style = Style(l);
            bool passes = Layers.LayerRegistry.Of(l.Spec.Kind).PassesGradientThrough;
            var gin = new int[l.Inputs.Length];
            var acc = new int[l.Inputs.Length];
            int temp = -1;
            if (style == BackwardStyle.Separable) temp = Take(TempSize(l), -1); // the depthwise output's gradient
            // An Add hands dy's region to the input that shares it with the most others (the first on a tie).
            int dyTo = -1, sharers = -1;
            if (passes && dy >= 0)
                for (int k = 0; k < l.Inputs.Length; k++)
                {
                    if (!Shares(k)) continue;
                    int n = 0;
                    for (int j = 0; j < l.Inputs.Length; j++)
                        if (j != k && Shares(j) && CanShareDy(i, l.Inputs[j], l.Inputs[k])) n++;
                    if (n > sharers) (dyTo, sharers) = (k, n);
                }
            bool dyGiven = false;
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
                    if (style == BackwardStyle.Separate && temp < 0 && k == 0) temp = Take(TempSize(l), -1);
                    continue;
                }
                if (passes)
                {
                    if (k == dyTo || (dyTo >= 0 && Shares(k) && CanShareDy(i, s, l.Inputs[dyTo]))) Hold(s, dy);
                    else Hold(s, Take(need[s], s));
                }
                else if (style is BackwardStyle.PassThrough or BackwardStyle.InPlace or BackwardStyle.Separable && !dyGiven && dy >= 0)
                {
                    Hold(s, dy);
                    dyGiven = true;
                }
                else if (style == BackwardStyle.Separate && !dyGiven && dy >= 0 && holders[dy] == 1 && regions[dy].Size >= need[s] &&
                    Layers.LayerRegistry.Of(l.Spec.Kind).BackwardWritesDxOverDy(l))
                {
                    // dy's region holds this gradient alone (no Add's other input still reading it): dx goes over it.
                    Hold(s, dy);
                    dyGiven = true;
                }
                else Hold(s, Take(need[s], s));
                gin[k] = slotOf[s];
            }
            if (temp >= 0) Free(regions[temp].Offset, regions[temp].Size);
            if (dy >= 0) Release(dy);
            foreach (int s in states) Release(s);
            layers[i] = l with
            {
                GradientOut = dy,
                GradientIn = new EquatableArray<int>(gin),
                GradientAccumulate = new EquatableArray<int>(acc),
                GradientTemp = temp,
            };

            // An input an Add may hand dy to: one that needs a gradient no other reader wrote yet, read once by the Add.
            bool Shares(int k)
            {
                int s = l.Inputs[k];
                if (s < 0 || !needs[s] || slotOf[s] >= 0) return false;
                for (int j = 0; j < l.Inputs.Length; j++)
                    if (j != k && l.Inputs[j] == s) return false;
                return true;
            }
        }
    }
}
