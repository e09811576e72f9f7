using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Batch normalisation on the CPU: batch statistics per channel (partial sums per work item, reduced in a fixed
// order), normalisation with the fused activation and dropout, and the backward sums and dx.
public sealed unsafe partial class CpuBackend
{
    private const int BnBlockRows = 64;

    /// <summary>Items for a batch-norm pass: a fixed split of the rows (so results do not depend on thread timing).</summary>
    private static int BnItems(int rows, int channels) =>
        (int)Math.Min(ItemsFor((rows + BnBlockRows - 1) / BnBlockRows, (long)BnBlockRows * channels * 2), Threads * (long)BnItemsPerThread);

    /// <summary>Work items per thread in a batch-norm pass.</summary>
    internal static int BnItemsPerThread = 2;

    /// <summary>
    /// Aux layout for batch norm: per channel floats a, b, c, mean (4·C floats), then per item 2·C doubles of partial
    /// sums and 2·C floats of block sums.
    /// </summary>
    private void BnAux(Work w, int channels, int items)
    {
        long perChannel = 4L * channels * sizeof(float);
        long partialBytes = 2L * channels * sizeof(double);
        long blockBytes = 2L * channels * sizeof(float);
        perChannel = (perChannel + 63) & ~63L;
        partialBytes = (partialBytes + 63) & ~63L;
        blockBytes = (blockBytes + 63) & ~63L;
        byte* aux = Aux(perChannel + items * (partialBytes + blockBytes));
        w.ChA = (float*)aux;
        w.ChB = w.ChA + channels;
        w.ChC = w.ChB + channels;
        w.ChMean = w.ChC + channels;
        w.Partials = (double*)(aux + perChannel);
        w.PartialStride = partialBytes / sizeof(double);
        w.Blocks = (float*)(aux + perChannel + items * partialBytes);
        w.BlockStride = blockBytes / sizeof(float);
    }

    /// <inheritdoc/>
    public void BatchNormForward(int rows, in BatchNormArguments a, bool training, in Epilogue epilogue, int x, int y)
    {
        epilogue.CheckNoResidual(nameof(BatchNormForward));
        if (training) epilogue.CheckDropout();
        int channels = a.Channels;
        if (rows <= 0 || channels <= 0) return;
        var (gamma, beta, savedMean, savedInvStd, epsilon) = (a.Gamma, a.Beta, a.SavedMean, a.SavedInvStd, a.Epsilon);
        int preActivation = epilogue.PreActivation;
        var w = GetWork();
        w.DropRate = training ? epilogue.DropoutRate : 0f;
        w.DropKey = epilogue.DropoutKey;
        int items = BnItems(rows, channels);
        BnAux(w, channels, items);
        w.Channels = channels;
        w.X = x; w.Y = y; w.Z = preActivation >= 0 ? preActivation : y; w.Activation = epilogue.Activation; w.Alpha = epilogue.Alpha;
        float* pg = gamma >= 0 ? At(gamma) : null, pb = beta >= 0 ? At(beta) : null;
        float* mm = At(a.MovingMean), mv = At(a.MovingVariance);
        if (training)
        {
            // Pass 1: per-channel sums of d = x - x[0] and d² (shifted, so no cancellation for data far from 0).
            RunWork(w, WorkKind.BnStats, rows, items);
            float* shift = At(x);
            float* sm = savedMean >= 0 ? At(savedMean) : null, si = savedInvStd >= 0 ? At(savedInvStd) : null;
            double decay = 1.0 - a.Momentum;
            double bessel = a.UnbiasedMovingVariance && rows > 1 ? (double)rows / (rows - 1) : 1.0;
            for (int c = 0; c < channels; c++)
            {
                double s1 = 0, s2 = 0;
                for (int i = 0; i < w.Items; i++)
                {
                    s1 += w.Partials[i * w.PartialStride + c];
                    s2 += w.Partials[i * w.PartialStride + channels + c];
                }
                double m1 = s1 / rows;
                double mean = shift[c] + m1;
                double variance = Math.Max(0.0, s2 / rows - m1 * m1);
                double invStd = 1.0 / Math.Sqrt(variance + epsilon);
                if (sm != null) sm[c] = (float)mean;
                if (si != null) si[c] = (float)invStd;
                mm[c] = (float)(mm[c] - (mm[c] - mean) * decay);
                mv[c] = (float)(mv[c] - (mv[c] - variance * bessel) * decay);
                double scale = (pg != null ? pg[c] : 1.0) * invStd;
                w.ChA[c] = (float)scale;
                w.ChB[c] = pb != null ? pb[c] : 0f;
                // x - mean as (x - shift) - m1: exact first step, small second one (y may overwrite x row 0, so copy the shift).
                w.ChMean[c] = shift[c];
                w.ChC[c] = (float)m1;
            }
        }
        else
        {
            for (int c = 0; c < channels; c++)
            {
                w.ChA[c] = (float)((pg != null ? pg[c] : 1.0) / Math.Sqrt((double)mv[c] + epsilon));
                w.ChB[c] = pb != null ? pb[c] : 0f;
                w.ChMean[c] = mm[c];
                w.ChC[c] = 0f;
            }
        }
        // Pass 2: z = ((x - shift) - m1)·scale + beta, y = act(z), masked by the fused dropout.
        RunWork(w, WorkKind.BnNormalize, rows, items);
    }

    /// <inheritdoc/>
    public void BatchNormBackward(int rows, in BatchNormArguments a, in Epilogue epilogue, int x, int y, int dy, int dx, int dGamma, int dBeta,
        bool accumulateDx = false)
    {
        epilogue.CheckDropout();
        int channels = a.Channels;
        if (rows <= 0 || channels <= 0) return;
        var (gamma, savedMean, savedInvStd, preActivation) = (a.Gamma, a.SavedMean, a.SavedInvStd, epilogue.PreActivation);
        var w = GetWork();
        w.DropRate = epilogue.DropoutRate;
        w.DropKey = epilogue.DropoutKey;
        int items = BnItems(rows, channels);
        BnAux(w, channels, items);
        w.Channels = channels;
        w.X = x; w.Y = y; w.Z = preActivation; w.Dy = dy; w.Dx = dx; w.Activation = epilogue.Activation; w.Alpha = epilogue.Alpha;
        w.AccumulateDx = accumulateDx;
        float* mean = At(savedMean), inv = At(savedInvStd);
        for (int c = 0; c < channels; c++) w.ChMean[c] = mean[c];
        // Pass 1: dz = dy·m/(1-rate)·act' in place, per-channel Σdz and Σdz·(x - mean).
        RunWork(w, WorkKind.BnBackwardSums, rows, items);
        float* pg = gamma >= 0 ? At(gamma) : null;
        float* dg = dGamma >= 0 ? At(dGamma) : null, dbeta = dBeta >= 0 ? At(dBeta) : null;
        for (int c = 0; c < channels; c++)
        {
            double s1 = 0, s2 = 0;
            for (int i = 0; i < w.Items; i++)
            {
                s1 += w.Partials[i * w.PartialStride + c];
                s2 += w.Partials[i * w.PartialStride + channels + c];
            }
            double invStd = inv[c];
            double sumDzXhat = s2 * invStd;
            if (dg != null) dg[c] = (float)sumDzXhat;
            if (dbeta != null) dbeta[c] = (float)s1;
            // dx = γ·invStd·(dz − Σdz/N − x̂·Σ(dz·x̂)/N) = a·(dz − b − (x − mean)·c)
            w.ChA[c] = (float)((pg != null ? pg[c] : 1.0) * invStd);
            w.ChB[c] = (float)(s1 / rows);
            w.ChC[c] = (float)(sumDzXhat * invStd / rows);
        }
        if (dx >= 0) RunWork(w, WorkKind.BnBackwardDx, rows, items);
    }

    private void BnStats(Work w, int r0, int r1, int item)
    {
        int C = w.Channels;
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, 2 * C).Clear();
        float* x = At(w.X);
        float* shift = x;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows);
            BlockSums(x + (long)b0 * C, null, shift, b1 - b0, C, blk);
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    private void BnNormalize(Work w, int r0, int r1)
    {
        int C = w.Channels;
        float* x = At(w.X), z = At(w.Z), y = At(w.Y);
        float* a = w.ChA, b = w.ChB, m = w.ChMean, m1 = w.ChC;
        var act = w.Activation;
        // Linear, ReLU and LeakyReLU are applied here; other activations after the pass, from z.
        bool fast = act is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        float* zOut = !fast || z != y ? z : null, yOut = fast ? y : null;
        float alpha = w.Alpha;
        bool drop = w.DropRate > 0f;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows), c0 = 0;
            long o0 = (long)b0 * C;
            for (; c0 <= C - 16; )
            {
                int n = Math.Min(4, (C - c0) / 16);
                NormalizeRows(x + o0 + c0, zOut == null ? null : zOut + o0 + c0, yOut == null ? null : yOut + o0 + c0, b1 - b0, C, n,
                    m + c0, m1 + c0, a + c0, b + c0, act, alpha);
                c0 += 16 * n;
            }
            for (int r = b0; c0 < C && r < b1; r++)
            {
                long o = (long)r * C;
                for (int c = c0; c < C; c++)
                {
                    float v = (x[o + c] - m[c] - m1[c]) * a[c] + b[c];
                    if (zOut != null) zOut[o + c] = v;
                    if (yOut != null)
                        yOut[o + c] = act switch
                        {
                            ActivationFunction.Relu => ReluOp.Apply(v, alpha),
                            ActivationFunction.LeakyRelu => LeakyOp.Apply(v, alpha),
                            _ => v,
                        };
                }
            }
            // The fused dropout on the block just written, while it is in cache.
            if (fast && drop) Dropout(o0, (long)(b1 - b0) * C, w.DropRate, w.DropKey, y + o0, y + o0);
        }
        if (!fast)
        {
            ActivationForward(act, alpha, r1 - r0, C, (int)(w.Z + (long)r0 * C), (int)(w.Y + (long)r0 * C));
            if (drop) Dropout((long)r0 * C, (long)(r1 - r0) * C, w.DropRate, w.DropKey, y + (long)r0 * C, y + (long)r0 * C);
        }
    }

    private void BnBackwardSums(Work w, int r0, int r1, int item)
    {
        int C = w.Channels;
        double* part = w.Partials + item * w.PartialStride;
        float* blk = w.Blocks + item * w.BlockStride;
        new Span<double>(part, 2 * C).Clear();
        float* x = At(w.X), dz = At(w.Dy), m = w.ChMean;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows);
            // dz = dy·act' on this block, so the sums below read it from cache.
            long o0 = (long)b0 * C;
            if (w.DropRate > 0f)
            {
                // The fused dropout's backward, then act' from the pre-activation: y holds the masked output.
                Dropout(o0, (long)(b1 - b0) * C, w.DropRate, w.DropKey, dz + o0, dz + o0);
                ActivationBackwardFromPreActivation(w.Activation, w.Alpha, b1 - b0, C, (int)(w.Z + o0), (int)(w.Dy + o0));
            }
            else if (w.Activation == ActivationFunction.Relu)
            {
                // act' = (y > 0), applied as the sums read dy.
                BlockSums(x + o0, dz + o0, m, b1 - b0, C, blk, At(w.Y) + o0);
                for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
                continue;
            }
            else if (w.Activation != ActivationFunction.Linear)
                ActivationBackwardRows(w.Activation, w.Alpha, b1 - b0, C, w.Z >= 0 ? (int)(w.Z + o0) : -1,
                    (int)(w.Y + o0), (int)(w.Dy + o0));
            BlockSums(x + o0, dz + o0, m, b1 - b0, C, blk);
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    /// <summary>
    /// blk[c] = Σ g[r, c] and blk[C + c] = Σ g[r, c]·d[r, c] over <paramref name="rows"/> rows of C channels, where
    /// d = x[r, c] − m[c] and g is <paramref name="g"/>'s value (d itself where g is null): a block's batch-norm sums.
    /// The rows are added in order from 0 in float, 64 channels at a time in registers (a sum kept in memory waits on
    /// its own store every row).
    /// </summary>
    private static void BlockSums(float* x, float* g, float* m, int rows, int C, float* blk, float* relu = null)
    {
        int c = 0;
        for (; c <= C - 16; )
        {
            int n = Math.Min(4, (C - c) / 16);
            BlockSums(x + c, g == null ? null : g + c, m + c, rows, C, n, blk + c, blk + C + c, relu == null ? null : relu + c);
            c += 16 * n;
        }
        for (; c < C; c++)
        {
            float s1 = 0f, s2 = 0f;
            for (int r = 0; r < rows; r++)
            {
                float d = x[(long)r * C + c] - m[c];
                if (relu != null && !(relu[(long)r * C + c] > 0)) g[(long)r * C + c] = 0f;
                float v = g == null ? d : g[(long)r * C + c];
                s1 += v;
                s2 += v * d;
            }
            blk[c] = s1;
            blk[C + c] = s2;
        }
    }

    /// <summary><see cref="BlockSums(float*, float*, float*, int, int, float*, float*)"/> for n (1 to 4) vectors of 16 channels.</summary>
    private static void BlockSums(float* x, float* g, float* m, int rows, int C, int n, float* s1, float* s2, float* relu)
    {
        Vector512<float> m0 = Vector512.Load(m), m1 = n > 1 ? Vector512.Load(m + 16) : default,
            m2 = n > 2 ? Vector512.Load(m + 32) : default, m3 = n > 3 ? Vector512.Load(m + 48) : default;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int r = 0; r < rows; r++)
        {
            long o = (long)r * C;
            float* xr = x + o, gr = g + o, kr = relu + o;
            var d0 = Vector512.Load(xr) - m0;
            var g0 = g == null ? d0 : Vector512.Load(gr);
            if (relu != null) Vector512.Store(g0 = Vector512.BitwiseAnd(g0, Vector512.GreaterThan(Vector512.Load(kr), Vector512<float>.Zero)), gr);
            a0 += g0;
            b0 += g0 * d0;
            if (n > 1)
            {
                var d1 = Vector512.Load(xr + 16) - m1;
                var g1 = g == null ? d1 : Vector512.Load(gr + 16);
                if (relu != null) Vector512.Store(g1 = Vector512.BitwiseAnd(g1, Vector512.GreaterThan(Vector512.Load(kr + 16), Vector512<float>.Zero)), gr + 16);
                a1 += g1;
                b1 += g1 * d1;
                if (n > 2)
                {
                    var d2 = Vector512.Load(xr + 32) - m2;
                    var g2 = g == null ? d2 : Vector512.Load(gr + 32);
                    if (relu != null) Vector512.Store(g2 = Vector512.BitwiseAnd(g2, Vector512.GreaterThan(Vector512.Load(kr + 32), Vector512<float>.Zero)), gr + 32);
                    a2 += g2;
                    b2 += g2 * d2;
                    if (n > 3)
                    {
                        var d3 = Vector512.Load(xr + 48) - m3;
                        var g3 = g == null ? d3 : Vector512.Load(gr + 48);
                        if (relu != null) Vector512.Store(g3 = Vector512.BitwiseAnd(g3, Vector512.GreaterThan(Vector512.Load(kr + 48), Vector512<float>.Zero)), gr + 48);
                        a3 += g3;
                        b3 += g3 * d3;
                    }
                }
            }
        }
        a0.Store(s1); b0.Store(s2);
        if (n > 1) { a1.Store(s1 + 16); b1.Store(s2 + 16); }
        if (n > 2) { a2.Store(s1 + 32); b2.Store(s2 + 32); }
        if (n > 3) { a3.Store(s1 + 48); b3.Store(s2 + 48); }
    }

    /// <summary>
    /// z = (x − m − m1)·a + b and y = act(z), each where not null, over <paramref name="rows"/> rows of n (1 to 4) vectors
    /// of 16 channels, the per-channel values held in registers. act is Linear, ReLU or LeakyReLU.
    /// </summary>
    private static void NormalizeRows(float* x, float* z, float* y, int rows, int C, int n, float* m, float* m1, float* a, float* b,
        ActivationFunction act, float alpha)
    {
        var p0 = NormalizeTerms(m, m1, a, b, 0);
        var p1 = n > 1 ? NormalizeTerms(m, m1, a, b, 16) : default;
        var p2 = n > 2 ? NormalizeTerms(m, m1, a, b, 32) : default;
        var p3 = n > 3 ? NormalizeTerms(m, m1, a, b, 48) : default;
        var va = Vector512.Create(alpha);
        for (int r = 0; r < rows; r++)
        {
            long o = (long)r * C;
            NormalizeVector(x + o, z == null ? null : z + o, y == null ? null : y + o, p0, act, va);
            if (n > 1) NormalizeVector(x + o + 16, z == null ? null : z + o + 16, y == null ? null : y + o + 16, p1, act, va);
            if (n > 2) NormalizeVector(x + o + 32, z == null ? null : z + o + 32, y == null ? null : y + o + 32, p2, act, va);
            if (n > 3) NormalizeVector(x + o + 48, z == null ? null : z + o + 48, y == null ? null : y + o + 48, p3, act, va);
        }
    }

    private static (Vector512<float> M, Vector512<float> M1, Vector512<float> A, Vector512<float> B) NormalizeTerms(
        float* m, float* m1, float* a, float* b, int c) =>
        (Vector512.Load(m + c), Vector512.Load(m1 + c), Vector512.Load(a + c), Vector512.Load(b + c));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NormalizeVector(float* x, float* z, float* y,
        (Vector512<float> M, Vector512<float> M1, Vector512<float> A, Vector512<float> B) p, ActivationFunction act, Vector512<float> va)
    {
        var v = (Vector512.Load(x) - p.M - p.M1) * p.A + p.B;
        if (z != null) Vector512.Store(v, z);
        if (y != null)
            Vector512.Store(act switch
            {
                ActivationFunction.Relu => ReluOp.Relu(v),
                ActivationFunction.LeakyRelu => LeakyOp.Apply(v, va),
                _ => v,
            }, y);
    }

    /// <summary>
    /// dx = a·(dz − b − (x − m)·cc), or dx += that with <paramref name="add"/>, over <paramref name="rows"/> rows of n
    /// (1 to 4) vectors of 16 channels.
    /// </summary>
    private static void DxRows(float* x, float* dz, float* dx, int rows, int C, int n, float* a, float* b, float* cc, float* m, bool add)
    {
        Vector512<float> a0 = Vector512.Load(a), b0 = Vector512.Load(b), c0 = Vector512.Load(cc), m0 = Vector512.Load(m);
        Vector512<float> a1 = default, b1 = default, c1 = default, m1 = default;
        if (n > 1) (a1, b1, c1, m1) = (Vector512.Load(a + 16), Vector512.Load(b + 16), Vector512.Load(cc + 16), Vector512.Load(m + 16));
        Vector512<float> a2 = default, b2 = default, c2 = default, m2 = default;
        if (n > 2) (a2, b2, c2, m2) = (Vector512.Load(a + 32), Vector512.Load(b + 32), Vector512.Load(cc + 32), Vector512.Load(m + 32));
        Vector512<float> a3 = default, b3 = default, c3 = default, m3 = default;
        if (n > 3) (a3, b3, c3, m3) = (Vector512.Load(a + 48), Vector512.Load(b + 48), Vector512.Load(cc + 48), Vector512.Load(m + 48));
        for (int r = 0; r < rows; r++)
        {
            long o = (long)r * C;
            float* xr = x + o, gr = dz + o, outr = dx + o;
            Put(a0 * (Vector512.Load(gr) - b0 - (Vector512.Load(xr) - m0) * c0), outr, add);
            if (n > 1)
            {
                Put(a1 * (Vector512.Load(gr + 16) - b1 - (Vector512.Load(xr + 16) - m1) * c1), outr + 16, add);
                if (n > 2)
                {
                    Put(a2 * (Vector512.Load(gr + 32) - b2 - (Vector512.Load(xr + 32) - m2) * c2), outr + 32, add);
                    if (n > 3)
                        Put(a3 * (Vector512.Load(gr + 48) - b3 - (Vector512.Load(xr + 48) - m3) * c3), outr + 48, add);
                }
            }
        }
    }

    /// <summary>Stores v at p, or adds it to what p holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> v, float* p, bool add) => Vector512.Store(add ? Vector512.Load(p) + v : v, p);

    private void BnBackwardDx(Work w, int r0, int r1)
    {
        bool add = w.AccumulateDx;
        int C = w.Channels;
        float* x = At(w.X), dz = At(w.Dy), dx = At(w.Dx);
        float* a = w.ChA, b = w.ChB, cc = w.ChC, m = w.ChMean;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows), c0 = 0;
            long o0 = (long)b0 * C;
            for (; c0 <= C - 16; )
            {
                int n = Math.Min(4, (C - c0) / 16);
                DxRows(x + o0 + c0, dz + o0 + c0, dx + o0 + c0, b1 - b0, C, n, a + c0, b + c0, cc + c0, m + c0, add);
                c0 += 16 * n;
            }
            for (int r = b0; c0 < C && r < b1; r++)
            {
                long o = (long)r * C;
                for (int c = c0; c < C; c++)
                {
                    float v = a[c] * (dz[o + c] - b[c] - (x[o + c] - m[c]) * cc[c]);
                    dx[o + c] = add ? dx[o + c] + v : v;
                }
            }
        }
    }
}
