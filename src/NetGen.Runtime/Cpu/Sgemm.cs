using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetGen.Cpu;

/// <summary>
/// Single-precision general matrix multiply (SGEMM) for row-major matrices on the CPU:
/// <c>C = alpha·op(A)·op(B) + beta·C</c>. Packed, cache-blocked and register-blocked (GotoBLAS/BLIS style),
/// with an AVX-512 12×32 micro-kernel, an AVX2/FMA 6×16 fallback and a portable one for other hardware, and
/// multi-threaded over <see cref="WorkerPool.Shared"/> when the product is large enough.
/// </summary>
/// <remarks>
/// After a first call on a thread (which allocates that thread's packing buffers) a call allocates nothing.
/// The packing buffers are 64-byte aligned native memory, one set per thread, grown only when a larger
/// problem needs it and freed when the thread ends. Calls from several threads at once are safe.
/// </remarks>
[SkipLocalsInit]
public static unsafe class Sgemm
{
    // ------------------------------------------------------------------------------------------------
    // Kernel families and blocking parameters
    // ------------------------------------------------------------------------------------------------

    internal const int KindPortable = 0;
    internal const int KindAvx2 = 1;
    internal const int KindAvx512 = 2;

    /// <summary>The best kernel family this machine supports.</summary>
    internal static readonly int BestKind =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? KindAvx512
        : Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated ? KindAvx2
        : KindPortable;

    // Per-thread overrides for tests and benchmarks (0: automatic), read once per call on the calling thread.
    [ThreadStatic] private static int t_forcedKind, t_directA, t_directB, t_transposeC;

    /// <summary>For tests and benchmarks, on the calling thread: forces a kernel family (−1: automatic).</summary>
    internal static int ForcedKind
    {
        get => t_forcedKind - 1;
        set => t_forcedKind = value < 0 ? 0 : value + 1;
    }

    /// <summary>
    /// For tests and tuning, on the calling thread: −1 automatic, 0 always pack A, 1 read full A micro-panels
    /// in place (AVX-512 kernels only).
    /// </summary>
    internal static int DirectAMode
    {
        get => t_directA - 1;
        set => t_directA = value < 0 ? 0 : Math.Min(value, 1) + 1;
    }

    /// <summary>
    /// For tests and tuning, and for callers that know their B better than the heuristic (the Winograd GEMMs), on
    /// the calling thread: −1 automatic, 0 always pack B, 1 read full B micro-panels in place (AVX-512
    /// kernels, B not transposed, only).
    /// </summary>
    internal static int DirectBMode
    {
        get => t_directB - 1;
        set => t_directB = value < 0 ? 0 : Math.Min(value, 1) + 1;
    }

    /// <summary>
    /// For tests and tuning, on the calling thread: −1 automatic, 0 never, 1 always compute Cᵀ = op(B)ᵀ·op(A)ᵀ
    /// (written to C transposed) instead of C = op(A)·op(B).
    /// </summary>
    internal static int TransposeMode
    {
        get => t_transposeC - 1;
        set => t_transposeC = value < 0 ? 0 : Math.Min(value, 1) + 1;
    }

    /// <summary>Depth of a packed panel (k block), per kernel family.</summary>
    internal static int KcAvx512 = 256, KcAvx2 = 256, KcPortable = 128;

    /// <summary>Rows of the packed A block (kept in L2), per kernel family; a multiple of the kernel's MR.</summary>
    internal static int McAvx512 = 144, McAvx2 = 96, McPortable = 64;

    /// <summary>Columns of the packed B panel, per kernel family; a multiple of the kernel's NR.</summary>
    internal static int NcAvx512 = 1024, NcAvx2 = 1024, NcPortable = 512;

    /// <summary>Below this many multiply-adds (m·n·k) a product runs on the calling thread only.</summary>
    internal static long ParallelThreshold = 300_000;

    /// <summary>Minimum multiply-adds per thread when a product is split across threads.</summary>
    internal static long MinWorkPerThread = 150_000;

    /// <summary>
    /// Fewest multiply-adds for which a vector times a matrix (m = 1) is split between threads: a 512 x 512 Dense at batch
    /// 1 gains (the MLP's inference 1.23x, NetGen.Bench alternate-infer:row-threshold:300000@mlp:1 against 100,000).
    /// </summary>
    internal static long RowParallelThreshold = 100_000;

    /// <summary>
    /// From this many multiply-adds a product signals idle (napping or sleeping) workers, which costs the caller
    /// tens of microseconds on a VM; a smaller product gets help only from workers still spinning after a recent
    /// job, or napping ones that notice it (see <see cref="WorkerPool"/>).
    /// </summary>
    internal static long WakeThreshold = 4_000_000;

    /// <summary>Read A in place (no packing) when each A micro-panel meets at most this many B micro-panels.</summary>
    internal static int DirectAMaxReuse = 8;

    /// <summary>Read B in place (no packing) when each B micro-panel meets at most this many A micro-panels.</summary>
    internal static int DirectBMaxReuse = 1;

    /// <summary>At most this many tiles per thread (more tiles balance the load when a core is busy).</summary>
    internal static int MaxTilesPerThread = 1;

    /// <summary>How many k iterations before its end a micro-kernel prefetches its C tile.</summary>
    internal static int PrefetchDistance = 64;

    /// <summary>Caps the number of threads used (0: the pool's <see cref="WorkerPool.MaxThreads"/>).</summary>
    internal static int MaxThreadsOverride;

    /// <summary>For benchmarks: whether an edge of at most 4 rows runs the 4-row AVX-512 kernel (false: the 12-row one).</summary>
    internal static bool ShortEdgeKernel = true;

    [ThreadStatic] private static Buffers? t_buffers;
    [ThreadStatic] private static GemmJob? t_job;

    // ------------------------------------------------------------------------------------------------
    // Public API
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Computes <c>C = alpha·op(A)·op(B) + beta·C</c> for row-major matrices, where C is m×n,
    /// op(A) is m×k and op(B) is k×n.
    /// </summary>
    /// <param name="transA">
    /// false: A is stored as m×k (row i at <c>a + i·lda</c>, lda ≥ k); true: A is stored as k×m (lda ≥ m)
    /// and op(A) = Aᵀ.
    /// </param>
    /// <param name="transB">
    /// false: B is stored as k×n (ldb ≥ n); true: B is stored as n×k (ldb ≥ k) and op(B) = Bᵀ.
    /// </param>
    /// <param name="m">Rows of C and of op(A).</param>
    /// <param name="n">Columns of C and of op(B).</param>
    /// <param name="k">Columns of op(A) and rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">The first element of A.</param>
    /// <param name="lda">Distance in elements between consecutive stored rows of A.</param>
    /// <param name="b">The first element of B.</param>
    /// <param name="ldb">Distance in elements between consecutive stored rows of B.</param>
    /// <param name="beta">Scale of the old C. When it is 0, C is only written (never read), so it may hold NaN.</param>
    /// <param name="c">The first element of C.</param>
    /// <param name="ldc">Distance in elements between consecutive rows of C (≥ n).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or a leading dimension too small.</exception>
    /// <exception cref="ArgumentNullException">A pointer needed by the product is null.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, default);

    /// <summary>
    /// <see cref="Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>, then
    /// <paramref name="epilogue"/> on C: each tile gets it as soon as it is complete, while it is in cache, on the
    /// thread that computed it (no pass over C afterwards, no join); a single row (m = 1) and k = 0 get it after the
    /// product, on the calling thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, in GemmEpilogue epilogue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0)
            return;
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        if (c == null)
            throw new ArgumentNullException(nameof(c));
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            epilogue.Apply(c, ldc, 0, m, 0, n);
            return;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, transA ? m : k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldb, transB ? k : n);
        if (a == null)
            throw new ArgumentNullException(nameof(a));
        if (b == null)
            throw new ArgumentNullException(nameof(b));

        if (m == 1 && !transB && t_forcedKind == 0 && Vector512.IsHardwareAccelerated)
        {
            // A vector times a matrix (batch-1 inference): stream B once instead of packing it.
            RowTimesMatrix(n, k, alpha, a, transA ? lda : 1, b, ldb, beta, c);
            epilogue.Apply(c, ldc, 0, 1, 0, n);
            return;
        }

        var g = new Problem
        {
            A = a, B = b, C = c, Lda = lda, Ldb = ldb, Ldc = ldc, M = m, N = n, K = k,
            TransA = transA, TransB = transB, Alpha = alpha, Beta = beta, Epilogue = epilogue,
        };
        g.SetKind(t_forcedKind > 0 ? t_forcedKind - 1 : BestKind);
        g.DirectA = t_directA;
        g.DirectB = t_directB;
        // (Not with an epilogue: its tiles are applied where C is stored row-major.)
        if (!epilogue.Active && (t_transposeC == 2 || (t_transposeC == 0 && transA && PreferTransposed(g.Mr, g.Nr, m, n))))
        {
            // Cᵀ = op(B)ᵀ·op(A)ᵀ: the same data read as the other operand, written to C transposed. Pays off
            // for a narrow C (n of a few columns), where the vector dimension is better spent along m, when A is
            // stored k×m: then op(A)ᵀ is read in place, with no transposing copy.
            g.A = b;
            g.B = a;
            (g.Lda, g.Ldb) = (ldb, lda);
            (g.TransA, g.TransB) = (!transB, !transA);
            (g.M, g.N) = (n, m);
            g.TransC = true;
        }

        Run(ref g, (long)m * n * k);
    }

    /// <summary>Runs a product on the worker pool's threads when it is large enough, else on this one.</summary>
    private static void Run(ref Problem g, long work)
    {
        int threads = 1;
        if (work >= ParallelThreshold)
        {
            WorkerPool pool = WorkerPool.Shared;
            threads = MaxThreadsOverride > 0 ? Math.Min(MaxThreadsOverride, pool.MaxThreads) : pool.MaxThreads;
            threads = (int)Math.Min(threads, Math.Max(1, work / MinWorkPerThread));
            if (threads > 1 && !WorkerPool.IsInsideJob)
            {
                ChooseGrid(ref g, threads, out int gm, out int gn);
                if (gm * gn > 1)
                {
                    GemmJob job = t_job ??= new GemmJob();
                    job.P = g;
                    job.Gm = gm;
                    job.Gn = gn;
                    pool.Run(job, gm * gn, wakeSleepers: work >= WakeThreshold);
                    job.P = default;
                    return;
                }
            }
        }
        ComputeBlock(ref g, 0, g.M, 0, g.N);
    }

    /// <summary>
    /// C = alpha·A·B + beta·C (A m×k row-major, not transposed) with B packed ahead (<see cref="PackedMatrix"/>): no
    /// packing of B inside, the same bits as <see cref="Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>
    /// with B itself (the same blocks, panels and kernels). B must still hold what was packed: m = 1 reads it directly.
    /// </summary>
    internal static void Multiply(int m, float alpha, float* a, int lda, PackedMatrix b, float beta, float* c, int ldc,
        in GemmEpilogue epilogue = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        int n = b.N, k = b.K;
        if (m == 0 || n == 0) return;
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, k);
        if (m == 1 || k == 0 || alpha == 0f || t_forcedKind != 0 || BestKind != KindAvx512)
        {
            Multiply(false, false, m, n, k, alpha, a, lda, b.Source, b.SourceLd, beta, c, ldc, epilogue);
            return;
        }
        var g = new Problem
        {
            A = a, B = b.Source, C = c, Lda = lda, Ldb = b.SourceLd, Ldc = ldc, M = m, N = n, K = k,
            Alpha = alpha, Beta = beta, Packed = b.Data, PackedBlockStride = b.BlockStride, PackedKc = b.Kc,
            Epilogue = epilogue,
        };
        g.SetKind(KindAvx512);
        g.DirectA = t_directA;
        Run(ref g, (long)m * n * k);
    }

    /// <summary>
    /// C = A·B (+ <paramref name="epilogue"/>) where A (m × k) is the im2col matrix of a convolution, never written whole:
    /// each thread gathers the rows and depth of the block it is about to multiply into a small buffer (in cache) and
    /// reads it in place. B is the kernel (k × n, row-major), or <paramref name="packed"/>. AVX-512 only: false (nothing
    /// done) elsewhere, where the caller runs im2col and a plain product. Saves writing and reading the whole im2col
    /// matrix, and its pass on one thread before the product, for a small image (a convolution at batch 1).
    /// </summary>
    internal static bool MultiplyIm2Col(in Im2ColSource a, int m, int n, int k, float* b, int ldb, PackedMatrix? packed,
        float* c, int ldc, in GemmEpilogue epilogue = default)
    {
        if (BestKind != KindAvx512 || t_forcedKind != 0 || m <= 0 || n <= 0 || k <= 0) return false;
        var g = new Problem
        {
            A = null, B = packed != null ? packed.Source : b, C = c, Lda = k, Ldb = packed?.SourceLd ?? ldb, Ldc = ldc, M = m, N = n, K = k,
            Alpha = 1f, Beta = 0f, Epilogue = epilogue, Gather = a,
        };
        if (packed != null)
        {
            g.Packed = packed.Data;
            g.PackedBlockStride = packed.BlockStride;
            g.PackedKc = packed.Kc;
        }
        g.SetKind(KindAvx512);
        g.DirectB = t_directB;
        Run(ref g, (long)m * n * k);
        return true;
    }

    /// <summary>k rows per block of a product with k rows of B, as <see cref="ComputeBlock"/> cuts them (AVX-512).</summary>
    internal static int PackedBlockRows(int k) => BlockSize(k, Math.Max(8, KcAvx512), 4);

    /// <summary>Packs rows [pc, pc + kc) of B (k×n, row-major) as the AVX-512 kernel's panels over all n columns.</summary>
    internal static void PackPanels(float* b, int ldb, int pc, int kc, int n, float* dst)
    {
        var g = new Problem { B = b, Ldb = ldb, N = n };
        g.SetKind(KindAvx512);
        PackB(ref g, pc, kc, 0, n, dst, false);
    }

    /// <summary>
    /// Span form of
    /// <see cref="Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>:
    /// <c>C = alpha·op(A)·op(B) + beta·C</c> for row-major matrices stored in spans, with bounds checked once.
    /// </summary>
    /// <param name="transA">false: A is m×k (lda ≥ k); true: A is stored k×m (lda ≥ m).</param>
    /// <param name="transB">false: B is k×n (ldb ≥ n); true: B is stored n×k (ldb ≥ k).</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's storage.</param>
    /// <param name="lda">Row stride of A's storage.</param>
    /// <param name="b">B's storage.</param>
    /// <param name="ldb">Row stride of B's storage.</param>
    /// <param name="beta">Scale of the old C (0: C is only written).</param>
    /// <param name="c">C's storage.</param>
    /// <param name="ldc">Row stride of C (≥ n).</param>
    /// <exception cref="ArgumentException">A span is too short for the given sizes and strides.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or a leading dimension too small.</exception>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0)
            return;
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        CheckSpan(c.Length, m, n, ldc, nameof(c));
        bool needAB = k != 0 && alpha != 0f;
        if (needAB)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(lda, transA ? m : k);
            ArgumentOutOfRangeException.ThrowIfLessThan(ldb, transB ? k : n);
            CheckSpan(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
            CheckSpan(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    /// <summary>
    /// Convenience form for tightly packed matrices: <c>C = op(A)·op(B)</c> (alpha 1, beta 0), with
    /// lda, ldb and ldc equal to the stored row lengths.
    /// </summary>
    /// <param name="transA">false: A is m×k; true: A is stored k×m.</param>
    /// <param name="transB">false: B is k×n; true: B is stored n×k.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="a">A's storage.</param>
    /// <param name="b">B's storage.</param>
    /// <param name="c">C's storage (m×n), overwritten.</param>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
        => Multiply(transA, transB, m, n, k, 1f, a, transA ? m : k, b, transB ? k : n, 0f, c, n);

    private static void CheckSpan(int length, int rows, int cols, int ld, string name)
    {
        if (rows == 0 || cols == 0)
            return;
        long need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException(
                $"The span holds {length} elements but a {rows}×{cols} matrix with row stride {ld} needs {need}.",
                name);
    }

    // ------------------------------------------------------------------------------------------------
    // Problem description and threading
    // ------------------------------------------------------------------------------------------------

    private struct Problem
    {
        public float* A, B, C;
        public int Lda, Ldb, Ldc, M, N, K;
        public bool TransA, TransB;
        public float Alpha, Beta;
        public int Kind, Mr, Nr, NrHalf, Kc, Mc, Nc;
        public int DirectA, DirectB; // 0 automatic, 1 never, 2 always
        public float* Packed;        // B packed ahead (PackedMatrix), or null: B is packed per block
        public nint PackedBlockStride;
        public int PackedKc;
        public bool TransC;          // C(i, j) is at C[j·Ldc + i] (the product was transposed)
        public GemmEpilogue Epilogue; // applied to each tile of C once complete (never with TransC)
        public Im2ColSource Gather;   // A is a convolution's im2col, gathered block by block (when Gather.Active)

        public void SetKind(int kind)
        {
            Kind = kind;
            switch (kind)
            {
                case KindAvx512:
                    Mr = 12; Nr = 32; Kc = KcAvx512; Mc = McAvx512; Nc = NcAvx512;
                    break;
                case KindAvx2:
                    Mr = 6; Nr = 16; Kc = KcAvx2; Mc = McAvx2; Nc = NcAvx2;
                    break;
                default:
                    Kind = KindPortable;
                    Mr = 4; Nr = 8; Kc = KcPortable; Mc = McPortable; Nc = NcPortable;
                    break;
            }
            NrHalf = Nr / 2;
            Kc = Math.Max(8, Kc);
            Mc = Math.Max(Mr, Mc / Mr * Mr);
            Nc = Math.Max(Nr, Nc / Nr * Nr);
        }
    }

    /// <summary>One tile of C per work item: the rows split in <c>Gm</c>, the columns in <c>Gn</c>.</summary>
    // ------------------------------------------------------------------------------------------------
    // m = 1: c[0, n) = alpha·a·B + beta·c, with B k×n row-major
    // ------------------------------------------------------------------------------------------------

    private static void RowTimesMatrix(int n, int k, float alpha, float* a, int aStride, float* b, int ldb, float beta, float* c)
    {
        long work = (long)n * k;
        int threads = 1;
        if (work >= RowParallelThreshold && !WorkerPool.IsInsideJob)
        {
            WorkerPool pool = WorkerPool.Shared;
            threads = MaxThreadsOverride > 0 ? Math.Min(MaxThreadsOverride, pool.MaxThreads) : pool.MaxThreads;
            threads = Math.Max(1, Math.Min(threads, k / 64));
        }
        if (threads <= 1)
        {
            RowTimesMatrixRange(0, n, k, alpha, a, aStride, b, ldb, beta, c);
            return;
        }
        // Each thread takes a contiguous block of B's rows (one sequential stream) into its own partial row; the
        // partial rows are then added in a fixed order, so the result does not depend on timing.
        RowTimesMatrixJob job = t_rowJob ??= new RowTimesMatrixJob();
        long need = (long)threads * n;
        if (job.Capacity < need)
        {
            if (job.Partials != null) NativeMemory.AlignedFree(job.Partials);
            job.Partials = (float*)NativeMemory.AlignedAlloc((nuint)(need * sizeof(float)), 64);
            job.Capacity = need;
        }
        (job.N, job.K, job.Alpha, job.AStride, job.Ldb, job.Parts) = (n, k, alpha, aStride, ldb, threads);
        job.A = a;
        job.B = b;
        job.Claims.Reset(threads, WorkerPool.Shared.MaxThreads);
        WorkerPool.Shared.Run(job, threads, wakeSleepers: true);
        var result = new Span<float>(c, n);
        if (beta == 0f) new ReadOnlySpan<float>(job.Partials, n).CopyTo(result);
        else TensorPrimitives.MultiplyAdd(result, beta, new ReadOnlySpan<float>(job.Partials, n), result);
        for (int t = 1; t < threads; t++)
            TensorPrimitives.Add(result, new ReadOnlySpan<float>(job.Partials + (long)t * n, n), result);
    }

    [ThreadStatic] private static RowTimesMatrixJob? t_rowJob;

    private sealed class RowTimesMatrixJob : IWorkItem
    {
        public int N, K, AStride, Ldb, Parts;
        public float Alpha;
        public float* A, B, Partials;
        public long Capacity;

        public readonly PartClaims Claims = new();

        public void Execute(int index)
        {
            // Each thread takes the same rows of B every call where it can (half of the MLP's 2.7 MB of weights then stays
            // in each core's L2); the partial rows are added in part order whoever ran them.
            int part = Claims.Claim();
            int k0 = (int)((long)K * part / Parts), k1 = (int)((long)K * (part + 1) / Parts);
            RowTimesMatrixRange(0, N, k1 - k0, Alpha, A + (long)k0 * AStride, AStride, B + (long)k0 * Ldb, Ldb, 0f, Partials + (long)part * N);
        }
    }

    /// <summary>c[j0, j1) = alpha·Σₖ a[k]·B[k, j0..j1) + beta·c, four rows of B per pass over the C range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesMatrixRange(int j0, int j1, int k, float alpha, float* a, int aStride, float* b, int ldb, float beta, float* c)
    {
        int width = j1 - j0;
        float* cc = c + j0;
        if (beta == 0f) new Span<float>(cc, width).Clear();
        else if (beta != 1f) for (int j = 0; j < width; j++) cc[j] *= beta;
        int vectorEnd = width - width % Vector512<float>.Count;
        int kk = 0;
        for (; kk + 4 <= k; kk += 4)
        {
            float s0 = alpha * a[(long)kk * aStride], s1 = alpha * a[(long)(kk + 1) * aStride];
            float s2 = alpha * a[(long)(kk + 2) * aStride], s3 = alpha * a[(long)(kk + 3) * aStride];
            float* r0 = b + (long)kk * ldb + j0, r1 = r0 + ldb, r2 = r1 + ldb, r3 = r2 + ldb;
            var v0 = Vector512.Create(s0);
            var v1 = Vector512.Create(s1);
            var v2 = Vector512.Create(s2);
            var v3 = Vector512.Create(s3);
            int j = 0;
            for (; j < vectorEnd; j += Vector512<float>.Count)
            {
                var acc = Vector512.Load(cc + j);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + j), v0, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + j), v1, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + j), v2, acc);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + j), v3, acc);
                acc.Store(cc + j);
            }
            for (; j < width; j++)
                cc[j] = MathF.FusedMultiplyAdd(r3[j], s3, MathF.FusedMultiplyAdd(r2[j], s2, MathF.FusedMultiplyAdd(r1[j], s1, MathF.FusedMultiplyAdd(r0[j], s0, cc[j]))));
        }
        for (; kk < k; kk++)
        {
            float s0 = alpha * a[(long)kk * aStride];
            float* r0 = b + (long)kk * ldb + j0;
            var v0 = Vector512.Create(s0);
            int j = 0;
            for (; j < vectorEnd; j += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(Vector512.Load(r0 + j), v0, Vector512.Load(cc + j)).Store(cc + j);
            for (; j < width; j++) cc[j] = MathF.FusedMultiplyAdd(r0[j], s0, cc[j]);
        }
    }

    private sealed class GemmJob : IWorkItem
    {
        public Problem P;
        public int Gm, Gn;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            int ti = index / Gn, tj = index % Gn;
            int unitsM = (P.M + P.Mr - 1) / P.Mr, unitsN = (P.N + P.Nr - 1) / P.Nr;
            int i0 = Math.Min(P.M, (int)((long)unitsM * ti / Gm) * P.Mr);
            int i1 = Math.Min(P.M, (int)((long)unitsM * (ti + 1) / Gm) * P.Mr);
            int j0 = Math.Min(P.N, (int)((long)unitsN * tj / Gn) * P.Nr);
            int j1 = Math.Min(P.N, (int)((long)unitsN * (tj + 1) / Gn) * P.Nr);
            if (i1 > i0 && j1 > j0)
                ComputeBlock(ref P, i0, i1, j0, j1);
        }
    }

    /// <summary>
    /// Picks how to cut C into tiles (<paramref name="gm"/> row blocks × <paramref name="gn"/> column blocks) for
    /// up to <paramref name="threads"/> threads: the grid of at most one tile per thread with the lowest estimated
    /// time, counting the packing each tile repeats; then, for robustness on a busy machine (a thread that loses
    /// its core leaves the others more tiles to take), up to <see cref="MaxTilesPerThread"/> tiles per thread
    /// where that is estimated to cost under 3%. 1×1 means: run serially.
    /// </summary>
    private static void ChooseGrid(ref Problem g, int threads, out int gm, out int gn)
    {
        gm = 1;
        gn = 1;
        double baseCost = double.MaxValue;
        for (int tiles = 2; tiles <= threads; tiles++)
            Consider(ref g, threads, tiles, ref baseCost, ref gm, ref gn);
        if (gm * gn == 1)
            return;
        for (int f = 2; f <= MaxTilesPerThread; f++)
        {
            double cost = baseCost * 1.03;
            int fm = gm, fn = gn;
            Consider(ref g, threads, threads * f, ref cost, ref fm, ref fn);
            if (fm * fn == threads * f)
            {
                gm = fm;
                gn = fn;
            }
        }

        static void Consider(ref Problem g, int threads, int tiles, ref double best, ref int gm, ref int gn)
        {
            for (int tn = 1; tn <= tiles; tn++)
            {
                if (tiles % tn != 0)
                    continue;
                double cost = GridCost(ref g, threads, tiles / tn, tn);
                if (cost < best)
                {
                    best = cost;
                    gm = tiles / tn;
                    gn = tn;
                }
            }
        }
    }

    /// <summary>
    /// Estimated time, in multiply-add units, of running a <paramref name="tm"/>×<paramref name="tn"/> grid of
    /// tiles on <paramref name="threads"/> threads; <see cref="double.MaxValue"/> if the grid is too fine.
    /// </summary>
    private static double GridCost(ref Problem g, int threads, int tm, int tn)
    {
        int unitsM = (g.M + g.Mr - 1) / g.Mr, unitsN = (g.N + g.Nr - 1) / g.Nr;
        if (tm > unitsM || tn > unitsN)
            return double.MaxValue;
        double rows = Math.Min(g.M, (double)((unitsM + tm - 1) / tm) * g.Mr);
        double cols = Math.Min(g.N, (double)((unitsN + tn - 1) / tn) * g.Nr);
        // A packed element costs about as much as 2 multiply-adds when copied, 8 when transposed; A is packed
        // once per NC columns of a tile, B once per tile.
        double packA = g.TransA ? 2 : 8, packB = g.TransB ? 8 : 2;
        double tile = rows * cols + packA * rows * Math.Ceiling(cols / g.Nc) + packB * cols;
        int rounds = (tm * tn + threads - 1) / threads;
        return rounds * tile * g.K;
    }

    /// <summary>
    /// Whether computing Cᵀ wastes clearly less of the micro-kernel on padding than computing C: true for a
    /// narrow C such as m=128, n=10 (a 12×16 tile would be 10/16 used; as Cᵀ, 12×32 tiles are 10/12 used).
    /// </summary>
    private static bool PreferTransposed(int mr, int nr, int m, int n)
    {
        double normal = PaddedRows(m, mr) * PaddedCols(n, nr);
        double transposed = PaddedRows(n, mr) * PaddedCols(m, nr);
        return transposed * 1.2 < normal;

        static double PaddedRows(int rows, int mr) => (rows + mr - 1) / mr * mr;

        static double PaddedCols(int cols, int nr)
        {
            int full = cols / nr * nr, rem = cols - full;
            return full + (rem == 0 ? 0 : rem <= nr / 2 ? nr / 2 : nr);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Blocked product of one tile of C
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Splits <paramref name="total"/> into equal blocks of at most about <paramref name="max"/>, rounded up to
    /// <paramref name="unit"/>.
    /// </summary>
    private static int BlockSize(int total, int max, int unit)
    {
        int blocks = (total + max - 1) / max;
        int size = (total + blocks - 1) / blocks;
        size = (size + unit - 1) / unit * unit;
        return Math.Min(size, (total + unit - 1) / unit * unit);
    }

    /// <summary>Computes rows [i0, i1) × columns [j0, j1) of C on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock(ref Problem g, int i0, int i1, int j0, int j1)
    {
        int rowsTotal = i1 - i0, colsTotal = j1 - j0;
        int mr = g.Mr, nr = g.Nr;
        int kcMax = g.Packed != null ? g.PackedKc : BlockSize(g.K, g.Kc, 4);
        int mcMax = BlockSize(rowsTotal, g.Mc, mr);
        int ncMax = BlockSize(colsTotal, g.Nc, nr);

        // Operands read in place instead of packed, when packing would cost more than it saves: only with the
        // AVX-512 kernels, and only for B stored k×n (rows contiguous) or any A.
        bool directA = false, directB = false;
        if (g.Kind == KindAvx512)
        {
            int aReuse = (Math.Min(ncMax, colsTotal) + nr - 1) / nr;   // B micro-panels per A micro-panel
            int bReuse = (rowsTotal + mr - 1) / mr;                    // A micro-panels per B micro-panel
            // A row stride that is a multiple of 4 KiB maps the 12 rows read in place to one L1 set: pack then.
            bool aliased = g.Lda % 1024 == 0;
            directA = g.DirectA != 0 ? g.DirectA == 2 : aReuse <= DirectAMaxReuse && !aliased;
            directB = !g.TransB && g.Packed == null && (g.DirectB != 0 ? g.DirectB == 2 : bReuse <= DirectBMaxReuse);
        }

        Buffers buf = t_buffers ??= new Buffers();
        float* bufA = buf.EnsureA((nuint)mcMax * (nuint)kcMax);
        float* bufB = buf.EnsureB((nuint)ncMax * (nuint)kcMax);
        float* tmp = buf.Tmp;
        // A gathered from a convolution's input: its block's rows land in a row-major buffer (rows kcMax + 16 apart, so
        // that 12 rows never share an L1 set), read in place by the kernels.
        bool gathered = g.Gather.Active;
        int ldg = kcMax + 16;
        float* bufG = gathered ? buf.EnsureG((nuint)mcMax * (nuint)ldg) : null;
        if (gathered) directA = true;

        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < g.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, g.K - pc);
                float beta = pc == 0 ? g.Beta : 1f;
                // B packed ahead: this block's panels, found by their first column (a multiple of Nr).
                float* panels = g.Packed != null ? g.Packed + pc / kcMax * g.PackedBlockStride + (nint)jc * kc : bufB;
                if (g.Packed == null) PackB(ref g, pc, kc, jc, nc, bufB, directB);
                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    if (gathered)
                    {
                        g.Gather.Rows(ic, mc, pc, kc, bufG, ldg);
                        // The same problem with A as the gathered block: row ic + r at bufG + r·ldg from column pc.
                        Problem block = g;
                        block.A = bufG - (nint)ic * ldg - pc;
                        block.Lda = ldg;
                        PackA(ref block, ic, mc, pc, kc, bufA, directA);
                        MacroKernel(ref block, ic, mc, jc, nc, pc, kc, bufA, panels, directA, directB, beta, tmp);
                        continue;
                    }
                    PackA(ref g, ic, mc, pc, kc, bufA, directA);
                    MacroKernel(ref g, ic, mc, jc, nc, pc, kc, bufA, panels, directA, directB, beta, tmp);
                }
            }
        }
    }

    /// <summary>Runs the micro-kernel over every (A micro-panel, B micro-panel) pair of a block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(ref Problem g, int ic, int mc, int jc, int nc, int pc, int kc, float* pa,
        float* pb, bool directA, bool directB, float beta, float* tmp)
    {
        int mr = g.Mr, nr = g.Nr, kind = g.Kind;
        nint ldc = g.Ldc, lda = g.Lda, ldb = g.Ldb;
        float alpha = g.Alpha;
        bool transC = g.TransC;
        bool lastDepth = g.Epilogue.Active && pc + kc == g.K; // this pass completes its tiles
        float* c = transC ? g.C + jc * ldc + ic : g.C + ic * ldc + jc;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            bool narrow = cols <= g.NrHalf;
            int width = narrow ? g.NrHalf : nr;
            float* bPanel;
            nint bStep;
            if (directB && cols == width)
            {
                bPanel = g.B + pc * ldb + jc + jr;
                bStep = ldb;
            }
            else
            {
                bPanel = pb + (nint)jr * kc;
                bStep = width;
            }
            float* cCol = transC ? c + jr * ldc : c + jr;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* cTile = transC ? cCol + ir : cCol + ir * ldc;
                bool full = !transC && rows == mr && cols == width;
                float* cOut = full ? cTile : tmp;
                nint ldOut = full ? ldc : width;
                float alphaOut = full ? alpha : 1f, betaOut = full ? beta : 0f;
                if (directA && rows == mr)
                {
                    if (g.TransA)
                    {
                        float* aPanel = g.A + pc * lda + ic + ir;
                        if (narrow)
                            Kernel512x12x16(kc, aPanel, lda, bPanel, bStep, cOut, ldOut, alphaOut, betaOut);
                        else
                            Kernel512x12x32(kc, aPanel, lda, bPanel, bStep, cOut, ldOut, alphaOut, betaOut);
                    }
                    else
                    {
                        float* aPanel = g.A + (ic + ir) * lda + pc;
                        if (narrow)
                            Kernel512x12x16S(kc, aPanel, lda, bPanel, bStep, cOut, ldOut, alphaOut, betaOut);
                        else
                            Kernel512x12x32S(kc, aPanel, lda, bPanel, bStep, cOut, ldOut, alphaOut, betaOut);
                    }
                }
                else if (rows <= 8 && kind == KindAvx512 && !narrow && !full && ShortEdgeKernel)
                {
                    // A short edge (the last rows of a small batch, as in a recurrent step split between threads):
                    // 4 or 8 rows instead of 12, the same operations per element.
                    if (rows <= 4) Kernel512x4x32(kc, pa + (nint)ir * kc, mr, bPanel, bStep, cOut, ldOut);
                    else Kernel512x8x32(kc, pa + (nint)ir * kc, mr, bPanel, bStep, cOut, ldOut);
                }
                else
                {
                    RunKernel(kind, narrow, kc, pa + (nint)ir * kc, mr, bPanel, bStep, cOut, ldOut, alphaOut, betaOut);
                }
                if (transC)
                    MergeTileTransposed(tmp, width, cTile, ldc, rows, cols, alpha, beta);
                else if (!full)
                    MergeTile(tmp, width, cTile, ldc, rows, cols, alpha, beta);
                if (lastDepth) g.Epilogue.Apply(g.C, ldc, ic + ir, rows, jc + jr, cols);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunKernel(int kind, bool narrow, int kc, float* pa, nint aStep, float* pb, nint bStep,
        float* c, nint ldc, float alpha, float beta)
    {
        if (kind == KindAvx512)
        {
            if (narrow)
                Kernel512x12x16(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
            else
                Kernel512x12x32(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
        }
        else if (kind == KindAvx2)
        {
            if (narrow)
                Kernel256x6x8(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
            else
                Kernel256x6x16(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
        }
        else
        {
            if (narrow)
                Kernel128x4x4(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
            else
                Kernel128x4x8(kc, pa, aStep, pb, bStep, c, ldc, alpha, beta);
        }
    }

    /// <summary>c[0..rows, 0..cols] = alpha·t + beta·c (beta 0: c is not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(float* t, nint ldt, float* c, nint ldc, int rows, int cols, float alpha, float beta)
    {
        if (Avx512F.IsSupported && cols <= 32)
        {
            // Masked loads and stores: no scalar tail, and nothing outside the tile is touched.
            Vector512<float> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
            Vector512<int> lane = Vector512<int>.Indices;
            Vector512<float> m0 = Vector512.LessThan(lane, Vector512.Create(cols)).AsSingle();
            Vector512<float> m1 = Vector512.LessThan(lane, Vector512.Create(cols - 16)).AsSingle();
            for (int r = 0; r < rows; r++, t += ldt, c += ldc)
            {
                Vector512<float> v = Vector512.Load(t) * va;
                if (beta != 0f)
                    v = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(c, m0, Vector512<float>.Zero), vb, v);
                Avx512F.MaskStore(c, m0, v);
                if (cols > 16)
                {
                    v = Vector512.Load(t + 16) * va;
                    if (beta != 0f)
                        v = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(c + 16, m1, Vector512<float>.Zero), vb, v);
                    Avx512F.MaskStore(c + 16, m1, v);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++, t += ldt, c += ldc)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> va = Vector256.Create(alpha);
                if (beta == 0f)
                {
                    for (; j + 8 <= cols; j += 8)
                        Vector256.Store(Vector256.Load(t + j) * va, c + j);
                }
                else
                {
                    Vector256<float> vb = Vector256.Create(beta);
                    for (; j + 8 <= cols; j += 8)
                        Vector256.Store(Vector256.Load(t + j) * va + Vector256.Load(c + j) * vb, c + j);
                }
            }
            if (beta == 0f)
            {
                for (; j < cols; j++)
                    c[j] = alpha * t[j];
            }
            else
            {
                for (; j < cols; j++)
                    c[j] = alpha * t[j] + beta * c[j];
            }
        }
    }

    /// <summary>
    /// c[j·ldc + r] = alpha·t[r·ldt + j] + beta·c[j·ldc + r] for r &lt; rows, j &lt; cols (beta 0: c is not read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTileTransposed(float* t, nint ldt, float* c, nint ldc, int rows, int cols, float alpha,
        float beta)
    {
        for (int j = 0; j < cols; j++, c += ldc)
        {
            float* tj = t + j;
            if (beta == 0f)
            {
                for (int r = 0; r < rows; r++)
                    c[r] = alpha * tj[r * ldt];
            }
            else
            {
                for (int r = 0; r < rows; r++)
                    c[r] = alpha * tj[r * ldt] + beta * c[r];
            }
        }
    }

    /// <summary>C = beta·C (beta 0: C is zeroed without being read).</summary>
    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f)
            return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (nint)i * ldc, n);
            if (beta == 0f)
                row.Clear();
            else
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Packing
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Packs op(A)[ic..ic+mc, pc..pc+kc] as micro-panels of Mr rows: panel q holds, for each p, the Mr values
    /// A(ic + q·Mr + i, pc + p) contiguously (zero beyond the last row). With <paramref name="onlyEdge"/>, packs
    /// only a last, partial panel (full panels are read in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(ref Problem g, int ic, int mc, int pc, int kc, float* dst, bool onlyEdge)
    {
        int mr = g.Mr;
        for (int ir = onlyEdge ? mc / mr * mr : 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = dst + (nint)ir * kc;
            if (g.TransA)
                PackCopy(g.A + (nint)pc * g.Lda + ic + ir, g.Lda, kc, rows, mr, panel);
            else
                PackTranspose(g.A + (nint)(ic + ir) * g.Lda + pc, g.Lda, kc, rows, mr, panel);
        }
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc] as micro-panels of Nr columns (the last one Nr/2 wide when it has at
    /// most Nr/2 columns): panel q holds, for each p, its columns' values contiguously (zero beyond the last).
    /// With <paramref name="onlyEdge"/>, packs only a last panel narrower than its width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(ref Problem g, int pc, int kc, int jc, int nc, float* dst, bool onlyEdge)
    {
        int nr = g.Nr;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int width = cols <= g.NrHalf ? g.NrHalf : nr;
            if (onlyEdge && cols == width)
                continue;
            float* panel = dst + (nint)jr * kc;
            if (g.TransB)
                PackTranspose(g.B + (nint)(jc + jr) * g.Ldb + pc, g.Ldb, kc, cols, width, panel);
            else
                PackCopy(g.B + (nint)pc * g.Ldb + jc + jr, g.Ldb, kc, cols, width, panel);
        }
    }

    /// <summary>dst[p·w + j] = src[p·ld + j] for j &lt; cols, 0 for cols ≤ j &lt; w; p &lt; kc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackCopy(float* src, int ld, int kc, int cols, int w, float* dst)
    {
        if (cols == w)
        {
            if (w == 32 && Vector512.IsHardwareAccelerated)
            {
                for (int p = 0; p < kc; p++, src += ld, dst += 32)
                {
                    Vector512.Store(Vector512.Load(src), dst);
                    Vector512.Store(Vector512.Load(src + 16), dst + 16);
                }
                return;
            }
            if (w == 16 && Vector512.IsHardwareAccelerated)
            {
                for (int p = 0; p < kc; p++, src += ld, dst += 16)
                    Vector512.Store(Vector512.Load(src), dst);
                return;
            }
            if (w == 12 && Vector256.IsHardwareAccelerated)
            {
                for (int p = 0; p < kc; p++, src += ld, dst += 12)
                {
                    Vector256.Store(Vector256.Load(src), dst);
                    Vector128.Store(Vector128.Load(src + 8), dst + 8);
                }
                return;
            }
            if ((w & 3) == 0)
            {
                for (int p = 0; p < kc; p++, src += ld, dst += w)
                {
                    for (int j = 0; j < w; j += 4)
                        Vector128.Store(Vector128.Load(src + j), dst + j);
                }
                return;
            }
        }
        if (Avx512F.IsSupported && w <= 32)
        {
            // Masked loads (which never touch memory past the last column) and stores of up to 2×16 lanes.
            Vector512<int> lane = Vector512<int>.Indices;
            Vector512<float> load0 = Vector512.LessThan(lane, Vector512.Create(cols)).AsSingle();
            Vector512<float> load1 = Vector512.LessThan(lane, Vector512.Create(cols - 16)).AsSingle();
            Vector512<float> store0 = Vector512.LessThan(lane, Vector512.Create(w)).AsSingle();
            Vector512<float> store1 = Vector512.LessThan(lane, Vector512.Create(w - 16)).AsSingle();
            for (int p = 0; p < kc; p++, src += ld, dst += w)
            {
                Avx512F.MaskStore(dst, store0, Avx512F.MaskLoad(src, load0, Vector512<float>.Zero));
                if (w > 16)
                    Avx512F.MaskStore(dst + 16, store1, Avx512F.MaskLoad(src + 16, load1, Vector512<float>.Zero));
            }
            return;
        }
        for (int p = 0; p < kc; p++, src += ld, dst += w)
        {
            int j = 0;
            for (; j < cols; j++)
                dst[j] = src[j];
            for (; j < w; j++)
                dst[j] = 0f;
        }
    }

    /// <summary>dst[p·w + j] = src[j·ld + p] for j &lt; rows, 0 for rows ≤ j &lt; w; p &lt; kc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTranspose(float* src, int ld, int kc, int rows, int w, float* dst)
    {
        if (rows < w)
            new Span<float>(dst, kc * w).Clear();
        int j = 0;
        if (Sse.IsSupported)
        {
            int kc4 = kc & ~3;
            for (; j + 4 <= rows; j += 4)
            {
                float* s0 = src + (nint)j * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
                float* d = dst + j;
                int p = 0;
                for (; p < kc4; p += 4, d += 4 * w)
                {
                    Vector128<float> r0 = Sse.LoadVector128(s0 + p);
                    Vector128<float> r1 = Sse.LoadVector128(s1 + p);
                    Vector128<float> r2 = Sse.LoadVector128(s2 + p);
                    Vector128<float> r3 = Sse.LoadVector128(s3 + p);
                    Vector128<float> t0 = Sse.UnpackLow(r0, r1);
                    Vector128<float> t1 = Sse.UnpackLow(r2, r3);
                    Vector128<float> t2 = Sse.UnpackHigh(r0, r1);
                    Vector128<float> t3 = Sse.UnpackHigh(r2, r3);
                    Sse.Store(d, Sse.MoveLowToHigh(t0, t1));
                    Sse.Store(d + w, Sse.MoveHighToLow(t1, t0));
                    Sse.Store(d + 2 * w, Sse.MoveLowToHigh(t2, t3));
                    Sse.Store(d + 3 * w, Sse.MoveHighToLow(t3, t2));
                }
                for (; p < kc; p++, d += w)
                {
                    d[0] = s0[p];
                    d[1] = s1[p];
                    d[2] = s2[p];
                    d[3] = s3[p];
                }
            }
        }
        for (; j < rows; j++)
        {
            float* s = src + (nint)j * ld;
            float* d = dst + j;
            for (int p = 0; p < kc; p++, d += w)
                *d = s[p];
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Per-thread packing buffers
    // ------------------------------------------------------------------------------------------------

    /// <summary>One thread's 64-byte aligned packing buffers; grown on demand, freed with the thread.</summary>
    private sealed class Buffers
    {
        private float* _a, _b, _g;
        private nuint _aCap, _bCap, _gCap;

        public Buffers() => Tmp = (float*)NativeMemory.AlignedAlloc(32 * 32 * sizeof(float), 64);

        /// <summary>Room for one edge tile (up to 32×32) computed by a micro-kernel before it goes into C.</summary>
        public float* Tmp { get; }

        public float* EnsureA(nuint floats) => Ensure(ref _a, ref _aCap, floats);

        public float* EnsureB(nuint floats) => Ensure(ref _b, ref _bCap, floats);

        public float* EnsureG(nuint floats) => Ensure(ref _g, ref _gCap, floats);

        private static float* Ensure(ref float* p, ref nuint cap, nuint floats)
        {
            if (floats <= cap)
                return p;
            NativeMemory.AlignedFree(p);
            p = null;
            cap = 0;
            nuint grown = Math.Max(floats, 4096);
            p = (float*)NativeMemory.AlignedAlloc(grown * sizeof(float), 64);
            cap = grown;
            return p;
        }

        ~Buffers()
        {
            NativeMemory.AlignedFree(_a);
            NativeMemory.AlignedFree(_b);
            NativeMemory.AlignedFree(_g);
            NativeMemory.AlignedFree(Tmp);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Micro-kernels. Each computes C[0..MR, 0..NR] = alpha·Ap·Bp + beta·C (beta 0: C not read) from an
    // A micro-panel (kc × MR, k-major) and a B micro-panel (kc × NR, k-major).
    // ------------------------------------------------------------------------------------------------

    /// <summary>AVX-512 micro-kernel: a 12×32 tile (24 zmm accumulators). A(i, p) is at <c>ap[i + p·aStep]</c>
    /// (a packed panel, or a transposed A read in place), B(p, j) at <c>bp[j + p·bStep]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x12x32(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        int p = 0, kEnd = kc - PrefetchDistance;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector512.Create(ap[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector512.Create(ap[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a, b1, c5_1);
            a = Vector512.Create(ap[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a, b1, c6_1);
            a = Vector512.Create(ap[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a, b1, c7_1);
            a = Vector512.Create(ap[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a, b1, c8_1);
            a = Vector512.Create(ap[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a, b1, c9_1);
            a = Vector512.Create(ap[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a, b1, c10_1);
            a = Vector512.Create(ap[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a, b1, c11_1);
            ap += aStep;
            bp += bStep;
        }

        // Bring the C tile into L1 a few iterations before it is updated.
        float* cRow = c;
        for (int r = 0; r < 12; r++, cRow += ldc)
        {
            Sse.Prefetch0(cRow);
            Sse.Prefetch0(cRow + 31);
        }
        kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector512.Create(ap[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector512.Create(ap[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a, b1, c5_1);
            a = Vector512.Create(ap[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a, b1, c6_1);
            a = Vector512.Create(ap[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a, b1, c7_1);
            a = Vector512.Create(ap[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a, b1, c8_1);
            a = Vector512.Create(ap[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a, b1, c9_1);
            a = Vector512.Create(ap[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a, b1, c10_1);
            a = Vector512.Create(ap[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a, b1, c11_1);
            ap += aStep;
            bp += bStep;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c + 0);
            Vector512.Store(c0_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c1_0 * va, c + 0);
            Vector512.Store(c1_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c2_0 * va, c + 0);
            Vector512.Store(c2_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c3_0 * va, c + 0);
            Vector512.Store(c3_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c4_0 * va, c + 0);
            Vector512.Store(c4_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c5_0 * va, c + 0);
            Vector512.Store(c5_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c6_0 * va, c + 0);
            Vector512.Store(c6_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c7_0 * va, c + 0);
            Vector512.Store(c7_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c8_0 * va, c + 0);
            Vector512.Store(c8_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c9_0 * va, c + 0);
            Vector512.Store(c9_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c10_0 * va, c + 0);
            Vector512.Store(c10_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c11_0 * va, c + 0);
            Vector512.Store(c11_1 * va, c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c1_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c2_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c3_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c4_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c5_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c6_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c7_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c8_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c8_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c9_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c9_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c10_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c10_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c11_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c11_1 * va), c + 16);
        }
    }

    /// <summary>
    /// AVX-512 micro-kernel for an edge of at most 4 rows: <c>C[0..4, 0..32] = Ap·Bp</c> into a scratch tile (alpha 1,
    /// beta 0; the caller merges it), the first 4 rows of what <see cref="Kernel512x12x32"/> computes, bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x4x32(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            ap += aStep;
            bp += bStep;
        }
        Vector512.Store(c0_0, c + 0);
        Vector512.Store(c0_1, c + 16);
        c += ldc;
        Vector512.Store(c1_0, c + 0);
        Vector512.Store(c1_1, c + 16);
        c += ldc;
        Vector512.Store(c2_0, c + 0);
        Vector512.Store(c2_1, c + 16);
        c += ldc;
        Vector512.Store(c3_0, c + 0);
        Vector512.Store(c3_1, c + 16);
    }

    /// <summary>The 8-row form of <see cref="Kernel512x4x32"/> (16 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x8x32(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector512.Create(ap[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector512.Create(ap[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a, b1, c5_1);
            a = Vector512.Create(ap[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a, b1, c6_1);
            a = Vector512.Create(ap[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a, b1, c7_1);
            ap += aStep;
            bp += bStep;
        }
        Vector512.Store(c0_0, c + 0);
        Vector512.Store(c0_1, c + 16);
        c += ldc;
        Vector512.Store(c1_0, c + 0);
        Vector512.Store(c1_1, c + 16);
        c += ldc;
        Vector512.Store(c2_0, c + 0);
        Vector512.Store(c2_1, c + 16);
        c += ldc;
        Vector512.Store(c3_0, c + 0);
        Vector512.Store(c3_1, c + 16);
        c += ldc;
        Vector512.Store(c4_0, c + 0);
        Vector512.Store(c4_1, c + 16);
        c += ldc;
        Vector512.Store(c5_0, c + 0);
        Vector512.Store(c5_1, c + 16);
        c += ldc;
        Vector512.Store(c6_0, c + 0);
        Vector512.Store(c6_1, c + 16);
        c += ldc;
        Vector512.Store(c7_0, c + 0);
        Vector512.Store(c7_1, c + 16);
    }

    /// <summary>AVX-512 micro-kernel for a narrow (≤ 16 columns) B micro-panel: a 12×16 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x12x16(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        Vector512<float> c4_0 = default;
        Vector512<float> c5_0 = default;
        Vector512<float> c6_0 = default;
        Vector512<float> c7_0 = default;
        Vector512<float> c8_0 = default;
        Vector512<float> c9_0 = default;
        Vector512<float> c10_0 = default;
        Vector512<float> c11_0 = default;
        int p = 0, kEnd = kc - PrefetchDistance;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            a = Vector512.Create(ap[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            a = Vector512.Create(ap[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            a = Vector512.Create(ap[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            a = Vector512.Create(ap[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            a = Vector512.Create(ap[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            a = Vector512.Create(ap[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            a = Vector512.Create(ap[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            a = Vector512.Create(ap[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            ap += aStep;
            bp += bStep;
        }

        // Bring the C tile into L1 a few iterations before it is updated.
        float* cRow = c;
        for (int r = 0; r < 12; r++, cRow += ldc)
        {
            Sse.Prefetch0(cRow);
        }
        kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> a;
            a = Vector512.Create(ap[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            a = Vector512.Create(ap[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            a = Vector512.Create(ap[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            a = Vector512.Create(ap[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            a = Vector512.Create(ap[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            a = Vector512.Create(ap[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            a = Vector512.Create(ap[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            a = Vector512.Create(ap[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            a = Vector512.Create(ap[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            a = Vector512.Create(ap[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            a = Vector512.Create(ap[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            a = Vector512.Create(ap[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            ap += aStep;
            bp += bStep;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c1_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c2_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c3_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c4_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c5_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c6_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c7_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c8_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c9_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c10_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c11_0 * va, c + 0);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c8_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c9_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c10_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c11_0 * va), c + 0);
        }
    }

    /// <summary>AVX-512 micro-kernel reading a row-major A in place: A(i, p) is at <c>ap[i·lda + p]</c>;
    /// a 12×32 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x12x32S(int kc, float* ap, nint lda, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        nint lda2 = lda * 2;
        float* a0 = ap, a3 = ap + 3 * lda, a6 = ap + 6 * lda, a9 = ap + 9 * lda;
        int p = 0, kEnd = kc - PrefetchDistance;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(a0[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(a0[lda]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(a0[lda2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(a3[0]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector512.Create(a3[lda]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector512.Create(a3[lda2]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a, b1, c5_1);
            a = Vector512.Create(a6[0]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a, b1, c6_1);
            a = Vector512.Create(a6[lda]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a, b1, c7_1);
            a = Vector512.Create(a6[lda2]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a, b1, c8_1);
            a = Vector512.Create(a9[0]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a, b1, c9_1);
            a = Vector512.Create(a9[lda]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a, b1, c10_1);
            a = Vector512.Create(a9[lda2]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a, b1, c11_1);
            a0++;
            a3++;
            a6++;
            a9++;
            bp += bStep;
        }

        // Bring the C tile into L1 a few iterations before it is updated.
        float* cRow = c;
        for (int r = 0; r < 12; r++, cRow += ldc)
        {
            Sse.Prefetch0(cRow);
            Sse.Prefetch0(cRow + 31);
        }
        kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> a;
            a = Vector512.Create(a0[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector512.Create(a0[lda]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector512.Create(a0[lda2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector512.Create(a3[0]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector512.Create(a3[lda]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector512.Create(a3[lda2]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a, b1, c5_1);
            a = Vector512.Create(a6[0]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a, b1, c6_1);
            a = Vector512.Create(a6[lda]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a, b1, c7_1);
            a = Vector512.Create(a6[lda2]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a, b1, c8_1);
            a = Vector512.Create(a9[0]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a, b1, c9_1);
            a = Vector512.Create(a9[lda]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a, b1, c10_1);
            a = Vector512.Create(a9[lda2]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a, b1, c11_1);
            a0++;
            a3++;
            a6++;
            a9++;
            bp += bStep;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c + 0);
            Vector512.Store(c0_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c1_0 * va, c + 0);
            Vector512.Store(c1_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c2_0 * va, c + 0);
            Vector512.Store(c2_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c3_0 * va, c + 0);
            Vector512.Store(c3_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c4_0 * va, c + 0);
            Vector512.Store(c4_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c5_0 * va, c + 0);
            Vector512.Store(c5_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c6_0 * va, c + 0);
            Vector512.Store(c6_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c7_0 * va, c + 0);
            Vector512.Store(c7_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c8_0 * va, c + 0);
            Vector512.Store(c8_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c9_0 * va, c + 0);
            Vector512.Store(c9_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c10_0 * va, c + 0);
            Vector512.Store(c10_1 * va, c + 16);
            c += ldc;
            Vector512.Store(c11_0 * va, c + 0);
            Vector512.Store(c11_1 * va, c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c0_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c1_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c2_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c3_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c4_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c5_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c6_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c7_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c8_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c8_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c9_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c9_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c10_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c10_1 * va), c + 16);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c11_0 * va), c + 0);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 16), vb, c11_1 * va), c + 16);
        }
    }

    /// <summary>AVX-512 micro-kernel reading a row-major A in place, narrow B micro-panel: a 12×16 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512x12x16S(int kc, float* ap, nint lda, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        Vector512<float> c4_0 = default;
        Vector512<float> c5_0 = default;
        Vector512<float> c6_0 = default;
        Vector512<float> c7_0 = default;
        Vector512<float> c8_0 = default;
        Vector512<float> c9_0 = default;
        Vector512<float> c10_0 = default;
        Vector512<float> c11_0 = default;
        nint lda2 = lda * 2;
        float* a0 = ap, a3 = ap + 3 * lda, a6 = ap + 6 * lda, a9 = ap + 9 * lda;
        int p = 0, kEnd = kc - PrefetchDistance;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> a;
            a = Vector512.Create(a0[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            a = Vector512.Create(a0[lda]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            a = Vector512.Create(a0[lda2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            a = Vector512.Create(a3[0]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            a = Vector512.Create(a3[lda]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            a = Vector512.Create(a3[lda2]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            a = Vector512.Create(a6[0]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            a = Vector512.Create(a6[lda]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            a = Vector512.Create(a6[lda2]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            a = Vector512.Create(a9[0]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            a = Vector512.Create(a9[lda]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            a = Vector512.Create(a9[lda2]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            a0++;
            a3++;
            a6++;
            a9++;
            bp += bStep;
        }

        // Bring the C tile into L1 a few iterations before it is updated.
        float* cRow = c;
        for (int r = 0; r < 12; r++, cRow += ldc)
        {
            Sse.Prefetch0(cRow);
        }
        kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> a;
            a = Vector512.Create(a0[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a, b0, c0_0);
            a = Vector512.Create(a0[lda]);
            c1_0 = Vector512.FusedMultiplyAdd(a, b0, c1_0);
            a = Vector512.Create(a0[lda2]);
            c2_0 = Vector512.FusedMultiplyAdd(a, b0, c2_0);
            a = Vector512.Create(a3[0]);
            c3_0 = Vector512.FusedMultiplyAdd(a, b0, c3_0);
            a = Vector512.Create(a3[lda]);
            c4_0 = Vector512.FusedMultiplyAdd(a, b0, c4_0);
            a = Vector512.Create(a3[lda2]);
            c5_0 = Vector512.FusedMultiplyAdd(a, b0, c5_0);
            a = Vector512.Create(a6[0]);
            c6_0 = Vector512.FusedMultiplyAdd(a, b0, c6_0);
            a = Vector512.Create(a6[lda]);
            c7_0 = Vector512.FusedMultiplyAdd(a, b0, c7_0);
            a = Vector512.Create(a6[lda2]);
            c8_0 = Vector512.FusedMultiplyAdd(a, b0, c8_0);
            a = Vector512.Create(a9[0]);
            c9_0 = Vector512.FusedMultiplyAdd(a, b0, c9_0);
            a = Vector512.Create(a9[lda]);
            c10_0 = Vector512.FusedMultiplyAdd(a, b0, c10_0);
            a = Vector512.Create(a9[lda2]);
            c11_0 = Vector512.FusedMultiplyAdd(a, b0, c11_0);
            a0++;
            a3++;
            a6++;
            a9++;
            bp += bStep;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c0_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c1_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c2_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c3_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c4_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c5_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c6_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c7_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c8_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c9_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c10_0 * va, c + 0);
            c += ldc;
            Vector512.Store(c11_0 * va, c + 0);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c0_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c1_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c2_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c3_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c4_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c5_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c6_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c7_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c8_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c9_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c10_0 * va), c + 0);
            c += ldc;
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(c + 0), vb, c11_0 * va), c + 0);
        }
    }

    /// <summary>AVX2/FMA micro-kernel: a 6×16 tile (12 ymm accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256x6x16(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        int p = 0, kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector256<float> b0 = Vector256.Load(bp + 0);
            Vector256<float> b1 = Vector256.Load(bp + 8);
            Vector256<float> a;
            a = Vector256.Create(ap[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a, b0, c0_0);
            c0_1 = Vector256.FusedMultiplyAdd(a, b1, c0_1);
            a = Vector256.Create(ap[1]);
            c1_0 = Vector256.FusedMultiplyAdd(a, b0, c1_0);
            c1_1 = Vector256.FusedMultiplyAdd(a, b1, c1_1);
            a = Vector256.Create(ap[2]);
            c2_0 = Vector256.FusedMultiplyAdd(a, b0, c2_0);
            c2_1 = Vector256.FusedMultiplyAdd(a, b1, c2_1);
            a = Vector256.Create(ap[3]);
            c3_0 = Vector256.FusedMultiplyAdd(a, b0, c3_0);
            c3_1 = Vector256.FusedMultiplyAdd(a, b1, c3_1);
            a = Vector256.Create(ap[4]);
            c4_0 = Vector256.FusedMultiplyAdd(a, b0, c4_0);
            c4_1 = Vector256.FusedMultiplyAdd(a, b1, c4_1);
            a = Vector256.Create(ap[5]);
            c5_0 = Vector256.FusedMultiplyAdd(a, b0, c5_0);
            c5_1 = Vector256.FusedMultiplyAdd(a, b1, c5_1);
            ap += aStep;
            bp += bStep;
        }

        Vector256<float> va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(c0_0 * va, c + 0);
            Vector256.Store(c0_1 * va, c + 8);
            c += ldc;
            Vector256.Store(c1_0 * va, c + 0);
            Vector256.Store(c1_1 * va, c + 8);
            c += ldc;
            Vector256.Store(c2_0 * va, c + 0);
            Vector256.Store(c2_1 * va, c + 8);
            c += ldc;
            Vector256.Store(c3_0 * va, c + 0);
            Vector256.Store(c3_1 * va, c + 8);
            c += ldc;
            Vector256.Store(c4_0 * va, c + 0);
            Vector256.Store(c4_1 * va, c + 8);
            c += ldc;
            Vector256.Store(c5_0 * va, c + 0);
            Vector256.Store(c5_1 * va, c + 8);
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c0_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c0_1 * va), c + 8);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c1_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c1_1 * va), c + 8);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c2_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c2_1 * va), c + 8);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c3_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c3_1 * va), c + 8);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c4_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c4_1 * va), c + 8);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c5_0 * va), c + 0);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 8), vb, c5_1 * va), c + 8);
        }
    }

    /// <summary>AVX2/FMA micro-kernel for a narrow (≤ 8 columns) B micro-panel: a 6×8 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256x6x8(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector256<float> c0_0 = default;
        Vector256<float> c1_0 = default;
        Vector256<float> c2_0 = default;
        Vector256<float> c3_0 = default;
        Vector256<float> c4_0 = default;
        Vector256<float> c5_0 = default;
        int p = 0, kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector256<float> b0 = Vector256.Load(bp + 0);
            Vector256<float> a;
            a = Vector256.Create(ap[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a, b0, c0_0);
            a = Vector256.Create(ap[1]);
            c1_0 = Vector256.FusedMultiplyAdd(a, b0, c1_0);
            a = Vector256.Create(ap[2]);
            c2_0 = Vector256.FusedMultiplyAdd(a, b0, c2_0);
            a = Vector256.Create(ap[3]);
            c3_0 = Vector256.FusedMultiplyAdd(a, b0, c3_0);
            a = Vector256.Create(ap[4]);
            c4_0 = Vector256.FusedMultiplyAdd(a, b0, c4_0);
            a = Vector256.Create(ap[5]);
            c5_0 = Vector256.FusedMultiplyAdd(a, b0, c5_0);
            ap += aStep;
            bp += bStep;
        }

        Vector256<float> va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(c0_0 * va, c + 0);
            c += ldc;
            Vector256.Store(c1_0 * va, c + 0);
            c += ldc;
            Vector256.Store(c2_0 * va, c + 0);
            c += ldc;
            Vector256.Store(c3_0 * va, c + 0);
            c += ldc;
            Vector256.Store(c4_0 * va, c + 0);
            c += ldc;
            Vector256.Store(c5_0 * va, c + 0);
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c0_0 * va), c + 0);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c1_0 * va), c + 0);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c2_0 * va), c + 0);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c3_0 * va), c + 0);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c4_0 * va), c + 0);
            c += ldc;
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(c + 0), vb, c5_0 * va), c + 0);
        }
    }

    /// <summary>Portable micro-kernel (any hardware, no FMA required): a 4×8 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128x4x8(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector128<float> c0_0 = default, c0_1 = default;
        Vector128<float> c1_0 = default, c1_1 = default;
        Vector128<float> c2_0 = default, c2_1 = default;
        Vector128<float> c3_0 = default, c3_1 = default;
        int p = 0, kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector128<float> b0 = Vector128.Load(bp + 0);
            Vector128<float> b1 = Vector128.Load(bp + 4);
            Vector128<float> a;
            a = Vector128.Create(ap[0]);
            c0_0 = a * b0 + c0_0;
            c0_1 = a * b1 + c0_1;
            a = Vector128.Create(ap[1]);
            c1_0 = a * b0 + c1_0;
            c1_1 = a * b1 + c1_1;
            a = Vector128.Create(ap[2]);
            c2_0 = a * b0 + c2_0;
            c2_1 = a * b1 + c2_1;
            a = Vector128.Create(ap[3]);
            c3_0 = a * b0 + c3_0;
            c3_1 = a * b1 + c3_1;
            ap += aStep;
            bp += bStep;
        }

        Vector128<float> va = Vector128.Create(alpha);
        if (beta == 0f)
        {
            Vector128.Store(c0_0 * va, c + 0);
            Vector128.Store(c0_1 * va, c + 4);
            c += ldc;
            Vector128.Store(c1_0 * va, c + 0);
            Vector128.Store(c1_1 * va, c + 4);
            c += ldc;
            Vector128.Store(c2_0 * va, c + 0);
            Vector128.Store(c2_1 * va, c + 4);
            c += ldc;
            Vector128.Store(c3_0 * va, c + 0);
            Vector128.Store(c3_1 * va, c + 4);
        }
        else
        {
            Vector128<float> vb = Vector128.Create(beta);
            Vector128.Store(Vector128.Load(c + 0) * vb + c0_0 * va, c + 0);
            Vector128.Store(Vector128.Load(c + 4) * vb + c0_1 * va, c + 4);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c1_0 * va, c + 0);
            Vector128.Store(Vector128.Load(c + 4) * vb + c1_1 * va, c + 4);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c2_0 * va, c + 0);
            Vector128.Store(Vector128.Load(c + 4) * vb + c2_1 * va, c + 4);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c3_0 * va, c + 0);
            Vector128.Store(Vector128.Load(c + 4) * vb + c3_1 * va, c + 4);
        }
    }

    /// <summary>Portable micro-kernel for a narrow (≤ 4 columns) B micro-panel: a 4×4 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128x4x4(int kc, float* ap, nint aStep, float* bp, nint bStep, float* c, nint ldc,
        float alpha, float beta)
    {
        Vector128<float> c0_0 = default;
        Vector128<float> c1_0 = default;
        Vector128<float> c2_0 = default;
        Vector128<float> c3_0 = default;
        int p = 0, kEnd = kc;
        for (; p < kEnd; p++)
        {
            Vector128<float> b0 = Vector128.Load(bp + 0);
            Vector128<float> a;
            a = Vector128.Create(ap[0]);
            c0_0 = a * b0 + c0_0;
            a = Vector128.Create(ap[1]);
            c1_0 = a * b0 + c1_0;
            a = Vector128.Create(ap[2]);
            c2_0 = a * b0 + c2_0;
            a = Vector128.Create(ap[3]);
            c3_0 = a * b0 + c3_0;
            ap += aStep;
            bp += bStep;
        }

        Vector128<float> va = Vector128.Create(alpha);
        if (beta == 0f)
        {
            Vector128.Store(c0_0 * va, c + 0);
            c += ldc;
            Vector128.Store(c1_0 * va, c + 0);
            c += ldc;
            Vector128.Store(c2_0 * va, c + 0);
            c += ldc;
            Vector128.Store(c3_0 * va, c + 0);
        }
        else
        {
            Vector128<float> vb = Vector128.Create(beta);
            Vector128.Store(Vector128.Load(c + 0) * vb + c0_0 * va, c + 0);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c1_0 * va, c + 0);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c2_0 * va, c + 0);
            c += ldc;
            Vector128.Store(Vector128.Load(c + 0) * vb + c3_0 * va, c + 0);
        }
    }
}

/// <summary>
/// A B operand (k×n, row-major) packed once into the AVX-512 micro-kernel's panels, for products that reuse it while it
/// does not change (inference through the same weights: <see cref="Sgemm.Multiply(int, float, float*, int, PackedMatrix, float, float*, int, in GemmEpilogue)"/>
/// then skips packing B, which at a batch of 32 rows is a fifth of a Dense layer's time). Block b holds k rows
/// [b·Kc, (b+1)·Kc); in it, the panel of columns [32q, 32q + 32) starts at q·32·kc (kc: the block's rows), 32 floats a
/// row (16 for a last panel of at most 16 columns), zero past n: the layout Sgemm packs a block in, over all columns.
/// Not thread-safe; owns native memory.
/// </summary>
internal sealed unsafe class PackedMatrix : IDisposable
{
    private PackedMatrix(int k, int n, int kc, float* source, int sourceLd)
    {
        K = k;
        N = n;
        Kc = kc;
        Source = source;
        SourceLd = sourceLd;
        int panels = (n + 31) / 32;
        BlockStride = (nint)panels * 32 * kc;
        Floats = (long)((k + kc - 1) / kc) * BlockStride;
        Data = (float*)NativeMemory.AlignedAlloc((nuint)(Floats * sizeof(float)), 64);
    }

    public int K { get; }
    public int N { get; }
    public int Kc { get; }
    public nint BlockStride { get; }
    public long Floats { get; }
    public float* Data { get; private set; }
    public float* Source { get; private set; }
    public int SourceLd { get; private set; }

    /// <summary>Packs B (k×n, row stride ldb), or null where the AVX-512 kernels do not run (the product packs as usual).</summary>
    public static PackedMatrix? TryPack(int k, int n, float* b, int ldb)
    {
        if (Sgemm.BestKind != Sgemm.KindAvx512 || k <= 0 || n <= 0) return null;
        var packed = new PackedMatrix(k, n, Sgemm.PackedBlockRows(k), b, ldb);
        packed.Repack(b, ldb);
        return packed;
    }

    /// <summary>Packs B again (the same shape; the source may have moved).</summary>
    public void Repack(float* b, int ldb)
    {
        ObjectDisposedException.ThrowIf(Data == null, this);
        Source = b;
        SourceLd = ldb;
        for (int pc = 0, block = 0; pc < K; pc += Kc, block++)
            Sgemm.PackPanels(b, ldb, pc, Math.Min(Kc, K - pc), N, Data + block * BlockStride);
    }

    public void Dispose()
    {
        if (Data == null) return;
        NativeMemory.AlignedFree(Data);
        Data = null;
    }
}
