using System;

namespace NetGen
{
    /// <summary>
    /// 1-D convolution over the steps of (steps, channels) samples: <c>y = activation(conv(x, kernel) + bias)</c>,
    /// kernel (kernel size, channels, filters). Keras equivalent: <c>Conv1D(filters, kernel_size, strides=1,
    /// padding='valid', dilation_rate=1, activation=None, use_bias=True, kernel_initializer='glorot_uniform',
    /// bias_initializer='zeros')</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class Conv1DAttribute : LayerAttribute
    {
        /// <param name="filters">Number of output channels.</param>
        /// <param name="kernelSize">Steps the kernel spans.</param>
        public Conv1DAttribute(int filters, int kernelSize)
        {
            Filters = filters;
            KernelSize = kernelSize;
        }

        /// <summary>Number of output channels.</summary>
        public int Filters { get; }
        /// <summary>Steps the kernel spans.</summary>
        public int KernelSize { get; }
        /// <summary>Step between windows (Keras <c>strides</c>); 1 by default.</summary>
        public int Strides { get; set; } = 1;
        /// <summary>Dilation (Keras <c>dilation_rate</c>); 1 by default. Cannot be combined with strides &gt; 1.</summary>
        public int DilationRate { get; set; } = 1;
        /// <summary><see cref="NetGen.Padding.Valid"/> (default), <see cref="NetGen.Padding.Same"/> or <see cref="NetGen.Padding.Causal"/>.</summary>
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

    /// <summary>Max over windows of steps of (steps, channels) samples. Keras equivalent: <c>MaxPooling1D(pool_size=2, strides=None, padding='valid')</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class MaxPooling1DAttribute : LayerAttribute
    {
        /// <param name="poolSize">Steps per window.</param>
        public MaxPooling1DAttribute(int poolSize = 2) => PoolSize = poolSize;

        /// <summary>Steps per window.</summary>
        public int PoolSize { get; }
        /// <summary>Step between windows; 0 (the default) means the pool size, as Keras's <c>None</c>.</summary>
        public int Strides { get; set; }
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/>.</summary>
        public Padding Padding { get; set; }
    }

    /// <summary>Mean over windows of steps of (steps, channels) samples. Keras equivalent: <c>AveragePooling1D(pool_size=2, strides=None, padding='valid')</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class AveragePooling1DAttribute : LayerAttribute
    {
        /// <param name="poolSize">Steps per window.</param>
        public AveragePooling1DAttribute(int poolSize = 2) => PoolSize = poolSize;

        /// <summary>Steps per window.</summary>
        public int PoolSize { get; }
        /// <summary>Step between windows; 0 (the default) means the pool size, as Keras's <c>None</c>.</summary>
        public int Strides { get; set; }
        /// <summary><see cref="NetGen.Padding.Valid"/> (default) or <see cref="NetGen.Padding.Same"/> (the mean counts only the steps inside the input).</summary>
        public Padding Padding { get; set; }
    }

    /// <summary>Mean over all steps of (steps, channels) samples: (steps, channels) → (channels). Keras equivalent: <c>GlobalAveragePooling1D()</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GlobalAveragePooling1DAttribute : LayerAttribute
    {
    }

    /// <summary>Max over all steps of (steps, channels) samples: (steps, channels) → (channels). Keras equivalent: <c>GlobalMaxPooling1D()</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class GlobalMaxPooling1DAttribute : LayerAttribute
    {
    }
}

namespace NetGen
{
    /// <summary>Repeats each step of (steps, channels) samples: (steps·size, channels). Keras equivalent: <c>UpSampling1D(size=2)</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class UpSampling1DAttribute : LayerAttribute
    {
        /// <param name="size">How many times each step is repeated.</param>
        public UpSampling1DAttribute(int size = 2) => Size = size;

        /// <summary>How many times each step is repeated.</summary>
        public int Size { get; }
    }

    /// <summary>Zero steps before and after (steps, channels) samples. Keras equivalent: <c>ZeroPadding1D(padding=1)</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ZeroPadding1DAttribute : LayerAttribute
    {
        /// <param name="padding">Zero steps on each side.</param>
        public ZeroPadding1DAttribute(int padding = 1) : this(padding, padding) { }

        /// <param name="left">Zero steps before the sequence.</param>
        /// <param name="right">Zero steps after it.</param>
        public ZeroPadding1DAttribute(int left, int right)
        {
            Left = left;
            Right = right;
        }

        /// <summary>Zero steps before the sequence.</summary>
        public int Left { get; }
        /// <summary>Zero steps after it.</summary>
        public int Right { get; }
    }

    /// <summary>Removes steps at the start and the end of (steps, channels) samples. Keras equivalent: <c>Cropping1D(cropping=(1, 1))</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class Cropping1DAttribute : LayerAttribute
    {
        /// <param name="cropping">Steps removed at each end.</param>
        public Cropping1DAttribute(int cropping = 1) : this(cropping, cropping) { }

        /// <param name="start">Steps removed at the start.</param>
        /// <param name="end">Steps removed at the end.</param>
        public Cropping1DAttribute(int start, int end)
        {
            Start = start;
            End = end;
        }

        /// <summary>Steps removed at the start.</summary>
        public int Start { get; }
        /// <summary>Steps removed at the end.</summary>
        public int End { get; }
    }

    /// <summary>
    /// Dropout of whole channels of (steps, channels) samples (one mask value per sample and channel), in training
    /// only. Keras equivalent: <c>SpatialDropout1D(rate)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class SpatialDropout1DAttribute : LayerAttribute
    {
        /// <param name="rate">Fraction of the channels to drop, in [0, 1).</param>
        public SpatialDropout1DAttribute(double rate) => Rate = rate;

        /// <summary>Fraction of the channels to drop.</summary>
        public double Rate { get; }
    }
}
