using System;

namespace NetGen
{
    /// <summary>
    /// Depthwise 2-D convolution on (height, width, channels) samples: each input channel is convolved with its own
    /// <see cref="DepthMultiplier"/> filters, so the output has channels·depth_multiplier channels (output channel
    /// c·depth_multiplier + m comes from input channel c and filter m). Kernel layout [kh, kw, channels, depth_multiplier],
    /// as Keras's <c>depthwise_kernel</c>; parameters kh·kw·channels·depth_multiplier (+ channels·depth_multiplier bias).
    /// Keras equivalent: <c>DepthwiseConv2D(kernel_size, strides=1, padding='valid', depth_multiplier=1, dilation_rate=1,
    /// activation=None, use_bias=True, depthwise_initializer='glorot_uniform', bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class DepthwiseConv2DAttribute : LayerAttribute
    {
        /// <param name="kernelSize">Height and width of the square kernel.</param>
        public DepthwiseConv2DAttribute(int kernelSize) : this(kernelSize, kernelSize) { }

        /// <param name="kernelHeight">Kernel height.</param>
        /// <param name="kernelWidth">Kernel width.</param>
        public DepthwiseConv2DAttribute(int kernelHeight, int kernelWidth)
        {
            KernelHeight = kernelHeight;
            KernelWidth = kernelWidth;
        }

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
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/>.</summary>
        public Padding Padding { get; set; }
        /// <summary>Filters per input channel (Keras <c>depth_multiplier</c>); 1 by default.</summary>
        public int DepthMultiplier { get; set; } = 1;
        /// <summary>Dilation in both directions (Keras <c>dilation_rate</c>); 1 by default. Cannot be combined with strides &gt; 1.</summary>
        public int DilationRate { get; set; } = 1;
        /// <summary>Activation applied after the bias; linear by default.</summary>
        public Activation Activation { get; set; }
        /// <summary>Whether the layer has a bias vector (channels·depth_multiplier values).</summary>
        public bool UseBias { get; set; } = true;
        /// <summary>Depthwise kernel initializer (Keras <c>depthwise_initializer</c>); glorot_uniform by default.</summary>
        public Initializer DepthwiseInitializer { get; set; } = Initializer.GlorotUniform;
        /// <summary>Bias initializer; zeros by default.</summary>
        public Initializer BiasInitializer { get; set; } = Initializer.Zeros;
    }
}
