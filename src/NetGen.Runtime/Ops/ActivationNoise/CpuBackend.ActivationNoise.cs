using System.Runtime.Intrinsics;
using NetGen.Cpu;
using NetGen.Kernels;

namespace NetGen.Backends;

// The general ReLU layer and the noise layers on the CPU. Each runs as work items on the shared worker pool when it
// is large (cut like the convolution stages, see ItemsFor). The ReLU and the spatial-dropout mask are vectorised and
// bit-identical to the ILGPU kernels (same operations, no fused multiply-add); the normal draws call the kernels'
// own scalar code (CounterRng.StandardNormal), so they are bit-identical to ILGPU's CPU accelerator and within a
// few ulps of a GPU that fuses multiply-adds.
public sealed unsafe partial class CpuBackend
{
    private NoiseWork? _noiseWork;

    /// <inheritdoc/>
    public void ReluForward(int count, float maxValue, float negativeSlope, float threshold, int x, int y)
    {
        if (count <= 0) return;
        var w = NoiseJob(NoiseKind.ReluForward, count, ItemsFor(count, 1));
        w.Src = At(x);
        w.Dst = At(y);
        w.Relu = new ReluParams(maxValue, negativeSlope, threshold);
        RunNoise(w);
    }

    /// <inheritdoc/>
    public void ReluBackward(int count, float maxValue, float negativeSlope, float threshold, int x, int dy, int dx)
    {
        if (count <= 0) return;
        var w = NoiseJob(NoiseKind.ReluBackward, count, ItemsFor(count, 1));
        w.X = At(x);
        w.Src = At(dy);
        w.Dst = At(dx);
        w.Relu = new ReluParams(maxValue, negativeSlope, threshold);
        RunNoise(w);
    }

    /// <inheritdoc/>
    public void GaussianNoiseForward(int count, float stddev, ulong key, int x, int y) =>
        Gaussian(NoiseKind.GaussianNoise, count, stddev, key, x, y);

    /// <inheritdoc/>
    public void GaussianDropoutForward(int count, float stddev, ulong key, int x, int y) =>
        Gaussian(NoiseKind.GaussianDropout, count, stddev, key, x, y);

    /// <inheritdoc/>
    public void GaussianDropoutBackward(int count, float stddev, ulong key, int dy, int dx) =>
        Gaussian(NoiseKind.GaussianDropout, count, stddev, key, dy, dx);

    /// <summary>A normal draw costs about as much as touching 16 floats: parallel from ~2,000 elements.</summary>
    private void Gaussian(int kind, int count, float stddev, ulong key, int src, int dst)
    {
        if (count <= 0) return;
        var w = NoiseJob(kind, count, ItemsFor(count, 16));
        w.Src = At(src);
        w.Dst = At(dst);
        w.Key = key;
        w.Stddev = stddev;
        RunNoise(w);
    }

    /// <inheritdoc/>
    public void SpatialDropout2DForward(int batch, int pixels, int channels, float rate, ulong key, int x, int y) =>
        SpatialDropout(batch, pixels, channels, rate, key, x, y);

    /// <inheritdoc/>
    public void SpatialDropout2DBackward(int batch, int pixels, int channels, float rate, ulong key, int dy, int dx) =>
        SpatialDropout(batch, pixels, channels, rate, key, dy, dx);

    /// <summary>One keep mask per (sample, channel), then every pixel row masked and scaled.</summary>
    private void SpatialDropout(int batch, int pixels, int channels, float rate, ulong key, int src, int dst)
    {
        if (batch <= 0 || pixels <= 0 || channels <= 0) return;
        int masks = checked(batch * channels);
        var keep = (uint*)Aux((long)masks * sizeof(uint));
        ulong threshold = CounterRng.DropThreshold(rate);
        for (int m = 0; m < masks; m++)
            keep[m] = (CounterRng.Bits(key, (ulong)m) >> 40) >= threshold ? uint.MaxValue : 0u;
        int rows = checked(batch * pixels);
        var w = NoiseJob(NoiseKind.SpatialDropout, rows, ItemsFor(rows, channels));
        w.Src = At(src);
        w.Dst = At(dst);
        w.Keep = keep;
        w.Pixels = pixels;
        w.Channels = channels;
        w.Scale = 1f / (1f - rate);
        RunNoise(w);
    }

    private NoiseWork NoiseJob(int kind, int units, int items)
    {
        var w = _noiseWork ??= new NoiseWork();
        w.Kind = kind;
        w.Units = units;
        w.Items = Math.Max(1, Math.Min(items, units));
        return w;
    }

    private static void RunNoise(NoiseWork w)
    {
        if (w.Items == 1) w.Execute(0);
        else WorkerPool.Shared.Run(w, w.Items);
    }

    private static class NoiseKind
    {
        public const int ReluForward = 0, ReluBackward = 1, GaussianNoise = 2, GaussianDropout = 3, SpatialDropout = 4;
    }

    /// <summary>One stage cut into <see cref="Items"/> equal ranges of <see cref="Units"/> (elements, or pixel rows).</summary>
    private sealed class NoiseWork : IWorkItem
    {
        public int Kind, Units, Items, Pixels, Channels;
        public float* Src, Dst, X;
        public uint* Keep;
        public ReluParams Relu;
        public ulong Key;
        public float Stddev, Scale;

        public void Execute(int index)
        {
            int u0 = (int)((long)Units * index / Items), u1 = (int)((long)Units * (index + 1) / Items);
            if (u1 <= u0) return;
            switch (Kind)
            {
                case NoiseKind.ReluForward: ReluForwardRange(u0, u1); break;
                case NoiseKind.ReluBackward: ReluBackwardRange(u0, u1); break;
                case NoiseKind.GaussianNoise:
                    for (int i = u0; i < u1; i++) Dst[i] = Src[i] + Stddev * CounterRng.StandardNormal(Key, (ulong)i);
                    break;
                case NoiseKind.GaussianDropout:
                    for (int i = u0; i < u1; i++) Dst[i] = Src[i] * (1f + Stddev * CounterRng.StandardNormal(Key, (ulong)i));
                    break;
                case NoiseKind.SpatialDropout: SpatialRange(u0, u1); break;
            }
        }

        private void ReluForwardRange(int i0, int i1)
        {
            float* src = Src, dst = Dst;
            var p = Relu;
            int i = i0;
            if (Vector512.IsHardwareAccelerated)
            {
                var t = Vector512.Create(p.Threshold);
                var max = Vector512.Create(p.MaxValue);
                var slope = Vector512.Create(p.NegativeSlope);
                var zero = Vector512<float>.Zero;
                bool leak = p.NegativeSlope != 0f;
                for (; i <= i1 - 16; i += 16)
                {
                    var x = Vector512.Load(src + i);
                    var pos = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, t), zero, x);
                    pos = Vector512.ConditionalSelect(Vector512.GreaterThan(pos, max), max, pos);
                    if (leak)
                    {
                        var d = t - x;
                        pos -= slope * Vector512.ConditionalSelect(Vector512.GreaterThan(d, zero), d, zero);
                    }
                    Vector512.Store(pos, dst + i);
                }
            }
            for (; i < i1; i++) dst[i] = ReluKernels.Apply(src[i], p);
        }

        private void ReluBackwardRange(int i0, int i1)
        {
            float* px = X, pdy = Src, pdx = Dst;
            var p = Relu;
            int i = i0;
            if (Vector512.IsHardwareAccelerated)
            {
                var t = Vector512.Create(p.Threshold);
                var max = Vector512.Create(p.MaxValue);
                var slope = Vector512.Create(p.NegativeSlope);
                for (; i <= i1 - 16; i += 16)
                {
                    var x = Vector512.Load(px + i);
                    var dy = Vector512.Load(pdy + i);
                    var pass = Vector512.GreaterThan(x, t) & Vector512.LessThan(x, max);
                    var below = Vector512.LessThan(x, t) & (slope * dy);
                    Vector512.Store(Vector512.ConditionalSelect(pass, dy, below), pdx + i);
                }
            }
            for (; i < i1; i++) pdx[i] = ReluKernels.Gradient(px[i], pdy[i], p);
        }

        private void SpatialRange(int r0, int r1)
        {
            int c = Channels;
            float scale = Scale;
            for (int r = r0; r < r1; r++)
            {
                float* src = Src + (long)r * c, dst = Dst + (long)r * c;
                uint* keep = Keep + (long)(r / Pixels) * c;
                int j = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var s = Vector512.Create(scale);
                    for (; j <= c - 16; j += 16)
                        Vector512.Store((Vector512.Load(src + j) * s) & Vector512.Load(keep + j).AsSingle(), dst + j);
                }
                for (; j < c; j++) dst[j] = keep[j] != 0 ? src[j] * scale : 0f;
            }
        }
    }
}
