using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using NetGen.Cpu;

namespace NetGen.Backends;

// Element-wise passes over whole tensors (merges, gradient accumulation, a ReLU or copy of its own) on both threads,
// and the sum of work items' partial kernel gradients.
// Each is cut into runs of PointwiseRun floats, and every run makes the same call the single-threaded pass made on
// its part of the spans, so an element's value does not depend on the split (these operations have no reductions).
// A tensor of the residual network's first block is 12.8 MB at batch 128; these passes over it used to run on one
// thread while the other waited.
public sealed unsafe partial class CpuBackend
{
    /// <summary>Floats per run (a multiple of 16, so runs start on a cache line when the tensor does).</summary>
    private const int PointwiseRun = 1 << 13;

    private PointwiseWork? _pointwise;

    /// <summary>What a pointwise pass computes, element by element, from a (and b) into o.</summary>
    private enum Pointwise
    {
        /// <summary>o = a.</summary>
        Copy,
        /// <summary>o = a + b.</summary>
        Add,
        /// <summary>o = a − b.</summary>
        Subtract,
        /// <summary>o = a · b.</summary>
        Multiply,
        /// <summary>o = a · scale.</summary>
        Scale,
        /// <summary>o = a · scale + b (not fused).</summary>
        ScaleAdd,
        /// <summary>o = max(a, 0).</summary>
        Relu,
        /// <summary>o = b &gt; 0 ? a : 0 (a = dy, b = the ReLU's output).</summary>
        ReluBackward,
    }

    /// <summary>
    /// Runs <paramref name="op"/> over <paramref name="count"/> elements: here when small, else on the pool. With
    /// <paramref name="maskBy"/>, each run of <paramref name="masked"/> (one of the operands) is first multiplied in place
    /// by a ReLU's derivative read from <paramref name="maskBy"/> (its output: 1 where it is above 0); with
    /// <paramref name="thenRelu"/>, each run of o is rectified after the operation. Both act on a run while it is in cache.
    /// </summary>
    private void RunPointwise(Pointwise op, long count, float* a, float* b, float* o, float scale = 1f,
        float* maskBy = null, float* masked = null, bool thenRelu = false)
    {
        if (count <= 0) return;
        var w = _pointwise ??= new PointwiseWork();
        w.Op = op;
        w.A = a;
        w.B = b;
        w.O = o;
        w.Scale = scale;
        w.MaskBy = maskBy;
        w.Masked = masked;
        w.ThenRelu = thenRelu;
        w.Count = count;
        long runs = (count + PointwiseRun - 1) / PointwiseRun;
        int items = count < ParallelMinFloats * 4L || WorkerPool.IsInsideJob ? 1 : (int)Math.Min(runs, Threads * 4L);
        w.Items = items;
        w.Runs = runs;
        if (items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, items);
    }

    private sealed class PointwiseWork : IWorkItem
    {
        public Pointwise Op;
        public float* A, B, O, MaskBy, Masked;
        public float Scale;
        public bool ThenRelu;
        public long Count, Runs;
        public int Items;

        public void Execute(int index)
        {
            long i0 = Runs * index / Items * PointwiseRun;
            long i1 = Math.Min(Count, Runs * (index + 1) / Items * PointwiseRun);
            if (i1 <= i0) return;
            int n = checked((int)(i1 - i0)); // a tensor has at most Limits.TensorFloats elements
            if (MaskBy == null && !ThenRelu)
            {
                Apply(Op, new ReadOnlySpan<float>(A + i0, n), B == null ? default : new ReadOnlySpan<float>(B + i0, n),
                    new Span<float>(O + i0, n), Scale, A + i0, B + i0, O + i0, n);
                return;
            }
            // Run by run, so that the mask, the operation and the ReLU meet each run in cache.
            for (long r0 = i0; r0 < i1; r0 += PointwiseRun)
            {
                int len = (int)Math.Min(PointwiseRun, i1 - r0);
                if (MaskBy != null) Apply(Pointwise.ReluBackward, default, default, default, 1f, Masked + r0, MaskBy + r0, Masked + r0, len);
                Apply(Op, new ReadOnlySpan<float>(A + r0, len), B == null ? default : new ReadOnlySpan<float>(B + r0, len),
                    new Span<float>(O + r0, len), Scale, A + r0, B + r0, O + r0, len);
                if (ThenRelu) TensorPrimitives.Max(new ReadOnlySpan<float>(O + r0, len), 0f, new Span<float>(O + r0, len));
            }
        }

        private static void Apply(Pointwise op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> o, float scale,
            float* pa, float* pb, float* po, int count)
        {
            switch (op)
            {
                case Pointwise.Copy: a.CopyTo(o); break;
                case Pointwise.Add: TensorPrimitives.Add(a, b, o); break;
                case Pointwise.Subtract: TensorPrimitives.Subtract(a, b, o); break;
                case Pointwise.Multiply: TensorPrimitives.Multiply(a, b, o); break;
                case Pointwise.Scale: TensorPrimitives.Multiply(a, scale, o); break;
                case Pointwise.ScaleAdd: TensorPrimitives.MultiplyAdd(a, scale, b, o); break;
                case Pointwise.Relu: TensorPrimitives.Max(a, 0f, o); break;
                case Pointwise.ReluBackward:
                {
                    int i = 0;
                    if (Vector512.IsHardwareAccelerated)
                        for (; i <= count - 16; i += 16)
                        {
                            var keep = Vector512.GreaterThan(Vector512.Load(pb + i), Vector512<float>.Zero);
                            Vector512.Store(Vector512.BitwiseAnd(Vector512.Load(pa + i), keep), po + i);
                        }
                    for (; i < count; i++) po[i] = pb[i] > 0 ? pa[i] : 0f;
                    break;
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="output"/>[i] = Σ <paramref name="partials"/>[part·<paramref name="stride"/> + i] over
    /// <paramref name="parts"/> parts in order, in double (work items' partial sums of a kernel gradient).
    /// </summary>
    private void AddPartials(float* partials, int parts, long count, long stride, float* output)
    {
        var sum = _partialSumJob ??= new PartialSumJob();
        sum.Partials = partials;
        sum.Parts = parts;
        sum.Count = count;
        sum.Stride = stride;
        sum.Output = output;
        sum.Run();
    }

    private PartialSumJob? _partialSumJob;

    /// <summary>
    /// Output[i] = Σ Partials[part·Stride + i] over the parts in order, summed in double: the same bits whatever the
    /// split, as every element's sum is its own. Cut into 16-float runs over the threads.
    /// </summary>
    internal sealed class PartialSumJob : IWorkItem
    {
        public float* Partials, Output;
        public long Count, Stride;
        public int Parts;
        private int _items;

        /// <summary>Below this many floats of partial sums one thread does it all.</summary>
        internal const long MinParallel = 1 << 16;

        public void Run()
        {
            _items = Count * Parts >= MinParallel && !WorkerPool.IsInsideJob ? Threads : 1;
            if (_items == 1) Execute(0);
            else WorkerPool.Shared.Run(this, _items);
        }

        public void Execute(int index)
        {
            long runs = Count / 16, items = _items;
            long i0 = runs * index / items * 16, i1 = index == items - 1 ? Count : runs * (index + 1) / items * 16;
            long i = i0;
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= i1; i += 16)
                {
                    Vector512<double> lo = Vector512<double>.Zero, hi = Vector512<double>.Zero;
                    for (int p = 0; p < Parts; p++)
                    {
                        var v = Vector512.Load(Partials + p * Stride + i);
                        lo += Vector512.WidenLower(v);
                        hi += Vector512.WidenUpper(v);
                    }
                    Vector512.Narrow(lo, hi).Store(Output + i);
                }
            for (; i < i1; i++)
            {
                double sum = 0;
                for (int p = 0; p < Parts; p++) sum += Partials[p * Stride + i];
                Output[i] = (float)sum;
            }
        }
    }
}
