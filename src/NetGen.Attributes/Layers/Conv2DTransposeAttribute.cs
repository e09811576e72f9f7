using System;

namespace NetGen
{
    /// <summary>
    /// Transposed 2-D convolution ("deconvolution"): the gradient of a <see cref="Conv2DAttribute"/> convolution with
    /// respect to its input, used to upsample. Output size per axis, as Keras 2 with <c>output_padding=None</c>:
    /// <c>valid</c> in·stride + max(kernel − stride, 0) (that is (in − 1)·stride + kernel when kernel ≥ stride),
    /// <c>same</c> in·stride, with TensorFlow's padding (the odd extra row/column cropped at the bottom/right).
    /// Kernel layout [kh, kw, filters, channels] as Keras's; parameters kh·kw·filters·channels (+ filters bias).
    /// Not supported: <c>output_padding</c> (always None here) and <c>dilation_rate</c> (always 1).
    /// Keras equivalent: <c>Conv2DTranspose(filters, kernel_size, strides=1, padding='valid', activation=None,
    /// use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class Conv2DTransposeAttribute : LayerAttribute
    {
        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelSize">Height and width of the square kernel.</param>
        public Conv2DTransposeAttribute(int filters, int kernelSize) : this(filters, kernelSize, kernelSize) { }

        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelHeight">Kernel height.</param>
        /// <param name="kernelWidth">Kernel width.</param>
        public Conv2DTransposeAttribute(int filters, int kernelHeight, int kernelWidth)
        {
            Filters = filters;
            KernelHeight = kernelHeight;
            KernelWidth = kernelWidth;
        }

        /// <summary>Number of output channels.</summary>
        public int Filters { get; }
        /// <summary>Kernel height.</summary>
        public int KernelHeight { get; }
        /// <summary>Kernel width.</summary>
        public int KernelWidth { get; }
        /// <summary>Stride (upsampling factor) in both directions (Keras <c>strides</c>); 1 by default.</summary>
        public int Strides { get; set; } = 1;
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/>.</summary>
        public Padding Padding { get; set; }
        /// <summary>Activation applied after the bias; linear by default.</summary>
        public Activation Activation { get; set; }
        /// <summary>Whether the layer has a bias vector.</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; glorot_uniform by default (fans kh·kw·filters in, kh·kw·channels out, as Keras).</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
    }
}
