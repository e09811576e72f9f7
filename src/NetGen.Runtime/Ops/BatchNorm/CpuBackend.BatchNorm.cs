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
        (int)Math.Min(ItemsFor((rows + BnBlockRows - 1) / BnBlockRows, (long)BnBlockRows * channels * 2), Threads * 2L);

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
    public void BatchNormBackward(int rows, in BatchNormArguments a, in Epilogue epilogue, int x, int y, int dy, int dx, int dGamma, int dBeta)
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
            new Span<float>(blk, 2 * C).Clear();
            for (int r = b0; r < b1; r++)
            {
                float* xr = x + (long)r * C;
                int c = 0;
                for (; c <= C - 16; c += 16)
                {
                    var d = Vector512.Load(xr + c) - Vector512.Load(shift + c);
                    Vector512.Store(Vector512.Load(blk + c) + d, blk + c);
                    Vector512.Store(Vector512.Load(blk + C + c) + d * d, blk + C + c);
                }
                for (; c < C; c++)
                {
                    float d = xr[c] - shift[c];
                    blk[c] += d;
                    blk[C + c] += d * d;
                }
            }
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    private void BnNormalize(Work w, int r0, int r1)
    {
        int C = w.Channels;
        float* x = At(w.X), z = At(w.Z), y = At(w.Y);
        float* a = w.ChA, b = w.ChB, m = w.ChMean, m1 = w.ChC;
        var act = w.Activation;
        bool fast = act is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.LeakyRelu;
        bool storeZ = z != y;
        var va = Vector512.Create(w.Alpha);
        float alpha = w.Alpha;
        bool drop = w.DropRate > 0f;
        for (int b0 = r0; b0 < r1; b0 += BnBlockRows)
        {
            int b1 = Math.Min(r1, b0 + BnBlockRows);
            for (int r = b0; r < b1; r++)
            {
                long o = (long)r * C;
                float* xr = x + o, zr = z + o, yr = y + o;
                int c = 0;
                for (; c <= C - 16; c += 16)
                {
                    var v = (Vector512.Load(xr + c) - Vector512.Load(m + c) - Vector512.Load(m1 + c)) * Vector512.Load(a + c) + Vector512.Load(b + c);
                    if (!fast || storeZ) Vector512.Store(v, zr + c);
                    if (fast)
                        Vector512.Store(act switch
                        {
                            ActivationFunction.Relu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, Vector512<float>.Zero),
                            ActivationFunction.LeakyRelu => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, v * va),
                            _ => v,
                        }, yr + c);
                }
                for (; c < C; c++)
                {
                    float v = (xr[c] - m[c] - m1[c]) * a[c] + b[c];
                    if (!fast || storeZ) zr[c] = v;
                    if (fast)
                        yr[c] = act switch
                        {
                            ActivationFunction.Relu => v > 0 ? v : 0f,
                            ActivationFunction.LeakyRelu => v > 0 ? v : alpha * v,
                            _ => v,
                        };
                }
            }
            // The fused dropout on the block just written, while it is in cache.
            if (fast && drop) Dropout((long)b0 * C, (long)(b1 - b0) * C, w.DropRate, w.DropKey, y + (long)b0 * C, y + (long)b0 * C);
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
            else if (w.Activation != ActivationFunction.Linear)
                ActivationBackwardRows(w.Activation, w.Alpha, b1 - b0, C, w.Z >= 0 ? (int)(w.Z + o0) : -1,
                    (int)(w.Y + o0), (int)(w.Dy + o0));
            new Span<float>(blk, 2 * C).Clear();
            for (int r = b0; r < b1; r++)
            {
                long o = (long)r * C;
                float* xr = x + o, dr = dz + o;
                int c = 0;
                for (; c <= C - 16; c += 16)
                {
                    var g = Vector512.Load(dr + c);
                    var d = Vector512.Load(xr + c) - Vector512.Load(m + c);
                    Vector512.Store(Vector512.Load(blk + c) + g, blk + c);
                    Vector512.Store(Vector512.Load(blk + C + c) + g * d, blk + C + c);
                }
                for (; c < C; c++)
                {
                    float g = dr[c];
                    blk[c] += g;
                    blk[C + c] += g * (xr[c] - m[c]);
                }
            }
            for (int c = 0; c < 2 * C; c++) part[c] += blk[c];
        }
    }

    private void BnBackwardDx(Work w, int r0, int r1)
    {
        int C = w.Channels;
        float* x = At(w.X), dz = At(w.Dy), dx = At(w.Dx);
        float* a = w.ChA, b = w.ChB, cc = w.ChC, m = w.ChMean;
        for (int r = r0; r < r1; r++)
        {
            long o = (long)r * C;
            float* xr = x + o, dr = dz + o, outr = dx + o;
            int c = 0;
            for (; c <= C - 16; c += 16)
            {
                var d = Vector512.Load(xr + c) - Vector512.Load(m + c);
                var v = Vector512.Load(a + c) * (Vector512.Load(dr + c) - Vector512.Load(b + c) - d * Vector512.Load(cc + c));
                Vector512.Store(v, outr + c);
            }
            for (; c < C; c++)
                outr[c] = a[c] * (dr[c] - b[c] - (xr[c] - m[c]) * cc[c]);
        }
    }
}
