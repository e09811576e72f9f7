using System;

namespace NetGen
{
    /// <summary>
    /// Reshapes each sample (the batch axis is kept); one dimension may be <c>-1</c> and is then inferred.
    /// Keras equivalent: <c>Reshape(target_shape)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ReshapeAttribute : LayerAttribute
    {
        /// <param name="targetShape">The new per-sample shape; its element count must equal the input's.</param>
        public ReshapeAttribute(params int[] targetShape) => TargetShape = targetShape;

        /// <summary>The new per-sample shape.</summary>
        public int[] TargetShape { get; }
    }
}
