using System.Collections.Generic;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

// The merge layers' calls. What they write, e.g. for [Add("shortcut", "conv2d_1")] and [Concatenate("a", "b")]:
//
//   // forward
//   b.MergeForward(MergeOperation.Add, batch * 784, y: Slot(training, T6, I6, batch),
//       Slot(training, T2, I2, batch), Slot(training, T5, I5, batch));
//   // with a ReLU layer fused after it: b.MergeForward(MergeOperation.Add, batch * 784, new Epilogue(ActivationFunction.Relu), y: ..., ...);
//   b.ConcatenateForward(batch * 196, 16, 48, 0, x: Slot(training, T3, I3, batch), y: Slot(training, T7, I7, batch));
//   b.ConcatenateForward(batch * 196, 32, 48, 16, x: Slot(training, T5, I5, batch), y: Slot(training, T7, I7, batch));
//
//   // backward: Add hands dy on as one input's gradient (same buffer, nothing runs) and copies or adds it for the
//   // others; the other merges compute each input's gradient, adding it where another reader wrote one already
//   b.MergeBackward(MergeOperation.Multiply, batch * 784, 0, y: Train(T6, batch), dy: Train(D0, batch),
//       dx: Train(D1, batch), accumulate: false, Train(T2, batch), Train(T5, batch));
//   b.ConcatenateBackward(batch * 196, 16, 48, 0, dy: Train(D0, batch), dx: Train(D1, batch), accumulate: true);
internal sealed partial class MergeRule
{
    private const string MergeOperationType = "global::NetGen.Backends.MergeOperation";

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        if (l.Spec.Kind == LayerKind.Concatenate)
        {
            var (outer, widths, total) = ConcatGeometry(net, l);
            int offset = 0;
            for (int k = 0; k < widths.Length; k++)
            {
                string src = I(l.InputLayer(k) + 1);
                w.WriteLine("b.ConcatenateForward(" + Rows(outer) + ", " + I(widths[k]) + ", " + I(total) + ", " + I(offset) +
                    ", x: Slot(training, T" + src + ", I" + src + ", batch), y: " + y + ");");
                offset += widths[k];
            }
            return;
        }
        var inputs = new List<string>();
        for (int k = 0; k < l.Inputs.Length; k++)
        {
            string src = I(l.InputLayer(k) + 1);
            inputs.Add("Slot(training, T" + src + ", I" + src + ", batch)");
        }
        // The activation layer fused into the merge runs in the same call (its epilogue); PredictLayers also keeps the
        // merge's own output (the epilogue's pre-activation).
        string call = "b.MergeForward(" + MergeOperationType + "." + l.Spec.Kind + ", batch * " + I(l.OutputSize) + ", ";
        if (l.FusedWith < 0)
        {
            w.WriteLine(call + "y: " + y + ",");
            w.Indent();
            w.WriteLine(string.Join(", ", inputs) + ");");
        }
        else
        {
            w.WriteLine(call + TypedEpilogue(ForwardEpilogue(net, l)) + ", // [" + I(l.FusedWith + 1) + "] fused");
            w.Indent();
            w.WriteLine("y: " + y + ", " + string.Join(", ", inputs) + ");");
        }
        w.Unindent();
    }

    /// <summary>
    /// <c>new global::NetGen.Backends.Epilogue(...)</c> for <paramref name="epilogue"/> (<c>new(...)</c>): the merge calls
    /// have overloads with and without one, which a target-typed <c>new</c> could not choose between.
    /// </summary>
    private static string TypedEpilogue(string epilogue) => "new global::NetGen.Backends.Epilogue" + epilogue.Substring("new".Length);

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        // The fused activation's derivative comes first, from the output (its input is not kept), in place on dy: in the
        // first input's MergeBackward call where there is one (one pass over dy), else on its own.
        int fusedCall = -1;
        if (l.FusedWith >= 0 && l.Spec.Kind != LayerKind.Concatenate)
            for (int k = 0; k < l.Inputs.Length && fusedCall < 0; k++)
                if (l.GradientIn[k] >= 0 && !(l.GradientIn[k] == l.GradientOut && l.GradientAccumulate[k] == 0)) fusedCall = k;
        string activationBackward = "b.ActivationBackward(" + Act(l) + ", " + F(FusedAlpha(net, l)) + ", " + Emitter.Rows(l) + ", " + I(l.LastOutput) +
            ", x: -1, y: Train(T" + I(l.Index + 1) + ", batch), dy: " + dy + ", dx: " + dy + "); // [" + I(l.FusedWith + 1) + "]";
        if (l.FusedWith >= 0 && fusedCall < 0)
        {
            w.OpenBlock("if (Backprop(" + I(l.Index) + "))");
            w.WriteLine(activationBackward);
            w.CloseBlock();
        }
        (int Outer, int[] Widths, int Total) concat = l.Spec.Kind == LayerKind.Concatenate ? ConcatGeometry(net, l) : default;
        int offset = 0;
        var inputs = new List<string>();
        for (int k = 0; k < l.Inputs.Length; k++) inputs.Add("Train(T" + I(l.InputLayer(k) + 1) + ", batch)");
        for (int k = 0; k < l.Inputs.Length; k++)
        {
            int gin = l.GradientIn[k];
            bool accumulate = l.GradientAccumulate[k] != 0;
            string source = "[" + I(l.InputLayer(k) + 1) + "]";
            if (gin < 0)
            {
                w.WriteLine("// " + source + " needs no gradient.");
            }
            else if (l.Spec.Kind == LayerKind.Concatenate)
            {
                w.WriteLine("if (Backprop(" + I(l.InputLayer(k)) + ")) b.ConcatenateBackward(" + Rows(concat.Outer) + ", " + I(concat.Widths[k]) + ", " + I(concat.Total) + ", " + I(offset) +
                    ", dy: " + dy + ", dx: " + Gradient(gin) + ", accumulate: " + (accumulate ? "true" : "false") + "); // " + source);
            }
            else if (gin == l.GradientOut && !accumulate)
            {
                w.WriteLine("// " + source + "'s gradient is dy itself: it reads this gradient buffer.");
            }
            else
            {
                string call = "if (Backprop(" + I(l.InputLayer(k)) + ")) b.MergeBackward(" + MergeOperationType + "." + l.Spec.Kind + ", batch * " +
                    I(l.OutputSize) + ", " + I(k) + ", ";
                string operands = "y: Train(T" + I(l.Index + 1) + ", batch), dy: " + dy + ",";
                if (k == fusedCall)
                {
                    w.WriteLine(call + TypedEpilogue(Epilogue(Act(l), F(FusedAlpha(net, l)), "-1")) + ",");
                    w.Indent();
                    w.WriteLine(operands);
                }
                else
                {
                    w.WriteLine(call + operands);
                    w.Indent();
                }
                w.WriteLine("dx: " + Gradient(gin) + ", accumulate: " + (accumulate ? "true" : "false") + ", " + string.Join(", ", inputs) + "); // " + source +
                    (k == fusedCall ? ", after [" + I(l.FusedWith + 1) + "]'s derivative" : ""));
                w.Unindent();
                if (k == fusedCall)
                    w.WriteLine("else if (Backprop(" + I(l.Index) + ")) " + activationBackward);
            }
            if (l.Spec.Kind == LayerKind.Concatenate) offset += concat.Widths[k];
        }
    }

    private static (int Outer, int[] Widths, int Total) ConcatGeometry(ResolvedNetwork net, ResolvedLayer l)
    {
        var shapes = new int[l.Inputs.Length][];
        for (int k = 0; k < shapes.Length; k++)
        {
            int s = l.InputLayer(k);
            shapes[k] = (s < 0 ? net.Spec.InputShape : net.Layers[s].OutputShape).AsSpan().ToArray();
        }
        return ConcatGeometry(l.OutputShape.AsSpan().ToArray(), shapes, l.Spec.As<MergeArgs>().Axis);
    }

    private static string Rows(int perSample) => perSample == 1 ? "batch" : "batch * " + I(perSample);

    public override string Describe(ResolvedLayer l) => DescribeMerge(l);

    /// <summary>The merge's inputs for comments: <c>of [2], [5]</c>, and Concatenate's axis.</summary>
    private static string DescribeMerge(ResolvedLayer l)
    {
        var parts = new List<string>();
        for (int k = 0; k < l.Inputs.Length; k++) parts.Add("[" + I(l.InputLayer(k) + 1) + "]");
        return " of " + string.Join(", ", parts) + (l.Spec.Kind == LayerKind.Concatenate ? ", axis " + I(l.Spec.As<MergeArgs>().Axis) : "") +
            (l.FusedWith >= 0 ? ", " + FusedActivationName(l) : "");
    }
}
