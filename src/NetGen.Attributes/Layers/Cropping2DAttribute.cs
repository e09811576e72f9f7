using System;

namespace NetGen
{
    /// <summary>
    /// Removes rows and columns at the edges of each (height, width, channels) sample: (H, W, C) →
    /// (H − top − bottom, W − left − right, C). No parameters; at least one row and one column must remain (NG0107).
    /// Keras equivalent: <c>Cropping2D(cropping=((0, 0), (0, 0)))</c>, whose <c>cropping</c> is an int, a
    /// <c>(rows, cols)</c> pair or <c>((top, bottom), (left, right))</c>: the three constructors below.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class Cropping2DAttribute : LayerAttribute
    {
        /// <param name="cropping">Rows removed at the top and at the bottom, and columns removed on the left and on the
        /// right (Keras's <c>cropping=c</c>); 0 by default, as Keras.</param>
        public Cropping2DAttribute(int cropping = 0) : this(cropping, cropping, cropping, cropping) { }

        /// <param name="rows">Rows removed at the top and at the bottom each.</param>
        /// <param name="cols">Columns removed on the left and on the right each (Keras's <c>cropping=(rows, cols)</c>).</param>
        public Cropping2DAttribute(int rows, int cols) : this(rows, rows, cols, cols) { }

        /// <param name="top">Rows removed at the top.</param>
        /// <param name="bottom">Rows removed at the bottom.</param>
        /// <param name="left">Columns removed on the left.</param>
        /// <param name="right">Columns removed on the right (Keras's <c>cropping=((top, bottom), (left, right))</c>).</param>
        public Cropping2DAttribute(int top, int bottom, int left, int right)
        {
            Top = top;
            Bottom = bottom;
            Left = left;
            Right = right;
        }

        /// <summary>Rows removed at the top.</summary>
        public int Top { get; }
        /// <summary>Rows removed at the bottom.</summary>
        public int Bottom { get; }
        /// <summary>Columns removed on the left.</summary>
        public int Left { get; }
        /// <summary>Columns removed on the right.</summary>
        public int Right { get; }
    }
}
