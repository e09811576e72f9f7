using System;

namespace NetGen
{
    /// <summary>
    /// Depthwise separable 2-D convolution: a depthwise convolution (no bias; strides, padding and dilation apply
    /// here), then a 1x1 pointwise convolution to <see cref="Filters"/> channels, plus bias and activation. Kernels
    /// [kh, kw, channels, depth_multiplier] and [1, 1, channels·depth_multiplier, filters]; parameters
    /// kh·kw·channels·depth_multiplier + channels·depth_multiplier·filters (+ filters bias).
    /// Keras equivalent: <c>SeparableConv2D(filters, kernel_size, strides=1, padding='valid', depth_multiplier=1,
    /// dilation_rate=1, activation=None, use_bias=True, depthwise_initializer='glorot_uniform',
    /// pointwise_initializer='glorot_uniform', bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class SeparableConv2DAttribute : LayerAttribute
    {
        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelSize">Height and width of the square depthwise kernel.</param>
        public SeparableConv2DAttribute(int filters, int kernelSize) : this(filters, kernelSize, kernelSize) { }

        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelHeight">Depthwise kernel height.</param>
        /// <param name="kernelWidth">Depthwise kernel width.</param>
        public SeparableConv2DAttribute(int filters, int kernelHeight, int kernelWidth)
        {
            Filters = filters;
            KernelHeight = kernelHeight;
            KernelWidth = kernelWidth;
        }

        /// <summary>Number of output channels.</summary>
        public int Filters { get; }
        /// <summary>Depthwise kernel height.</summary>
        public int KernelHeight { get; }
        /// <summary>Depthwise kernel width.</summary>
        public int KernelWidth { get; }
        /// <summary>Stride in both directions (Keras <c>strides</c>); 1 by default.</summary>
        public int Strides { get; set; } = 1;
        /// <summary>Vertical stride when it differs from the horizontal one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideHeight { get; set; }
        /// <summary>Horizontal stride when it differs from the vertical one (Keras <c>strides=(h, w)</c>); 0 (the default) takes <see cref="Strides"/>.</summary>
        public int StrideWidth { get; set; }
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/>.</summary>
        public Padding Padding { get; set; }
        /// <summary>Depthwise filters per input channel (Keras <c>depth_multiplier</c>); 1 by default.</summary>
        public int DepthMultiplier { get; set; } = 1;
        /// <summary>Dilation in both directions (Keras <c>dilation_rate</c>); 1 by default. Cannot be combined with strides &gt; 1.</summary>
        public int DilationRate { get; set; } = 1;
        /// <summary>Activation applied after the bias; linear by default.</summary>
        public Activation Activation { get; set; }
        /// <summary>Whether the layer has a bias vector (filters values).</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Depthwise kernel initializer (Keras <c>depthwise_initializer</c>); glorot_uniform by default.</summary>
        public Initializer DepthwiseInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Pointwise kernel initializer (Keras <c>pointwise_initializer</c>); glorot_uniform by default.</summary>
        public Initializer PointwiseInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
    }
}
