using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// Naive double-precision references for ZeroPadding2D, Cropping2D and nearest UpSampling2D (NHWC), written from the
/// Keras definitions with (top, bottom, left, right) amounts and (rows, cols) factors, independently of the runtime's
/// geometry structs.
/// </summary>
internal static class ResampleReference
{
    private static int At(int n, int h, int w, int c, int height, int width, int channels) => ((n * height + h) * width + w) * channels + c;

    /// <summary>y = x with top/bottom rows and left/right columns of zeros.</summary>
    public static double[] Pad(int batch, int inH, int inW, int ch, int top, int bottom, int left, int right, float[] x)
    {
        int outH = inH + top + bottom, outW = inW + left + right;
        var y = new double[batch * outH * outW * ch];
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < outH; h++)
                for (int w = 0; w < outW; w++)
                    for (int c = 0; c < ch; c++)
                    {
                        bool inside = h >= top && h < top + inH && w >= left && w < left + inW;
                        y[At(n, h, w, c, outH, outW, ch)] = inside ? x[At(n, h - top, w - left, c, inH, inW, ch)] : 0;
                    }
        return y;
    }

    /// <summary>y = x without its top/bottom rows and left/right columns (x[:, top:H−bottom, left:W−right, :]).</summary>
    public static double[] Crop(int batch, int inH, int inW, int ch, int top, int bottom, int left, int right, float[] x)
    {
        int outH = inH - top - bottom, outW = inW - left - right;
        var y = new double[batch * outH * outW * ch];
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < outH; h++)
                for (int w = 0; w < outW; w++)
                    for (int c = 0; c < ch; c++)
                        y[At(n, h, w, c, outH, outW, ch)] = x[At(n, h + top, w + left, c, inH, inW, ch)];
        return y;
    }

    /// <summary>dL/dx of <see cref="Pad"/>: the gradient of the cells that came from x (a crop of dy).</summary>
    public static double[] PadBackward(int batch, int inH, int inW, int ch, int top, int bottom, int left, int right, float[] dy) =>
        Crop(batch, inH + top + bottom, inW + left + right, ch, top, bottom, left, right, dy);

    /// <summary>dL/dx of <see cref="Crop"/>: dy where the cells were kept, 0 where they were cropped away.</summary>
    public static double[] CropBackward(int batch, int inH, int inW, int ch, int top, int bottom, int left, int right, float[] dy)
    {
        var dx = new double[batch * inH * inW * ch];
        int outH = inH - top - bottom, outW = inW - left - right;
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < outH; h++)
                for (int w = 0; w < outW; w++)
                    for (int c = 0; c < ch; c++)
                        dx[At(n, h + top, w + left, c, inH, inW, ch)] += dy[At(n, h, w, c, outH, outW, ch)];
        return dx;
    }

    /// <summary>y[n, h, w, c] = x[n, ⌊h / rows⌋, ⌊w / cols⌋, c].</summary>
    public static double[] Up(int batch, int inH, int inW, int ch, int rows, int cols, float[] x)
    {
        int outH = inH * rows, outW = inW * cols;
        var y = new double[batch * outH * outW * ch];
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < outH; h++)
                for (int w = 0; w < outW; w++)
                    for (int c = 0; c < ch; c++)
                        y[At(n, h, w, c, outH, outW, ch)] = x[At(n, h / rows, w / cols, c, inH, inW, ch)];
        return y;
    }

    /// <summary>dL/dx of <see cref="Up"/>: each input cell collects the gradient of its rows × cols block.</summary>
    public static double[] UpBackward(int batch, int inH, int inW, int ch, int rows, int cols, float[] dy)
    {
        int outH = inH * rows, outW = inW * cols;
        var dx = new double[batch * inH * inW * ch];
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < outH; h++)
                for (int w = 0; w < outW; w++)
                    for (int c = 0; c < ch; c++)
                        dx[At(n, h / rows, w / cols, c, inH, inW, ch)] += dy[At(n, h, w, c, outH, outW, ch)];
        return dx;
    }

    public static Pad2DGeometry PadGeometry(int inH, int inW, int ch, int top, int bottom, int left, int right) =>
        new(inH, inW, ch, inH + top + bottom, inW + left + right, top, left);

    public static Pad2DGeometry CropGeometry(int inH, int inW, int ch, int top, int bottom, int left, int right) =>
        new(inH, inW, ch, inH - top - bottom, inW - left - right, -top, -left);
}

/// <summary>
/// The CPU backend's padding, cropping and upsampling against <see cref="ResampleReference"/> on odd shapes
/// (batch 3, 7x5 images, 1, 3, 16 and 17 channels for the scalar, vector and tail paths), asymmetric amounts, under
/// every work split of <see cref="ConvolutionTests.Settings"/> (one item, and many items on the worker pool); the
/// outputs are fully overwritten (buffers start as NaN) and nothing past them is written. Moving values is exact, so
/// forward results must match bit for bit; the upsampling gradient adds floats, so it gets a 1e-6 relative tolerance.
/// Runs alone: it changes the backend's static work-split settings and counts allocations.
/// </summary>
[Collection(NonParallelCollection.Name)]
public class ResamplingTests
{
    private const int Guard = 8;

    /// <summary>A region of <paramref name="count"/> NaNs followed by <see cref="Guard"/> more that must stay NaN.</summary>
    private static int Output(KernelWorkspace ws, int count) => ws.Alloc(count + Guard);

    private static void AssertGuard(KernelWorkspace ws, int offset, int count, string what)
    {
        var tail = ws.Get(offset + count, Guard);
        Assert.True(tail.All(float.IsNaN), $"{what}: wrote past its output");
    }

    public static TheoryData<int, int, int, int, int, int, int> PadCases() => new()
    {
        // H, W, C, top, bottom, left, right
        { 7, 5, 3, 1, 1, 1, 1 },
        { 7, 5, 3, 2, 0, 0, 3 },     // asymmetric, one side zero
        { 7, 5, 1, 0, 3, 1, 0 },
        { 7, 5, 16, 1, 2, 3, 1 },    // one vector of channels per pixel
        { 5, 7, 17, 3, 1, 0, 2 },    // a vector and a scalar tail
        { 7, 5, 3, 0, 0, 0, 0 },     // identity
        { 1, 1, 2, 2, 1, 1, 2 },     // a single pixel
    };

    [Theory]
    [MemberData(nameof(PadCases))]
    public void ZeroPaddingMatchesReference(int h, int w, int ch, int top, int bottom, int left, int right)
    {
        const int batch = 3;
        var g = ResampleReference.PadGeometry(h, w, ch, top, bottom, left, right);
        var x = Num.Uniform(batch * g.InSize, h * 31 + ch);
        var dy = Num.Uniform(batch * g.OutSize, h * 37 + ch);
        var yRef = ResampleReference.Pad(batch, h, w, ch, top, bottom, left, right, x);
        var dxRef = ResampleReference.PadBackward(batch, h, w, ch, top, bottom, left, right, dy);
        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            using var ws = new KernelWorkspace(1 << 15);
            string what = $"pad {h}x{w}x{ch} (({top}, {bottom}), ({left}, {right})) {setting}";
            int px = ws.Put(x), py = Output(ws, yRef.Length), pdy = ws.Put(dy), pdx = Output(ws, x.Length);
            ws.Backend.Pad2DForward(g, batch, px, py);
            Num.Close(yRef, ws.Get(py, yRef.Length), 0, 0, what + " y");
            AssertGuard(ws, py, yRef.Length, what + " y");
            ws.Backend.Pad2DBackward(g, batch, pdy, pdx);
            Num.Close(dxRef, ws.Get(pdx, x.Length), 0, 0, what + " dx");
            AssertGuard(ws, pdx, x.Length, what + " dx");
        }
    }

    public static TheoryData<int, int, int, int, int, int, int> CropCases() => new()
    {
        // H, W, C, top, bottom, left, right
        { 7, 5, 3, 1, 2, 0, 1 },
        { 7, 5, 3, 6, 0, 2, 2 },     // a single pixel left
        { 7, 5, 1, 0, 0, 0, 0 },     // identity
        { 7, 5, 16, 2, 2, 1, 0 },
        { 5, 7, 17, 0, 1, 3, 2 },
        { 9, 11, 3, 3, 3, 5, 5 },
    };

    [Theory]
    [MemberData(nameof(CropCases))]
    public void CroppingMatchesReference(int h, int w, int ch, int top, int bottom, int left, int right)
    {
        const int batch = 3;
        var g = ResampleReference.CropGeometry(h, w, ch, top, bottom, left, right);
        var x = Num.Uniform(batch * g.InSize, h * 41 + ch);
        var dy = Num.Uniform(batch * g.OutSize, h * 43 + ch);
        var yRef = ResampleReference.Crop(batch, h, w, ch, top, bottom, left, right, x);
        var dxRef = ResampleReference.CropBackward(batch, h, w, ch, top, bottom, left, right, dy);
        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            using var ws = new KernelWorkspace(1 << 15);
            string what = $"crop {h}x{w}x{ch} (({top}, {bottom}), ({left}, {right})) {setting}";
            int px = ws.Put(x), py = Output(ws, yRef.Length), pdy = ws.Put(dy), pdx = Output(ws, x.Length);
            ws.Backend.Pad2DForward(g, batch, px, py);
            Num.Close(yRef, ws.Get(py, yRef.Length), 0, 0, what + " y");
            AssertGuard(ws, py, yRef.Length, what + " y");
            ws.Backend.Pad2DBackward(g, batch, pdy, pdx);
            Num.Close(dxRef, ws.Get(pdx, x.Length), 0, 0, what + " dx (cropped cells get 0)");
            AssertGuard(ws, pdx, x.Length, what + " dx");
        }
    }

    public static TheoryData<int, int, int, int, int> UpCases() => new()
    {
        // H, W, C, rows, cols
        { 7, 5, 3, 2, 2 },
        { 7, 5, 3, 3, 1 },
        { 7, 5, 1, 1, 4 },     // one channel: the scalar path
        { 7, 5, 1, 3, 2 },
        { 5, 7, 16, 2, 3 },
        { 5, 7, 17, 2, 2 },
        { 7, 5, 3, 1, 1 },     // identity
        { 1, 1, 5, 4, 3 },
    };

    [Theory]
    [MemberData(nameof(UpCases))]
    public void UpSamplingMatchesReference(int h, int w, int ch, int rows, int cols)
    {
        const int batch = 3;
        var g = new UpSample2DGeometry(h, w, ch, rows, cols);
        var x = Num.Uniform(batch * g.InSize, h * 47 + ch);
        var dy = Num.Uniform(batch * g.OutSize, h * 53 + ch);
        var yRef = ResampleReference.Up(batch, h, w, ch, rows, cols, x);
        var dxRef = ResampleReference.UpBackward(batch, h, w, ch, rows, cols, dy);
        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            using var ws = new KernelWorkspace(1 << 15);
            string what = $"upsample {h}x{w}x{ch} by {rows}x{cols} {setting}";
            int px = ws.Put(x), py = Output(ws, yRef.Length), pdy = ws.Put(dy), pdx = Output(ws, x.Length);
            ws.Backend.UpSample2DForward(g, batch, px, py);
            Num.Close(yRef, ws.Get(py, yRef.Length), 0, 0, what + " y");
            AssertGuard(ws, py, yRef.Length, what + " y");
            ws.Backend.UpSample2DBackward(g, batch, pdy, pdx);
            Num.Close(dxRef, ws.Get(pdx, x.Length), 1e-6, 1e-6, what + " dx");
            AssertGuard(ws, pdx, x.Length, what + " dx");
        }
    }

    [Fact]
    public void KerasDocstringExamples()
    {
        using var ws = new KernelWorkspace(1 << 10);
        // ZeroPadding2D(padding=1) on np.arange(4).reshape(1, 1, 2, 2): shape (1, 3, 4, 2), the input in the middle row.
        var pad = ResampleReference.PadGeometry(1, 2, 2, 1, 1, 1, 1);
        int px = ws.Put([0, 1, 2, 3]), py = ws.Alloc(24);
        ws.Backend.Pad2DForward(pad, 1, px, py);
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, /**/ 0, 0, 0, 1, 2, 3, 0, 0, /**/ 0, 0, 0, 0, 0, 0, 0, 0 }, ws.Get(py, 24));

        // UpSampling2D(size=(1, 2)) on np.arange(12).reshape(2, 2, 1, 3): each pixel twice along the width.
        var up = new UpSample2DGeometry(2, 1, 3, 1, 2);
        int ux = ws.Put(Enumerable.Range(0, 12).Select(i => (float)i).ToArray()), uy = ws.Alloc(24);
        ws.Backend.UpSample2DForward(up, 2, ux, uy);
        Assert.Equal(new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 6, 7, 8, 9, 10, 11, 9, 10, 11 }, ws.Get(uy, 24));

        // Cropping2D(cropping=((2, 2), (4, 4))) on (2, 28, 28, 3): (2, 24, 20, 3), starting at row 2, column 4.
        var crop = ResampleReference.CropGeometry(28, 28, 3, 2, 2, 4, 4);
        Assert.Equal((24, 20), (crop.OutH, crop.OutW));
        var x = Enumerable.Range(0, 2 * crop.InSize).Select(i => (float)i).ToArray();
        using var big = new KernelWorkspace(1 << 14);
        int cx = big.Put(x), cy = big.Alloc(2 * crop.OutSize);
        big.Backend.Pad2DForward(crop, 2, cx, cy);
        var y = big.Get(cy, 2 * crop.OutSize);
        Assert.Equal(x[(2 * 28 + 4) * 3], y[0]);
        Assert.Equal(x[crop.InSize + ((2 + 23) * 28 + 4 + 19) * 3 + 2], y[^1]);
    }

    /// <summary>
    /// Each op is linear, so its backward must be its exact adjoint: ⟨dy, F(x)⟩ = ⟨Fᵀ(dy), x⟩ (in double, to float
    /// rounding). This ties the backward passes to the forward ones without going through the references.
    /// </summary>
    [Fact]
    public void BackwardIsTheAdjointOfForward()
    {
        const int batch = 2;
        var cases = new (string Name, int InSize, int OutSize, Action<IBackend, int, int> Forward, Action<IBackend, int, int> Backward)[]
        {
            Case("pad", ResampleReference.PadGeometry(6, 5, 7, 2, 1, 0, 3)),
            Case("crop", ResampleReference.CropGeometry(6, 5, 7, 2, 1, 0, 3)),
            Case("mixed shift", new Pad2DGeometry(6, 5, 7, 5, 8, -1, 2)),   // crop rows, pad columns
            ("upsample", 6 * 5 * 7, 12 * 15 * 7,
                (b, x, y) => b.UpSample2DForward(new UpSample2DGeometry(6, 5, 7, 2, 3), batch, x, y),
                (b, dy, dx) => b.UpSample2DBackward(new UpSample2DGeometry(6, 5, 7, 2, 3), batch, dy, dx)),
        };
        foreach (var (name, inSize, outSize, forward, backward) in cases)
        {
            using var ws = new KernelWorkspace(1 << 14);
            var x = Num.Uniform(batch * inSize, 1);
            var dy = Num.Uniform(batch * outSize, 2);
            int px = ws.Put(x), py = ws.Alloc(batch * outSize), pdy = ws.Put(dy), pdx = ws.Alloc(batch * inSize);
            forward(ws.Backend, px, py);
            backward(ws.Backend, pdy, pdx);
            var y = ws.Get(py, batch * outSize);
            var dx = ws.Get(pdx, batch * inSize);
            double left = 0, right = 0;
            for (int i = 0; i < y.Length; i++) left += (double)dy[i] * y[i];
            for (int i = 0; i < x.Length; i++) right += (double)dx[i] * x[i];
            Assert.True(Math.Abs(left - right) <= 1e-5 * (1 + Math.Abs(left)), $"{name}: <dy, F(x)> = {left}, <F'(dy), x> = {right}");
            Assert.True(Math.Abs(left) > 0.1, $"{name}: the check is vacuous");
        }

        static (string, int, int, Action<IBackend, int, int>, Action<IBackend, int, int>) Case(string name, Pad2DGeometry g) =>
            (name, g.InSize, g.OutSize, (b, x, y) => b.Pad2DForward(g, batch, x, y), (b, dy, dx) => b.Pad2DBackward(g, batch, dy, dx));
    }

    [Fact]
    public void RepeatedCallsAllocateNothing()
    {
        const int batch = 16;
        var pad = ResampleReference.PadGeometry(28, 28, 16, 1, 2, 2, 1);
        var crop = ResampleReference.CropGeometry(28, 28, 16, 1, 2, 2, 1);
        var up = new UpSample2DGeometry(14, 14, 16, 2, 2);
        using var ws = new KernelWorkspace(1 << 22);
        int px = ws.Put(Num.Uniform(batch * pad.InSize, 1)), py = ws.Alloc(batch * pad.OutSize), pc = ws.Alloc(batch * crop.OutSize);
        int pu = ws.Alloc(batch * up.OutSize), pdx = ws.Alloc(batch * pad.InSize);
        var be = ws.Backend;
        void Step()
        {
            be.Pad2DForward(pad, batch, px, py);
            be.Pad2DBackward(pad, batch, py, pdx);
            be.Pad2DForward(crop, batch, px, pc);
            be.Pad2DBackward(crop, batch, pc, pdx);
            be.UpSample2DForward(up, batch, px, pu);
            be.UpSample2DBackward(up, batch, pu, pdx);
        }
        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            Step();
            Step();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++) Step();
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        }
    }
}
