using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

/// <summary>
/// The managed CPU backend: a packed, register-blocked, multi-threaded SGEMM (<see cref="Sgemm"/>) and
/// vectorised element-wise kernels over one 64-byte-aligned native workspace. Allocates nothing per call.
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    private float* _memory; // 64-byte aligned: the mapping, or inside _block
    private void* _block;   // what NativeMemory.Realloc returned (where the workspace is not mapped)
    private long _capacity;
    private bool _mapped;   // the workspace is a VirtualMemory mapping of _mappedBytes
    private long _mappedBytes;

    /// <inheritdoc/>
    public string Name => $"cpu ({(Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : "scalar")}, {WorkerPool.Shared.MaxThreads} threads)";

    /// <inheritdoc/>
    public long Capacity => _capacity;

    /// <inheritdoc/>
    /// <remarks>
    /// Everything past the kept floats reads 0 afterwards. On Linux the workspace is an anonymous mapping
    /// (<see cref="VirtualMemory"/>): growing it remaps its pages rather than copying them, and a page costs memory
    /// only once written, so what a run never writes (a model that only predicts: its gradients and optimizer slots)
    /// stays free. Elsewhere it grows with realloc and is cleared.
    /// </remarks>
    /// <exception cref="OutOfMemoryException">The system refused the memory; the workspace is then as it was.</exception>
    public void EnsureCapacity(long floats, long preserve)
    {
        if (floats <= _capacity) return;
        ObjectDisposedException.ThrowIf(_disposed, this);
        long keep = _memory == null ? 0 : Math.Min(preserve, _capacity);
        if (_memory == null ? VirtualMemory.Supported : _mapped)
        {
            long bytes = floats * sizeof(float);
            void* mapping = _memory == null ? VirtualMemory.Map(bytes) : VirtualMemory.Grow(_memory, _mappedBytes, bytes);
            if (mapping != null)
            {
                // The floats past the kept ones read 0 again (their pages handed back); the new pages read 0 already.
                if (_memory != null) VirtualMemory.Zero((float*)mapping + keep, (_capacity - keep) * sizeof(float));
                HugePages.AdviseMapping(mapping, bytes);
                _memory = (float*)mapping;
                _mapped = true;
                _mappedBytes = bytes;
                _capacity = floats;
                return;
            }
            if (_memory != null)
                throw new OutOfMemoryException($"The system refused to grow the CPU backend's workspace from {_capacity * 4L:N0} to {bytes:N0} bytes; use a smaller batch.");
            // The first mapping was refused: the realloc workspace below.
        }
        long oldOffset = _memory == null ? 0 : (byte*)_memory - (byte*)_block;
        // 64 bytes more than asked, so that a 64-byte aligned workspace fits wherever realloc puts the block.
        var block = NativeMemory.Realloc(_block, (nuint)(floats * sizeof(float)) + 64);
        HugePages.Advise(block, floats * sizeof(float)); // before the clear below touches the new pages
        var aligned = (float*)(((nuint)block + 63) & ~(nuint)63);
        long newOffset = (byte*)aligned - (byte*)block;
        // The block kept its contents from its start; where the alignment moved them, move the kept floats back in line.
        if (keep > 0 && newOffset != oldOffset)
            Buffer.MemoryCopy((byte*)block + oldOffset, aligned, keep * 4, keep * 4);
        NativeMemory.Clear(aligned + keep, (nuint)((floats - keep) * sizeof(float)));
        _block = block;
        _memory = aligned;
        _capacity = floats;
    }

    private float* At(int offset) => _memory + offset;

    private Span<float> Span(int offset, int count) => new(_memory + offset, count);

    /// <summary>
    /// Sets the workspace's floats [offset, offset + count) to 0 (as <see cref="Fill"/> with 0), handing the whole pages
    /// inside back where the workspace is mapped: for regions that may stay unused (gradients and optimizer slots of a
    /// model that only predicts), never inside a step (the pages would be faulted in again).
    /// </summary>
    internal void Release(int offset, long count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || count < 0 || offset + count > _capacity)
            throw new ArgumentOutOfRangeException(nameof(count), $"[{offset}, {offset + count}) is outside the workspace of {_capacity} floats.");
        if (_mapped) VirtualMemory.Zero(_memory + offset, count * sizeof(float));
        else NativeMemory.Clear(_memory + offset, (nuint)(count * sizeof(float)));
    }

    /// <summary>Where the workspace starts (for tests; it may move as it grows).</summary>
    internal nint WorkspaceAddress => (nint)_memory;

    /// <summary>Whether the workspace is a <see cref="VirtualMemory"/> mapping (for tests).</summary>
    internal bool IsMapped => _mapped;

    /// <summary>The workspace's floats [offset, offset + count) in place (valid until the workspace grows).</summary>
    internal Span<float> HostSpan(int offset, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || count < 0 || offset + (long)count > _capacity)
            throw new ArgumentOutOfRangeException(nameof(count), $"[{offset}, {offset + (long)count}) is outside the workspace of {_capacity} floats.");
        return Span(offset, count);
    }

    /// <inheritdoc/>
    public void Upload(ReadOnlySpan<float> source, int offset)
    {
        var destination = Span(offset, source.Length);
        // A batch of inputs is large (the MLP's 256 samples: 800 KB): both threads copy.
        fixed (float* from = source, to = destination)
            RunPointwise(Pointwise.Copy, source.Length, from, null, to);
    }

    /// <inheritdoc/>
    public void Download(int offset, Span<float> destination) => Span(offset, destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    public bool AllFinite(int offset, int count)
    {
        // x − x is 0 for a finite x and NaN for NaN and ±∞: the sum of the differences is 0 exactly when all are finite.
        var values = Span(offset, count);
        int i = 0;
        var acc = Vector256<float>.Zero;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= values.Length; i += 8)
            {
                var v = Vector256.Create<float>(values.Slice(i, 8));
                acc += v - v;
            }
        float tail = 0;
        for (; i < values.Length; i++) tail += values[i] - values[i];
        return Vector256.Sum(acc) + tail == 0;
    }

    /// <inheritdoc/>
    public void Fill(int offset, int count, float value) => Span(offset, count).Fill(value);

    /// <inheritdoc/>
    public void Copy(int source, int destination, int count)
    {
        if (count > 0) Span(source, count).CopyTo(Span(destination, count));
    }

    /// <inheritdoc/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, int a, int lda, int b, int ldb, float beta, int c, int ldc) =>
        Sgemm.Multiply(transA, transB, m, n, k, alpha, At(a), lda, At(b), ldb, beta, At(c), ldc);

    /// <summary>For benchmarks: whether Dense's bias and linear, ReLU or leaky ReLU run inside the GEMM (false: passes after it; the same bits).</summary>
    internal static bool DenseGemmEpilogue = true;

    /// <inheritdoc/>
    public void DenseForward(int rows, int inputs, int units, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(DenseForward), addsResidual: true);
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        int residual = epilogue.Residual;
        if (residual >= 0) CheckResidual(residual, y, (long)rows * units);
        int z = preActivation >= 0 ? preActivation : y;
        // Bias (then the residual) and linear, ReLU or leaky ReLU on each tile of z as the GEMM completes it (no pass
        // over z after it); other activations take their own pass.
        bool fused = DenseGemmEpilogue && FastActivation.Supports(activation);
        var tile = fused ? new GemmEpilogue(activation, alpha, bias >= 0 ? At(bias) : null, At(y), residual >= 0 ? At(residual) : null) : default;
        if (rows > 1 && PackedKernel(kernel, inputs, units) is { } packed)
            Sgemm.Multiply(rows, 1f, At(x), inputs, packed, 0f, At(z), units, tile);
        else Sgemm.Multiply(false, false, rows, units, inputs, 1f, At(x), inputs, At(kernel), units, 0f, At(z), units, tile);
        if (fused) return;
        if (bias >= 0)
        {
            var b = Span(bias, units);
            for (int r = 0; r < rows; r++)
            {
                var row = Span(z + r * units, units);
                TensorPrimitives.Add(row, b, row);
            }
        }
        if (residual >= 0) TensorPrimitives.Add(Span(z, rows * units), Span(residual, rows * units), Span(z, rows * units));
        if (activation != ActivationFunction.Linear || z != y)
            ActivationForward(activation, alpha, rows, units, z, y);
    }

    /// <summary>
    /// During an inference pass (<see cref="Model"/> sets it around one, to its weights version; -1 otherwise): Dense
    /// kernels and the im2col convolutions' are packed for the GEMM once and kept while the version stays the same, as
    /// ONNX Runtime packs its constant weights once (the MLP's inference at batch 32 spent a fifth of its time packing them),
    /// and a Winograd kernel's kept transform is reused without comparing the kernel again. The model changes
    /// the version whenever its weights may change (initialisation, SetWeights, loading, every training step); a
    /// kernel written through the backend directly during inference is not seen.
    /// </summary>
    internal long InferenceWeightsVersion { get; set; } = -1;

    /// <summary>Largest kernel (floats) kept packed: 4M (16 MB) each, so that a huge layer does not double its memory.</summary>
    internal static long MaxPackedKernelFloats = 4L << 20;

    private readonly Dictionary<(int Kernel, int Inputs, int Units), (long Version, PackedMatrix Packed)> _packedKernels = [];

    /// <summary>The kernel at <paramref name="kernel"/> ([inputs, units], row-major) packed for the GEMM, or null (not during inference, too large, or no AVX-512).</summary>
    private PackedMatrix? PackedKernel(int kernel, int inputs, int units)
    {
        long version = InferenceWeightsVersion;
        if (version < 0 || (long)inputs * units > MaxPackedKernelFloats) return null;
        var key = (kernel, inputs, units);
        float* source = At(kernel);
        if (_packedKernels.TryGetValue(key, out var entry))
        {
            if (entry.Version == version && entry.Packed.Source == source) return entry.Packed;
            entry.Packed.Repack(source, units);
            _packedKernels[key] = (version, entry.Packed);
            return entry.Packed;
        }
        var packed = PackedMatrix.TryPack(inputs, units, source, units);
        if (packed != null) _packedKernels[key] = (version, packed);
        return packed;
    }

    /// <inheritdoc/>
    public void DenseBackward(int rows, int inputs, int units, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(DenseBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (!gradientIsPreActivation && activation != ActivationFunction.Linear)
            ActivationBackward(activation, alpha, rows, units, preActivation, y, dy, dy);
        // dKernel[inputs, units] = xᵀ[inputs, rows] · dz[rows, units]
        Sgemm.Multiply(true, false, inputs, units, rows, 1f, At(x), inputs, At(dy), units, 0f, At(dKernel), units);
        if (dBias >= 0)
        {
            var db = Span(dBias, units);
            Span(dy, units).CopyTo(db);
            for (int r = 1; r < rows; r++) TensorPrimitives.Add(db, Span(dy + r * units, units), db);
        }
        // dx[rows, inputs] = dz[rows, units] · kernelᵀ[units, inputs]
        if (dx >= 0)
            Sgemm.Multiply(false, true, rows, inputs, units, 1f, At(dy), units, At(kernel), units, accumulateDx ? 1f : 0f, At(dx), inputs);
    }

    /// <inheritdoc/>
    public void ActivationForward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y)
    {
        int count = rows * cols;
        var src = Span(x, count);
        var dst = Span(y, count);
        switch (activation)
        {
            case ActivationFunction.Linear: if (x != y) RunPointwise(Pointwise.Copy, count, At(x), null, At(y)); break;
            case ActivationFunction.Relu: RunPointwise(Pointwise.Relu, count, At(x), null, At(y)); break;
            // VectorMath, not TensorPrimitives: accurate near 0, and the same for an element wherever it sits in the batch.
            case ActivationFunction.Sigmoid: VectorMath.Sigmoid(src, dst); break;
            case ActivationFunction.Tanh: VectorMath.Tanh(src, dst); break;
            case ActivationFunction.Exponential: VectorMath.Exp(src, dst); break;
            case ActivationFunction.Softmax:
                for (int r = 0; r < rows; r++)
                {
                    // exp(x - max) / Σ: stable for large logits (TensorPrimitives.SoftMax does not subtract the max).
                    var rowIn = Span(x + r * cols, cols);
                    var rowOut = Span(y + r * cols, cols);
                    TensorPrimitives.Subtract(rowIn, TensorPrimitives.Max(rowIn), rowOut);
                    VectorMath.Exp(rowOut, rowOut);
                    TensorPrimitives.Multiply(rowOut, 1f / TensorPrimitives.Sum(rowOut), rowOut);
                }
                break;
            default:
                for (int i = 0; i < count; i++) dst[i] = Activations.Forward(activation, alpha, src[i]);
                break;
        }
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y, int dy, int dx)
    {
        int count = rows * cols;
        float* pdy = At(dy), pdx = At(dx), py = At(y);
        switch (activation)
        {
            case ActivationFunction.Linear:
                if (dx != dy) RunPointwise(Pointwise.Copy, count, pdy, null, pdx);
                break;
            case ActivationFunction.Relu:
                RunPointwise(Pointwise.ReluBackward, count, pdy, py, pdx);
                break;
            case ActivationFunction.Softmax:
                for (int r = 0; r < rows; r++)
                {
                    var yr = Span(y + r * cols, cols);
                    var dyr = Span(dy + r * cols, cols);
                    float dot = TensorPrimitives.Dot(dyr, yr);
                    var dxr = Span(dx + r * cols, cols);
                    for (int c = 0; c < cols; c++) dxr[c] = yr[c] * (dyr[c] - dot);
                }
                break;
            default:
            {
                float* px = x >= 0 ? At(x) : null;
                for (int i = 0; i < count; i++)
                    pdx[i] = pdy[i] * Activations.Derivative(activation, alpha, px == null ? float.NaN : px[i], py[i]);
                break;
            }
        }
    }

    /// <inheritdoc/>
    public void DropoutForward(int count, float rate, ulong key, int x, int y) => Dropout(0, count, rate, key, At(x), At(y));

    /// <inheritdoc/>
    public void DropoutBackward(int count, float rate, ulong key, int dy, int dx) => Dropout(0, count, rate, key, At(dy), At(dx));

    /// <summary>
    /// dst[i] = src[i]·m/(1-rate), m = [CounterRng.Uniform(key, start + i) ≥ rate], eight counters per vector: elements
    /// start .. start + count of a tensor whose dropout mask counts from its first element.
    /// </summary>
    internal static void Dropout(long start, long count, float rate, ulong key, float* src, float* dst)
    {
        float scale = 1f / (1f - rate);
        ulong threshold = CounterRng.DropThreshold(rate);
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var golden = Vector512.Create(0x9E3779B97F4A7C15UL);
            var keyV = Vector512.Create(key);
            var thresholdV = Vector512.Create(threshold);
            var scaleV = Vector512.Create(scale);
            var lanes = Vector512.Create(1UL, 2, 3, 4, 5, 6, 7, 8);
            for (; i <= count - 16; i += 16)
            {
                var lo = CounterRng.Mix(keyV + (Vector512.Create((ulong)(start + i)) + lanes) * golden);
                var hi = CounterRng.Mix(keyV + (Vector512.Create((ulong)(start + i) + 8) + lanes) * golden);
                var keepLo = Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(lo, 40), thresholdV);
                var keepHi = Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(hi, 40), thresholdV);
                var keep = Vector512.Narrow(keepLo, keepHi).AsSingle();
                Vector512.Store(Vector512.BitwiseAnd(Vector512.Load(src + i) * scaleV, keep), dst + i);
            }
        }
        for (; i < count; i++)
            dst[i] = (CounterRng.Bits(key, (ulong)(start + i)) >> 40) >= threshold ? src[i] * scale : 0f;
    }

    private bool _disposed;

    /// <summary>Frees the native workspace and scratch buffers; a backend that is never disposed frees them when collected.</summary>
    public void Dispose()
    {
        FreeNative();
        _disposed = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>The native memory is not the garbage collector's: give it back if the backend was never disposed.</summary>
    ~CpuBackend()
    {
        if (_memory != null) Interlocked.Increment(ref s_reclaimedByFinalizer);
        FreeNative();
    }

    private static long s_reclaimedByFinalizer;

    /// <summary>How many backends that were never disposed had their workspace freed by the finalizer (for tests).</summary>
    internal static long ReclaimedByFinalizer => Interlocked.Read(ref s_reclaimedByFinalizer);

    private void FreeNative()
    {
        if (_mapped) VirtualMemory.Unmap(_memory, _mappedBytes);
        else if (_block != null) NativeMemory.Free(_block);
        _mapped = false;
        _mappedBytes = 0;
        FreeConvolutionBuffers();
        foreach (var (_, packed) in _packedKernels.Values) packed.Dispose(); // native memory only: safe from the finalizer
        _packedKernels.Clear();
        _block = null;
        _memory = null;
        _capacity = 0;
    }
}
