using NetGen.Generator.Model;
using NetGen.Generator.Shapes;

namespace NetGen.Generator.Emit;

internal static partial class Emitter
{
    // ZeroPadding2D, Cropping2D and UpSampling2D: a static geometry per layer, then one call forward and one backward
    // (into the other gradient buffer: the shapes differ). Example for ZeroPadding2D((1, 1), (2, 2)) on 7x5x3:
    //   private static readonly global::NetGen.Backends.Pad2DGeometry G2 = new(7, 5, 3, 9, 9, 1, 2);
    //   b.Pad2DForward(G2, batch, x: Slot(training, T1, I1, batch), y: Slot(training, T2, I2, batch));
    //   b.Pad2DBackward(G2, batch, dy: GradientBuffer(0, batch), dx: GradientBuffer(1, batch));
    // Cropping2D uses the same geometry with negative offsets (the rows and columns it removes at the top and left).

    private const string Pad2DGeometryType = "global::NetGen.Backends.Pad2DGeometry";
    private const string UpSample2DGeometryType = "global::NetGen.Backends.UpSample2DGeometry";

    private static void WriteResamplingGeometry(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        var input = l.InputShape;
        var s = l.Spec.Sizes;
        if (l.Spec.Kind == LayerKind.UpSampling2D)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": size " + I(s[0]) + "x" + I(s[1]) + ", nearest");
            w.WriteLine("private static readonly " + UpSample2DGeometryType + " G" + n + " = new(" +
                I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(s[0]) + ", " + I(s[1]) + ");");
            return;
        }
        bool pad = l.Spec.Kind == LayerKind.ZeroPadding2D;
        int sign = pad ? 1 : -1;
        w.WriteLine("// " + OneLine(l.Name) + ": " + ResamplingDetail(l) + (pad ? "" : " (negative offsets: a crop)"));
        w.WriteLine("private static readonly " + Pad2DGeometryType + " G" + n + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(l.OutputShape[0]) + ", " + I(l.OutputShape[1]) + ", " +
            I(sign * s[0]) + ", " + I(sign * s[2]) + ");");
    }

    private static void WriteResamplingForward(SourceWriter w, ResolvedLayer l, string x, string y)
    {
        string op = l.Spec.Kind == LayerKind.UpSampling2D ? "UpSample2DForward" : "Pad2DForward";
        w.WriteLine("b." + op + "(G" + I(l.Index + 1) + ", batch, x: " + x + ", y: " + y + ");");
    }

    private static void WriteResamplingBackward(SourceWriter w, ResolvedLayer l, string dy, string dx)
    {
        string op = l.Spec.Kind == LayerKind.UpSampling2D ? "UpSample2DBackward" : "Pad2DBackward";
        w.WriteLine("b." + op + "(G" + I(l.Index + 1) + ", batch, dy: " + dy + ", dx: " + dx + ");");
    }

    /// <summary>The layer's arguments for comments: <c>padding ((1, 1), (2, 2))</c>, <c>size 2x2 nearest</c>.</summary>
    private static string ResamplingDetail(ResolvedLayer l)
    {
        var s = l.Spec.Sizes;
        return l.Spec.Kind switch
        {
            LayerKind.UpSampling2D => "size " + I(s[0]) + "x" + I(s[1]) + " nearest",
            LayerKind.ZeroPadding2D => "padding " + ResamplingShapes.Amounts(s[0], s[1], s[2], s[3]),
            _ => "cropping " + ResamplingShapes.Amounts(s[0], s[1], s[2], s[3]),
        };
    }
}
