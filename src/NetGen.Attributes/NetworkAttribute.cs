using System;

namespace NetGen
{
    /// <summary>
    /// Declares a network: the generator turns the layer attributes on this <c>partial class</c>, in
    /// source order, into forward and backward passes, a training step, a memory plan and a summary.
    /// Keras equivalent: <c>keras.Sequential([keras.Input(shape=...), ...])</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
    public sealed class NetworkAttribute : Attribute
    {
        /// <param name="inputShape">The shape of one sample, without the batch axis, e.g. <c>784</c> or <c>28, 28, 1</c>.</param>
        public NetworkAttribute(params int[] inputShape) => InputShape = inputShape;

        /// <summary>The shape of one sample, without the batch axis.</summary>
        public int[] InputShape { get; }

        /// <summary>The model name printed by <c>Summary()</c>; defaults to the class name.</summary>
        public string? Name { get; set; }

        /// <summary>
        /// The names of the output layers, for a network with several outputs (Keras's <c>Model(inputs, outputs=[...])</c>):
        /// each gets its own loss and labels, in this order. Null: one output, the last declared layer.
        /// </summary>
        public string[]? Outputs { get; set; }
    }
}
