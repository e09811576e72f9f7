using System;

namespace NetGen
{
    /// <summary>Flattens each sample to one axis (row-major, so NHWC order). Keras equivalent: <c>Flatten()</c>.</summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class FlattenAttribute : LayerAttribute
    {
    }
}
