using System.Globalization;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// The bidirectional form of the recurrent rules (Keras's <c>Bidirectional(layer, merge_mode)</c>): the layer's op runs
/// twice, with geometry G{n} and weights P{n}_* forward and GB{n} (Reverse) and P{n}_Back* backward, into outputs kept in
/// the training cache M{n} (inference: the scratch MI{n}), merged into the layer's output by the concatenation or merge
/// kernels (merge 1 concat, 2 sum, 3 multiply, 4 average); the backward pass splits dy, runs both directions and adds
/// the backward direction's dx to the forward one's.
/// </summary>
internal static class Bidirectional
{
    // Offsets (floats per sample) inside a bidirectional layer's training cache M{n} and inference scratch MI{n}.
    private static (long CacheB, long YF, long YB, long DyF, long DyB, long Dx) Layout(long c, long o) =>
        (c, 2 * c, 2 * c + o, 2 * c + 2 * o, 2 * c + 3 * o, 2 * c + 4 * o);

    /// <summary>
    /// The training cache of a bidirectional layer: both directions' caches, their outputs and output gradients, and,
    /// with an input dropout, the backward one's dx (written apart, then added).
    /// </summary>
    public static long CachePerSample(long directionCache, long directionOutput, int inputSize, bool inputDropout) =>
        2 * directionCache + 4 * directionOutput + (inputDropout ? inputSize : 0);

    private static string L(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Both directions into their own outputs, then merged into y (concatenated per step, or element-wise).</summary>
    public static void WriteForward(SourceWriter w, ResolvedLayer l, string y, string op, long directionCache, long o, int merge, string extra)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        var at = Layout(directionCache, o);
        string x = "Slot(training, T" + prev + ", I" + prev + ", batch)";
        string yf = "Slot(training, M" + n + " + " + L(at.YF) + ", MI" + n + ", batch)";
        string yb = "Slot(training, M" + n + " + " + L(at.YB) + ", MI" + n + " + " + L(o) + ", batch)";
        string bias = RecurrentRule.Args(l.Spec).UseBias ? "p + P" + n + "_Bias" : "-1", backBias = RecurrentRule.Args(l.Spec).UseBias ? "p + P" + n + "_BackBias" : "-1";
        w.WriteLine("b." + op + "(G" + n + ", batch, x: " + x + ", kernel: p + P" + n + "_Kernel, recurrent: p + P" + n + "_Recurrent, bias: " + bias + ",");
        w.WriteLine("    cache: training ? Train(M" + n + ", batch) : -1, y: " + yf + extra + ");");
        w.WriteLine("b." + op + "(GB" + n + ", batch, x: " + x + ", kernel: p + P" + n + "_BackKernel, recurrent: p + P" + n + "_BackRecurrent, bias: " + backBias + ",");
        w.WriteLine("    cache: training ? Train(M" + n + " + " + L(at.CacheB) + ", batch) : -1, y: " + yb + extra + ");");
        int u = RecurrentRule.Args(l.Spec).Units;
        string rows = "batch * " + L(o / u);
        switch (merge)
        {
            case 1:
                w.WriteLine("b.ConcatenateForward(" + rows + ", " + I(u) + ", " + I(2 * u) + ", 0, x: " + yf + ", y: " + y + ");");
                w.WriteLine("b.ConcatenateForward(" + rows + ", " + I(u) + ", " + I(2 * u) + ", " + I(u) + ", x: " + yb + ", y: " + y + ");");
                break;
            default:
                w.WriteLine("b.MergeForward(global::NetGen.Backends.MergeOperation." + MergeOperation(merge) + ", batch * " + L(o) + ", y: " + y + ", " + yf + ", " + yb + ");");
                break;
        }
    }

    private static string MergeOperation(int merge) => merge switch { 2 => "Add", 3 => "Multiply", _ => "Average" };

    /// <summary>
    /// dy split between the directions, each direction's backward pass (the forward one's dx written, or added to what dx
    /// holds with <paramref name="addsToDx"/>: another reader of the input wrote its gradient there), the backward one's
    /// dx added to the forward one's:
    /// by its own call (<c>accumulateDx: true</c>), or, with an input dropout (whose mask applies to that direction's part
    /// alone), written apart in the cache and added.
    /// </summary>
    public static void WriteBackward(SourceWriter w, ResolvedLayer l, string dy, string dx, bool addsToDx, string op, long directionCache, long o, int merge, string extra)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        var at = Layout(directionCache, o);
        int u = RecurrentRule.Args(l.Spec).Units;
        string yf = "Train(M" + n + " + " + L(at.YF) + ", batch)", yb = "Train(M" + n + " + " + L(at.YB) + ", batch)";
        string dyf = "Train(M" + n + " + " + L(at.DyF) + ", batch)", dyb = "Train(M" + n + " + " + L(at.DyB) + ", batch)";
        string rows = "batch * " + L(o / u);
        switch (merge)
        {
            case 1:
                w.WriteLine("b.ConcatenateBackward(" + rows + ", " + I(u) + ", " + I(2 * u) + ", 0, dy: " + dy + ", dx: " + dyf + ", accumulate: false);");
                w.WriteLine("b.ConcatenateBackward(" + rows + ", " + I(u) + ", " + I(2 * u) + ", " + I(u) + ", dy: " + dy + ", dx: " + dyb + ", accumulate: false);");
                break;
            case 2: // a sum hands dy to both
                dyf = dy;
                dyb = dy;
                break;
            default:
                for (int k = 0; k < 2; k++)
                    w.WriteLine("b.MergeBackward(global::NetGen.Backends.MergeOperation." + MergeOperation(merge) + ", batch * " + L(o) + ", " + I(k) + ", y: Train(T" + n +
                        ", batch), dy: " + dy + ", dx: " + (k == 0 ? dyf : dyb) + ", accumulate: false, " + yf + ", " + yb + ");");
                break;
        }
        string backBias = RecurrentRule.Args(l.Spec).UseBias ? "g + P" + n + "_BackBias" : "-1", bias = RecurrentRule.Args(l.Spec).UseBias ? "g + P" + n + "_Bias" : "-1";
        string x = "Train(T" + prev + ", batch)";
        string dxb = "Train(M" + n + " + " + L(at.Dx) + ", batch)";
        w.WriteLine("int dxBidirectional = " + dx + ";");
        w.WriteLine("b." + op + "(G" + n + ", batch, x: " + x + ", kernel: p + P" + n + "_Kernel, recurrent: p + P" + n + "_Recurrent,");
        w.WriteLine("    cache: Train(M" + n + ", batch), dy: " + dyf + ", dx: dxBidirectional, dKernel: g + P" + n + "_Kernel, dRecurrent: g + P" + n + "_Recurrent, dBias: " + bias + extra +
            (addsToDx ? BackwardCallEnd(l) : ");"));
        bool apart = RecurrentRule.Args(l.Spec).Dropout != 0;
        w.WriteLine("b." + op + "(GB" + n + ", batch, x: " + x + ", kernel: p + P" + n + "_BackKernel, recurrent: p + P" + n + "_BackRecurrent,");
        w.WriteLine("    cache: Train(M" + n + " + " + L(at.CacheB) + ", batch), dy: " + dyb + ", dx: " + (apart ? "dxBidirectional >= 0 ? " + dxb + " : -1" : "dxBidirectional") +
            ", dKernel: g + P" + n + "_BackKernel, dRecurrent: g + P" + n + "_BackRecurrent, dBias: " + backBias + extra + (apart ? ");" : ", accumulateDx: true);"));
        if (apart) w.WriteLine("if (dxBidirectional >= 0) b.Accumulate(batch * " + I(l.InputSize) + ", x: " + dxb + ", y: dxBidirectional);");
    }
}
