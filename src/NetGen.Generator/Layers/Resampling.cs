using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// The layers that move pixels without parameters: ZeroPadding2D (H + top + bottom, W + left + right), Cropping2D
/// (H − top − bottom, W − left − right) and UpSampling2D (H·rows, W·cols, nearest), all on (H, W, C) samples (Keras 2
/// <c>compute_output_shape</c>, channels last). Padding and cropping are one operation, a shift with zero fill.
/// What they write, e.g. for ZeroPadding2D((1, 1), (2, 2)) on 7x5x3:
/// <code>
///   private static readonly global::NetGen.Backends.Pad2DGeometry G2 = new(7, 5, 3, 9, 9, 1, 2);
///   b.Pad2DForward(G2, batch, x: Slot(training, T1, I1, batch), y: Slot(training, T2, I2, batch));
///   b.Pad2DBackward(G2, batch, dy: Train(D0, batch), dx: Train(D1, batch));
/// </code>
/// Cropping2D uses the same geometry with negative offsets (the rows and columns it removes at the top and left).
/// The 1-D kinds (ZeroPadding1D, Cropping1D, UpSampling1D) act on (steps, channels) samples as on (steps, 1, channels).
/// </summary>
internal sealed class ResamplingRule(LayerKind layerKind) : LayerRule(layerKind)
{
    private const string Pad2DGeometryType = "global::NetGen.Backends.Pad2DGeometry";
    private const string UpSample2DGeometryType = "global::NetGen.Backends.UpSample2DGeometry";

    public override string KerasName => Kind switch
    {
        LayerKind.ZeroPadding2D => "zero_padding2d",
        LayerKind.UpSampling2D => "up_sampling2d",
        LayerKind.ZeroPadding1D => "zero_padding1d",
        LayerKind.UpSampling1D => "up_sampling1d",
        LayerKind.Cropping1D => "cropping1d",
        _ => "cropping2d",
    };

    /// <summary>A 1-D kind, which runs as its 2-D form on (steps, 1, channels).</summary>
    private bool OneD => Kind is LayerKind.ZeroPadding1D or LayerKind.UpSampling1D or LayerKind.Cropping1D;

    /// <summary>The 2-D kind that does the work.</summary>
    private static LayerKind Kind2D(LayerKind kind) => kind switch
    {
        LayerKind.ZeroPadding1D => LayerKind.ZeroPadding2D,
        LayerKind.UpSampling1D => LayerKind.UpSampling2D,
        LayerKind.Cropping1D => LayerKind.Cropping2D,
        _ => kind,
    };

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    public override bool IsImageLayer => !OneD;

    public override LayerSpec Read(AttributeData data, string? name) => ReadResampling(data, Kind) with { Name = name };

    public override int[]? InferShape(LayerSpec layer, int index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        string kind = layer.Kind.ToString(), number = (index + 1).ToString(CultureInfo.InvariantCulture);
        if (!OneD) return Infer(layer, inputShapes[0], index, kind, number, errors);
        var shape = inputShapes[0];
        if (!ShapeInference.RequireSequence(shape, index, kind, number, errors)) return null;
        var output = Infer(layer with { Kind = Kind2D(layer.Kind) }, new[] { shape[0], 1, shape[1] }, index, kind, number, errors);
        return output is null ? null : new[] { output[0], output[2] };
    }

    public override string Describe(ResolvedLayer l) => ", " + ResamplingDetail(l);

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l) => WriteResamplingGeometry(w, l);

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string op = Kind2D(l.Spec.Kind) == LayerKind.UpSampling2D ? "UpSample2DForward" : "Pad2DForward";
        string prev = I(l.InputLayer() + 1);
        w.WriteLine("b." + op + "(G" + I(l.Index + 1) + ", batch, x: Slot(training, T" + prev + ", I" + prev + ", batch), y: " + y + ");");
    }

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string op = Kind2D(l.Spec.Kind) == LayerKind.UpSampling2D ? "UpSample2DBackward" : "Pad2DBackward";
        w.WriteLine("b." + op + "(G" + I(l.Index + 1) + ", batch, dy: " + dy + ", dx: " + dx + ");");
    }

    /// <summary>
    /// ZeroPadding2D and Cropping2D: one, two or four constructor arguments, as Keras's int, (rows, cols) and
    /// ((top, bottom), (left, right)), normalised to (top, bottom, left, right). UpSampling2D: one or two, normalised
    /// to (rows, cols). Values are kept as declared; shape inference reports the invalid ones.
    /// </summary>
    private static LayerSpec ReadResampling(AttributeData data, LayerKind kind)
    {
        var args = data.ConstructorArguments;
        int[] sizes;
        if (kind == LayerKind.UpSampling1D) sizes = new[] { Int(args, 0), 1 };
        else if (kind is LayerKind.ZeroPadding1D or LayerKind.Cropping1D)
            sizes = new[] { Int(args, 0), args.Length > 1 ? Int(args, 1) : Int(args, 0), 0, 0 };
        else if (kind == LayerKind.UpSampling2D)
        {
            int rows = Int(args, 0);
            sizes = new[] { rows, args.Length > 1 ? Int(args, 1) : rows };
        }
        else
        {
            sizes = args.Length switch
            {
                4 => new[] { Int(args, 0), Int(args, 1), Int(args, 2), Int(args, 3) },
                2 => new[] { Int(args, 0), Int(args, 0), Int(args, 1), Int(args, 1) },
                _ => new[] { Int(args, 0), Int(args, 0), Int(args, 0), Int(args, 0) },
            };
        }
        return new LayerSpec(kind, null, new ResamplingArgs(new EquatableArray<int>(sizes)));
    }

    /// <summary>The output shape, or null after reporting why there is none.</summary>
    private static int[]? Infer(LayerSpec layer, int[] shape, int i, string kind, string index, List<ShapeError> errors)
    {
        if (shape.Length != 3)
        {
            errors.Add(new ShapeError(i, Descriptors.NeedsImageId, new[] { kind, index, ShapeMath.Keras(shape) }));
            return null;
        }
        var s = layer.As<ResamplingArgs>().Sizes;
        long outH, outW;
        if (layer.Kind == LayerKind.UpSampling2D)
        {
            int rows = s.Length > 0 ? s[0] : 0, cols = s.Length > 1 ? s[1] : rows;
            if (rows <= 0 || cols <= 0)
            {
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, "size", "(" + I(rows) + ", " + I(cols) + ")",
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
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { kind, index, what, amounts,
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
                    errors.Add(new ShapeError(i, Descriptors.CroppingEmptiesId, new[] { kind, index, amounts, ShapeMath.Keras(shape),
                        I(outH) + "x" + I(outW), fix }));
                    return null;
                }
            }
        }
        decimal floats = (decimal)outH * outW * shape[2]; // exact: each factor is below 2^33
        if (floats > Limits.TensorFloats)
        {
            errors.Add(new ShapeError(i, Descriptors.TooLargeId, new[] { kind, index, floats.ToString("N0", CultureInfo.InvariantCulture),
                "output floats per sample, more than the 536,870,911 one tensor may hold" }));
            return null;
        }
        return new[] { (int)outH, (int)outW, shape[2] };
    }

    /// <summary>Keras's normalised tuple: <c>((top, bottom), (left, right))</c>.</summary>
    private static string Amounts(int top, int bottom, int left, int right) =>
        "((" + I(top) + ", " + I(bottom) + "), (" + I(left) + ", " + I(right) + "))";

    private static int At(EquatableArray<int> s, int index) => s.Length > index ? s[index] : 0;


    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static void WriteResamplingGeometry(SourceWriter w, ResolvedLayer l)
    {
        string n = I(l.Index + 1);
        bool oneD = Kind2D(l.Spec.Kind) != l.Spec.Kind;
        var input = oneD ? new[] { l.InputShape[0], 1, l.InputShape[1] } : l.InputShape.AsSpan().ToArray();
        var output = oneD ? new[] { l.OutputShape[0], 1 } : l.OutputShape.AsSpan().ToArray();
        var s = l.Spec.As<ResamplingArgs>().Sizes;
        if (Kind2D(l.Spec.Kind) == LayerKind.UpSampling2D)
        {
            w.WriteLine("// " + OneLine(l.Name) + ": size " + I(s[0]) + "x" + I(s[1]) + ", nearest");
            w.WriteLine("private static readonly " + UpSample2DGeometryType + " G" + n + " = new(" +
                I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(s[0]) + ", " + I(s[1]) + ");");
            return;
        }
        bool pad = Kind2D(l.Spec.Kind) == LayerKind.ZeroPadding2D;
        int sign = pad ? 1 : -1;
        w.WriteLine("// " + OneLine(l.Name) + ": " + ResamplingDetail(l) + (pad ? "" : " (negative offsets: a crop)"));
        w.WriteLine("private static readonly " + Pad2DGeometryType + " G" + n + " = new(" +
            I(input[0]) + ", " + I(input[1]) + ", " + I(input[2]) + ", " + I(output[0]) + ", " + I(output[1]) + ", " +
            I(sign * s[0]) + ", " + I(sign * s[2]) + ");");
    }

    /// <summary>The layer's arguments for comments: <c>padding ((1, 1), (2, 2))</c>, <c>size 2x2 nearest</c>.</summary>
    private static string ResamplingDetail(ResolvedLayer l)
    {
        var s = l.Spec.As<ResamplingArgs>().Sizes;
        return l.Spec.Kind switch
        {
            LayerKind.UpSampling1D => "size " + I(s[0]),
            LayerKind.ZeroPadding1D => "padding (" + I(s[0]) + ", " + I(s[1]) + ")",
            LayerKind.Cropping1D => "cropping (" + I(s[0]) + ", " + I(s[1]) + ")",
            LayerKind.UpSampling2D => "size " + I(s[0]) + "x" + I(s[1]) + " nearest",
            LayerKind.ZeroPadding2D => "padding " + Amounts(s[0], s[1], s[2], s[3]),
            _ => "cropping " + Amounts(s[0], s[1], s[2], s[3]),
        };
    }
}

/// <summary>
/// ZeroPadding and Cropping (1-D and 2-D): (top, bottom, left, right) as declared (a 1-D layer's (begin, end, 0, 0));
/// UpSampling2D: (rows, cols); UpSampling1D: (size, 1).
/// </summary>
internal sealed record ResamplingArgs(EquatableArray<int> Sizes) : LayerArgs
{
    public override void WriteConfig(ConfigWriter config)
    {
        if (Sizes.Length > 0) config.Ints("sizes", Sizes);
    }
}
