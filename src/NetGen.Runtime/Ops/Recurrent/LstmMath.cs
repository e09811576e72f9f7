using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>
/// An LSTM layer's shape: (steps, features) samples in, (units) or (steps, units) out; kernel (features, 4·units),
/// recurrent kernel (units, 4·units) and bias (4·units) with the gates in Keras's order i, f, c, o; the cell's
/// activation (tanh) and the gates' recurrent activation (sigmoid; hard_sigmoid in Keras before TF 2).
/// </summary>
public readonly record struct LstmGeometry(int Steps, int Features, int Units, bool ReturnSequences,
    ActivationFunction Activation, ActivationFunction RecurrentActivation, bool Reverse = false,
    float Dropout = 0f, float RecurrentDropout = 0f)
{
    /// <summary>Whether training draws dropout masks (Keras's <c>dropout</c> or <c>recurrent_dropout</c> above 0).</summary>
    public bool HasDropout => Dropout > 0 || RecurrentDropout > 0;

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
/// Cache layout for a batch: gates [batch·steps, 4u] (post-activation; dz after the backward pass), then cell states
/// [batch·steps, u], then outputs [batch·steps, u], rows in (sample, step) order, so that the input projection, dW and
/// dx are one GEMM each over all samples and steps, and a step's rows have one stride.
/// </summary>
internal static unsafe class LstmMath
{
    /// <summary>
    /// The forward pass; in training (<paramref name="training"/>) with the geometry's dropouts, masks drawn from
    /// <paramref name="dropoutKey"/> (<see cref="RecurrentDropout"/>). <paramref name="h0"/> and <paramref name="c0"/>
    /// ([batch, u], null: zeros) are the states before the first step (Keras's initial_state); the states after the
    /// last step go to <paramref name="hT"/> and <paramref name="cT"/> when not null (return_state).
    /// </summary>
    public static void Forward(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* cache, float* y,
        bool training = false, ulong dropoutKey = 0, float* h0 = null, float* c0 = null, float* hT = null, float* cT = null)
    {
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
        long rows = (long)batch * T;
        float* gates = cache, cells = cache + rows * u4, hs = cells + rows * u;
        int gateStride = checked(T * u4), stateStride = checked(T * u); // from sample s to s + 1 at one step
        // Dropout masks (the backward pass draws the forward pass's again, from the same key) and room for the masked values.
        using var dropout = RecurrentDropout.Rent(dropoutKey, g.Reverse, training && g.Dropout > 0, training && g.RecurrentDropout > 0, batch, T, F, u, g.Dropout, g.RecurrentDropout);
        fixed (float* im = dropout.InputMask, xm = dropout.Masked, sm = dropout.StateMask, hm = dropout.MaskedStates)
        {
        if (xm != null)
        {
            RecurrentDropout.MaskInputs(x, xm, im, batch, T, F);
            x = xm;
        }
        // z for every (sample, step) = x·W (+ b): one GEMM.
        Sgemm.Multiply(false, false, checked((int)rows), u4, F, 1f, x, F, kernel, u4, 0f, gates, u4);
        if (bias != null)
            for (long r = 0; r < rows; r++)
            {
                float* row = gates + r * u4;
                for (int j = 0; j < u4; j++) row[j] += bias[j];
            }
        for (int k = 0; k < T; k++)
        {
            // Step t in processing order (a Bidirectional's backward layer runs from the last step to the first; its
            // outputs stay at their steps); prev is the step processed before it.
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            // z_t += h_prev·U for all samples at once (rows strided by a sample's steps, or the initial state's rows;
            // masked rows with recurrent dropout).
            if (k > 0 || h0 != null)
            {
                float* hp = k > 0 ? hs + (long)prev * u : h0;
                int hpStride = k > 0 ? stateStride : u;
                if (hm != null)
                {
                    RecurrentDropout.MaskStates(hp, hpStride, sm, hm, batch, u);
                    hp = hm; hpStride = u;
                }
                Sgemm.Multiply(false, false, batch, u4, u, 1f, hp, hpStride, recurrent, u4, 1f, gates + (long)t * u4, gateStride);
            }
            for (int s = 0; s < batch; s++)
            {
                float* z = gates + ((long)s * T + t) * u4;
                float* c = cells + ((long)s * T + t) * u;
                float* h = hs + ((long)s * T + t) * u;
                float* cPrev = k > 0 ? cells + ((long)s * T + prev) * u : c0 != null ? c0 + (long)s * u : null;
                Apply(g.RecurrentActivation, z, z, 2 * u);     // i, f
                Apply(g.Activation, z + 2 * u, z + 2 * u, u);  // g
                Apply(g.RecurrentActivation, z + 3 * u, z + 3 * u, u); // o
                for (int j = 0; j < u; j++) c[j] = z[j] * z[2 * u + j] + (cPrev != null ? z[u + j] * cPrev[j] : 0f);
                Apply(g.Activation, c, h, u);
                for (int j = 0; j < u; j++) h[j] *= z[3 * u + j];
            }
        }
        // The output: every step's h, or the last one; and the last states.
        long last = g.Reverse ? 0 : T - 1;
        for (int s = 0; s < batch; s++)
        {
            float* h = hs + (long)s * T * u;
            if (g.ReturnSequences) new ReadOnlySpan<float>(h, T * u).CopyTo(new Span<float>(y + (long)s * T * u, T * u));
            else new ReadOnlySpan<float>(h + last * u, u).CopyTo(new Span<float>(y + (long)s * u, u));
            if (hT != null) new ReadOnlySpan<float>(h + last * u, u).CopyTo(new Span<float>(hT + (long)s * u, u));
            if (cT != null) new ReadOnlySpan<float>(cells + ((long)s * T + last) * u, u).CopyTo(new Span<float>(cT + (long)s * u, u));
        }
        }
    }

    /// <summary>Floats of scratch <see cref="Infer"/> needs for a batch: one step's gates, cell states and outputs.</summary>
    public static long InferScratch(in LstmGeometry g, int batch) => (long)batch * 6 * g.Units;

    /// <summary>
    /// The inference forward pass, step by step in a small working set (one step's gates [batch, 4u], cells and outputs
    /// [batch, u] in <paramref name="scratch"/>) instead of the training cache of every step, which at batch 256 is
    /// past the caches: each step is x_t·W (the step's rows of x, strided) plus h_{t−1}·U into the same gates, then the
    /// cell. The same formulas and order of operations per value as <see cref="Forward"/>. Samples are independent
    /// through the whole sequence, so with several threads each takes a range of the batch and runs every step of
    /// it alone: one join per call instead of one per GEMM and cell of every step.
    /// </summary>
    public static void Infer(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* scratch, float* y,
        float* h0 = null, float* c0 = null, float* hT = null, float* cT = null)
        => BatchSplit.Run(new InferCall(g, batch, x, kernel, recurrent, bias, scratch, y, h0, c0, hT, cT));

    /// <summary>One <see cref="Infer"/> call's arguments; <see cref="Run"/> computes samples [from, to) through every step.</summary>
    private readonly struct InferCall(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* bias, float* scratch, float* y,
        float* h0, float* c0, float* hT, float* cT) : IStepCells
    {
        private readonly LstmGeometry _g = g;
        private readonly int _batch = batch;
        private readonly float* _x = x, _kernel = kernel, _recurrent = recurrent, _bias = bias, _scratch = scratch, _y = y,
            _h0 = h0, _c0 = c0, _hT = hT, _cT = cT;

        public int Batch => _batch;

        public void Run(int from, int to)
        {
            int T = _g.Steps, F = _g.Features, u = _g.Units, u4 = 4 * u, batch = to - from;
            // This range's rows of the scratch (gates [batch, 4u], then cells and outputs [batch, u]), inputs and outputs.
            float* gates = _scratch + (long)from * u4, cells = _scratch + (long)_batch * u4 + (long)from * u,
                hs = _scratch + (long)_batch * 5 * u + (long)from * u;
            float* x = _x + (long)from * T * F, y = _y + (long)from * (_g.ReturnSequences ? T : 1) * u;
            int n = checked(batch * u);
            if (_h0 != null) new ReadOnlySpan<float>(_h0 + (long)from * u, n).CopyTo(new Span<float>(hs, n));
            if (_c0 != null) new ReadOnlySpan<float>(_c0 + (long)from * u, n).CopyTo(new Span<float>(cells, n));
            for (int k = 0; k < T; k++)
            {
                int t = _g.Reverse ? T - 1 - k : k;
                // z = x_t·W (+ b) + h_{t−1}·U for the batch: x_t's rows are a sample's steps apart.
                Sgemm.Multiply(false, false, batch, u4, F, 1f, x + (long)t * F, checked(T * F), _kernel, u4, 0f, gates, u4);
                if (_bias != null)
                    for (int s = 0; s < batch; s++)
                    {
                        var row = new Span<float>(gates + (long)s * u4, u4);
                        System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(_bias, u4), row);
                    }
                if (k > 0 || _h0 != null) Sgemm.Multiply(false, false, batch, u4, u, 1f, hs, u, _recurrent, u4, 1f, gates, u4);
                var cell = new InferCell(_g, batch, gates, cells, hs, y, t, k > 0 || _c0 != null);
                StepCells.Run(cell, u);
            }
            if (!_g.ReturnSequences) new ReadOnlySpan<float>(hs, n).CopyTo(new Span<float>(y, n));
            if (_hT != null) new ReadOnlySpan<float>(hs, n).CopyTo(new Span<float>(_hT + (long)from * u, n));
            if (_cT != null) new ReadOnlySpan<float>(cells, n).CopyTo(new Span<float>(_cT + (long)from * u, n));
        }
    }

    /// <summary>One inference step's cell math over samples [from, to): the gates' activations, c, h, and h into y with return_sequences.</summary>
    private readonly struct InferCell(in LstmGeometry g, int batch, float* gates, float* cells, float* hs, float* y, int t, bool hasPrev) : IStepCells
    {
        private readonly LstmGeometry _g = g;
        private readonly int _batch = batch, _t = t;
        private readonly float* _gates = gates, _cells = cells, _hs = hs, _y = y;
        private readonly bool _hasPrev = hasPrev;

        public int Batch => _batch;

        public void Run(int from, int to)
        {
            int u = _g.Units, u4 = 4 * u, T = _g.Steps;
            bool fused = Vector512.IsHardwareAccelerated && _g.RecurrentActivation == ActivationFunction.Sigmoid && _g.Activation == ActivationFunction.Tanh;
            for (int s = from; s < to; s++)
            {
                float* z = _gates + (long)s * u4;
                float* c = _cells + (long)s * u;
                float* h = _hs + (long)s * u;
                if (fused)
                {
                    Fused(z, c, h, u, _hasPrev);
                    if (_g.ReturnSequences) new ReadOnlySpan<float>(h, u).CopyTo(new Span<float>(_y + ((long)s * T + _t) * u, u));
                    continue;
                }
                Apply(_g.RecurrentActivation, z, z, 2 * u);     // i, f
                Apply(_g.Activation, z + 2 * u, z + 2 * u, u);  // g
                Apply(_g.RecurrentActivation, z + 3 * u, z + 3 * u, u); // o
                for (int j = 0; j < u; j++) c[j] = z[j] * z[2 * u + j] + (_hasPrev ? z[u + j] * c[j] : 0f);
                Apply(_g.Activation, c, h, u);
                for (int j = 0; j < u; j++) h[j] *= z[3 * u + j];
                if (_g.ReturnSequences) new ReadOnlySpan<float>(h, u).CopyTo(new Span<float>(_y + ((long)s * T + _t) * u, u));
            }
        }

        /// <summary>
        /// Keras's default cell (sigmoid gates, tanh) for one sample, 16 units at a time with every value in registers:
        /// the gates are not written back (inference reads them no more). The same operations per value as the
        /// unfused passes and <see cref="Forward"/>'s cell (<see cref="VectorMath"/>'s vector and scalar forms agree bit
        /// for bit): 1.06-1.08x LSTM(128) inference at batch 256 and 32 (bench/README.md).
        /// </summary>
        private static void Fused(float* z, float* c, float* h, int u, bool hasPrev)
        {
            int j = 0;
            for (; j <= u - 16; j += 16)
            {
                var i = VectorMath.Sigmoid(Vector512.Load(z + j));
                var g = VectorMath.Tanh(Vector512.Load(z + 2 * u + j));
                var cj = i * g + (hasPrev ? VectorMath.Sigmoid(Vector512.Load(z + u + j)) * Vector512.Load(c + j) : Vector512<float>.Zero);
                cj.Store(c + j);
                (VectorMath.Tanh(cj) * VectorMath.Sigmoid(Vector512.Load(z + 3 * u + j))).Store(h + j);
            }
            for (; j < u; j++)
            {
                float cj = VectorMath.Sigmoid(z[j]) * VectorMath.Tanh(z[2 * u + j]) + (hasPrev ? VectorMath.Sigmoid(z[u + j]) * c[j] : 0f);
                c[j] = cj;
                h[j] = VectorMath.Tanh(cj) * VectorMath.Sigmoid(z[3 * u + j]);
            }
        }
    }


    /// <summary>y = f(x) over n values: the vector forms for sigmoid and tanh (the same values as the scalar ones), else element by element.</summary>
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

    /// <summary>Writes (or, with <paramref name="add"/>, adds) an initial state's gradient from the carry; nothing when <paramref name="to"/> is null.</summary>
    internal static void StateGradient(float* carry, float* to, int n, bool add)
    {
        if (to == null) return;
        var source = new ReadOnlySpan<float>(carry, n);
        var target = new Span<float>(to, n);
        if (add) System.Numerics.Tensors.TensorPrimitives.Add(target, source, target);
        else source.CopyTo(target);
    }

    /// <summary>f'(y) from the output, with the common cases inlined.</summary>
    private static float FromOutput(ActivationFunction f, float y) => f switch
    {
        ActivationFunction.Sigmoid => y * (1 - y),
        ActivationFunction.Tanh => 1 - y * y,
        _ => Activations.Derivative(f, 0, float.NaN, y),
    };

    /// <summary>
    /// Backward through time from dy (null: the output has no gradient, only the last states do); writes dW, dU, db
    /// (overwriting) and dx (when not null), and leaves dz of every step in the cache's gate part.
    /// <paramref name="carry"/> holds 2·batch·units floats of scratch. With states (see <see cref="Forward"/>):
    /// <paramref name="h0"/> and <paramref name="c0"/> are the forward pass's initial states; <paramref name="dhT"/> and
    /// <paramref name="dcT"/> the gradients of its last states (null: none); the initial states' gradients go to
    /// <paramref name="dh0"/> and <paramref name="dc0"/>, added to what is there when <paramref name="addH0"/> /
    /// <paramref name="addC0"/>.
    /// </summary>
    public static void Backward(in LstmGeometry g, int batch, float* x, float* kernel, float* recurrent, float* cache, float* dy,
        float* dx, float* dKernel, float* dRecurrent, float* dBias, float* carry, ulong dropoutKey = 0,
        float* h0 = null, float* c0 = null, float* dhT = null, float* dcT = null, float* dh0 = null, float* dc0 = null, bool addH0 = false, bool addC0 = false,
        bool accumulateDx = false)
    {
        // accumulateDx without an input dropout: the backends check it (LstmChecks.CheckAccumulate) before any work.
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
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
        float* gates = cache, cells = cache + rows * u4, hs = cells + rows * u;
        int gateStride = checked(T * u4), stateStride = checked(T * u);
        float* dhNext = carry, dcNext = carry + (long)batch * u; // dL/dh_{t} and dL/dc_{t} carried from step t + 1
        int n0 = checked(batch * u);
        new Span<float>(carry, checked(2 * n0)).Clear();
        if (dhT != null) new ReadOnlySpan<float>(dhT, n0).CopyTo(new Span<float>(dhNext, n0));
        if (dcT != null) new ReadOnlySpan<float>(dcT, n0).CopyTo(new Span<float>(dcNext, n0));
        new Span<float>(dRecurrent, u * u4).Clear();
        float[] tanhCells = new float[u];
        fixed (float* tcs = tanhCells)
        for (int k = T - 1; k >= 0; k--)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            for (int s = 0; s < batch; s++)
            {
                float* z = gates + ((long)s * T + t) * u4;
                float* c = cells + ((long)s * T + t) * u;
                float* cPrev = k > 0 ? cells + ((long)s * T + prev) * u : c0 != null ? c0 + (long)s * u : null;
                float* dh = dhNext + (long)s * u;
                float* dc = dcNext + (long)s * u;
                float* dyt = dy == null ? null : g.ReturnSequences ? dy + ((long)s * T + t) * u : k == T - 1 ? dy + (long)s * u : null;
                Apply(g.Activation, c, tcs, u);
                for (int j = 0; j < u; j++)
                {
                    float ig = z[j], fg = z[u + j], gg = z[2 * u + j], og = z[3 * u + j];
                    float dhj = dh[j] + (dyt != null ? dyt[j] : 0f);
                    float tc = tcs[j];
                    float dActivation = g.Activation == ActivationFunction.Tanh ? 1 - tc * tc : Activations.Derivative(g.Activation, 0, c[j], tc);
                    float dcj = dhj * og * dActivation + dc[j];
                    float dog = dhj * tc;
                    float dig = dcj * gg, dgg = dcj * ig, dfg = cPrev != null ? dcj * cPrev[j] : 0f;
                    dc[j] = dcj * fg; // to c_{t−1}
                    z[j] = dig * FromOutput(g.RecurrentActivation, ig);
                    z[u + j] = dfg * FromOutput(g.RecurrentActivation, fg);
                    z[2 * u + j] = dgg * FromOutput(g.Activation, gg);
                    z[3 * u + j] = dog * FromOutput(g.RecurrentActivation, og);
                }
            }
            // dh_{t−1} = dz_t·Uᵀ, dU += h_{t−1}ᵀ·dz_t (with recurrent dropout: the masked h_{t−1}, and dh_{t−1} masked).
            float* dzt = gates + (long)t * u4;
            Sgemm.Multiply(false, true, batch, u, u4, 1f, dzt, gateStride, recurrent, u4, 0f, dhNext, u);
            if (sm != null) RecurrentDropout.MaskStates(dhNext, u, sm, dhNext, batch, u);
            if (k > 0 || h0 != null)
            {
                float* hp = k > 0 ? hs + (long)prev * u : h0;
                int hpStride = k > 0 ? stateStride : u;
                if (hm != null)
                {
                    RecurrentDropout.MaskStates(hp, hpStride, sm, hm, batch, u);
                    hp = hm; hpStride = u;
                }
                Sgemm.Multiply(true, false, u, u4, batch, 1f, hp, hpStride, dzt, gateStride, 1f, dRecurrent, u4);
            }
        }
        // After the first step the carry holds dL/dh0 (dz_0·Uᵀ, masked) and dL/dc0 (dc_0·f_0).
        StateGradient(dhNext, dh0, n0, addH0);
        StateGradient(dcNext, dc0, n0, addC0);
        // dW = xᵀ·dz, db = Σ dz, dx = dz·Wᵀ over all (sample, step) rows.
        int n = checked((int)rows);
        Sgemm.Multiply(true, false, F, u4, n, 1f, x, F, gates, u4, 0f, dKernel, u4);
        if (dBias != null)
        {
            new Span<float>(dBias, u4).Clear();
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < u4; j++) dBias[j] += gates[r * u4 + j];
        }
        if (dx != null)
        {
            Sgemm.Multiply(false, true, n, F, u4, 1f, gates, u4, kernel, u4, accumulateDx ? 1f : 0f, dx, F);
            if (im != null) RecurrentDropout.MaskInputs(dx, dx, im, batch, T, F); // d(x·m)/dx = m
        }
        }
    }
}
