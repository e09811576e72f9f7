using System.Collections.Generic;
using System.Globalization;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>
/// Shape rules of the layers that move pixels without parameters: ZeroPadding2D (H + top + bottom, W + left + right),
/// Cropping2D (H − top − bottom, W − left − right) and UpSampling2D (H·rows, W·cols), all on (H, W, C) samples
/// (Keras 2 <c>compute_output_shape</c>, channels last). Pure, like <see cref="ShapeInference"/>, which calls it.
/// </summary>
internal static class ResamplingShapes
{
    private const long MaxFloats = int.MaxValue / 4; // one tensor per sample, as ShapeInference's limit for outputs

    /// <summary>The output shape, or null after reporting why there is none.</summary>
    public static int[]? Infer(LayerSpec layer, int[] shape, int i, string kind, string index, List<ShapeError> errors)
    {
        if (shape.Length != 3)
        {
            errors.Add(new ShapeError(i, "NG0103", new[] { kind, index, ShapeMath.Keras(shape) }));
            return null;
        }
        var s = layer.Sizes;
        long outH, outW;
        if (layer.Kind == LayerKind.UpSampling2D)
        {
            int rows = s.Length > 0 ? s[0] : 0, cols = s.Length > 1 ? s[1] : rows;
            if (rows <= 0 || cols <= 0)
            {
                errors.Add(new ShapeError(i, "NG0017", new[] { kind, index, "size", "(" + I(rows) + ", " + I(cols) + ")",
                    "both factors must be positive, e.g. 2 (Keras's default)" }));
                return null;
            }
            outH = (long)shape[0] * rows;
            outW = (long)shape[1] * cols;
        }
        else
        {
            bool pad = layer.Kind == LayerKind.ZeroPadding2D;
            int top = At(s, 0), bottom = At(s, 1), left = At(s, 2), right = At(s, 3);
            string amounts = Amounts(top, bottom, left, right);
            string what = pad ? "padding" : "cropping";
            if (top < 0 || bottom < 0 || left < 0 || right < 0)
            {
                errors.Add(new ShapeError(i, "NG0017", new[] { kind, index, what, amounts,
                    "every " + what + " amount must be zero or positive, e.g. " + kind + "(1)" }));
                return null;
            }
            if (pad)
            {
                outH = shape[0] + (long)top + bottom;
                outW = shape[1] + (long)left + right;
            }
            else
            {
                outH = shape[0] - (long)top - bottom;
                outW = shape[1] - (long)left - right;
                if (outH <= 0 || outW <= 0)
                {
                    string fix = "crop at most " + I(shape[0] - 1) + " rows (top + bottom) and " + I(shape[1] - 1) +
                        " columns (left + right) in total, or crop earlier in the network, where the image is larger";
                    errors.Add(new ShapeError(i, "NG0107", new[] { kind, index, amounts, ShapeMath.Keras(shape),
                        I(outH) + "x" + I(outW), fix }));
                    return null;
                }
            }
        }
        decimal floats = (decimal)outH * outW * shape[2]; // exact: each factor is below 2^33
        if (floats > MaxFloats)
        {
            errors.Add(new ShapeError(i, "NG0016", new[] { kind, index, floats.ToString("N0", CultureInfo.InvariantCulture),
                "output floats per sample, more than the 536,870,911 one tensor may hold" }));
            return null;
        }
        return new[] { (int)outH, (int)outW, shape[2] };
    }

    /// <summary>Keras's normalised tuple: <c>((top, bottom), (left, right))</c>.</summary>
    public static string Amounts(int top, int bottom, int left, int right) =>
        "((" + I(top) + ", " + I(bottom) + "), (" + I(left) + ", " + I(right) + "))";

    private static int At(EquatableArray<int> s, int index) => s.Length > index ? s[index] : 0;

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
}
