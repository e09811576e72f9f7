using System.Runtime.InteropServices;
using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>
/// An LSTM layer's shape: (steps, features) samples in, (units) or (steps, units) out; kernel (features, 4·units),
/// recurrent kernel (units, 4·units) and bias (4·units) with the gates in Keras's order i, f, c, o; the cell's
/// activation (tanh) and the gates' recurrent activation (sigmoid; hard_sigmoid in Keras before TF 2).
/// </summary>
public readonly record struct LstmGeometry(int Steps, int Features, int Units, bool ReturnSequences,
    ActivationFunction Activation, ActivationFunction RecurrentActivation)
{
    /// <summary>Floats per sample of the training cache: the gates (4·units), the cell state and the output of every step.</summary>
    public int CachePerSample => Steps * 6 * Units;

    /// <summary>Floats per sample of the output.</summary>
    public int OutputPerSample => (ReturnSequences ? Steps : 1) * Units;
}

/// <summary>
/// The LSTM of Keras 2 (TF 2 semantics), forward and backward through time on the CPU, over float pointers (the CPU
/// backend's workspace, or host copies for the other backends). Per step t, for every sample:
/// z = x_t·W + h_{t−1}·U + b; i = σ(z_i), f = σ(z_f), g = tanh(z_c), o = σ(z_o); c_t = f·c_{t−1} + i·g;
/// h_t = o·tanh(c_t). The input projection of all steps is one GEMM, each step adds h_{t−1}·U (one GEMM for the
/// four gates); the backward pass keeps dz of every step in the cache and ends with one GEMM each for dW and dx.
/// Cache layout per sample: gates [steps, 4u] (post-activation; dz after the backward pass), cell states [steps, u],
/// outputs [steps, u].
/// </summary>
internal static unsafe class LstmMath
{
    public static void Forward(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* cache, float* y)
    {
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
        long perSample = g.CachePerSample;
        float* gates = cache, cells = cache + (long)T * u4, hs = cells + (long)T * u;
        // The cache's three parts are strided per sample: sample s, step t of gates at s·perSample + t·4u.
        int gateStride = checked((int)perSample), stateStride = gateStride;
        // z for every (sample, step) = x·W (+ b), into the gate slots: rows are (s, t) with a row stride of 4u within
        // a sample and perSample between samples, so one GEMM per sample.
        for (int s = 0; s < batch; s++)
        {
            float* zs = gates + s * perSample;
            Sgemm.Multiply(false, false, T, u4, F, 1f, x + (long)s * T * F, F, kernel, u4, 0f, zs, u4);
            if (bias != null)
                for (int t = 0; t < T; t++)
                {
                    float* row = zs + (long)t * u4;
                    for (int j = 0; j < u4; j++) row[j] += bias[j];
                }
        }
        for (int t = 0; t < T; t++)
        {
            // z_t += h_{t−1}·U for all samples at once (rows strided by the cache's per-sample size).
            if (t > 0)
                Sgemm.Multiply(false, false, batch, u4, u, 1f, hs + (long)(t - 1) * u, stateStride, recurrent, u4, 1f, gates + (long)t * u4, gateStride);
            for (int s = 0; s < batch; s++)
            {
                float* z = gates + s * perSample + (long)t * u4;
                float* c = cells + s * perSample + (long)t * u;
                float* h = hs + s * perSample + (long)t * u;
                float* cPrev = t > 0 ? c - u : null;
                for (int j = 0; j < u; j++)
                {
                    float ig = Activations.Forward(g.RecurrentActivation, 0, z[j]);
                    float fg = Activations.Forward(g.RecurrentActivation, 0, z[u + j]);
                    float gg = Activations.Forward(g.Activation, 0, z[2 * u + j]);
                    float og = Activations.Forward(g.RecurrentActivation, 0, z[3 * u + j]);
                    z[j] = ig; z[u + j] = fg; z[2 * u + j] = gg; z[3 * u + j] = og;
                    float cell = ig * gg + (cPrev != null ? fg * cPrev[j] : 0f);
                    c[j] = cell;
                    h[j] = og * Activations.Forward(g.Activation, 0, cell);
                }
            }
        }
        // The output: every step's h, or the last one.
        for (int s = 0; s < batch; s++)
        {
            float* h = hs + s * perSample;
            if (g.ReturnSequences) new ReadOnlySpan<float>(h, T * u).CopyTo(new Span<float>(y + (long)s * T * u, T * u));
            else new ReadOnlySpan<float>(h + (long)(T - 1) * u, u).CopyTo(new Span<float>(y + (long)s * u, u));
        }
    }

    /// <summary>
    /// Backward through time from dy; writes dW, dU, db (overwriting) and dx (when not null), and leaves dz of every
    /// step in the cache's gate part. <paramref name="carry"/> holds 2·batch·units floats of scratch.
    /// </summary>
    public static void Backward(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* cache, float* dy,
        float* dx, float* dKernel, float* dRecurrent, float* dBias, float* carry)
    {
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
        long perSample = g.CachePerSample;
        int stride = checked((int)perSample);
        float* gates = cache, cells = cache + (long)T * u4, hs = cells + (long)T * u;
        float* dhNext = carry, dcNext = carry + (long)batch * u; // dL/dh_{t} and dL/dc_{t} carried from step t + 1
        new Span<float>(carry, checked(2 * batch * u)).Clear();
        new Span<float>(dRecurrent, u * u4).Clear();
        for (int t = T - 1; t >= 0; t--)
        {
            for (int s = 0; s < batch; s++)
            {
                float* z = gates + s * perSample + (long)t * u4;
                float* c = cells + s * perSample + (long)t * u;
                float* cPrev = t > 0 ? c - u : null;
                float* dh = dhNext + (long)s * u;
                float* dc = dcNext + (long)s * u;
                float* dyt = g.ReturnSequences ? dy + ((long)s * T + t) * u : t == T - 1 ? dy + (long)s * u : null;
                for (int j = 0; j < u; j++)
                {
                    float ig = z[j], fg = z[u + j], gg = z[2 * u + j], og = z[3 * u + j];
                    float dhj = dh[j] + (dyt != null ? dyt[j] : 0f);
                    float tc = Activations.Forward(g.Activation, 0, c[j]);
                    float dcj = dhj * og * Activations.Derivative(g.Activation, 0, c[j], tc) + dc[j];
                    float dog = dhj * tc;
                    float dig = dcj * gg, dgg = dcj * ig, dfg = cPrev != null ? dcj * cPrev[j] : 0f;
                    dc[j] = dcj * fg; // to c_{t−1}
                    z[j] = dig * Activations.Derivative(g.RecurrentActivation, 0, float.NaN, ig);
                    z[u + j] = dfg * Activations.Derivative(g.RecurrentActivation, 0, float.NaN, fg);
                    z[2 * u + j] = dgg * Activations.Derivative(g.Activation, 0, float.NaN, gg);
                    z[3 * u + j] = dog * Activations.Derivative(g.RecurrentActivation, 0, float.NaN, og);
                }
            }
            // dh_{t−1} = dz_t·Uᵀ, dU += h_{t−1}ᵀ·dz_t.
            float* dzt = gates + (long)t * u4;
            Sgemm.Multiply(false, true, batch, u, u4, 1f, dzt, stride, recurrent, u4, 0f, dhNext, u);
            if (t > 0)
                Sgemm.Multiply(true, false, u, u4, batch, 1f, hs + (long)(t - 1) * u, stride, dzt, stride, 1f, dRecurrent, u4);
        }
        // dW = Σ_samples x_sᵀ·dz_s, db = Σ dz, dx_s = dz_s·Wᵀ.
        new Span<float>(dKernel, F * u4).Clear();
        if (dBias != null) new Span<float>(dBias, u4).Clear();
        for (int s = 0; s < batch; s++)
        {
            float* dz = gates + s * perSample;
            Sgemm.Multiply(true, false, F, u4, T, 1f, x + (long)s * T * F, F, dz, u4, 1f, dKernel, u4);
            if (dBias != null)
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < u4; j++) dBias[j] += dz[(long)t * u4 + j];
            if (dx != null) Sgemm.Multiply(false, true, T, F, u4, 1f, dz, u4, kernel, u4, 0f, dx + (long)s * T * F, F);
        }
    }
}
