using Microsoft.CodeAnalysis;
using NetGen.Generator.Model;

namespace NetGen.Generator;

public sealed partial class NetGenGenerator
{
    /// <summary>
    /// ZeroPadding2D and Cropping2D: one, two or four constructor arguments, as Keras's int, (rows, cols) and
    /// ((top, bottom), (left, right)), normalised to (top, bottom, left, right). UpSampling2D: one or two, normalised
    /// to (rows, cols). Values are kept as declared; shape inference reports the invalid ones.
    /// </summary>
    private static LayerSpec ReadResampling(AttributeData data, LayerKind kind)
    {
        var args = data.ConstructorArguments;
        int[] sizes;
        if (kind == LayerKind.UpSampling2D)
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
        return new LayerSpec(kind, NamedString(data, "Name"), 0, 0, true, 0, 1, 0, default, Sizes: new EquatableArray<int>(sizes));
    }
}
