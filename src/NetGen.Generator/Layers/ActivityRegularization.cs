using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// ActivityRegularization(l1, l2): the identity, whose output carries Keras's activity penalty
/// (l1·Σ|x| + l2·Σx²) / batch. Its factors sit where a Dense keeps its activity regularizer, so the model's
/// regularizer table (loss and Evaluate) and the planner (the output stays readable until the loss) treat both alike.
/// What it writes, e.g. for ActivityRegularization(L1 = 0.001) on (8,):
/// <code>
///   b.ConcatenateForward(batch, 8, 8, 0, x: ..., y: ...); // a copy
///   b.ConcatenateBackward(batch, 8, 8, 0, dy: ..., dx: dxActivity, accumulate: false);
///   b.RegularizationGradient(x: Train(T2, batch), g: dxActivity, count: batch * 8, l1: 0.001f / batch, l2: 0f / batch);
/// </code>
/// </summary>
internal sealed class ActivityRegularizationRule() : LayerRule(LayerKind.ActivityRegularization)
{
    public override string KerasName => "activity_regularization";

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        double l1 = 0, l2 = 0;
        foreach (var pair in data.NamedArguments)
        {
            switch (pair.Key)
            {
                case "L1" when pair.Value.Value is double v: l1 = v; break;
                case "L2" when pair.Value.Value is double v: l2 = v; break;
            }
        }
        return new LayerSpec(Kind, name, NoArgs.Instance, Regularizers: new EquatableArray<double>(new[] { 0, 0, 0, 0, l1, l2, 0.0 }));
    }

    // Shape inference checks the factors (finite, at least 0) and that the layer is not an output, as for a Dense's.
    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors) =>
        (int[])inputShapes[0].Clone();

    public override string Describe(ResolvedLayer l) =>
        ", l1 " + l.Spec.Regularizers[4].ToString("R", CultureInfo.InvariantCulture) + ", l2 " + l.Spec.Regularizers[5].ToString("R", CultureInfo.InvariantCulture);

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string prev = I(l.InputLayer() + 1);
        w.WriteLine("b.ConcatenateForward(batch, " + I(l.OutputSize) + ", " + I(l.OutputSize) + ", 0, x: Slot(training, T" + prev + ", I" + prev +
            ", batch), y: " + y + "); // the identity: the penalty reads this output");
    }

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        var r = l.Spec.Regularizers;
        w.WriteLine("int dxActivity = " + dx + ";");
        w.OpenBlock("if (dxActivity >= 0)");
        w.WriteLine("b.ConcatenateBackward(batch, " + I(l.OutputSize) + ", " + I(l.OutputSize) + ", 0, dy: " + dy + ", dx: dxActivity, accumulate: false);");
        if (r[4] != 0 || r[5] != 0)
            w.WriteLine("b.RegularizationGradient(x: Train(T" + I(l.Index + 1) + ", batch), g: dxActivity, count: batch * " + I(l.OutputSize) +
                ", l1: " + F(r[4]) + " / batch, l2: " + F(r[5]) + " / batch); // the activity penalty's gradient");
        w.CloseBlock();
    }
}
