using System;

namespace NetGen
{
    /// <summary>
    /// Nearest-neighbour upsampling: repeats each row <c>rows</c> times and each column <c>cols</c> times,
    /// (H, W, C) → (H·rows, W·cols, C); the backward pass sums the gradient over each rows×cols block. No parameters.
    /// Keras equivalent: <c>UpSampling2D(size=(2, 2), interpolation='nearest')</c>. Only Keras's default
    /// <c>interpolation='nearest'</c> is supported; <c>'bilinear'</c> is not.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class UpSampling2DAttribute : LayerAttribute
    {
        /// <param name="size">Factor for both rows and columns (Keras's <c>size=s</c>); 2 by default, as Keras.</param>
        public UpSampling2DAttribute(int size = 2) : this(size, size) { }

        /// <param name="rows">Factor for the rows (height).</param>
        /// <param name="cols">Factor for the columns (width) (Keras's <c>size=(rows, cols)</c>).</param>
        public UpSampling2DAttribute(int rows, int cols)
        {
            Rows = rows;
            Cols = cols;
        }

        /// <summary>Factor for the rows (height).</summary>
        public int Rows { get; }
        /// <summary>Factor for the columns (width).</summary>
        public int Cols { get; }
    }
}
