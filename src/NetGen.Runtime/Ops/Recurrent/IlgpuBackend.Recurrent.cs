using ILGPU;
using ILGPU.Runtime;
using NetGen.Kernels;

namespace NetGen.Backends;

/// <summary>
/// The recurrent layers on the device. The LSTM: the same algorithm as <see cref="LstmMath"/> (the input projection of every step in one
/// GEMM, one GEMM a step for h·U of the four gates, the backward pass keeping dz of every step and ending with one
/// GEMM each for dW and dx), with the cell math and the dropout masks as <see cref="RecurrentKernels"/>; SimpleRNN and
/// GRU as <see cref="RnnMath"/> the same way. Activations it has no kernels for run on host copies (<see cref="RecurrentHost"/>).
/// </summary>
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void LstmForward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int hT = -1, int cT = -1)
    {
        LstmChecks.Check(g, batch);
        if (batch == 0) return;
        // Initial and last states (seq2seq) run on host copies: the device kernels start from zero states.
        if (!RecurrentKernels.OnDevice(g.Activation) || !RecurrentKernels.OnDevice(g.RecurrentActivation) || h0 >= 0 || c0 >= 0 || hT >= 0 || cT >= 0)
        {
            RecurrentHost.LstmForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey, h0, c0, hT, cT);
            return;
        }
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
        long rows = (long)batch * T, cacheFloats = (long)batch * g.CachePerSample;
        bool training = cache >= 0, inputDropout = training && g.Dropout > 0, stateDropout = training && g.RecurrentDropout > 0;
        // Scratch: the cache in inference, the masked inputs, the masked states.
        long scratchFloats = (training ? 0 : cacheFloats) + (inputDropout ? rows * F : 0) + (stateDropout ? (long)batch * u : 0);
        var scratch = scratchFloats > 0 ? ScratchF(scratchFloats) : _none;
        long at = 0;
        var c = training ? V(cache, cacheFloats) : Take(scratch, ref at, cacheFloats);
        var gates = c.SubView(0, rows * u4);
        var cells = c.SubView(rows * u4, rows * u);
        var hs = c.SubView(rows * 5 * u, rows * u);
        var xv = V(x, rows * F);
        ulong key = RecurrentDropout.DirectionKey(dropoutKey, g.Reverse);
        if (inputDropout)
        {
            var xm = Take(scratch, ref at, rows * F);
            Recurrent.MaskRows(checked((int)(rows * F)), xv, xm, new RowMaskParams(T, F, key, g.Dropout));
            xv = xm;
        }
        var hm = stateDropout ? Take(scratch, ref at, (long)batch * u) : _none;
        var stateMask = new RowMaskParams(1, u, RecurrentDropout.RecurrentKey(key), g.RecurrentDropout);
        var recurrentView = V(recurrent, (long)u * u4);
        GemmViews(false, false, checked((int)rows), u4, F, 1f, xv, F, V(kernel, (long)F * u4), u4, 0f, gates, u4);
        if (bias >= 0) Recurrent.AddRows(checked((int)(rows * u4)), gates, V(bias, u4), u4);
        long stepRows = (long)(batch - 1) * T; // a step's rows are T rows apart
        for (int k = 0; k < T; k++)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            if (k > 0)
            {
                var hp = hs.SubView((long)prev * u, stepRows * u + u);
                int ld = T * u;
                if (stateDropout)
                {
                    Recurrent.MaskStates(batch * u, hp, hm, stateMask, T * u);
                    (hp, ld) = (hm, u);
                }
                GemmViews(false, false, batch, u4, u, 1f, hp, ld, recurrentView, u4, 1f, gates.SubView((long)t * u4, stepRows * u4 + u4), T * u4);
            }
            Recurrent.LstmCellForward(batch * u, gates, cells, hs, new LstmStepParams(g, batch, t, prev, k > 0, k == T - 1));
        }
        if (g.ReturnSequences) hs.CopyTo(V(y, rows * u));
        else _k.Merge.ConcatBackward(batch * u, hs, V(y, (long)batch * u), new ConcatParams(u, T * u, (g.Reverse ? 0 : T - 1) * u, 0));
    }

    /// <inheritdoc/>
    public void LstmBackward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int dhT = -1, int dcT = -1, int dh0 = -1, int dc0 = -1, bool addH0 = false, bool addC0 = false,
        bool accumulateDx = false)
    {
        LstmChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        if (batch == 0) return;
        if (!RecurrentKernels.OnDevice(g.Activation) || !RecurrentKernels.OnDevice(g.RecurrentActivation) || dy < 0 || h0 >= 0 || c0 >= 0 || dhT >= 0 || dcT >= 0 || dh0 >= 0 || dc0 >= 0)
        {
            RecurrentHost.LstmBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey,
                h0, c0, dhT, dcT, dh0, dc0, addH0, addC0, accumulateDx);
            return;
        }
        int T = g.Steps, F = g.Features, u = g.Units, u4 = 4 * u;
        long rows = (long)batch * T;
        bool inputDropout = g.Dropout > 0, stateDropout = g.RecurrentDropout > 0;
        var scratch = ScratchF(2L * batch * u + (inputDropout ? rows * F : 0) + (stateDropout ? (long)batch * u : 0));
        long at = 0;
        var carry = Take(scratch, ref at, 2L * batch * u); // dL/dh, then dL/dc, carried from step to step
        var dhNext = carry.SubView(0, (long)batch * u);
        var c = V(cache, (long)batch * g.CachePerSample);
        var gates = c.SubView(0, rows * u4);
        var cells = c.SubView(rows * u4, rows * u);
        var hs = c.SubView(rows * 5 * u, rows * u);
        var xv = V(x, rows * F);
        ulong key = RecurrentDropout.DirectionKey(dropoutKey, g.Reverse);
        var inputMask = new RowMaskParams(T, F, key, g.Dropout);
        if (inputDropout)
        {
            var xm = Take(scratch, ref at, rows * F); // the forward pass's masked inputs, drawn again
            Recurrent.MaskRows(checked((int)(rows * F)), xv, xm, inputMask);
            xv = xm;
        }
        var hm = stateDropout ? Take(scratch, ref at, (long)batch * u) : _none;
        var stateMask = new RowMaskParams(1, u, RecurrentDropout.RecurrentKey(key), g.RecurrentDropout);
        var recurrentView = V(recurrent, (long)u * u4);
        var dRecurrentView = V(dRecurrent, (long)u * u4);
        _k.Fill(checked(2 * batch * u), carry, 0f);
        _k.Fill(u * u4, dRecurrentView, 0f);
        var dyv = V(dy, (long)batch * g.OutputPerSample);
        long stepRows = (long)(batch - 1) * T;
        for (int k = T - 1; k >= 0; k--)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            Recurrent.LstmCellBackward(batch * u, gates, cells, dyv, carry, new LstmStepParams(g, batch, t, prev, k > 0, k == T - 1));
            // dh_{t−1} = dz_t·Uᵀ (masked with recurrent dropout), dU += h_{t−1}ᵀ·dz_t (the masked h_{t−1}).
            var dzt = gates.SubView((long)t * u4, stepRows * u4 + u4);
            GemmViews(false, true, batch, u, u4, 1f, dzt, T * u4, recurrentView, u4, 0f, dhNext, u);
            if (stateDropout) Recurrent.MaskStates(batch * u, dhNext, dhNext, stateMask, u);
            if (k > 0)
            {
                var hp = hs.SubView((long)prev * u, stepRows * u + u);
                int ld = T * u;
                if (stateDropout)
                {
                    Recurrent.MaskStates(batch * u, hp, hm, stateMask, T * u);
                    (hp, ld) = (hm, u);
                }
                GemmViews(true, false, u, u4, batch, 1f, hp, ld, dzt, T * u4, 1f, dRecurrentView, u4);
            }
        }
        // dW = xᵀ·dz, db = Σ dz, dx = dz·Wᵀ over all (sample, step) rows.
        var kernelView = V(kernel, (long)F * u4);
        GemmViews(true, false, F, u4, checked((int)rows), 1f, xv, F, gates, u4, 0f, V(dKernel, (long)F * u4), u4);
        if (dBias >= 0) _k.ColumnSum(u4, gates, V(dBias, u4), checked((int)rows), u4);
        if (dx >= 0)
        {
            var dxv = V(dx, rows * F);
            GemmViews(false, true, checked((int)rows), F, u4, 1f, gates, u4, kernelView, u4, accumulateDx ? 1f : 0f, dxv, F);
            if (inputDropout) Recurrent.MaskRows(checked((int)(rows * F)), dxv, dxv, inputMask);
        }
    }

    /// <summary>Whether the device kernels cover a SimpleRNN's or GRU's activations.</summary>
    private static bool OnDevice(in RnnGeometry g) =>
        RecurrentKernels.OnDevice(g.Activation) && (g.Cell == RnnCell.SimpleRnn || RecurrentKernels.OnDevice(g.RecurrentActivation));

    /// <inheritdoc/>
    public void RnnForward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int hT = -1)
    {
        RnnChecks.Check(g, batch);
        if (batch == 0) return;
        if (!OnDevice(g) || h0 >= 0 || hT >= 0)
        {
            RecurrentHost.RnnForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey, h0, hT);
            return;
        }
        bool gru = g.Cell == RnnCell.Gru;
        int T = g.Steps, F = g.Features, u = g.Units, G = g.Gates * u;
        long rows = (long)batch * T, cacheFloats = (long)batch * g.CachePerSample;
        bool training = cache >= 0, inputDropout = training && g.Dropout > 0, stateDropout = training && g.RecurrentDropout > 0;
        long scratchFloats = (training ? 0 : cacheFloats) + (inputDropout ? rows * F : 0) + (stateDropout ? (long)batch * u : 0) + (gru ? (long)batch * G : 0);
        var scratch = scratchFloats > 0 ? ScratchF(scratchFloats) : _none;
        long at = 0;
        var c = training ? V(cache, cacheFloats) : Take(scratch, ref at, cacheFloats);
        var pre = c.SubView(0, rows * G);
        var rec = gru ? c.SubView(rows * G, rows * u) : _none;
        var hs = c.SubView(rows * G + (gru ? rows * u : 0), rows * u);
        var xv = V(x, rows * F);
        ulong key = RecurrentDropout.DirectionKey(dropoutKey, g.Reverse);
        if (inputDropout)
        {
            var xm = Take(scratch, ref at, rows * F);
            Recurrent.MaskRows(checked((int)(rows * F)), xv, xm, new RowMaskParams(T, F, key, g.Dropout));
            xv = xm;
        }
        var hm = stateDropout ? Take(scratch, ref at, (long)batch * u) : _none;
        var rt = gru ? Take(scratch, ref at, (long)batch * G) : _none; // h_{t−1}·U of the step
        var stateMask = new RowMaskParams(1, u, RecurrentDropout.RecurrentKey(key), g.RecurrentDropout);
        var recurrentView = V(recurrent, (long)u * G);
        var biasView = bias >= 0 ? V(bias, gru ? 2 * G : G) : _none;
        GemmViews(false, false, checked((int)rows), G, F, 1f, xv, F, V(kernel, (long)F * G), G, 0f, pre, G);
        if (bias >= 0) Recurrent.AddRows(checked((int)(rows * G)), pre, biasView, G); // the input bias (the GRU's first half)
        long stepRows = (long)(batch - 1) * T;
        for (int k = 0; k < T; k++)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            var hp = _none;
            int ld = T * u;
            if (k > 0)
            {
                hp = hs.SubView((long)prev * u, stepRows * u + u);
                if (stateDropout)
                {
                    Recurrent.MaskStates(batch * u, hp, hm, stateMask, T * u);
                    (hp, ld) = (hm, u);
                }
            }
            var step = new RnnStepParams(g, batch, t, prev, k > 0, k == T - 1, gru && bias >= 0);
            if (!gru)
            {
                if (k > 0) GemmViews(false, false, batch, u, u, 1f, hp, ld, recurrentView, u, 1f, pre.SubView((long)t * u, stepRows * u + u), T * u);
                Recurrent.RnnCellForward(batch * u, pre, hs, step);
                continue;
            }
            if (k > 0) GemmViews(false, false, batch, G, u, 1f, hp, ld, recurrentView, G, 0f, rt, G);
            else _k.Fill(checked(batch * G), rt, 0f);
            Recurrent.GruCellForward(batch * u, pre, rec, hs, rt, biasView, step);
        }
        if (g.ReturnSequences) hs.CopyTo(V(y, rows * u));
        else _k.Merge.ConcatBackward(batch * u, hs, V(y, (long)batch * u), new ConcatParams(u, T * u, (g.Reverse ? 0 : T - 1) * u, 0));
    }

    /// <inheritdoc/>
    public void RnnBackward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0, int h0 = -1, int dhT = -1, int dh0 = -1, bool addH0 = false, bool accumulateDx = false)
    {
        RnnChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        if (batch == 0) return;
        if (!OnDevice(g) || dy < 0 || h0 >= 0 || dhT >= 0 || dh0 >= 0)
        {
            RecurrentHost.RnnBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey, h0, dhT, dh0, addH0, accumulateDx);
            return;
        }
        bool gru = g.Cell == RnnCell.Gru;
        int T = g.Steps, F = g.Features, u = g.Units, G = g.Gates * u;
        long rows = (long)batch * T;
        bool inputDropout = g.Dropout > 0, stateDropout = g.RecurrentDropout > 0;
        var scratch = ScratchF((long)batch * u + (inputDropout ? rows * F : 0) + (stateDropout || gru ? (long)batch * u : 0) + (gru ? rows * G : 0));
        long at = 0;
        var dhNext = Take(scratch, ref at, (long)batch * u);
        var c = V(cache, (long)batch * g.CachePerSample);
        var pre = c.SubView(0, rows * G);
        var rec = gru ? c.SubView(rows * G, rows * u) : _none;
        var hs = c.SubView(rows * G + (gru ? rows * u : 0), rows * u);
        var xv = V(x, rows * F);
        ulong key = RecurrentDropout.DirectionKey(dropoutKey, g.Reverse);
        var inputMask = new RowMaskParams(T, F, key, g.Dropout);
        if (inputDropout)
        {
            var xm = Take(scratch, ref at, rows * F);
            Recurrent.MaskRows(checked((int)(rows * F)), xv, xm, inputMask);
            xv = xm;
        }
        var hm = stateDropout || gru ? Take(scratch, ref at, (long)batch * u) : _none; // masked h_{t−1}, or the GRU's dR·Uᵀ
        var dR = gru ? Take(scratch, ref at, rows * G) : _none; // the GRU's recurrent-side gradient of every step
        var stateMask = new RowMaskParams(1, u, RecurrentDropout.RecurrentKey(key), g.RecurrentDropout);
        var recurrentView = V(recurrent, (long)u * G);
        var dRecurrentView = V(dRecurrent, (long)u * G);
        _k.Fill(checked(batch * u), dhNext, 0f);
        _k.Fill(u * G, dRecurrentView, 0f);
        var dyv = V(dy, (long)batch * g.OutputPerSample);
        long stepRows = (long)(batch - 1) * T;
        for (int k = T - 1; k >= 0; k--)
        {
            int t = g.Reverse ? T - 1 - k : k, prev = g.Reverse ? t + 1 : t - 1;
            var step = new RnnStepParams(g, batch, t, prev, k > 0, k == T - 1, gru);
            if (gru) Recurrent.GruCellBackward(batch * u, pre, rec, hs, dyv, dhNext, dR, step);
            else Recurrent.RnnCellBackward(batch * u, pre, hs, dyv, dhNext, step);
            if (k == 0) continue;
            // The step's gradient with respect to h·U (+ b_h): SimpleRNN's dz, the GRU's recurrent side.
            var dzt = gru ? dR.SubView((long)t * G, stepRows * G + G) : pre.SubView((long)t * u, stepRows * u + u);
            if (gru)
            {
                // dh_{t−1} += (dR·Uᵀ)·r: through hm, then added (masked with recurrent dropout).
                GemmViews(false, true, batch, u, G, 1f, dzt, T * G, recurrentView, G, 0f, hm, u);
                if (stateDropout) Recurrent.MaskStates(batch * u, hm, hm, stateMask, u);
                _k.Merge.Accumulate(batch * u, hm, dhNext);
            }
            else
            {
                GemmViews(false, true, batch, u, u, 1f, dzt, T * u, recurrentView, u, 0f, dhNext, u);
                if (stateDropout) Recurrent.MaskStates(batch * u, dhNext, dhNext, stateMask, u);
            }
            var hp = hs.SubView((long)prev * u, stepRows * u + u);
            int ld = T * u;
            if (stateDropout)
            {
                Recurrent.MaskStates(batch * u, hp, hm, stateMask, T * u);
                (hp, ld) = (hm, u);
            }
            GemmViews(true, false, u, G, batch, 1f, hp, ld, dzt, T * G, 1f, dRecurrentView, G);
        }
        var kernelView = V(kernel, (long)F * G);
        GemmViews(true, false, F, G, checked((int)rows), 1f, xv, F, pre, G, 0f, V(dKernel, (long)F * G), G);
        if (dBias >= 0)
        {
            _k.ColumnSum(G, pre, V(dBias, G), checked((int)rows), G);
            if (gru) _k.ColumnSum(G, dR, V(dBias + G, G), checked((int)rows), G); // the recurrent bias
        }
        if (dx >= 0)
        {
            var dxv = V(dx, rows * F);
            GemmViews(false, true, checked((int)rows), F, G, 1f, pre, G, kernelView, G, accumulateDx ? 1f : 0f, dxv, F);
            if (inputDropout) Recurrent.MaskRows(checked((int)(rows * F)), dxv, dxv, inputMask);
        }
    }

    /// <inheritdoc/>
    public void EmbeddingForward(int rows, int dim, int inputDim, int x, int table, int y)
    {
        long count = (long)rows * dim;
        if (count == 0) return;
        Recurrent.EmbeddingForward(checked((int)count), V(x, rows), V(table, (long)inputDim * dim), V(y, count), dim, inputDim);
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(int rows, int dim, int inputDim, int x, int dy, int dTable)
    {
        var table = V(dTable, (long)inputDim * dim);
        _k.Fill(checked(inputDim * dim), table, 0f);
        long count = (long)rows * dim;
        if (count == 0) return;
        Recurrent.EmbeddingBackward(checked((int)count), V(x, rows), V(dy, count), table, dim, inputDim);
    }

    /// <summary>The next <paramref name="count"/> floats of a scratch view.</summary>
    private static ArrayView<float> Take(ArrayView<float> scratch, ref long at, long count)
    {
        var view = scratch.SubView(at, count);
        at += count;
        return view;
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C on views (row-major, leading dimensions as <see cref="Gemm"/>).</summary>
    private void GemmViews(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda, ArrayView<float> b, int ldb,
        float beta, ArrayView<float> c, int ldc) =>
        RunGemm(_k.GemmDense, m, n, k, alpha, a, new StridedOperand(lda, transA), b, new StridedOperand(ldb, !transB), beta, c, ldc);

    private RecurrentKernelSet Recurrent => _k.Recurrent;

    internal sealed partial class KernelSet
    {
        private RecurrentKernelSet? _recurrent;

        /// <summary>Recurrent kernels, loaded on first use.</summary>
        public RecurrentKernelSet Recurrent
        {
            get
            {
                var set = Volatile.Read(ref _recurrent);
                if (set is not null) return set;
                lock (_activations) return _recurrent ??= new RecurrentKernelSet(this);
            }
        }
    }

    /// <summary>The launchers of <see cref="RecurrentKernels"/>.</summary>
    internal sealed class RecurrentKernelSet(KernelSet k)
    {
        public Action<Index1D, ArrayView<float>, ArrayView<float>, int> AddRows { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, int>(RecurrentKernels.AddRows);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, RowMaskParams> MaskRows { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, RowMaskParams>(RecurrentKernels.MaskRows);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, RowMaskParams, int> MaskStates { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, RowMaskParams, int>(RecurrentKernels.MaskStates);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, LstmStepParams> LstmCellForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, LstmStepParams>(RecurrentKernels.LstmCellForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LstmStepParams> LstmCellBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LstmStepParams>(RecurrentKernels.LstmCellBackward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, RnnStepParams> RnnCellForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, RnnStepParams>(RecurrentKernels.RnnCellForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams> RnnCellBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams>(RecurrentKernels.RnnCellBackward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams> GruCellForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams>(RecurrentKernels.GruCellForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams> GruCellBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnStepParams>(RecurrentKernels.GruCellBackward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> EmbeddingForward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(RecurrentKernels.EmbeddingForward);

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> EmbeddingBackward { get; } =
            k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(RecurrentKernels.EmbeddingBackward);
    }
}
