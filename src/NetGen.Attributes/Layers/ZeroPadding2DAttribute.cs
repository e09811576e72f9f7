using System;

namespace NetGen
{
    /// <summary>
    /// Adds rows and columns of zeros around each (height, width, channels) sample: (H, W, C) →
    /// (H + top + bottom, W + left + right, C). No parameters. Keras equivalent: <c>ZeroPadding2D(padding=(1, 1))</c>,
    /// whose <c>padding</c> is an int, a <c>(rows, cols)</c> pair or <c>((top, bottom), (left, right))</c>: the three
    /// constructors below.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ZeroPadding2DAttribute : LayerAttribute
    {
        /// <param name="padding">Rows added at the top and at the bottom, and columns added on the left and on the right
        /// (Keras's <c>padding=p</c>); 1 by default, as Keras.</param>
        public ZeroPadding2DAttribute(int padding = 1) : this(padding, padding, padding, padding) { }

        /// <param name="rows">Rows added at the top and at the bottom each.</param>
        /// <param name="cols">Columns added on the left and on the right each (Keras's <c>padding=(rows, cols)</c>).</param>
        public ZeroPadding2DAttribute(int rows, int cols) : this(rows, rows, cols, cols) { }

        /// <param name="top">Rows added at the top.</param>
        /// <param name="bottom">Rows added at the bottom.</param>
        /// <param name="left">Columns added on the left.</param>
        /// <param name="right">Columns added on the right (Keras's <c>padding=((top, bottom), (left, right))</c>).</param>
        public ZeroPadding2DAttribute(int top, int bottom, int left, int right)
        {
            Top = top;
            Bottom = bottom;
            Left = left;
            Right = right;
        }

        /// <summary>Rows added at the top.</summary>
        public int Top { get; }
        /// <summary>Rows added at the bottom.</summary>
        public int Bottom { get; }
        /// <summary>Columns added on the left.</summary>
        public int Left { get; }
        /// <summary>Columns added on the right.</summary>
        public int Right { get; }
    }
}
