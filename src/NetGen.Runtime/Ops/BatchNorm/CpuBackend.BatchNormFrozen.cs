namespace NetGen.Backends;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormFrozenScale(int rows, int channels, float epsilon, int gamma, int movingVariance, int dy, int dx, bool accumulate = false)
    {
        if (rows <= 0 || channels <= 0) return;
        float* g = At(gamma), mv = At(movingVariance), src = At(dy), dst = At(dx);
        Span<float> scale = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        for (int c = 0; c < channels; c++) scale[c] = (float)(g[c] / Math.Sqrt((double)mv[c] + epsilon));
        for (long r = 0; r < rows; r++)
        {
            float* s = src + r * channels, d = dst + r * channels;
            if (accumulate)
                for (int c = 0; c < channels; c++) d[c] += s[c] * scale[c];
            else
                for (int c = 0; c < channels; c++) d[c] = s[c] * scale[c];
        }
    }
}
