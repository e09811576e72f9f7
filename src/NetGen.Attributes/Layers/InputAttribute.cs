using System;

namespace NetGen
{
    /// <summary>
    /// A second (third, ...) input of the network, for models with several inputs; the first input is the shape
    /// given to <c>[Network(...)]</c>. Layers read it by its <see cref="LayerAttribute.Name"/>; a layer declared right
    /// after it without <c>Input</c> reads it too. <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> then take one tensor
    /// per input: the network's input first, then these in declaration order.
    /// Keras equivalent: <c>keras.Input(shape=..., name=...)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class InputAttribute : LayerAttribute
    {
        /// <param name="shape">The shape of one sample of this input, without the batch axis, e.g. <c>10</c>.</param>
        public InputAttribute(params int[] shape) => Shape = shape;

        /// <summary>The shape of one sample, without the batch axis.</summary>
        public int[] Shape { get; }
    }
}
