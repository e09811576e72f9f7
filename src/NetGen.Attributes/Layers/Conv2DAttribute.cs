using System;

namespace NetGen
{
    /// <summary>
    /// 2-D convolution on (height, width, channels) samples: <c>y = activation(conv(x, kernel) + bias)</c>, kernel HWIO.
    /// Keras equivalent: <c>Conv2D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1, activation=None,
    /// use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class Conv2DAttribute : LayerAttribute
    {
        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelSize">Height and width of the square kernel.</param>
        public Conv2DAttribute(int filters, int kernelSize) : this(filters, kernelSize, kernelSize) { }

        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelHeight">Kernel height.</param>
        /// <param name="kernelWidth">Kernel width.</param>
        public Conv2DAttribute(int filters, int kernelHeight, int kernelWidth)
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
        /// <summary>Stride in both directions (Keras <c>strides</c>); 1 by default.</summary>
        public int Strides { get; set; } = 1;
        /// <summary>Vertical stride when it differs from the horizontal one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideHeight { get; set; }
        /// <summary>Horizontal stride when it differs from the vertical one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideWidth { get; set; }
        /// <summary>Dilation in both directions (Keras <c>dilation_rate</c>); 1 by default. Cannot be combined with strides &gt; 1.</summary>
        public int DilationRate { get; set; } = 1;
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/>.</summary>
        public Padding Padding { get; set; }
        /// <summary>Activation applied after the bias; linear by default.</summary>
        public Activation Activation { get; set; }
        /// <summary>Whether the layer has a bias vector.</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Kernel initializer; glorot_uniform by default.</summary>
        public Initializer KernelInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
        /// <summary>L1 factor of the kernel's penalty l1·Σ|w| (Keras's <c>kernel_regularizer=l1(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL1 { get; set; }
        /// <summary>L2 factor of the kernel's penalty l2·Σw² (Keras's <c>kernel_regularizer=l2(...)</c>); 0 by default.</summary>
        public double KernelRegularizerL2 { get; set; }
        /// <summary>L1 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL1 { get; set; }
        /// <summary>L2 factor of the bias's penalty (Keras's <c>bias_regularizer</c>); 0 by default.</summary>
        public double BiasRegularizerL2 { get; set; }
    }
}
