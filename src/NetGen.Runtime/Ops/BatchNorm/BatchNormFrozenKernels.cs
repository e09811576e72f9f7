using ILGPU;

namespace NetGen.Kernels;

/// <summary>The input gradient of a frozen (inference-mode) batch norm, one thread per element.</summary>
internal static class BatchNormFrozenKernels
{
    /// <summary>dx[r, c] = dy[r, c]·γ[c] / √(movingVariance[c] + ε) (or dx += that), the scale computed in double as on the CPU.</summary>
    /// <param name="index">Element, [rows·channels].</param>
    /// <param name="dy">Output gradient [rows, channels].</param>
    /// <param name="gamma">γ [channels].</param>
    /// <param name="movingVariance">Moving variance [channels].</param>
    /// <param name="dx">Input gradient [rows, channels]; may be dy.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="accumulate">1: add to what dx holds.</param>
    internal static void Scale(Index1D index, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> movingVariance, ArrayView<float> dx,
        int channels, float epsilon, int accumulate)
    {
        int c = index % channels;
        float scale = (float)(gamma[c] / Math.Sqrt((double)movingVariance[c] + epsilon));
        float v = dy[index] * scale;
        dx[index] = accumulate != 0 ? dx[index] + v : v;
    }
}
