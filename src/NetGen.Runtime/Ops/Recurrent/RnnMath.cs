using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>The recurrent cells beside the LSTM.</summary>
public enum RnnCell
{
    /// <summary>Keras's SimpleRNN: h_t = activation(x_t·W + h_{t−1}·U + b).</summary>
    SimpleRnn,
    /// <summary>
    /// Keras's GRU with reset_after (TF 2's default): z, r = recurrent_activation(x·W + b_x + h·U + b_h) per gate,
    /// ĥ = activation(x·W_h + b_xh + r·(h·U_h + b_hh)), h_t = z·h_{t−1} + (1 − z)·ĥ; gates in Keras's order z, r, h.
    /// </summary>
    Gru,
}

/// <summary>
/// A SimpleRNN or GRU layer's shape: (steps, features) samples in, (units) or (steps, units) out; kernel (features,
/// g·units), recurrent kernel (units, g·units) with g = 1 (SimpleRNN) or 3 (GRU), bias (units) or, for the GRU,
/// (2, 3·units): the input bias, then the recurrent bias.
/// </summary>
public readonly record struct RnnGeometry(RnnCell Cell, int Steps, int Features, int Units, bool ReturnSequences,
    ActivationFunction Activation, ActivationFunction RecurrentActivation, bool Reverse = false,
    float Dropout = 0f, float RecurrentDropout = 0f)
{
    /// <summary>Whether training draws dropout masks (Keras's <c>dropout</c> or <c>recurrent_dropout</c> above 0).</summary>
    public bool HasDropout => Dropout > 0 || RecurrentDropout > 0;

    /// <summary>Gates per unit: 1 (SimpleRNN) or 3 (GRU).</summary>
    public int Gates => Cell == RnnCell.Gru ? 3 : 1;

    /// <summary>Floats per sample of the training cache: SimpleRNN keeps every step's pre-activation and output (2u);
    /// the GRU its z, r and candidate (3u), the recurrent part of the candidate (u) and its output (u).</summary>
    public int CachePerSample => Steps * (Cell == RnnCell.Gru ? 5 : 2) * Units;

    /// <summary>Floats per sample of the output.</summary>
    public int OutputPerSample => (ReturnSequences ? Steps : 1) * Units;

    /// <summary>Floats of scratch the CPU kernels need for a batch (beyond the cache).</summary>
    public long ScratchFloats(int batch) => (long)batch * Units * (Cell == RnnCell.Gru ? 7 : 1);
}

/// <summary>
/// SimpleRNN and GRU forward and backward through time on the CPU, over float pointers, laid out as the LSTM's
/// (<see cref="LstmMath"/>): rows in (sample, step) order, the input projection, dW and dx one GEMM each, one recurrent
/// GEMM a step. Cache: SimpleRNN [rows, u] pre-activations then [rows, u] outputs; GRU [rows, 3u] z, r, ĥ (the input
/// gradients after the backward pass), [rows, u] h·U_h + b_hh (its gradient after), [rows, u] outputs.
/// </summary>
internal static unsafe class RnnMath
{
    /// <summary>
    /// The forward pass; in training (<paramref name="training"/>) with the geometry's dropouts (<see cref="RecurrentDropout"/>).
    /// <paramref name="h0"/> ([batch, u], null: zeros) is the state before the first step (Keras's initial_state); the
    /// state after the last step goes to <paramref name="hT"/> when not null (return_state).
    /// </summary>
    public static void Forward(in RnnGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* cache, float* y, float* scratch,
        bool training = false, ulong dropoutKey = 0, float* h0 = null, float* hT = null)
    {
        int T = g.Steps, F = g.Features, u = g.Units, G = g.Gates * u;
        long rows = (long)batch * T;
        // Dropout masks (the backward pass draws the forward pass's again, from the same key) and room for the masked values.
        using var dropout = RecurrentDropout.Rent(dropoutKey, g.Reverse, training && g.Dropout > 0, training && g.RecurrentDropout > 0, batch, T, F, u, g.Dropout, g.RecurrentDropout);
        fixed (float* im = dropout.InputMask, xm = dropout.Masked, sm = dropout.StateMask, hm = dropout.MaskedStates)
        {
        if (xm != null)
        {
            RecurrentDropout.MaskInputs(x, xm, im, batch, T, F);
            x = xm;
        }
        float* pre = cache;                                        // [rows, G]
        float* rec = g.Cell == RnnCell.Gru ? cache + rows * G : null; // [rows, u]
        float* hs = g.Cell == RnnCell.Gru ? rec + rows * u : cache + rows * u;
        Sgemm.Multiply(false, false, checked((int)rows), G, F, 1f, x, F, kernel, G, 0f, pre, G);
        if (bias != null)
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < G; j++) pre[r * G + j] += bias[j];
        int preStride = checked(T * G), stateStride = checked(T * u);
        float* rt = scratch; // GRU: h_{t−1}·U + b_h for the batch, [batch, 3u]
        float* recurrentBias = bias != null && g.Cell == RnnCell.Gru ? bias + G : null;
        for (int k = 0; k < T; k++)
        {
            // Step t in processing order (a Bidirectional's backward layer runs last to first); prev was processed before it.
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            // h_{t−1} as the recurrent GEMM reads it: rows strided by a sample's steps (the initial state's rows at the
            // first step), or masked (recurrent dropout).
            bool hasPrev = k > 0 || h0 != null;
            float* hp = k > 0 ? hs + (long)prev * u : h0;
            int hpStride = k > 0 ? stateStride : u;
            if (hasPrev && hm != null)
            {
                RecurrentDropout.MaskStates(hp, hpStride, sm, hm, batch, u);
                hp = hm; hpStride = u;
            }
            if (g.Cell == RnnCell.SimpleRnn)
            {
                if (hasPrev) Sgemm.Multiply(false, false, batch, u, u, 1f, hp, hpStride, recurrent, u, 1f, pre + (long)t * u, preStride);
                for (int s = 0; s < batch; s++)
                {
                    float* z = pre + ((long)s * T + t) * u;
                    Apply(g.Activation, z, hs + ((long)s * T + t) * u, u);
                }
                continue;
            }
            // GRU
            if (hasPrev) Sgemm.Multiply(false, false, batch, G, u, 1f, hp, hpStride, recurrent, G, 0f, rt, G);
            else new Span<float>(rt, batch * G).Clear();
            for (int s = 0; s < batch; s++)
            {
                float* r = rt + (long)s * G;
                if (recurrentBias != null) for (int j = 0; j < G; j++) r[j] += recurrentBias[j];
                float* z = pre + ((long)s * T + t) * G;
                float* h = hs + ((long)s * T + t) * u;
                float* hPrev = k > 0 ? hs + ((long)s * T + prev) * u : h0 != null ? h0 + (long)s * u : null;
                for (int j = 0; j < 2 * u; j++) z[j] += r[j];
                Apply(g.RecurrentActivation, z, z, 2 * u); // z, r
                float* rh = rec + ((long)s * T + t) * u;
                for (int j = 0; j < u; j++)
                {
                    rh[j] = r[2 * u + j];
                    z[2 * u + j] += z[u + j] * rh[j];
                }
                Apply(g.Activation, z + 2 * u, z + 2 * u, u); // ĥ
                for (int j = 0; j < u; j++)
                {
                    float zg = z[j];
                    h[j] = zg * (hPrev != null ? hPrev[j] : 0f) + (1 - zg) * z[2 * u + j];
                }
            }
        }
        long last = g.Reverse ? 0 : T - 1;
        for (int s = 0; s < batch; s++)
        {
            float* h = hs + (long)s * T * u;
            if (g.ReturnSequences) new ReadOnlySpan<float>(h, T * u).CopyTo(new Span<float>(y + (long)s * T * u, T * u));
            else new ReadOnlySpan<float>(h + last * u, u).CopyTo(new Span<float>(y + (long)s * u, u));
            if (hT != null) new ReadOnlySpan<float>(h + last * u, u).CopyTo(new Span<float>(hT + (long)s * u, u));
        }
        }
    }

    /// <summary>Floats of scratch <see cref="Infer"/> needs for a batch: one step's pre-activations, the GRU's h·U, and the outputs.</summary>
    public static long InferScratch(in RnnGeometry g, int batch) => (long)batch * (2L * g.Gates * g.Units + g.Units);

    /// <summary>
    /// The inference forward pass, step by step in a small working set (as <see cref="LstmMath.Infer"/>, and split
    /// over the batch as it is): each step is x_t·W (+ b_x), h_{t−1}·U (added for SimpleRNN; kept apart, with b_h, for
    /// the GRU's reset gate), then the cell. The same formulas and order per value as <see cref="Forward"/>.
    /// </summary>
    public static void Infer(in RnnGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* scratch, float* y,
        float* h0 = null, float* hT = null)
        => BatchSplit.Run(new InferCall(g, batch, x, kernel, recurrent, bias, scratch, y, h0, hT));

    /// <summary>One <see cref="Infer"/> call's arguments; <see cref="Run"/> computes samples [from, to) through every step.</summary>
    private readonly struct InferCall(in RnnGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* scratch, float* y,
        float* h0, float* hT) : IStepCells
    {
        private readonly RnnGeometry _g = g;
        private readonly int _batch = batch;
        private readonly float* _x = x, _kernel = kernel, _recurrent = recurrent, _bias = bias, _scratch = scratch, _y = y, _h0 = h0, _hT = hT;

        public int Batch => _batch;

        public void Run(int from, int to)
        {
            int T = _g.Steps, F = _g.Features, u = _g.Units, G = _g.Gates * u, batch = to - from;
            // This range's rows of the scratch (pre-activations and h·U [batch, G], then outputs [batch, u]), inputs and outputs.
            float* pre = _scratch + (long)from * G, rt = _scratch + (long)_batch * G + (long)from * G,
                hs = _scratch + (long)_batch * 2 * G + (long)from * u;
            float* x = _x + (long)from * T * F, y = _y + (long)from * (_g.ReturnSequences ? T : 1) * u;
            float* kernel = _kernel, recurrent = _recurrent, bias = _bias;
            int n = checked(batch * u);
            if (_h0 != null) new ReadOnlySpan<float>(_h0 + (long)from * u, n).CopyTo(new Span<float>(hs, n));
            for (int k = 0; k < T; k++)
            {
                int t = _g.Reverse ? T - 1 - k : k;
                Sgemm.Multiply(false, false, batch, G, F, 1f, x + (long)t * F, checked(T * F), kernel, G, 0f, pre, G);
                if (bias != null)
                    for (int s = 0; s < batch; s++)
                    {
                        var row = new Span<float>(pre + (long)s * G, G);
                        System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, G), row);
                    }
                bool hasPrev = k > 0 || _h0 != null;
                if (_g.Cell == RnnCell.SimpleRnn)
                {
                    if (hasPrev) Sgemm.Multiply(false, false, batch, u, u, 1f, hs, u, recurrent, u, 1f, pre, u);
                }
                else if (hasPrev) Sgemm.Multiply(false, false, batch, G, u, 1f, hs, u, recurrent, G, 0f, rt, G);
                else new Span<float>(rt, batch * G).Clear();
                var cell = new InferCell(_g, batch, pre, rt, hs, y, bias != null && _g.Cell == RnnCell.Gru ? bias + G : null, t, hasPrev);
                StepCells.Run(cell, u);
            }
            if (!_g.ReturnSequences) new ReadOnlySpan<float>(hs, n).CopyTo(new Span<float>(y, n));
            if (_hT != null) new ReadOnlySpan<float>(hs, n).CopyTo(new Span<float>(_hT + (long)from * u, n));
        }
    }

    /// <summary>One inference step's cell math over samples [from, to).</summary>
    private readonly struct InferCell(in RnnGeometry g, int batch, float* pre, float* rt, float* hs, float* y, float* recurrentBias, int t, bool hasPrev) : IStepCells
    {
        private readonly RnnGeometry _g = g;
        private readonly int _batch = batch, _t = t;
        private readonly float* _pre = pre, _rt = rt, _hs = hs, _y = y, _recurrentBias = recurrentBias;
        private readonly bool _hasPrev = hasPrev;

        public int Batch => _batch;

        public void Run(int from, int to)
        {
            int u = _g.Units, G = _g.Gates * u, T = _g.Steps;
            for (int s = from; s < to; s++)
            {
                float* h = _hs + (long)s * u;
                if (_g.Cell == RnnCell.SimpleRnn) Apply(_g.Activation, _pre + (long)s * u, h, u);
                else
                {
                    float* r = _rt + (long)s * G;
                    float* z = _pre + (long)s * G;
                    if (_recurrentBias != null) for (int j = 0; j < G; j++) r[j] += _recurrentBias[j];
                    for (int j = 0; j < 2 * u; j++) z[j] += r[j];
                    Apply(_g.RecurrentActivation, z, z, 2 * u); // z, r
                    for (int j = 0; j < u; j++) z[2 * u + j] += z[u + j] * r[2 * u + j];
                    Apply(_g.Activation, z + 2 * u, z + 2 * u, u); // ĥ
                    for (int j = 0; j < u; j++)
                    {
                        float zg = z[j];
                        h[j] = zg * (_hasPrev ? h[j] : 0f) + (1 - zg) * z[2 * u + j];
                    }
                }
                if (_g.ReturnSequences) new ReadOnlySpan<float>(h, u).CopyTo(new Span<float>(_y + ((long)s * T + _t) * u, u));
            }
        }
    }


    /// <summary>
    /// Backward through time from dy (null: only the last state has a gradient), as <see cref="LstmMath.Backward"/>:
    /// <paramref name="h0"/> is the forward pass's initial state, <paramref name="dhT"/> its last state's gradient, and
    /// the initial state's goes to <paramref name="dh0"/> (added to it with <paramref name="addH0"/>).
    /// </summary>
    public static void Backward(in RnnGeometry g, int batch, float* x, float* kernel, float* recurrent, float* cache, float* dy,
        float* dx, float* dKernel, float* dRecurrent, float* dBias, float* scratch, ulong dropoutKey = 0,
        float* h0 = null, float* dhT = null, float* dh0 = null, bool addH0 = false, bool accumulateDx = false)
    {
        // accumulateDx without an input dropout: the backends check it (LstmChecks.CheckAccumulate) before any work.
        int T = g.Steps, F = g.Features, u = g.Units, G = g.Gates * u;
        long rows = (long)batch * T;
        // Dropout masks (the backward pass draws the forward pass's again, from the same key) and room for the masked values.
        using var dropout = RecurrentDropout.Rent(dropoutKey, g.Reverse, g.Dropout > 0, g.RecurrentDropout > 0, batch, T, F, u, g.Dropout, g.RecurrentDropout);
        fixed (float* im = dropout.InputMask, xm = dropout.Masked, sm = dropout.StateMask, hm = dropout.MaskedStates)
        {
        if (xm != null)
        {
            RecurrentDropout.MaskInputs(x, xm, im, batch, T, F);
            x = xm;
        }
        float* pre = cache;
        float* rec = g.Cell == RnnCell.Gru ? cache + rows * G : null;
        float* hs = g.Cell == RnnCell.Gru ? rec + rows * u : cache + rows * u;
        int preStride = checked(T * G), stateStride = checked(T * u);
        float* dhNext = scratch;                          // [batch, u]
        float* dR = scratch + (long)batch * u;            // GRU: the recurrent side's dz, dr, dĥ·r [batch, 3u]
        int n0 = checked(batch * u);
        if (dhT != null) new ReadOnlySpan<float>(dhT, n0).CopyTo(new Span<float>(dhNext, n0));
        else new Span<float>(dhNext, n0).Clear();
        new Span<float>(dRecurrent, u * G).Clear();
        float* dRecurrentBias = dBias != null && g.Cell == RnnCell.Gru ? dBias + G : null;
        if (dRecurrentBias != null) new Span<float>(dRecurrentBias, G).Clear();
        for (int k = T - 1; k >= 0; k--)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            for (int s = 0; s < batch; s++)
            {
                float* dh = dhNext + (long)s * u;
                float* dyt = dy == null ? null : g.ReturnSequences ? dy + ((long)s * T + t) * u : k == T - 1 ? dy + (long)s * u : null;
                float* h = hs + ((long)s * T + t) * u;
                if (g.Cell == RnnCell.SimpleRnn)
                {
                    float* z = pre + ((long)s * T + t) * u;
                    for (int j = 0; j < u; j++)
                        z[j] = (dh[j] + (dyt != null ? dyt[j] : 0f)) * Activations.Derivative(g.Activation, 0, z[j], h[j]);
                    continue;
                }
                float* gz = pre + ((long)s * T + t) * G;
                float* rh = rec + ((long)s * T + t) * u;
                float* hPrev = k > 0 ? hs + ((long)s * T + prev) * u : h0 != null ? h0 + (long)s * u : null;
                float* d = dR + (long)s * G;
                for (int j = 0; j < u; j++)
                {
                    float zg = gz[j], rg = gz[u + j], hh = gz[2 * u + j];
                    float dhj = dh[j] + (dyt != null ? dyt[j] : 0f);
                    float previous = hPrev != null ? hPrev[j] : 0f;
                    float dz = dhj * (previous - hh) * FromOutput(g.RecurrentActivation, zg);
                    float dhh = dhj * (1 - zg) * FromOutput(g.Activation, hh);
                    float dr = dhh * rh[j] * FromOutput(g.RecurrentActivation, rg);
                    dh[j] = dhj * zg; // the direct path to h_{t−1}; the recurrent GEMM adds the rest below
                    gz[j] = dz; gz[u + j] = dr; gz[2 * u + j] = dhh; // dL/d(x·W + b_x)
                    d[j] = dz; d[u + j] = dr; d[2 * u + j] = dhh * rg;  // dL/d(h·U + b_h)
                }
            }
            if (k > 0 || h0 != null)
            {
                // With recurrent dropout the GEMMs read the masked h_{t−1}, and what they hand back to h_{t−1} is masked.
                float* hp = k > 0 ? hs + (long)prev * u : h0;
                int hpStride = k > 0 ? stateStride : u;
                if (g.Cell == RnnCell.SimpleRnn)
                {
                    float* dz = pre + (long)t * u;
                    Sgemm.Multiply(false, true, batch, u, u, 1f, dz, preStride, recurrent, u, 0f, dhNext, u);
                    if (sm != null) RecurrentDropout.MaskStates(dhNext, u, sm, dhNext, batch, u);
                    if (hm != null)
                    {
                        RecurrentDropout.MaskStates(hp, hpStride, sm, hm, batch, u);
                        hp = hm; hpStride = u;
                    }
                    Sgemm.Multiply(true, false, u, u, batch, 1f, hp, hpStride, dz, preStride, 1f, dRecurrent, u);
                }
                else if (hm != null)
                {
                    // dh_{t−1} += (dR·Uᵀ)·r, through the scratch rows; then dU += (h_{t−1}·r)ᵀ·dR.
                    Sgemm.Multiply(false, true, batch, u, G, 1f, dR, G, recurrent, G, 0f, hm, u);
                    for (long i = 0; i < (long)batch * u; i++) dhNext[i] += hm[i] * sm[i];
                    RecurrentDropout.MaskStates(hp, hpStride, sm, hm, batch, u);
                    Sgemm.Multiply(true, false, u, G, batch, 1f, hm, u, dR, G, 1f, dRecurrent, G);
                }
                else
                {
                    Sgemm.Multiply(false, true, batch, u, G, 1f, dR, G, recurrent, G, 1f, dhNext, u);
                    Sgemm.Multiply(true, false, u, G, batch, 1f, hp, hpStride, dR, G, 1f, dRecurrent, G);
                }
            }
            if (dRecurrentBias != null)
                for (int s = 0; s < batch; s++)
                    for (int j = 0; j < G; j++) dRecurrentBias[j] += dR[(long)s * G + j];
        }
        // After the first step dhNext holds dL/dh0.
        LstmMath.StateGradient(dhNext, dh0, n0, addH0);
        int n = checked((int)rows);
        Sgemm.Multiply(true, false, F, G, n, 1f, x, F, pre, G, 0f, dKernel, G);
        if (dBias != null)
        {
            new Span<float>(dBias, G).Clear();
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < G; j++) dBias[j] += pre[r * G + j];
        }
        if (dx != null)
        {
            Sgemm.Multiply(false, true, n, F, G, 1f, pre, G, kernel, G, accumulateDx ? 1f : 0f, dx, F);
            if (im != null) RecurrentDropout.MaskInputs(dx, dx, im, batch, T, F); // d(x·m)/dx = m
        }
        }
    }

    private static void Apply(ActivationFunction f, float* x, float* y, int n)
    {
        var src = new ReadOnlySpan<float>(x, n);
        var dst = new Span<float>(y, n);
        switch (f)
        {
            case ActivationFunction.Sigmoid: VectorMath.Sigmoid(src, dst); break;
            case ActivationFunction.Tanh: VectorMath.Tanh(src, dst); break;
            default:
                for (int i = 0; i < n; i++) y[i] = Activations.Forward(f, 0, x[i]);
                break;
        }
    }

    private static float FromOutput(ActivationFunction f, float y) => f switch
    {
        ActivationFunction.Sigmoid => y * (1 - y),
        ActivationFunction.Tanh => 1 - y * y,
        _ => Activations.Derivative(f, 0, float.NaN, y),
    };
}
