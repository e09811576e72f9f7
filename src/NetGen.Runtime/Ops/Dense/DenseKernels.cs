using ILGPU;

namespace NetGen.Kernels;

/// <summary>
/// The tile shape of <see cref="DenseKernels.Gemm{TTile, TA, TB}"/> as compile-time constants: a group of
/// Threads×Threads threads computes a (4·Threads)×(4·Threads) block of C, 4×4 outputs per thread, stepping
/// through k in slices of Depth. Small tiles keep ILGPU's CPU accelerator (one OS thread per GPU thread) fast
/// in tests; the GPU uses <see cref="GemmTile16"/>.
/// </summary>
internal interface IGemmTile
{
    /// <summary>Threads per group along x and along y.</summary>
    int Threads { get; }

    /// <summary>k values per shared-memory slice.</summary>
    int Depth { get; }
}

/// <summary>16×16 threads, 64×64 outputs, k slices of 16 (8.3 KB of shared memory): the GPU tile.</summary>
internal struct GemmTile16 : IGemmTile
{
    public readonly int Threads => 16;
    public readonly int Depth => 16;
}

/// <summary>8×8 threads, 32×32 outputs, k slices of 8: for devices limited to 64 threads per group.</summary>
internal struct GemmTile8 : IGemmTile
{
    public readonly int Threads => 8;
    public readonly int Depth => 8;
}

/// <summary>2×2 threads, 8×8 outputs, k slices of 4: for the CPU accelerator (tests).</summary>
internal struct GemmTile2 : IGemmTile
{
    public readonly int Threads => 2;
    public readonly int Depth => 4;
}

/// <summary>One thread, 4×4 outputs, k slices of 4: for a CPU accelerator with one thread per group.</summary>
internal struct GemmTile1 : IGemmTile
{
    public readonly int Threads => 1;
    public readonly int Depth => 4;
}

/// <summary>
/// One GEMM operand as the tile loader sees it: element (outer, k) is op(A)[outer, k] for A (outer = row of C)
/// and op(B)[k, outer] for B (outer = column of C). Implementations read a plain strided matrix or gather an
/// implicit matrix (im2col and friends) on the fly, so convolutions run as GEMMs without scratch memory.
/// </summary>
internal interface IGemmOperand
{
    /// <summary>Element (outer, k); the kernel only asks for outer &lt; its extent and k &lt; K.</summary>
    float Load(ArrayView<float> data, int outer, int k);

    /// <summary>Whether consecutive k are adjacent in memory (the tile loader then walks k across threads).</summary>
    bool KFastest { get; }
}

/// <summary>A row-major matrix with leading dimension Ld, stored outer-major ([outer, ld]) or k-major ([k, ld]).</summary>
internal struct StridedOperand(int ld, bool kMajor) : IGemmOperand
{
    /// <summary>Leading dimension.</summary>
    public int Ld = ld;
    /// <summary>1 when element (outer, k) is at k·Ld + outer, 0 when at outer·Ld + k.</summary>
    public int KMajor = kMajor ? 1 : 0;

    public readonly float Load(ArrayView<float> data, int outer, int k) => KMajor != 0 ? data[k * Ld + outer] : data[outer * Ld + k];

    public readonly bool KFastest => KMajor == 0;
}

/// <summary>Shape and scalars of one GEMM launch, C[m,n] = alpha·op(A)·op(B) + beta·C, possibly split along k.</summary>
internal struct GemmShape(int m, int n, int k, int ldc, float alpha, float beta, int kChunk, int splitStride)
{
    /// <summary>Rows of C.</summary>
    public int M = m;
    /// <summary>Columns of C.</summary>
    public int N = n;
    /// <summary>The shared dimension.</summary>
    public int K = k;
    /// <summary>Leading dimension of C.</summary>
    public int Ldc = ldc;
    /// <summary>Scale of the product.</summary>
    public float Alpha = alpha;
    /// <summary>Scale of the old C; 0 means C is only written.</summary>
    public float Beta = beta;
    /// <summary>k values per grid z-slice (K when not split).</summary>
    public int KChunk = kChunk;
    /// <summary>Floats between the outputs of consecutive z-slices (0 when not split).</summary>
    public int SplitStride = splitStride;
}

/// <summary>Kernels of dense layers: the tiled SGEMM (also used by convolutions) and the bias gradient.</summary>
internal static class DenseKernels
{
    /// <summary>
    /// Tiled, register-blocked SGEMM: C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C, with the operands read
    /// through <typeparamref name="TA"/> and <typeparamref name="TB"/>. Launch with a grid of
    /// (⌈n/(4T)⌉, ⌈m/(4T)⌉, splits) groups of (T, T, 1) threads, T = <see cref="IGemmTile.Threads"/>. Each group
    /// stages a (4T)×Depth slice of op(A) and a Depth×(4T) slice of op(B) in shared memory (rows padded by one
    /// float against bank conflicts); each thread accumulates the 4×4 outputs (ty + iT, tx + jT), i, j &lt; 4.
    /// Grid slice z covers k in [z·KChunk, (z+1)·KChunk) and writes at c + z·SplitStride.
    /// </summary>
    /// <param name="a">Storage of A (whatever <typeparamref name="TA"/> reads).</param>
    /// <param name="b">Storage of B (whatever <typeparamref name="TB"/> reads).</param>
    /// <param name="c">C: [m, ldc] per split slice.</param>
    /// <param name="p">Shape, scalars and split.</param>
    /// <param name="opA">How to read op(A)[row, k].</param>
    /// <param name="opB">How to read op(B)[k, col].</param>
    internal static void Gemm<TTile, TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape p, TA opA, TB opB)
        where TTile : struct, IGemmTile
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
    {
        int t = default(TTile).Threads;
        int depth = default(TTile).Depth;
        int block = 4 * t;
        int stride = block + 1;
        var tileA = SharedMemory.Allocate<float>(default(TTile).Depth * (4 * default(TTile).Threads + 1));
        var tileB = SharedMemory.Allocate<float>(default(TTile).Depth * (4 * default(TTile).Threads + 1));

        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * t + tx;
        int threads = t * t;
        int rowBase = Grid.IdxY * block, colBase = Grid.IdxX * block;
        int tileSize = block * depth;
        int kBegin = Grid.IdxZ * p.KChunk;
        int kEnd = kBegin + p.KChunk < p.K ? kBegin + p.KChunk : p.K;
        bool aKFast = opA.KFastest, bKFast = opB.KFastest;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        for (int k0 = kBegin; k0 < kEnd; k0 += depth)
        {
            // Stage op(A)[rowBase.., k0..] as tileA[kk, row]; consecutive threads walk the axis that is contiguous in memory.
            for (int e = tid; e < tileSize; e += threads)
            {
                int row, kk;
                if (aKFast)
                {
                    row = e / depth;
                    kk = e - row * depth;
                }
                else
                {
                    kk = e / block;
                    row = e - kk * block;
                }
                int gr = rowBase + row, gk = k0 + kk;
                tileA[kk * stride + row] = gr < p.M && gk < kEnd ? opA.Load(a, gr, gk) : 0f;
            }
            // Stage op(B)[k0.., colBase..] as tileB[kk, col].
            for (int e = tid; e < tileSize; e += threads)
            {
                int col, kk;
                if (bKFast)
                {
                    col = e / depth;
                    kk = e - col * depth;
                }
                else
                {
                    kk = e / block;
                    col = e - kk * block;
                }
                int gc = colBase + col, gk = k0 + kk;
                tileB[kk * stride + col] = gc < p.N && gk < kEnd ? opB.Load(b, gc, gk) : 0f;
            }
            Group.Barrier();

            for (int kk = 0; kk < depth; kk++)
            {
                int ra = kk * stride + ty, rb = kk * stride + tx;
                float a0 = tileA[ra], a1 = tileA[ra + t], a2 = tileA[ra + 2 * t], a3 = tileA[ra + 3 * t];
                float b0 = tileB[rb], b1 = tileB[rb + t], b2 = tileB[rb + 2 * t], b3 = tileB[rb + 3 * t];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int r0 = rowBase + ty, q0 = colBase + tx;
        int offset = Grid.IdxZ * p.SplitStride;
        StoreRow(c, p, offset, r0, q0, t, c00, c01, c02, c03);
        StoreRow(c, p, offset, r0 + t, q0, t, c10, c11, c12, c13);
        StoreRow(c, p, offset, r0 + 2 * t, q0, t, c20, c21, c22, c23);
        StoreRow(c, p, offset, r0 + 3 * t, q0, t, c30, c31, c32, c33);
    }

    /// <summary>
    /// The GPU's register-blocked SGEMM, the same contract and launch grid as <see cref="Gemm{TTile, TA, TB}"/> but
    /// with 128×128 blocks of C: a group of 16×16 threads stages 128×8 slices of op(A) and op(B) in shared memory, and
    /// each thread accumulates 8×8 outputs (rows ty + 16i, columns tx + 16j) in registers, 64 multiply-adds for every 16
    /// shared-memory reads (the 64×64 tile: 16 for 8). The next slice's global loads are issued into registers before
    /// the current slice is multiplied, so they overlap it. notes/ilgpu.md measured this design at 35.6 TFLOPS on an
    /// H100 at n = 2048 (17.8 without the prefetch, 6.7 for 32×32 shared tiles); this kernel itself has not yet run on
    /// a GPU. Launch with a grid of (⌈n/128⌉, ⌈m/128⌉, splits) groups of (16, 16, 1) threads.
    /// </summary>
    /// <param name="a">Storage of A (whatever <typeparamref name="TA"/> reads).</param>
    /// <param name="b">Storage of B (whatever <typeparamref name="TB"/> reads).</param>
    /// <param name="c">C: [m, ldc] per split slice.</param>
    /// <param name="p">Shape, scalars and split (KChunk a multiple of <see cref="WideDepth"/>).</param>
    /// <param name="opA">How to read op(A)[row, k].</param>
    /// <param name="opB">How to read op(B)[k, col].</param>
    internal static void GemmWide<TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape p, TA opA, TB opB)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
    {
        var tileA = SharedMemory.Allocate<float>(WideDepth * WideStride);
        var tileB = SharedMemory.Allocate<float>(WideDepth * WideStride);
        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * WideThreads + tx;
        int rowBase = Grid.IdxY * WideBlock, colBase = Grid.IdxX * WideBlock;
        int kBegin = Grid.IdxZ * p.KChunk;
        int kEnd = kBegin + p.KChunk < p.K ? kBegin + p.KChunk : p.K;
        bool aKFast = opA.KFastest, bKFast = opB.KFastest;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c04 = 0f, c05 = 0f, c06 = 0f, c07 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c14 = 0f, c15 = 0f, c16 = 0f, c17 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c24 = 0f, c25 = 0f, c26 = 0f, c27 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f, c34 = 0f, c35 = 0f, c36 = 0f, c37 = 0f;
        float c40 = 0f, c41 = 0f, c42 = 0f, c43 = 0f, c44 = 0f, c45 = 0f, c46 = 0f, c47 = 0f;
        float c50 = 0f, c51 = 0f, c52 = 0f, c53 = 0f, c54 = 0f, c55 = 0f, c56 = 0f, c57 = 0f;
        float c60 = 0f, c61 = 0f, c62 = 0f, c63 = 0f, c64 = 0f, c65 = 0f, c66 = 0f, c67 = 0f;
        float c70 = 0f, c71 = 0f, c72 = 0f, c73 = 0f, c74 = 0f, c75 = 0f, c76 = 0f, c77 = 0f;

        // This thread's four elements of each slice (tid + 256q), loaded ahead into registers.
        float pa0 = WideLoad(opA, a, tid, aKFast, rowBase, p.M, kBegin, kEnd);
        float pa1 = WideLoad(opA, a, tid + 256, aKFast, rowBase, p.M, kBegin, kEnd);
        float pa2 = WideLoad(opA, a, tid + 512, aKFast, rowBase, p.M, kBegin, kEnd);
        float pa3 = WideLoad(opA, a, tid + 768, aKFast, rowBase, p.M, kBegin, kEnd);
        float pb0 = WideLoad(opB, b, tid, bKFast, colBase, p.N, kBegin, kEnd);
        float pb1 = WideLoad(opB, b, tid + 256, bKFast, colBase, p.N, kBegin, kEnd);
        float pb2 = WideLoad(opB, b, tid + 512, bKFast, colBase, p.N, kBegin, kEnd);
        float pb3 = WideLoad(opB, b, tid + 768, bKFast, colBase, p.N, kBegin, kEnd);
        for (int k0 = kBegin; k0 < kEnd; k0 += WideDepth)
        {
            tileA[WideSlot(tid, aKFast)] = pa0;
            tileA[WideSlot(tid + 256, aKFast)] = pa1;
            tileA[WideSlot(tid + 512, aKFast)] = pa2;
            tileA[WideSlot(tid + 768, aKFast)] = pa3;
            tileB[WideSlot(tid, bKFast)] = pb0;
            tileB[WideSlot(tid + 256, bKFast)] = pb1;
            tileB[WideSlot(tid + 512, bKFast)] = pb2;
            tileB[WideSlot(tid + 768, bKFast)] = pb3;
            Group.Barrier();
            int next = k0 + WideDepth;
            if (next < kEnd)
            {
                pa0 = WideLoad(opA, a, tid, aKFast, rowBase, p.M, next, kEnd);
                pa1 = WideLoad(opA, a, tid + 256, aKFast, rowBase, p.M, next, kEnd);
                pa2 = WideLoad(opA, a, tid + 512, aKFast, rowBase, p.M, next, kEnd);
                pa3 = WideLoad(opA, a, tid + 768, aKFast, rowBase, p.M, next, kEnd);
                pb0 = WideLoad(opB, b, tid, bKFast, colBase, p.N, next, kEnd);
                pb1 = WideLoad(opB, b, tid + 256, bKFast, colBase, p.N, next, kEnd);
                pb2 = WideLoad(opB, b, tid + 512, bKFast, colBase, p.N, next, kEnd);
                pb3 = WideLoad(opB, b, tid + 768, bKFast, colBase, p.N, next, kEnd);
            }
            for (int kk = 0; kk < WideDepth; kk++)
            {
                int ra = kk * WideStride + ty, rb = kk * WideStride + tx;
                float a0 = tileA[ra], a1 = tileA[ra + 16], a2 = tileA[ra + 32], a3 = tileA[ra + 48], a4 = tileA[ra + 64], a5 = tileA[ra + 80], a6 = tileA[ra + 96], a7 = tileA[ra + 112];
                float b0 = tileB[rb], b1 = tileB[rb + 16], b2 = tileB[rb + 32], b3 = tileB[rb + 48], b4 = tileB[rb + 64], b5 = tileB[rb + 80], b6 = tileB[rb + 96], b7 = tileB[rb + 112];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3; c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3; c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
                c40 += a4 * b0; c41 += a4 * b1; c42 += a4 * b2; c43 += a4 * b3; c44 += a4 * b4; c45 += a4 * b5; c46 += a4 * b6; c47 += a4 * b7;
                c50 += a5 * b0; c51 += a5 * b1; c52 += a5 * b2; c53 += a5 * b3; c54 += a5 * b4; c55 += a5 * b5; c56 += a5 * b6; c57 += a5 * b7;
                c60 += a6 * b0; c61 += a6 * b1; c62 += a6 * b2; c63 += a6 * b3; c64 += a6 * b4; c65 += a6 * b5; c66 += a6 * b6; c67 += a6 * b7;
                c70 += a7 * b0; c71 += a7 * b1; c72 += a7 * b2; c73 += a7 * b3; c74 += a7 * b4; c75 += a7 * b5; c76 += a7 * b6; c77 += a7 * b7;
            }
            Group.Barrier();
        }

        int r0 = rowBase + ty, q0 = colBase + tx;
        int offset = Grid.IdxZ * p.SplitStride;
        StoreRow(c, p, offset, r0 + 0, q0, WideThreads, c00, c01, c02, c03);
        StoreRow(c, p, offset, r0 + 0, q0 + 64, WideThreads, c04, c05, c06, c07);
        StoreRow(c, p, offset, r0 + 16, q0, WideThreads, c10, c11, c12, c13);
        StoreRow(c, p, offset, r0 + 16, q0 + 64, WideThreads, c14, c15, c16, c17);
        StoreRow(c, p, offset, r0 + 32, q0, WideThreads, c20, c21, c22, c23);
        StoreRow(c, p, offset, r0 + 32, q0 + 64, WideThreads, c24, c25, c26, c27);
        StoreRow(c, p, offset, r0 + 48, q0, WideThreads, c30, c31, c32, c33);
        StoreRow(c, p, offset, r0 + 48, q0 + 64, WideThreads, c34, c35, c36, c37);
        StoreRow(c, p, offset, r0 + 64, q0, WideThreads, c40, c41, c42, c43);
        StoreRow(c, p, offset, r0 + 64, q0 + 64, WideThreads, c44, c45, c46, c47);
        StoreRow(c, p, offset, r0 + 80, q0, WideThreads, c50, c51, c52, c53);
        StoreRow(c, p, offset, r0 + 80, q0 + 64, WideThreads, c54, c55, c56, c57);
        StoreRow(c, p, offset, r0 + 96, q0, WideThreads, c60, c61, c62, c63);
        StoreRow(c, p, offset, r0 + 96, q0 + 64, WideThreads, c64, c65, c66, c67);
        StoreRow(c, p, offset, r0 + 112, q0, WideThreads, c70, c71, c72, c73);
        StoreRow(c, p, offset, r0 + 112, q0 + 64, WideThreads, c74, c75, c76, c77);
    }

    /// <summary>Threads per <see cref="GemmWide{TA, TB}"/> group along x and along y.</summary>
    internal const int WideThreads = 16;

    /// <summary>Rows (and columns) of C per <see cref="GemmWide{TA, TB}"/> group.</summary>
    internal const int WideBlock = 128;

    /// <summary>k values per <see cref="GemmWide{TA, TB}"/> shared-memory slice.</summary>
    internal const int WideDepth = 8;

    /// <summary>Floats per k row of a wide slice: 128, plus 4 so that the staging stores of a k-fastest operand spread over the banks.</summary>
    private const int WideStride = WideBlock + 4;

    /// <summary>
    /// Element e (0 ≤ e &lt; 1024) of a wide slice, as (outer, kk): consecutive e walk the axis that is contiguous in
    /// memory (k for a k-fastest operand), so that a warp's global loads are adjacent.
    /// </summary>
    private static int WideSlot(int e, bool kFast) => kFast ? (e & (WideDepth - 1)) * WideStride + (e >> 3) : (e >> 7) * WideStride + (e & (WideBlock - 1));

    /// <summary>Element e of the slice at k0 from global memory: op(outerBase + outer, k0 + kk), 0 outside the matrix or past kEnd.</summary>
    private static float WideLoad<TOp>(TOp op, ArrayView<float> data, int e, bool kFast, int outerBase, int outerCount, int k0, int kEnd)
        where TOp : struct, IGemmOperand
    {
        int outer = kFast ? e >> 3 : e & (WideBlock - 1);
        int kk = kFast ? e & (WideDepth - 1) : e >> 7;
        int go = outerBase + outer, gk = k0 + kk;
        return go < outerCount && gk < kEnd ? op.Load(data, go, gk) : 0f;
    }


    /// <summary>Writes the four outputs (row, col + j·t) of one accumulator row, skipping those outside C.</summary>
    private static void StoreRow(ArrayView<float> c, GemmShape p, int offset, int row, int col, int t,
        float v0, float v1, float v2, float v3)
    {
        if (row >= p.M) return;
        int at = offset + row * p.Ldc + col;
        Store(c, p, at, col, v0);
        Store(c, p, at + t, col + t, v1);
        Store(c, p, at + 2 * t, col + 2 * t, v2);
        Store(c, p, at + 3 * t, col + 3 * t, v3);
    }

    private static void Store(ArrayView<float> c, GemmShape p, int at, int col, float v)
    {
        if (col >= p.N) return;
        c[at] = p.Beta == 0f ? p.Alpha * v : p.Alpha * v + p.Beta * c[at];
    }

    /// <summary>
    /// Finishes a split-k GEMM: C[r, col] = alpha·Σ_z partial[z, r, col] + beta·C[r, col], the slices added in
    /// order (deterministic).
    /// </summary>
    /// <param name="index">Element index, [m·n].</param>
    /// <param name="partial">Partial products [splits, m, n].</param>
    /// <param name="c">C: [m, ldc].</param>
    /// <param name="p">Shape (M, N, Ldc, Alpha, Beta; SplitStride = m·n; KChunk = the number of splits).</param>
    internal static void SumSplits(Index1D index, ArrayView<float> partial, ArrayView<float> c, GemmShape p)
    {
        int i = index.X;
        int r = i / p.N, col = i - r * p.N;
        float s = partial[i];
        for (int z = 1; z < p.KChunk; z++) s += partial[z * p.SplitStride + i];
        int at = r * p.Ldc + col;
        c[at] = p.Beta == 0f ? p.Alpha * s : p.Alpha * s + p.Beta * c[at];
    }

    /// <summary>Bias gradient: db[c] = Σ_r dy[r, c], summed in row order (the CPU backend's order, so bit-identical).</summary>
    /// <param name="index">Column index, [cols].</param>
    /// <param name="dy">Gradient [rows, cols].</param>
    /// <param name="db">Bias gradient [cols].</param>
    /// <param name="rows">Rows of dy.</param>
    /// <param name="cols">Columns of dy.</param>
    internal static void ColumnSum(Index1D index, ArrayView<float> dy, ArrayView<float> db, int rows, int cols)
    {
        int c = index.X;
        float s = dy[c];
        for (int r = 1; r < rows; r++) s += dy[r * cols + c];
        db[c] = s;
    }
}
