using System;

namespace NetGen
{
    /// <summary>
    /// Max pooling over (height, width) windows. Keras equivalent: <c>MaxPooling2D(pool_size=(2, 2), strides=None,
    /// padding='valid')</c>; strides default to the pool size.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class MaxPooling2DAttribute : LayerAttribute
    {
        /// <param name="poolSize">Height and width of the square window.</param>
        public MaxPooling2DAttribute(int poolSize = 2) : this(poolSize, poolSize) { }

        /// <param name="poolHeight">Window height.</param>
        /// <param name="poolWidth">Window width.</param>
        public MaxPooling2DAttribute(int poolHeight, int poolWidth)
        {
            PoolHeight = poolHeight;
            PoolWidth = poolWidth;
        }

        /// <summary>Window height.</summary>
        public int PoolHeight { get; }
        /// <summary>Window width.</summary>
        public int PoolWidth { get; }
        /// <summary>Stride in both directions; 0 (the default) means the pool size, as Keras's <c>strides=None</c>.</summary>
        public int Strides { get; set; }
        /// <summary>Vertical stride when it differs from the horizontal one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideHeight { get; set; }
        /// <summary>Horizontal stride when it differs from the vertical one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideWidth { get; set; }
        /// <summary>Valid (default) or Same; padded cells never win.</summary>
        public Padding Padding { get; set; }
    }

    /// <summary>
    /// Average pooling over (height, width) windows; with <c>Padding.Same</c> it divides by the cells inside the input
    /// only, as Keras does. Keras equivalent: <c>AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class AveragePooling2DAttribute : LayerAttribute
    {
        /// <param name="poolSize">Height and width of the square window.</param>
        public AveragePooling2DAttribute(int poolSize = 2) : this(poolSize, poolSize) { }

        /// <param name="poolHeight">Window height.</param>
        /// <param name="poolWidth">Window width.</param>
        public AveragePooling2DAttribute(int poolHeight, int poolWidth)
        {
            PoolHeight = poolHeight;
            PoolWidth = poolWidth;
        }

        /// <summary>Window height.</summary>
        public int PoolHeight { get; }
        /// <summary>Window width.</summary>
        public int PoolWidth { get; }
        /// <summary>Stride in both directions; 0 (the default) means the pool size.</summary>
        public int Strides { get; set; }
        /// <summary>Vertical stride when it differs from the horizontal one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideHeight { get; set; }
        /// <summary>Horizontal stride when it differs from the vertical one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideWidth { get; set; }
        /// <summary>Valid (default) or Same.</summary>
        public Padding Padding { get; set; }
    }

    /// <summary>Averages each channel over height and width: (H, W, C) → (C). Keras equivalent: <c>GlobalAveragePooling2D()</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GlobalAveragePooling2DAttribute : LayerAttribute
    {
    }

    /// <summary>Maximum of each channel over height and width: (H, W, C) → (C). Keras equivalent: <c>GlobalMaxPooling2D()</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GlobalMaxPooling2DAttribute : LayerAttribute
    {
    }
}
