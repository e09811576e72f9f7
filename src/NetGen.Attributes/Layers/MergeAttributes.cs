using System;

namespace NetGen
{
    /// <summary>
    /// A layer that combines the outputs of several named layers (Keras's merge layers). The inputs are layer names;
    /// <c>"input"</c> is the network's input.
    /// </summary>
    public abstract class MergeAttribute : LayerAttribute
    {
        /// <param name="inputs">The names of the layers to combine, at least two.</param>
        protected MergeAttribute(string[] inputs) => Inputs = inputs ?? Array.Empty<string>();

        /// <summary>The names of the layers combined, in order.</summary>
        public string[] Inputs { get; }
    }

    /// <summary>Element-wise sum of its inputs, all of one shape. Keras equivalent: <c>Add()([a, b, ...])</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class AddAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to add, at least two, e.g. <c>[Add("shortcut", "conv2")]</c>.</param>
        public AddAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>First input minus the second, of one shape. Keras equivalent: <c>Subtract()([a, b])</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class SubtractAttribute : MergeAttribute
    {
        /// <param name="inputs">Exactly two layer names: the minuend, then the subtrahend.</param>
        public SubtractAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>Element-wise product of its inputs, all of one shape. Keras equivalent: <c>Multiply()([a, b, ...])</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class MultiplyAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to multiply, at least two.</param>
        public MultiplyAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>Element-wise mean of its inputs, all of one shape. Keras equivalent: <c>Average()([a, b, ...])</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class AverageAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to average, at least two.</param>
        public AverageAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>
    /// Element-wise maximum of its inputs, all of one shape; the gradient goes to the first input holding the maximum.
    /// Keras equivalent: <c>Maximum()([a, b, ...])</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class MaximumAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to compare, at least two.</param>
        public MaximumAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>
    /// Element-wise minimum of its inputs, all of one shape; the gradient goes to the first input holding the minimum.
    /// Keras equivalent: <c>Minimum()([a, b, ...])</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class MinimumAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to compare, at least two.</param>
        public MinimumAttribute(params string[] inputs) : base(inputs) { }
    }

    /// <summary>
    /// Joins its inputs along one axis; every other axis must match. Keras equivalent:
    /// <c>Concatenate(axis=-1)([a, b, ...])</c> (Inception's filter concatenation).
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ConcatenateAttribute : MergeAttribute
    {
        /// <param name="inputs">The names of the layers to join, at least two.</param>
        public ConcatenateAttribute(params string[] inputs) : base(inputs) { }

        /// <summary>
        /// The axis to join along, counted as Keras does: -1 (the default) is the last axis (channels), 1 the first
        /// axis after the batch axis.
        /// </summary>
        public int Axis { get; set; } = -1;
    }
}
