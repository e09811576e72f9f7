using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// The epilogue the Dense, convolution and batch-norm kernels share: bias and activation forward (fast paths for linear,
// ReLU and leaky ReLU, the activation table in Backends/Activations.cs otherwise) and the activation's derivative.
public sealed unsafe partial class CpuBackend
{
    /// <summary>z += b (when b is not null) and y = act(z) row by row, for Linear, ReLU and LeakyReLU; false for other activations.</summary>
    private static bool BiasActivationFast(ActivationFunction act, float alpha, float* z, float* y, float* b, int rows, int cols)
    {
        if (!FastActivation.Supports(act)) return false;
        FastActivation.BiasRows(act, alpha, z, y, cols, b, rows, cols);
        return true;
    }

    /// <summary>dy ← dy ⊙ act'(z, y) in place; vectorised for ReLU and LeakyReLU, otherwise <see cref="ActivationBackward"/>.</summary>
    private void ActivationBackwardRows(ActivationFunction act, float alpha, int rows, int cols, int z, int y, int dy)
    {
        if (act == ActivationFunction.Linear) return;
        if (act is not (ActivationFunction.Relu or ActivationFunction.LeakyRelu))
        {
            ActivationBackward(act, alpha, rows, cols, z, y, dy, dy);
            return;
        }
        long count = (long)rows * cols;
        // The sign of the pre-activation decides; without it, y > 0 (as Activations.Derivative).
        float* s = act == ActivationFunction.LeakyRelu && z >= 0 ? At(z) : At(y);
        float* d = At(dy);
        long i = 0;
        if (act == ActivationFunction.Relu)
        {
            for (; i <= count - 16; i += 16)
            {
                var keep = Vector512.GreaterThan(Vector512.Load(s + i), Vector512<float>.Zero);
                Vector512.Store(Vector512.BitwiseAnd(Vector512.Load(d + i), keep), d + i);
            }
            for (; i < count; i++) d[i] = s[i] > 0 ? d[i] : 0f;
        }
        else
        {
            var va = Vector512.Create(alpha);
            for (; i <= count - 16; i += 16)
            {
                var g = Vector512.Load(d + i);
                Vector512.Store(Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Load(s + i), Vector512<float>.Zero), g, g * va), d + i);
            }
            for (; i < count; i++) d[i] = s[i] > 0 ? d[i] : alpha * d[i];
        }
    }

    /// <summary>dy ⊙= act'(z) in place, with the output recomputed from z where the derivative reads it.</summary>
    private void ActivationBackwardFromPreActivation(ActivationFunction act, float alpha, int rows, int cols, int z, int dy)
    {
        if (act == ActivationFunction.Linear) return;
        if (act is ActivationFunction.Relu or ActivationFunction.LeakyRelu)
        {
            // Both read the sign of z (relu's y > 0 exactly when z > 0).
            ActivationBackwardRows(act, alpha, rows, cols, z, z, dy);
            return;
        }
        long count = (long)rows * cols;
        float* pz = At(z), d = At(dy);
        for (long i = 0; i < count; i++)
            d[i] *= Activations.Derivative(act, alpha, pz[i], Activations.Forward(act, alpha, pz[i]));
    }
}
