using System;

namespace NetGen
{
    /// <summary>
    /// Passes its input on unchanged and adds <c>(l1·Σ|x| + l2·Σx²) / batch</c> to the training loss (and to the loss
    /// that Evaluate reports), as TF 2 Keras does. No parameters.
    /// Keras equivalent: <c>ActivityRegularization(l1=0.0, l2=0.0)</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    public sealed class ActivityRegularizationAttribute : LayerAttribute
    {
        /// <summary>The L1 factor, a finite number ≥ 0; 0 by default.</summary>
        public double L1 { get; set; }
        /// <summary>The L2 factor, a finite number ≥ 0; 0 by default.</summary>
        public double L2 { get; set; }
    }
}
