using System.Runtime.Intrinsics.X86;
using NetGen.Backends;
using NetGen.Cpu;
using Xunit;

namespace NetGen.Tests;

public unsafe class SgemmTests
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C in double precision, straight from the definition.</summary>
    private static double[] Reference(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda,
        float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var r = new double[c.Length];
        for (int i = 0; i < c.Length; i++)
            r[i] = c[i];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                double old = beta == 0f ? 0.0 : beta * (double)c[i * ldc + j];
                r[i * ldc + j] = alpha * s + old;
            }
        }
        return r;
    }

    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < count; i++)
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Runs one product against the reference; also checks C's padding columns are untouched.</summary>
    private static void Check(bool ta, bool tb, int m, int n, int k, float alpha, float beta, int padA = 0,
        int padB = 0, int padC = 0, bool nanC = false, int seed = 1, int kind = -1, int directA = -1,
        int directB = -1, int transposeC = -1)
    {
        int lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + padC;
        float[] a = Random(Math.Max(1, (ta ? k : m) * lda), seed);
        float[] b = Random(Math.Max(1, (tb ? n : k) * ldb), seed + 1);
        float[] c = Random(Math.Max(1, m * ldc), seed + 2);
        // Padding beyond the stored rows of A and B must never be read: make any read of it poison C.
        PoisonPadding(a, ta ? k : m, ta ? m : k, lda);
        PoisonPadding(b, tb ? n : k, tb ? k : n, ldb);
        if (nanC)
        {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    c[i * ldc + j] = float.NaN;
        }
        const float Sentinel = 12345.5f;
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                c[i * ldc + j] = Sentinel;

        double[] expected = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        // The overrides are per thread (this one), so they cannot leak into other tests.
        Sgemm.ForcedKind = kind;
        Sgemm.DirectAMode = directA;
        Sgemm.DirectBMode = directB;
        Sgemm.TransposeMode = transposeC;
        try
        {
            Sgemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        finally
        {
            Sgemm.ForcedKind = -1;
            Sgemm.DirectAMode = -1;
            Sgemm.DirectBMode = -1;
            Sgemm.TransposeMode = -1;
        }

        // Inputs are in [-1, 1]: each product term is at most 1, and float rounding grows like sqrt(k).
        double tol = 1e-5 * (Math.Abs(alpha) * Math.Max(1, k) + Math.Abs(beta) + 1) + 1e-4 * Math.Sqrt(k);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n)
                {
                    Assert.True(c[idx] == Sentinel, $"padding C[{i},{j}] was overwritten");
                    continue;
                }
                double err = Math.Abs(c[idx] - expected[idx]);
                Assert.True(err <= tol,
                    $"{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} m={m} n={n} k={k} kind={kind}: " +
                    $"C[{i},{j}]={c[idx]} expected {expected[idx]} (err {err:E2} > {tol:E2})");
            }
        }
    }

    private static void PoisonPadding(float[] x, int rows, int cols, int ld)
    {
        for (int r = 0; r < rows; r++)
            for (int j = cols; j < ld; j++)
                x[r * ld + j] = float.NaN;
    }

    public static IEnumerable<object[]> OddSizes()
    {
        int[][] sizes =
        {
            new[] { 1, 1, 1 }, new[] { 1, 7, 3 }, new[] { 3, 1, 5 }, new[] { 3, 17, 1 }, new[] { 17, 3, 17 },
            new[] { 13, 33, 29 }, new[] { 12, 32, 8 }, new[] { 25, 49, 7 }, new[] { 64, 29, 80 },
            new[] { 129, 17, 65 }, new[] { 37, 129, 3 }, new[] { 11, 65, 300 }, new[] { 24, 16, 513 },
        };
        foreach (int[] s in sizes)
            for (int t = 0; t < 4; t++)
                yield return new object[] { (t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2] };
    }

    [Theory]
    [MemberData(nameof(OddSizes))]
    public void OddSizes_MatchReference(bool ta, bool tb, int m, int n, int k)
    {
        Check(ta, tb, m, n, k, 1f, 0f, nanC: true);
        Check(ta, tb, m, n, k, -0.5f, 1f, seed: 7);
        Check(ta, tb, m, n, k, 2f, 0.25f, padA: 3, padB: 5, padC: 2, seed: 11);
    }

    [Theory]
    [InlineData(2, 10, 7)]
    [InlineData(32, 512, 300)]
    [InlineData(37, 100, 600)]   // k in three blocks, a narrow last panel
    [InlineData(130, 33, 80)]    // enough work for both threads (above ParallelThreshold)
    [InlineData(1, 64, 20)]      // a vector times the matrix: B read in place
    public void A_packed_B_gives_the_bits_of_B_itself(int m, int n, int k)
    {
        int ldb = n + 3, lda = k + 1, ldc = n + 2;
        float[] a = Random(m * lda, 21), b = Random(k * ldb, 22), c0 = Random(m * ldc, 23);
        fixed (float* pa = a, pb = b)
        {
            using var packed = PackedMatrix.TryPack(k, n, pb, ldb);
            if (packed == null)
            {
                Assert.False(Avx512F.IsSupported, "TryPack refused although the AVX-512 kernels run here");
                return; // packing ahead is AVX-512's; elsewhere the products pack as usual (covered above)
            }
            foreach (var (alpha, beta) in new[] { (1f, 0f), (-0.5f, 1f), (2f, 0.25f) })
            {
                float[] plain = (float[])c0.Clone(), viaPacked = (float[])c0.Clone();
                fixed (float* pc = plain) Sgemm.Multiply(false, false, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                fixed (float* pc = viaPacked) Sgemm.Multiply(m, alpha, pa, lda, packed, beta, pc, ldc);
                for (int i = 0; i < plain.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(plain[i]) == BitConverter.SingleToInt32Bits(viaPacked[i]),
                        $"m={m} n={n} k={k} alpha={alpha} beta={beta}: C[{i / ldc},{i % ldc}] = {viaPacked[i]:R} packed, {plain[i]:R} plain");
            }
            // Packed again after B changed: the new B's product.
            for (int i = 0; i < b.Length; i++) b[i] = -b[i];
            packed.Repack(pb, ldb);
            float[] again = (float[])c0.Clone(), expected = (float[])c0.Clone();
            fixed (float* pc = expected) Sgemm.Multiply(false, false, m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, ldc);
            fixed (float* pc = again) Sgemm.Multiply(m, 1f, pa, lda, packed, 0f, pc, ldc);
            Assert.Equal(expected, again);
        }
    }

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(true, 0f)]
    [InlineData(false, 1f)]
    public void A_row_gets_the_same_bits_whatever_the_rows_around_it(bool directB, float beta)
    {
        // The first m rows of a 24-row product, for every m > 1: rows in a 12-row tile, in a short edge (the 4- and 8-row
        // kernels) or alone must come out bit for bit alike, so a batch split differently (over threads, as the LSTM's
        // inference does) gives each sample the same outputs.
        const int n = 80, k = 37, ldc = n;
        float[] a = Random(24 * k, 3), b = Random(k * n, 4), c0 = Random(24 * ldc, 5);
        float[] Product(int m)
        {
            var c = (float[])c0.Clone();
            Sgemm.DirectBMode = directB ? 1 : 0;
            try { Sgemm.Multiply(false, false, m, n, k, 1.5f, a, k, b, n, beta, c, ldc); }
            finally { Sgemm.DirectBMode = -1; }
            return c;
        }
        var all = Product(24);
        for (int m = 2; m < 24; m++) // (m = 1 is a vector times a matrix, a kernel of its own that sums in another order)
        {
            var part = Product(m);
            for (int i = 0; i < m * ldc; i++)
                Assert.True(BitConverter.SingleToInt32Bits(all[i]) == BitConverter.SingleToInt32Bits(part[i]),
                    $"m={m}: C[{i / ldc},{i % ldc}] = {part[i]:R}, {all[i]:R} in the 24-row product");
            for (int i = m * ldc; i < part.Length; i++) Assert.Equal(c0[i], part[i]); // rows past m untouched
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void PackedAndInPlaceOperands_MatchReference(bool ta, bool tb)
    {
        // Every combination of packing / reading in place and of computing C or Cᵀ, with edge panels in both
        // directions.
        for (int da = 0; da <= 1; da++)
        {
            for (int db = 0; db <= 1; db++)
            {
                for (int tc = 0; tc <= 1; tc++)
                {
                    Check(ta, tb, 37, 75, 41, 1f, 0f, nanC: true, directA: da, directB: db, transposeC: tc);
                    Check(ta, tb, 24, 48, 300, -1f, 0.5f, padA: 3, padB: 1, padC: 2, directA: da, directB: db,
                        transposeC: tc);
                    Check(ta, tb, 13, 10, 7, 1f, 1f, padA: 1, padB: 4, directA: da, directB: db, transposeC: tc);
                }
            }
        }
    }

    /// <summary>
    /// A vector times a matrix split over the threads: each thread takes the half of B's rows of its own slot when it is
    /// free (so that half stays in its core's cache), whichever thread claims first, and a free half otherwise; the
    /// result is the first half's partial row plus the second's, every call, to the bit (200 calls, some after a pause).
    /// </summary>
    [Fact]
    public void A_vector_times_a_matrix_on_the_threads_is_its_halves_added_in_order_every_call()
    {
        int n = 512, k = 784, half = k / 2;
        float[] a = Random(k, 41), b = Random(k * n, 42);
        float[] first = new float[n], second = new float[n], c = new float[n];
        int saved = Sgemm.MaxThreadsOverride;
        fixed (float* pa = a, pb = b, p0 = first, p1 = second, pc = c)
        {
            try
            {
                Sgemm.MaxThreadsOverride = 1;
                Sgemm.Multiply(false, false, 1, n, half, 1f, pa, k, pb, n, 0f, p0, n);
                Sgemm.Multiply(false, false, 1, n, k - half, 1f, pa + half, k, pb + (long)half * n, n, 0f, p1, n);
            }
            finally
            {
                Sgemm.MaxThreadsOverride = saved;
            }
            Assert.True(WorkerPool.Shared.MaxThreads >= 2, "the test needs two threads");
            for (int call = 0; call < 200; call++)
            {
                // Now and then after a pause, when the worker sleeps and the calling thread may run both halves itself.
                if (call % 50 == 0) Thread.Sleep(120);
                Array.Fill(c, float.NaN);
                Sgemm.Multiply(false, false, 1, n, k, 1f, pa, k, pb, n, 0f, pc, n);
                for (int j = 0; j < n; j++)
                    Assert.True(BitConverter.SingleToInt32Bits(first[j] + second[j]) == BitConverter.SingleToInt32Bits(c[j]),
                        $"call {call}, column {j}: {c[j]} instead of {first[j]} + {second[j]}");
            }
        }
    }

    /// <summary>
    /// A product with an epilogue (Dense's bias and activation, applied to each tile as it completes) gives the bits of
    /// the plain product followed by z = c + b, y = act(z): every kernel family, A transposed or not, B packed ahead,
    /// one row, k in several blocks, both threads, y in C or elsewhere; a NaN in A stays NaN through the ReLU; C's and
    /// y's padding columns are not touched.
    /// </summary>
    [Theory]
    [InlineData(2, 10, 7)]
    [InlineData(37, 100, 600)]   // k in three blocks, a narrow last panel
    [InlineData(130, 33, 80)]    // both threads (above ParallelThreshold)
    [InlineData(1, 64, 20)]      // a vector times the matrix
    [InlineData(1, 700, 400)]    // ... split over the threads
    [InlineData(256, 512, 784)]  // the MLP's first layer
    [InlineData(5, 3, 0)]        // k = 0: C is beta·C, then the epilogue
    public void An_epilogue_gives_the_bits_of_the_product_then_bias_and_activation(int m, int n, int k)
    {
        const float slope = 0.3f;
        var kinds = new List<int> { Sgemm.KindPortable };
        if (Sgemm.BestKind >= Sgemm.KindAvx2) kinds.Add(Sgemm.KindAvx2);
        if (Sgemm.BestKind >= Sgemm.KindAvx512) kinds.Add(Sgemm.KindAvx512);
        int ldc = n + 3;
        float[] bias = Random(n, 31);
        foreach (bool ta in new[] { false, true })
        {
            int lda = (ta ? m : k) + 1, ldb = n + 2;
            float[] a = Random(Math.Max(1, (ta ? k : m) * lda), 32), b = Random(Math.Max(1, k * ldb), 33);
            if (k > 0) a[ta ? lda * (k / 2) + m - 1 : (m - 1) * lda + k / 2] = float.NaN; // the last row of op(A)
            foreach (var act in new[] { ActivationFunction.Relu, ActivationFunction.LeakyRelu, ActivationFunction.Linear })
            foreach (bool withBias in new[] { true, false })
            foreach (bool apart in new[] { false, true })
            foreach (int kind in kinds.Prepend(-1))
            foreach (bool packed in ta || kind >= 0 ? new[] { false } : new[] { false, true })
            {
                string what = $"m={m} n={n} k={k} ta={ta} {act} bias={withBias} y apart={apart} kind={kind} packed={packed}";
                float[] c = new float[m * ldc], expected = new float[m * ldc];
                float[] y = apart ? new float[m * ldc] : c, expectedY = apart ? new float[m * ldc] : expected;
                Array.Fill(c, 7f);
                Array.Fill(expected, 7f);
                if (apart) { Array.Fill(y, 8f); Array.Fill(expectedY, 8f); }
                int savedKind = Sgemm.ForcedKind, savedTranspose = Sgemm.TransposeMode;
                try
                {
                    Sgemm.ForcedKind = kind;
                    fixed (float* pa = a, pb = b, pe = expected, pbias = bias)
                    {
                        Sgemm.TransposeMode = 0;
                        Sgemm.Multiply(ta, false, m, n, k, 1f, pa, lda, pb, ldb, 0f, pe, ldc);
                        for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            float z = expected[i * ldc + j] + (withBias ? bias[j] : 0f);
                            if (withBias || !apart) expected[i * ldc + j] = z;
                            expectedY[i * ldc + j] = act switch
                            {
                                ActivationFunction.Relu => z <= 0f ? 0f : z,
                                ActivationFunction.LeakyRelu => z > 0f ? z : slope * z,
                                _ => z,
                            };
                        }
                    }
                    Sgemm.TransposeMode = ta ? 1 : -1; // an epilogue keeps C row-major even where Cᵀ is asked for
                    fixed (float* pa = a, pb = b, pc = c, py = y, pbias = bias)
                    {
                        var tile = new GemmEpilogue(act, slope, withBias ? pbias : null, py);
                        using var pk = packed ? PackedMatrix.TryPack(k, n, pb, ldb) : null;
                        if (pk != null) Sgemm.Multiply(m, 1f, pa, lda, pk, 0f, pc, ldc, tile);
                        else Sgemm.Multiply(ta, false, m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, ldc, tile);
                    }
                }
                finally
                {
                    Sgemm.ForcedKind = savedKind;
                    Sgemm.TransposeMode = savedTranspose;
                }
                AssertSameBits(expected, c, what + " z");
                if (apart) AssertSameBits(expectedY, y, what + " y");
                if (k > 0) Assert.True(float.IsNaN(y[(m - 1) * ldc]), what + ": the activation turned a NaN into a number");
            }
        }
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: [{i}] = {actual[i]:R}, expected {expected[i]:R}");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void FallbackKernels_MatchReference(bool ta, bool tb)
    {
        foreach (int kind in new[] { Sgemm.KindPortable, Sgemm.KindAvx2 })
        {
            if (kind == Sgemm.KindAvx2 && Sgemm.BestKind < Sgemm.KindAvx2)
                continue;
            Check(ta, tb, 1, 1, 1, 1f, 0f, nanC: true, kind: kind);
            Check(ta, tb, 17, 13, 29, 1f, 0f, nanC: true, kind: kind);
            Check(ta, tb, 33, 9, 7, 0.5f, 1f, padA: 1, padB: 2, padC: 3, kind: kind);
            Check(ta, tb, 70, 150, 260, 1f, -1f, kind: kind);
            Check(ta, tb, 70, 5, 30, 1f, 0f, nanC: true, kind: kind, transposeC: 1);
        }
    }

    /// <summary>
    /// One row of A (batch-1 inference) takes the streaming vector-times-matrix path: single-threaded for small
    /// products, split over B's rows with partial sums above the threshold; odd widths, strides, alpha and beta.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(37, 5)]
    [InlineData(1000, 13)]
    [InlineData(33, 20000)]
    [InlineData(1024, 3001)]
    public void SingleRow_MatchesReference(int n, int k)
    {
        foreach (bool ta in new[] { false, true })
        {
            Check(ta, false, 1, n, k, 1f, 0f, nanC: true);
            Check(ta, false, 1, n, k, -0.5f, 1f, seed: 7);
            Check(ta, false, 1, n, k, 2f, 0.25f, padA: 3, padB: 5, padC: 2, seed: 11);
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void LargeMultiThreaded_MatchesReference(bool ta, bool tb)
    {
        // Large enough to be split across threads, with several k blocks and edge tiles in both directions.
        Check(ta, tb, 203, 301, 531, 1f, 0f, nanC: true);
        Check(ta, tb, 150, 97, 600, 0.5f, 2f, padA: 4, padB: 1, padC: 7, seed: 3);
    }

    [Fact]
    public void MlpShapes_MatchReference()
    {
        Check(false, false, 128, 10, 512, 1f, 0f, nanC: true);
        Check(true, false, 512, 10, 128, 1f, 1f);
        Check(false, true, 128, 784, 512, 1f, 0f, nanC: true);
        Check(true, false, 784, 64, 128, 1f, 0f, nanC: true);
        Check(false, false, 128, 64, 20, 1f, 0f, nanC: true);
    }

    [Fact]
    public void ZeroK_OrZeroAlpha_ScalesC()
    {
        var c = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Sgemm.Multiply(false, false, 2, 2, 0, 1f, ReadOnlySpan<float>.Empty, 0, ReadOnlySpan<float>.Empty, 2, 0f, c, 2);
        Assert.All(c, v => Assert.Equal(0f, v));

        var c2 = new float[] { 1, 2, 3, 4 };
        var a = new float[] { 1, 1, 1, 1 };
        Sgemm.Multiply(false, false, 2, 2, 2, 0f, a, 2, a, 2, 3f, c2, 2);
        Assert.Equal(new float[] { 3, 6, 9, 12 }, c2);
    }

    [Fact]
    public void PackedOverload_IsPlainProduct()
    {
        float[] a = { 1, 2, 3, 4, 5, 6 };        // 2×3
        float[] b = { 7, 8, 9, 10, 11, 12 };     // 3×2
        var c = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Sgemm.Multiply(false, false, 2, 2, 3, a, b, c);
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        var a = new float[6];
        var c = new float[4];
        var shortC = new float[3];
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 3, a, 2, 0f, shortC, 2));
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 4, 1f, a, 4, a, 2, 0f, c, 2));
        Assert.Throws<ArgumentOutOfRangeException>(
            () => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 2, a, 2, 0f, c, 2));
        Assert.Throws<ArgumentOutOfRangeException>(
            () => Sgemm.Multiply(false, false, -1, 2, 3, 1f, a, 3, a, 2, 0f, c, 2));
    }

    [Fact]
    public void NoAllocationAfterWarmUp()
    {
        (int M, int N, int K, bool TA, bool TB)[] shapes =
        {
            (64, 29, 80, false, false), (128, 512, 128, false, false), (256, 200, 300, true, false),
            (128, 300, 256, false, true), (300, 300, 300, true, true), (300, 10, 128, true, false),
            (1, 300, 100, false, false),
        };
        int max = 300 * 300;
        var ha = new float[max];
        var hb = new float[max];
        var hc = new float[max];
        fixed (float* pa = ha)
        fixed (float* pb = hb)
        fixed (float* pc = hc)
        {
            foreach (var s in shapes)
                for (int w = 0; w < 3; w++)
                    Multiply(s, pa, pb, pc);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < 20; r++)
                foreach (var s in shapes)
                    Multiply(s, pa, pb, pc);
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(0, after - before);
        }

        static void Multiply((int M, int N, int K, bool TA, bool TB) s, float* pa, float* pb, float* pc)
            => Sgemm.Multiply(s.TA, s.TB, s.M, s.N, s.K, 1f, pa, s.TA ? s.M : s.K, pb, s.TB ? s.K : s.N, 0f, pc, s.N);
    }

    [Fact]
    public void ConcurrentCallers_AreSafe()
    {
        const int M = 150, N = 170, K = 190;
        float[] a = Random(M * K, 1), b = Random(K * N, 2);
        var expected = new float[M * N];
        Sgemm.Multiply(false, false, M, N, K, a, b, expected);
        var errors = new int[4];
        var threads = new Thread[4];
        for (int t = 0; t < threads.Length; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                var c = new float[M * N];
                for (int r = 0; r < 20; r++)
                {
                    Array.Fill(c, float.NaN);
                    Sgemm.Multiply(false, false, M, N, K, a, b, c);
                    for (int i = 0; i < c.Length; i++)
                        if (c[i] != expected[i])
                            errors[id]++;
                }
            });
            threads[t].Start();
        }
        foreach (Thread t in threads)
            t.Join();
        Assert.All(errors, e => Assert.Equal(0, e));
    }
}

public class WorkerPoolTests
{
    private sealed class CountingJob : IWorkItem
    {
        public int[] Hits = Array.Empty<int>();
        public WorkerPool? Nested;

        public void Execute(int index)
        {
            Interlocked.Increment(ref Hits[index]);
            if (Nested is not null)
            {
                var inner = new CountingJob { Hits = new int[3] };
                Nested.Run(inner, 3);
                Assert.All(inner.Hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public void Run_ExecutesEveryItemOnce()
    {
        var pool = WorkerPool.Shared;
        Assert.True(pool.MaxThreads >= 1);
        var job = new CountingJob();
        foreach (int count in new[] { 1, 2, 3, 7, 100, 1000 })
        {
            for (int rep = 0; rep < 50; rep++)
            {
                job.Hits = new int[count];
                pool.Run(job, count);
                Assert.All(job.Hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public void Run_NestedAndPrivatePool_Works()
    {
        var pool = new WorkerPool(3);
        var job = new CountingJob { Hits = new int[8], Nested = pool };
        pool.Run(job, 8);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Run_WithoutWakingIdleWorkers_StillRunsEverything()
    {
        var pool = new WorkerPool(3);
        var job = new CountingJob { Hits = new int[6] };
        pool.Run(job, 6);
        foreach (int idleMs in new[] { 0, 5, 150 })  // workers spinning, napping, asleep
        {
            Thread.Sleep(idleMs);
            job.Hits = new int[6];
            pool.Run(job, 6, wakeSleepers: false);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
        }
    }

    private sealed class ThrowingJob : IWorkItem
    {
        public void Execute(int index)
        {
            if (index == 3)
                throw new InvalidOperationException("boom");
        }
    }

    [Fact]
    public void Run_RethrowsWorkItemException()
    {
        var pool = new WorkerPool(2);
        Assert.Throws<InvalidOperationException>(() => pool.Run(new ThrowingJob(), 8));
        var job = new CountingJob { Hits = new int[5] };
        pool.Run(job, 5);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }
}
