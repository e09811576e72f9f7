using System;

namespace NetGen
{
    /// <summary>
    /// Marks a class whose layer attributes form a reusable block (a ResNet or Inception block): declared once, used
    /// with <see cref="UseBlockAttribute"/> as many times as needed, each use with its own weights and arguments. Inside
    /// the block, <c>"input"</c> is the block's input, and <see cref="BlockArg"/> constants stand for the arguments of
    /// each use. The block's last layer is its output. Keras equivalent: a Python function that builds layers.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
    public sealed class BlockAttribute : Attribute
    {
    }

    /// <summary>Placeholders for a block's per-use arguments, replaced by the values each <see cref="UseBlockAttribute"/> gives.</summary>
    public static class BlockArg
    {
        /// <summary>The use's <see cref="UseBlockAttribute.Filters"/> (filters or units).</summary>
        public const int Filters = -1_000_001;

        /// <summary>The use's <see cref="UseBlockAttribute.Strides"/>.</summary>
        public const int Strides = -1_000_002;

        /// <summary>The use's <see cref="UseBlockAttribute.KernelSize"/>.</summary>
        public const int KernelSize = -1_000_003;
    }

    /// <summary>
    /// Inserts the layers of a <see cref="BlockAttribute"/> class here, with their own weights. Their names are the
    /// use's name, an underscore and the block's name for the layer (<c>block2_conv2d</c>); the block's last layer takes
    /// the use's name, so later layers read the block by it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class UseBlockAttribute : LayerAttribute
    {
        /// <param name="block">The block class, e.g. <c>typeof(ResidualBlock)</c>.</param>
        public UseBlockAttribute(Type block) => Block = block;

        /// <summary>The block class.</summary>
        public Type Block { get; }

        /// <summary>Replaces <see cref="BlockArg.Filters"/> in the block's layers.</summary>
        public int Filters { get; set; } = BlockArg.Filters;

        /// <summary>Replaces <see cref="BlockArg.Strides"/>; 1 when not given.</summary>
        public int Strides { get; set; } = 1;

        /// <summary>Replaces <see cref="BlockArg.KernelSize"/>; 3 when not given.</summary>
        public int KernelSize { get; set; } = 3;
    }
}
