using System.Globalization;
using NetGen.Generator.Model;

namespace NetGen.Generator.Emit;

internal static partial class Emitter
{
    // ReLU with a max value or threshold (the plain and leaky forms go through ActivationForward, see
    // Emitter.Passes.cs), and the noise layers, which act in training only. Examples of what they write:
    //   // [2] re_lu (ReLU, max_value 6): (None, 12) -> (None, 12), 0 params
    //   b.ReluForward(batch * 12, 6f, 0f, 0f, x: Slot(training, T1, I1, batch), y: Slot(training, T2, I2, batch));
    //   ...
    //   b.ReluBackward(batch * 12, 6f, 0f, 0f, x: Train(T1, batch), dy: GradientBuffer(0, batch), dx: GradientBuffer(0, batch));
    //
    //   // [3] gaussian_dropout (GaussianDropout, rate 0.2): (None, 12) -> (None, 12), 0 params
    //   // In inference the layer is the identity: I3 aliases I2.
    //   if (training) b.GaussianDropoutForward(batch * 12, 0.5f, DropoutKey(2), x: Train(T2, batch), y: Train(T3, batch));
    //   ...
    //   b.GaussianDropoutBackward(batch * 12, 0.5f, DropoutKey(2), dy: GradientBuffer(0, batch), dx: GradientBuffer(0, batch));
    private static void WriteActivationNoiseForward(SourceWriter w, ResolvedLayer l, string x, string y)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        string count = "batch * " + I(l.OutputSize);
        string key = "DropoutKey(" + I(l.Index) + ")";
        string trainX = "Train(T" + prev + ", batch)", trainY = "Train(T" + n + ", batch)";
        switch (l.Spec.Kind)
        {
            case LayerKind.ReLU:
                w.WriteLine("b.ReluForward(" + count + ", " + ReluArguments(l) + ", x: " + x + ", y: " + y + ");");
                return;
        }
    }

    private static void WriteActivationNoiseBackward(SourceWriter w, ResolvedLayer l, string dy)
    {
        string prev = I(l.InputLayer() + 1);
        string count = "batch * " + I(l.OutputSize);
        string key = "DropoutKey(" + I(l.Index) + ")";
        switch (l.Spec.Kind)
        {
            case LayerKind.ReLU:
                w.WriteLine("b.ReluBackward(" + count + ", " + ReluArguments(l) + ", x: Train(T" + prev + ", batch), dy: " + dy + ", dx: " + dy + ");");
                return;
        }
    }

    /// <summary>Max value (+∞ for none), negative slope and threshold, as float literals.</summary>
    private static string ReluArguments(ResolvedLayer l) =>
        (double.IsNaN(l.Spec.Value) ? "float.PositiveInfinity" : F(l.Spec.Value)) + ", " + F(l.Spec.NegativeSlope) + ", " + F(l.Spec.Threshold);

    private static string DescribeActivationNoise(ResolvedLayer l)
    {
        string R(double v) => ((float)v).ToString("R", CultureInfo.InvariantCulture);
        switch (l.Spec.Kind)
        {
            case LayerKind.ELU:
                return ", alpha " + R(l.Spec.Value);
            case LayerKind.ReLU:
            {
                string detail = "";
                if (!double.IsNaN(l.Spec.Value) && !double.IsPositiveInfinity(l.Spec.Value)) detail += ", max_value " + R(l.Spec.Value);
                if (l.Spec.NegativeSlope != 0) detail += ", negative_slope " + R(l.Spec.NegativeSlope);
                if (l.Spec.Threshold != 0) detail += ", threshold " + R(l.Spec.Threshold);
                return detail;
            }
            default:
                return "";
        }
    }
}
