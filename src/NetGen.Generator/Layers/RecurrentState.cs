using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// A state a recurrent layer returns (Keras's <c>return_state=True</c>): <c>ReturnState = true</c> on an LSTM adds
/// two of these after it, <c>{name}.state_h</c> and <c>{name}.state_c</c> (h and c after the last step, (units) each);
/// a GRU or SimpleRNN adds <c>{name}.state_h</c>. Other layers read them by name, as Keras's
/// <c>output, state_h, state_c = LSTM(..., return_state=True)(x)</c>, e.g. as another recurrent layer's
/// <c>InitialState</c> (a seq2seq decoder). Nothing runs for it: the recurrent layer's kernel writes the state into
/// this layer's slot, and its backward pass reads this layer's gradient (dL/dh_T, dL/dc_T). So the arena places the
/// slot when the recurrent layer runs, and the gradient planner keeps the gradient until the recurrent layer's
/// backward pass. The spec keeps the owner's units in <c>Units</c> and which state (0: h, 1: c) in <c>Sizes[0]</c>;
/// its one input is the owner.
/// </summary>
internal sealed class RecurrentStateRule() : LayerRule(LayerKind.RecurrentState)
{
    public override string KerasName => "state";

    public override bool Implicit => true;

    /// <summary>Nothing to hand back: the owner's backward pass reads this layer's gradient itself.</summary>
    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.PassThrough;

    /// <summary>Never read from an attribute: the parser adds it (<see cref="For"/>).</summary>
    public override LayerSpec Read(AttributeData data, string? name) => For(0, 0, 0);

    /// <summary>The spec of state <paramref name="which"/> (0: h, 1: c) of the layer at <paramref name="owner"/> with <paramref name="units"/> units.</summary>
    public static LayerSpec For(int owner, int units, int which) =>
        new(LayerKind.RecurrentState, null, new RecurrentStateArgs(which, units), Inputs: new EquatableArray<string>(new[] { Graph.IndexReference(owner) }));

    /// <summary>The default name: the owner's and <c>.state_h</c> or <c>.state_c</c>.</summary>
    public static string DefaultName(LayerSpec state, string ownerName) => ownerName + Suffix(state.As<RecurrentStateArgs>().Which);

    public static string Suffix(int which) => which == 0 ? ".state_h" : ".state_c";

    /// <summary>
    /// For a name <c>{owner}{suffix}</c> that names no layer: how to make the recurrent layer <paramref name="owner"/>
    /// return that state, or which states it can return; null when the owner is no recurrent layer.
    /// </summary>
    public static string? Suggest(LayerKind ownerKind, string owner, string suffix)
    {
        int states = RecurrentRule.ReturnedStates(ownerKind);
        if (states == 0) return null;
        if (suffix == Suffix(0) || (suffix == Suffix(1) && states == 2))
            return "set ReturnState = true on '" + owner + "' to read its last states as '" + owner + Suffix(0) + "'" + (states == 2 ? " and '" + owner + Suffix(1) + "'" : "");
        return states == 2 ? "an LSTM returns '.state_h' and '.state_c' (with ReturnState = true)" : "a " + ownerKind + " returns '.state_h' (with ReturnState = true)";
    }

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors) =>
        new[] { layer.As<RecurrentStateArgs>().Units };

    public override string Describe(ResolvedLayer l) => ", " + (l.Spec.As<RecurrentStateArgs>().Which == 0 ? "h" : "c") + " after the last step of [" + I(l.InputLayer() + 1) + "]";

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y) =>
        w.WriteLine("// Written by [" + I(l.InputLayer() + 1) + "]'s forward pass.");

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx) { }

    /// <summary>The live layers that <paramref name="owner"/> declared (its returned states), in declaration order.</summary>
    public static IEnumerable<ResolvedLayer> StatesOf(IEnumerable<ResolvedLayer> layers, int owner)
    {
        foreach (var l in layers)
            if (l.Live && LayerRegistry.IsImplicit(l.Spec.Kind) && l.InputLayer() == owner) yield return l;
    }

    /// <summary>The live state layer <paramref name="which"/> of the layer at <paramref name="owner"/>, or null.</summary>
    public static ResolvedLayer? Of(ResolvedNetwork net, int owner, int which)
    {
        foreach (var l in StatesOf(net.Layers, owner))
            if (l.Spec.As<RecurrentStateArgs>().Which == which) return l;
        return null;
    }
}

/// <summary>A state a recurrent layer returns (ReturnState): which one (0: h, 1: the LSTM's c) and the layer's units.</summary>
internal sealed record RecurrentStateArgs(int Which, int Units) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        config.Common(Units, 0, true);
        config.Ints("sizes", new[] { Which });
    }
}
