using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// The CPU backend's staging machinery: backend-owned scratch buffers, and the element-wise stages (im2col, col2im,
// bias and activation, pooling, batch-norm passes) run as work items on the shared worker pool, cut into a fixed
// number of items so that partial sums are reduced in the same order on every run; the GEMMs run between them on the
// calling thread (Sgemm parallelises itself). A work item never calls Sgemm: WorkerPool.Run called again from the
// thread that runs a job re-enters that job (Monitor is reentrant) and breaks it.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Below this many floats touched an element-wise stage runs on the calling thread only.</summary>
    internal static int ParallelMinFloats = 1 << 15;

    private float* _scratch;
    private long _scratchFloats;
    private byte* _aux;
    private long _auxBytes;
    private Work? _work;

    /// <summary>Frees the convolution scratch buffers (called by <see cref="Dispose"/>).</summary>
    private void FreeConvolutionBuffers()
    {
        if (_scratch != null) NativeMemory.AlignedFree(_scratch);
        if (_aux != null) NativeMemory.AlignedFree(_aux);
        _scratch = null;
        _aux = null;
        _scratchFloats = 0;
        _auxBytes = 0;
        FreeWinogradBuffer();
    }

    /// <summary>The im2col buffer, grown (never shrunk) to at least <paramref name="floats"/>; contents are not kept.</summary>
    private float* Scratch(long floats)
    {
        if (floats > _scratchFloats)
        {
            if (_scratch != null) NativeMemory.AlignedFree(_scratch);
            _scratch = null;
            _scratchFloats = 0;
            _scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            HugePages.Advise(_scratch, floats * sizeof(float));
            _scratchFloats = floats;
        }
        return _scratch;
    }

    /// <summary>Small per-call temporaries (per-channel values, per-item partial sums); contents are not kept.</summary>
    private byte* Aux(long bytes)
    {
        if (bytes > _auxBytes)
        {
            if (_aux != null) NativeMemory.AlignedFree(_aux);
            _aux = null;
            _auxBytes = 0;
            long size = Math.Max(bytes, 4096);
            _aux = (byte*)NativeMemory.AlignedAlloc((nuint)size, 64);
            _auxBytes = size;
        }
        return _aux;
    }

    private static int Threads => WorkerPool.Shared.MaxThreads;

    /// <summary>How many work items to cut <paramref name="units"/> units of about <paramref name="floatsPerUnit"/> floats into.</summary>
    private static int ItemsFor(long units, long floatsPerUnit)
    {
        if (units <= 1 || units * floatsPerUnit < ParallelMinFloats) return 1;
        return (int)Math.Min(units, Threads * 4L);
    }

    private void RunWork(Work w, int kind, int units, int items)
    {
        w.Kind = kind;
        w.Units = units;
        w.Items = Math.Max(1, Math.Min(items, units));
        if (w.Items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, w.Items);
    }

    private Work GetWork() => _work ??= new Work(this);



    /// <summary>p[0..count) = 0 (inline vector stores: the counts here are short, a call to memset costs more).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Clear(float* p, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512<float>.Zero, p + i);
        for (; i < count; i++) p[i] = 0f;
    }

    /// <summary>dst[0..count) = src[0..count) (inline vector copies, as <see cref="Clear"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(float* dst, float* src, int count)
    {
        int i = 0;
        for (; i <= count - 32; i += 32)
        {
            Vector512.Store(Vector512.Load(src + i), dst + i);
            Vector512.Store(Vector512.Load(src + i + 16), dst + i + 16);
        }
        for (; i <= count - 16; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
        for (; i < count; i++) dst[i] = src[i];
    }

    /// <summary>dst[i] += src[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(float* dst, float* src, int count)
    {
        int i = 0;
        for (; i <= count - 16; i += 16)
            Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i), dst + i);
        for (; i < count; i++) dst[i] += src[i];
    }

    private static class WorkKind
    {
        public const int Im2Col = 0, Col2Im = 1, ConvEpilogue = 2, ConvActBackward = 3,
            MaxPoolForward = 4, MaxPoolBackward = 5, AvgPoolForward = 6, AvgPoolBackward = 7,
            BnStats = 8, BnNormalize = 9, BnBackwardSums = 10, BnBackwardDx = 11, SmallForward = 12, SmallBackward = 13,
            ConvForwardSamples = 14, ConvBackwardSamples = 15;
    }

    /// <summary>The arguments of one element-wise stage, cut into <see cref="Items"/> equal ranges of <see cref="Units"/>.</summary>
    private sealed class Work : IWorkItem
    {
        private readonly CpuBackend _owner;

        public Work(CpuBackend owner) => _owner = owner;

        public int Kind, Units, Items;
        public Conv2DGeometry Conv;
        public Pool2DGeometry Pool;
        public int X, Y, Z, Dy, Dx, Bias, Kernel, Channels;

        /// <summary>A forward convolution's residual (added before the activation; see <see cref="Epilogue.Residual"/>), or -1.</summary>
        public int Residual = -1;
        public bool ActBackward, SumBias, SumKernel, Direct;

        /// <summary>col2im adds into dx instead of overwriting it (Conv2D's input gradient with accumulateDx).</summary>
        public bool AccumulateDx;
        public float* KernelTarget, KernelPartials;
        public long KernelStride;
        public int ChunkFloats, ChunkRows;
        public ActivationFunction Activation;
        public float Alpha;
        public float DropRate;
        public ulong DropKey;
        public float* Cols;
        public int L0, L1, R0, Begin, ZeroFrom;
        public float* ChA, ChB, ChC, ChMean, Blocks;
        public double* Partials;
        public long PartialStride, BlockStride;

        public void Execute(int index)
        {
            int u0 = (int)((long)Units * index / Items), u1 = (int)((long)Units * (index + 1) / Items);
            if (u1 <= u0 && Kind is not (WorkKind.BnStats or WorkKind.BnBackwardSums or WorkKind.SmallBackward)) return;
            var b = _owner;
            switch (Kind)
            {
                case WorkKind.Im2Col: b.Im2Col(this, u0, u1); break;
                case WorkKind.Col2Im: b.Col2Im(this, u0, u1); break;
                case WorkKind.ConvEpilogue: b.ConvEpilogue(this, u0, u1); break;
                case WorkKind.ConvActBackward: b.ConvActBackward(this, u0, u1, index); break;
                case WorkKind.SmallForward: b.SmallForward(this, u0, u1); break;
                case WorkKind.SmallBackward: b.SmallBackward(this, u0, u1, index); break;
                case WorkKind.ConvForwardSamples: b.ConvForwardSamples(u0, u1); break;
                case WorkKind.ConvBackwardSamples: b.ConvBackwardSamples(this, u0, u1, index); break;
                case WorkKind.MaxPoolForward:
                case WorkKind.MaxPoolBackward:
                case WorkKind.AvgPoolForward:
                case WorkKind.AvgPoolBackward: b.PoolSamples(this, u0, u1, index); break;
                case WorkKind.BnStats: b.BnStats(this, u0, u1, index); break;
                case WorkKind.BnNormalize: b.BnNormalize(this, u0, u1); break;
                case WorkKind.BnBackwardSums: b.BnBackwardSums(this, u0, u1, index); break;
                case WorkKind.BnBackwardDx: b.BnBackwardDx(this, u0, u1); break;
            }
        }
    }
}
