using System;
using System.Collections.Generic;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

// What the rules say about activations and caches, as the planners ask it.
internal static partial class ShapeInference
{
    /// <summary>Layers that apply their own activation after a bias (and keep the pre-activation when needed).</summary>
    public static bool OwnsActivation(LayerKind kind) => Layers.LayerRegistry.Get(kind)?.OwnsActivation == true;

    /// <summary>Whether the layer's activation, as the network's output, is the output's for the loss (layers that own their activation, the Activation layer).</summary>
    public static bool AppliesOutputActivation(LayerKind kind) => OwnsActivation(kind) || Layers.LayerRegistry.Get(kind)?.IsOutputActivation == true;

    /// <summary>Floats per sample a layer keeps between its training forward and backward passes besides its output (<c>M{n}</c>).</summary>
    public static int MiddleSize(ResolvedLayer l) => Layers.LayerRegistry.Get(l.Spec.Kind)?.CachePerSample(l) ?? 0;

    /// <summary>A cache that is a tensor whose gradient the gradient buffers hold (a separable convolution's depthwise output); 0 for the others.</summary>
    public static int GradientCacheSize(ResolvedLayer l) =>
        Layers.LayerRegistry.Get(l.Spec.Kind) is { CacheHoldsGradient: true } rule ? rule.CachePerSample(l) : 0;

    /// <summary>
    /// The inference scratch of the layers that need one (<c>MI{n}</c>): one region after the ping-pong (and logits)
    /// slots, as large as the largest of them, shared by every such layer (each is read only within its own layer).
    /// Returns the new inference arena size.
    /// </summary>
    private static int PlanInferenceMiddles(List<ResolvedLayer> planned, int inferTop)
    {
        int largest = 0;
        foreach (var l in planned) largest = Math.Max(largest, InferenceScratch(l));
        if (largest == 0) return inferTop;
        for (int i = 0; i < planned.Count; i++)
            if (InferenceScratch(planned[i]) > 0)
                planned[i] = planned[i] with { InferMiddle = inferTop };
        return inferTop + largest;
    }

    private static int InferenceScratch(ResolvedLayer l) => Layers.LayerRegistry.Get(l.Spec.Kind)?.InferenceScratchPerSample(l) ?? 0;
}
