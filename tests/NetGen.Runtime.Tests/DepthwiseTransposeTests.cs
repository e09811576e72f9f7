using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>Naive double-precision references for depthwise and transposed convolutions (NHWC), written from the definitions.</summary>
internal static class DepthwiseTransposeReference
{
    /// <summary>A depthwise geometry from Keras's arithmetic (<see cref="KerasGeometry.Axis"/>): OutC = C·dm.</summary>
    public static Conv2DGeometry Depthwise(int inH, int inW, int c, int dm, int kh, int kw, int s = 1, int d = 1, bool same = false)
    {
        var (oh, pt, _) = KerasGeometry.Axis(inH, kh, s, d, same);
        var (ow, pl, _) = KerasGeometry.Axis(inW, kw, s, d, same);
        return new Conv2DGeometry(inH, inW, c, oh, ow, c * dm, kh, kw, s, s, d, d, pt, pl);
    }

    /// <summary>
    /// Keras 2's Conv2DTranspose output length (<c>deconv_output_length</c>, output_padding None) and TensorFlow's top/left
    /// padding of the convolution it transposes: valid in·s + max(k − s, 0), same in·s; pad = ⌊max(0, (in − 1)·s + k − out)/2⌋.
    /// </summary>
    public static (int Out, int Pad) TransposeAxis(int input, int k, int s, bool same)
    {
        int output = same ? input * s : input * s + Math.Max(k - s, 0);
        int total = same ? Math.Max(0, (input - 1) * s + k - output) : 0;
        return (output, total / 2);
    }

    /// <summary>The geometry a transposed convolution from (inH, inW, c) to f filters is given: the convolution it transposes.</summary>
    public static Conv2DGeometry Transpose(int inH, int inW, int c, int f, int kh, int kw, int s = 1, bool same = false)
    {
        var (oh, pt) = TransposeAxis(inH, kh, s, same);
        var (ow, pl) = TransposeAxis(inW, kw, s, same);
        return new Conv2DGeometry(oh, ow, f, inH, inW, c, kh, kw, s, s, 1, 1, pt, pl);
    }

    public static double[] DepthwiseForward(Conv2DGeometry g, int batch, float[] x, float[] k, float[]? b)
    {
        int dm = g.OutC / g.InC;
        var z = new double[batch * g.OutSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int c = 0; c < g.InC; c++)
                        for (int m = 0; m < dm; m++)
                        {
                            int o = c * dm + m;
                            double s = b is null ? 0 : b[o];
                            for (int kh = 0; kh < g.KernelH; kh++)
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH, iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                                    s += (double)x[((n * g.InH + ih) * g.InW + iw) * g.InC + c] * k[((kh * g.KernelW + kw) * g.InC + c) * dm + m];
                                }
                            z[((n * g.OutH + oh) * g.OutW + ow) * g.OutC + o] = s;
                        }
        return z;
    }

    public static (double[] DK, double[] DB, double[] DX) DepthwiseBackward(Conv2DGeometry g, int batch, float[] x, float[] k, double[] dz)
    {
        int dm = g.OutC / g.InC;
        var dk = new double[k.Length];
        var db = new double[g.OutC];
        var dx = new double[batch * g.InSize];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                    for (int c = 0; c < g.InC; c++)
                        for (int m = 0; m < dm; m++)
                        {
                            int o = c * dm + m;
                            double d = dz[((n * g.OutH + oh) * g.OutW + ow) * g.OutC + o];
                            db[o] += d;
                            for (int kh = 0; kh < g.KernelH; kh++)
                                for (int kw = 0; kw < g.KernelW; kw++)
                                {
                                    int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH, iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                                    int xi = ((n * g.InH + ih) * g.InW + iw) * g.InC + c;
                                    int ki = ((kh * g.KernelW + kw) * g.InC + c) * dm + m;
                                    dk[ki] += x[xi] * d;
                                    dx[xi] += k[ki] * d;
                                }
                        }
        return (dk, db, dx);
    }

    /// <summary>
    /// y[n, oy, ox, f] = b[f] + Σ x[n, iy, ix, c]·kernel[ky, kx, f, c] over oy = iy·s − padTop + ky, ox = ix·s − padLeft + kx
    /// (positions outside y dropped), kernel in Keras's Conv2DTranspose layout [kh, kw, filters, channels]. In the
    /// geometry's terms x is [OutH, OutW, OutC] and y [InH, InW, InC].
    /// </summary>
    public static double[] TransposeForward(Conv2DGeometry g, int batch, float[] x, float[] k, float[]? b)
    {
        int f = g.InC, c = g.OutC;
        var y = new double[batch * g.InSize];
        for (int n = 0; n < batch; n++)
        {
            if (b is not null)
                for (int p = 0; p < g.InH * g.InW; p++)
                    for (int o = 0; o < f; o++) y[(n * g.InH * g.InW + p) * f + o] = b[o];
            for (int iy = 0; iy < g.OutH; iy++)
                for (int ix = 0; ix < g.OutW; ix++)
                    for (int ky = 0; ky < g.KernelH; ky++)
                        for (int kx = 0; kx < g.KernelW; kx++)
                        {
                            int oy = iy * g.StrideH - g.PadTop + ky, ox = ix * g.StrideW - g.PadLeft + kx;
                            if (oy < 0 || oy >= g.InH || ox < 0 || ox >= g.InW) continue;
                            for (int o = 0; o < f; o++)
                            {
                                double s = 0;
                                for (int ci = 0; ci < c; ci++)
                                    s += (double)x[((n * g.OutH + iy) * g.OutW + ix) * c + ci] * k[((ky * g.KernelW + kx) * f + o) * c + ci];
                                y[((n * g.InH + oy) * g.InW + ox) * f + o] += s;
                            }
                        }
        }
        return y;
    }

    public static (double[] DK, double[] DB, double[] DX) TransposeBackward(Conv2DGeometry g, int batch, float[] x, float[] k, double[] dz)
    {
        int f = g.InC, c = g.OutC;
        var dk = new double[k.Length];
        var db = new double[f];
        var dx = new double[batch * g.OutSize];
        for (int i = 0; i < dz.Length; i++) db[i % f] += dz[i];
        for (int n = 0; n < batch; n++)
            for (int iy = 0; iy < g.OutH; iy++)
                for (int ix = 0; ix < g.OutW; ix++)
                    for (int ky = 0; ky < g.KernelH; ky++)
                        for (int kx = 0; kx < g.KernelW; kx++)
                        {
                            int oy = iy * g.StrideH - g.PadTop + ky, ox = ix * g.StrideW - g.PadLeft + kx;
                            if (oy < 0 || oy >= g.InH || ox < 0 || ox >= g.InW) continue;
                            for (int o = 0; o < f; o++)
                            {
                                double d = dz[((n * g.InH + oy) * g.InW + ox) * f + o];
                                for (int ci = 0; ci < c; ci++)
                                {
                                    int xi = ((n * g.OutH + iy) * g.OutW + ix) * c + ci;
                                    int ki = ((ky * g.KernelW + kx) * f + o) * c + ci;
                                    dk[ki] += x[xi] * d;
                                    dx[xi] += k[ki] * d;
                                }
                            }
                        }
        return (dk, db, dx);
    }
}

/// <summary>
/// DepthwiseConv2D and Conv2DTranspose of <see cref="CpuBackend"/> against the naive double references, under every
/// work-splitting setting of <see cref="ConvolutionTests.Settings"/>, plus identities with Conv2D, a TensorFlow padding
/// example and central differences. Not run in parallel with other tests: it changes those global settings, and it
/// counts allocations.
/// </summary>
[Collection(NonParallelCollection.Name)]
public class DepthwiseTransposeTests
{
    private const double Abs = 2e-5, Rel = 2e-5;

    // ------------------------------------------------------------------------------------------------
    // DepthwiseConv2D
    // ------------------------------------------------------------------------------------------------

    private static Conv2DGeometry DepthwiseShape(string name) => name switch
    {
        "3x3 same" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 1, 3, 3, same: true),
        "3x3 s2 same dm2" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 2, 3, 3, 2, same: true),
        "2x3 s2 valid dm2" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 2, 2, 3, 2),
        "3x3 d2 same" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 1, 3, 3, d: 2, same: true),
        "3x3 d2 valid dm2" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 2, 3, 3, d: 2),
        "1x1 dm3" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 3, 1, 1),
        "4x4 s2 same" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 1, 4, 4, 2, same: true),
        "2x2 s3 valid" => DepthwiseTransposeReference.Depthwise(7, 5, 3, 2, 2, 2, 3),            // stride > kernel: some inputs unused
        "3x3 wide" => DepthwiseTransposeReference.Depthwise(6, 5, 37, 1, 3, 3, same: true),       // vector bodies and scalar tails
        "3x2 dm17" => DepthwiseTransposeReference.Depthwise(5, 7, 2, 17, 3, 2, 1, 1, true),      // a vector per channel's filters
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, ActivationFunction, bool, bool> DepthwiseCases()
    {
        var d = new TheoryData<string, ActivationFunction, bool, bool>();
        string[] shapes = ["3x3 same", "3x3 s2 same dm2", "2x3 s2 valid dm2", "3x3 d2 same", "3x3 d2 valid dm2", "1x1 dm3", "4x4 s2 same",
            "2x2 s3 valid", "3x3 wide", "3x2 dm17"];
        ActivationFunction[] acts = [ActivationFunction.Linear, ActivationFunction.Relu, ActivationFunction.Tanh, ActivationFunction.LeakyRelu,
            ActivationFunction.Swish];
        for (int i = 0; i < shapes.Length; i++)
        {
            var act = acts[i % acts.Length];
            d.Add(shapes[i], act, i % 3 != 2, act == ActivationFunction.Swish || i % 2 == 0);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(DepthwiseCases))]
    public void DepthwiseMatchesReference(string shape, ActivationFunction f, bool useBias, bool storePre)
    {
        var g = DepthwiseShape(shape);
        const int batch = 3;
        const float alpha = 0.2f;
        int seed = shape.Length * 31 + g.OutC;
        int kernelFloats = g.KernelH * g.KernelW * g.OutC;
        var x = Num.Uniform(batch * g.InSize, seed);
        var k = Num.Uniform(kernelFloats, seed + 1, -0.5, 0.5);
        var b = useBias ? Num.Uniform(g.OutC, seed + 2) : null;
        var dy = Num.Uniform(batch * g.OutSize, seed + 3);

        var z = DepthwiseTransposeReference.DepthwiseForward(g, batch, x, k, b);
        var zf = Array.ConvertAll(z, v => RefActivation.AwayFromKinks(f, (float)v));
        var yRef = RefActivation.Forward(f, alpha, zf, g.OutC);
        var dz = RefActivation.Backward(f, alpha, zf, Array.ConvertAll(dy, v => (double)v), g.OutC);
        var (dkRef, dbRef, dxRef) = DepthwiseTransposeReference.DepthwiseBackward(g, batch, x, k, dz);

        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            using var ws = new KernelWorkspace(1 << 16);
            var be = ws.Backend;
            string what = $"depthwise {shape} {f} {setting}";
            int px = ws.Put(x), pk = ws.Put(k), pb = b is null ? -1 : ws.Put(b);
            int pz = storePre ? ws.Alloc(z.Length) : -1, py = ws.Alloc(z.Length);
            be.DepthwiseConv2DForward(g, batch, new Epilogue(f, alpha, pz), px, pk, pb, py);
            if (storePre) Num.Close(z, ws.Get(pz, z.Length), Abs, Rel, what + " z");
            var zKernel = storePre ? ws.Get(pz, z.Length) : Array.ConvertAll(z, v => (float)v);
            Num.Close(RefActivation.Forward(f, alpha, zKernel, g.OutC), ws.Get(py, z.Length), 1e-5, 1e-5, what + " y");

            // Backward from the reference z (nudged off kinks).
            if (storePre) be.Upload(zf, pz);
            be.Upload(Array.ConvertAll(yRef, v => (float)v), py);
            int pdy = ws.Put(dy), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(kernelFloats), pdb = ws.Alloc(g.OutC);
            be.DepthwiseConv2DBackward(g, batch, new Epilogue(f, alpha, pz), false, px, pk, py, pdy, pdx, pdk, pdb);
            Num.Close(dz, ws.Get(pdy, dz.Length), 1e-5, 1e-4, what + " dz");
            Num.Close(dkRef, ws.Get(pdk, kernelFloats), 5e-5, 5e-5, what + " dKernel");
            Num.Close(dbRef, ws.Get(pdb, g.OutC), 5e-5, 5e-5, what + " dBias");
            Num.Close(dxRef, ws.Get(pdx, x.Length), 5e-5, 5e-5, what + " dx");

            // dz given; only dx, or only the kernel gradient.
            int pdz = ws.Put(Array.ConvertAll(dz, v => (float)v)), pdx2 = ws.Alloc(x.Length);
            be.DepthwiseConv2DBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz, pdx2, -1, -1);
            Num.Close(dxRef, ws.Get(pdx2, x.Length), 5e-5, 5e-5, what + " dx (dz given)");
            int pdk2 = ws.Alloc(kernelFloats);
            be.DepthwiseConv2DBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz, -1, pdk2, -1);
            Num.Close(dkRef, ws.Get(pdk2, kernelFloats), 5e-5, 5e-5, what + " dKernel (dz given)");
        }
    }

    [Fact]
    public void DepthwiseWithMultiplierOneIsConv2DWithADiagonalKernel()
    {
        var g = DepthwiseTransposeReference.Depthwise(9, 7, 5, 1, 3, 3, 2, same: true);
        var conv = g with { };
        const int batch = 3;
        var x = Num.Uniform(batch * g.InSize, 1);
        var k = Num.Uniform(9 * 5, 2);
        var full = new float[9 * 5 * 5];
        for (int tap = 0; tap < 9; tap++)
            for (int c = 0; c < 5; c++) full[(tap * 5 + c) * 5 + c] = k[tap * 5 + c];
        var b = Num.Uniform(5, 3);
        using var ws = new KernelWorkspace(1 << 14);
        int px = ws.Put(x), pk = ws.Put(k), pfull = ws.Put(full), pb = ws.Put(b), p1 = ws.Alloc(batch * g.OutSize), p2 = ws.Alloc(batch * g.OutSize);
        ws.Backend.DepthwiseConv2DForward(g, batch, new Epilogue(ActivationFunction.Elu), px, pk, pb, p1);
        ws.Backend.Conv2DForward(conv, batch, new Epilogue(ActivationFunction.Elu), px, pfull, pb, p2);
        Num.Close(Array.ConvertAll(ws.Get(p2, batch * g.OutSize), v => (double)v), ws.Get(p1, batch * g.OutSize), 1e-6, 1e-6, "depthwise vs diagonal conv");
    }

    [Fact]
    public void DepthwiseCentralDifferences()
    {
        foreach (var g in new[] { DepthwiseTransposeReference.Depthwise(6, 5, 3, 2, 3, 2, 2, same: true),
                     DepthwiseTransposeReference.Depthwise(7, 6, 2, 1, 3, 3, d: 2, same: true), DepthwiseTransposeReference.Depthwise(5, 5, 18, 1, 2, 2) })
        {
            const int batch = 2;
            int kernelFloats = g.KernelH * g.KernelW * g.OutC;
            var x = Num.Uniform(batch * g.InSize, 11);
            var k = Num.Uniform(kernelFloats, 12, -0.5, 0.5);
            var b = Num.Uniform(g.OutC, 13);
            var wts = Num.Uniform(batch * g.OutSize, 14);
            using var ws = new KernelWorkspace(1 << 15);
            int px = ws.Put(x), pk = ws.Put(k), pb = ws.Put(b), py = ws.Alloc(wts.Length);
            double Loss()
            {
                ws.Backend.DepthwiseConv2DForward(g, batch, new Epilogue(ActivationFunction.Tanh), px, pk, pb, py);
                var y = ws.Get(py, wts.Length);
                double s = 0;
                for (int i = 0; i < y.Length; i++) s += wts[i] * (double)y[i];
                return s;
            }
            Loss();
            int pdy = ws.Put(wts), pdx = ws.Alloc(x.Length), pdk = ws.Alloc(kernelFloats), pdb = ws.Alloc(b.Length);
            ws.Backend.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Tanh), false, px, pk, py, pdy, pdx, pdk, pdb);
            CheckGradient(ws, px, x, ws.Get(pdx, x.Length), Loss, "depthwise dx");
            CheckGradient(ws, pk, k, ws.Get(pdk, kernelFloats), Loss, "depthwise dKernel");
            CheckGradient(ws, pb, b, ws.Get(pdb, b.Length), Loss, "depthwise dBias");
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Conv2DTranspose
    // ------------------------------------------------------------------------------------------------

    [Theory]
    //          in  k  s  same  out pad
    [InlineData(7, 3, 2, false, 15, 0)]   // (in − 1)·s + k
    [InlineData(7, 3, 2, true, 14, 0)]    // in·s; TF pads the 14 -> 7 convolution by 1 in total, at the bottom
    [InlineData(5, 4, 2, true, 10, 1)]    // total 2: one each side
    [InlineData(5, 5, 1, true, 5, 2)]
    [InlineData(4, 2, 3, false, 12, 0)]   // kernel < stride: in·s, the gaps stay bias-only
    [InlineData(4, 1, 1, false, 4, 0)]
    public void KerasTransposeAxisArithmetic(int input, int k, int s, bool same, int output, int pad)
    {
        Assert.Equal((output, pad), DepthwiseTransposeReference.TransposeAxis(input, k, s, same));
        // The convolution it transposes maps the output length back to the input length with the same padding.
        var (back, before, _) = KerasGeometry.Axis(output, k, s, 1, same);
        Assert.Equal(input, back);
        if (same) Assert.Equal(pad, before);
    }

    [Fact]
    public void TransposeTensorFlowPaddingExample()
    {
        // x = [1, 2], kernel [1, 10, 100], stride 2. Each input scatters its window to 2·i + k:
        // valid (length 5): [1, 10, 102, 20, 200]; same (length 4, TF pads 0 before, 1 after): [1, 10, 102, 20].
        // Stride 2 along the height only (the helper strides both axes), so the geometries are written out: the
        // convolutions 5 -> 2 (valid) and 4 -> 2 (same: TF's total padding (2 − 1)·2 + 3 − 4 = 1 goes after, top 0).
        using var ws = new KernelWorkspace(256);
        int px = ws.Put([1f, 2f]), pk = ws.Put([1f, 10f, 100f]), py = ws.Alloc(5);
        var valid = new Conv2DGeometry(5, 1, 1, 2, 1, 1, 3, 1, 2, 1, 1, 1, 0, 0);
        ws.Backend.Conv2DTransposeForward(valid, 1, new Epilogue(ActivationFunction.Linear), px, pk, -1, py);
        Assert.Equal(new float[] { 1, 10, 102, 20, 200 }, ws.Get(py, 5));
        Assert.Equal((4, 0), DepthwiseTransposeReference.TransposeAxis(2, 3, 2, same: true));
        var same = new Conv2DGeometry(4, 1, 1, 2, 1, 1, 3, 1, 2, 1, 1, 1, 0, 0);
        ws.Backend.Conv2DTransposeForward(same, 1, new Epilogue(ActivationFunction.Linear), px, pk, -1, py);
        Assert.Equal(new float[] { 1, 10, 102, 20 }, ws.Get(py, 4));
    }

    private static Conv2DGeometry TransposeShape(string name) => name switch
    {
        "3x3 s1 same" => DepthwiseTransposeReference.Transpose(7, 5, 3, 4, 3, 3, same: true),
        "3x3 s2 same" => DepthwiseTransposeReference.Transpose(7, 5, 3, 4, 3, 3, 2, same: true),
        "3x3 s2 valid" => DepthwiseTransposeReference.Transpose(7, 5, 3, 5, 3, 3, 2),
        "2x3 s2 valid" => DepthwiseTransposeReference.Transpose(7, 5, 3, 2, 2, 3, 2),
        "4x4 s2 same" => DepthwiseTransposeReference.Transpose(7, 5, 3, 4, 4, 4, 2, same: true),
        "2x2 s3 valid" => DepthwiseTransposeReference.Transpose(7, 5, 3, 3, 2, 2, 3),      // kernel < stride
        "1x1" => DepthwiseTransposeReference.Transpose(7, 5, 3, 6, 1, 1),                  // no im2col
        "1x1 s2" => DepthwiseTransposeReference.Transpose(7, 5, 3, 6, 1, 1, 2, same: true),
        "5x1 same" => DepthwiseTransposeReference.Transpose(7, 5, 2, 3, 5, 1, same: true),
        "3x3 wide" => DepthwiseTransposeReference.Transpose(6, 5, 17, 19, 3, 3, 2, same: true),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, ActivationFunction, bool, bool> TransposeCases()
    {
        var d = new TheoryData<string, ActivationFunction, bool, bool>();
        string[] shapes = ["3x3 s1 same", "3x3 s2 same", "3x3 s2 valid", "2x3 s2 valid", "4x4 s2 same", "2x2 s3 valid", "1x1", "1x1 s2",
            "5x1 same", "3x3 wide"];
        ActivationFunction[] acts = [ActivationFunction.Linear, ActivationFunction.Relu, ActivationFunction.Sigmoid, ActivationFunction.LeakyRelu,
            ActivationFunction.Gelu, ActivationFunction.Softmax];
        for (int i = 0; i < shapes.Length; i++)
        {
            var act = acts[i % acts.Length];
            d.Add(shapes[i], act, i % 3 != 2, act == ActivationFunction.Gelu || i % 2 == 1);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void TransposeMatchesReference(string shape, ActivationFunction f, bool useBias, bool storePre)
    {
        var g = TransposeShape(shape);
        const int batch = 3;
        const float alpha = 0.2f;
        int seed = shape.Length * 17 + g.InC;
        int kernelFloats = g.Patch * g.OutC, inCount = batch * g.OutSize, outCount = batch * g.InSize, filters = g.InC;
        var x = Num.Uniform(inCount, seed);
        var k = Num.Uniform(kernelFloats, seed + 1, -0.5, 0.5);
        var b = useBias ? Num.Uniform(filters, seed + 2) : null;
        var dy = Num.Uniform(outCount, seed + 3);

        var z = DepthwiseTransposeReference.TransposeForward(g, batch, x, k, b);
        var zf = Array.ConvertAll(z, v => RefActivation.AwayFromKinks(f, (float)v));
        var yRef = RefActivation.Forward(f, alpha, zf, filters);
        var dz = RefActivation.Backward(f, alpha, zf, Array.ConvertAll(dy, v => (double)v), filters);
        var (dkRef, dbRef, dxRef) = DepthwiseTransposeReference.TransposeBackward(g, batch, x, k, dz);

        foreach (var setting in ConvolutionTests.Settings())
        {
            using var tuning = new ConvolutionTests.Tuning(setting);
            using var ws = new KernelWorkspace(1 << 17);
            var be = ws.Backend;
            string what = $"transpose {shape} {f} {setting}";
            int px = ws.Put(x), pk = ws.Put(k), pb = b is null ? -1 : ws.Put(b);
            int pz = storePre ? ws.Alloc(outCount) : -1, py = ws.Alloc(outCount);
            be.Conv2DTransposeForward(g, batch, new Epilogue(f, alpha, pz), px, pk, pb, py);
            if (storePre) Num.Close(z, ws.Get(pz, outCount), Abs, Rel, what + " z");
            var zKernel = storePre ? ws.Get(pz, outCount) : Array.ConvertAll(z, v => (float)v);
            Num.Close(RefActivation.Forward(f, alpha, zKernel, filters), ws.Get(py, outCount), 1e-5, 1e-5, what + " y");

            if (storePre) be.Upload(zf, pz);
            be.Upload(Array.ConvertAll(yRef, v => (float)v), py);
            int pdy = ws.Put(dy), pdx = ws.Alloc(inCount), pdk = ws.Alloc(kernelFloats), pdb = ws.Alloc(filters);
            be.Conv2DTransposeBackward(g, batch, new Epilogue(f, alpha, pz), false, px, pk, py, pdy, pdx, pdk, pdb);
            Num.Close(dz, ws.Get(pdy, outCount), 1e-5, 1e-4, what + " dz");
            Num.Close(dkRef, ws.Get(pdk, kernelFloats), 5e-5, 5e-5, what + " dKernel");
            Num.Close(dbRef, ws.Get(pdb, filters), 5e-5, 5e-5, what + " dBias");
            Num.Close(dxRef, ws.Get(pdx, inCount), 5e-5, 5e-5, what + " dx");

            // dz given; no dx (the first layer), or no kernel gradient (frozen).
            int pdz = ws.Put(Array.ConvertAll(dz, v => (float)v)), pdk2 = ws.Alloc(kernelFloats);
            be.Conv2DTransposeBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz, -1, pdk2, -1);
            Num.Close(dkRef, ws.Get(pdk2, kernelFloats), 5e-5, 5e-5, what + " dKernel (dz given)");
            int pdx3 = ws.Alloc(inCount), pdb3 = ws.Alloc(filters);
            be.Conv2DTransposeBackward(g, batch, new Epilogue(f, alpha, pz), true, px, pk, py, pdz, pdx3, -1, pdb3);
            Num.Close(dxRef, ws.Get(pdx3, inCount), 5e-5, 5e-5, what + " dx (no dKernel)");
            Num.Close(dbRef, ws.Get(pdb3, filters), 5e-5, 5e-5, what + " dBias (no dKernel)");
        }
    }

    [Theory]
    [InlineData("3x3 s2 same")]
    [InlineData("2x2 s3 valid")]
    [InlineData("1x1")]
    public void TransposeIsTheAdjointOfConv2D(string shape)
    {
        // ⟨conv(a), b⟩ = ⟨a, convᵀ(b)⟩ for the geometry g, and convᵀ(b) equals Conv2D's input gradient for dy = b.
        var g = TransposeShape(shape);
        const int batch = 2;
        var a = Num.Uniform(batch * g.InSize, 5);
        var bv = Num.Uniform(batch * g.OutSize, 6);
        var k = Num.Uniform(g.Patch * g.OutC, 7);
        using var ws = new KernelWorkspace(1 << 16);
        int pa = ws.Put(a), pb = ws.Put(bv), pk = ws.Put(k), pconv = ws.Alloc(bv.Length), pt = ws.Alloc(a.Length), pdx = ws.Alloc(a.Length);
        ws.Backend.Conv2DForward(g, batch, new Epilogue(ActivationFunction.Linear), pa, pk, -1, pconv);
        ws.Backend.Conv2DTransposeForward(g, batch, new Epilogue(ActivationFunction.Linear), pb, pk, -1, pt);
        var conv = ws.Get(pconv, bv.Length);
        var t = ws.Get(pt, a.Length);
        double left = 0, right = 0;
        for (int i = 0; i < bv.Length; i++) left += (double)conv[i] * bv[i];
        for (int i = 0; i < a.Length; i++) right += (double)a[i] * t[i];
        Num.Close(left, right, 1e-4, 1e-5, $"{shape}: adjoint identity");
        int pdy = ws.Put(bv);
        ws.Backend.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), true, pa, pk, pconv, pdy, pdx, -1, -1);
        Num.Close(Array.ConvertAll(ws.Get(pdx, a.Length), v => (double)v), t, 1e-5, 1e-5, $"{shape}: transpose forward vs Conv2D dx");
    }

    [Fact]
    public void TransposeCentralDifferences()
    {
        // L = Σ exp(y)/n through a strided, padded transposed convolution with a fused tanh.
        foreach (var g in new[] { DepthwiseTransposeReference.Transpose(4, 3, 3, 2, 3, 3, 2, same: true),
                     DepthwiseTransposeReference.Transpose(3, 4, 2, 3, 2, 3, 3), DepthwiseTransposeReference.Transpose(3, 3, 4, 3, 1, 1) })
        {
            const int batch = 2;
            int inCount = batch * g.OutSize, outCount = batch * g.InSize;
            var x = Num.Uniform(inCount, 21);
            var k = Num.Uniform(g.Patch * g.OutC, 22, -0.5, 0.5);
            var b = Num.Uniform(g.InC, 23);
            using var ws = new KernelWorkspace(1 << 15);
            int px = ws.Put(x), pk = ws.Put(k), pb = ws.Put(b), py = ws.Alloc(outCount);
            double Loss()
            {
                ws.Backend.Conv2DTransposeForward(g, batch, new Epilogue(ActivationFunction.Tanh), px, pk, pb, py);
                return ws.Get(py, outCount).Sum(v => Math.Exp(v)) / outCount;
            }
            Loss();
            var dy = ws.Get(py, outCount).Select(v => (float)(Math.Exp(v) / outCount)).ToArray();
            int pdy = ws.Put(dy), pdx = ws.Alloc(inCount), pdk = ws.Alloc(k.Length), pdb = ws.Alloc(b.Length);
            ws.Backend.Conv2DTransposeBackward(g, batch, new Epilogue(ActivationFunction.Tanh), false, px, pk, py, pdy, pdx, pdk, pdb);
            CheckGradient(ws, px, x, ws.Get(pdx, inCount), Loss, "transpose dx");
            CheckGradient(ws, pk, k, ws.Get(pdk, k.Length), Loss, "transpose dKernel");
            CheckGradient(ws, pb, b, ws.Get(pdb, b.Length), Loss, "transpose dBias");
        }
    }

    [Fact]
    public void RepeatedCallsAllocateNothing()
    {
        const int batch = 8;
        var d = DepthwiseTransposeReference.Depthwise(14, 14, 16, 2, 3, 3, same: true);
        var t = DepthwiseTransposeReference.Transpose(7, 7, 16, 8, 3, 3, 2, same: true);
        using var ws = new KernelWorkspace(1 << 21);
        var be = ws.Backend;
        int px = ws.Put(Num.Uniform(batch * d.InSize, 1)), pk = ws.Put(Num.Uniform(9 * d.OutC, 2)), pb = ws.Put(Num.Uniform(d.OutC, 3));
        int pz = ws.Alloc(batch * d.OutSize), py = ws.Alloc(batch * d.OutSize), pdy = ws.Alloc(batch * d.OutSize, 0.1f), pdx = ws.Alloc(batch * d.InSize);
        int pdk = ws.Alloc(9 * d.OutC), pdb = ws.Alloc(d.OutC);
        int tx = ws.Put(Num.Uniform(batch * t.OutSize, 4)), tk = ws.Put(Num.Uniform(t.Patch * t.OutC, 5)), tb = ws.Put(Num.Uniform(t.InC, 6));
        int ty = ws.Alloc(batch * t.InSize), tdy = ws.Alloc(batch * t.InSize, 0.1f), tdx = ws.Alloc(batch * t.OutSize), tdk = ws.Alloc(t.Patch * t.OutC), tdb = ws.Alloc(t.InC);
        void Step()
        {
            be.DepthwiseConv2DForward(d, batch, new Epilogue(ActivationFunction.Relu, 0, pz), px, pk, pb, py);
            be.DepthwiseConv2DBackward(d, batch, new Epilogue(ActivationFunction.Relu, 0, pz), false, px, pk, py, pdy, pdx, pdk, pdb);
            be.Conv2DTransposeForward(t, batch, new Epilogue(ActivationFunction.LeakyRelu, 0.1f), tx, tk, tb, ty);
            be.Conv2DTransposeBackward(t, batch, new Epilogue(ActivationFunction.LeakyRelu, 0.1f), false, tx, tk, ty, tdy, tdx, tdk, tdb);
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

    /// <summary>Compares an analytic gradient with central differences of <paramref name="loss"/> at a sample of entries.</summary>
    private static void CheckGradient(KernelWorkspace ws, int offset, float[] values, float[] analytic, Func<double> loss, string what,
        float h = 1e-2f, int maxChecks = 40)
    {
        int step = Math.Max(1, values.Length / maxChecks);
        var buf = (float[])values.Clone();
        double scale = analytic.Max(v => Math.Abs((double)v)) + 1e-3;
        for (int i = 0; i < values.Length; i += step)
        {
            buf[i] = values[i] + h;
            ws.Backend.Upload(buf, offset);
            double up = loss();
            buf[i] = values[i] - h;
            ws.Backend.Upload(buf, offset);
            double down = loss();
            buf[i] = values[i];
            ws.Backend.Upload(buf, offset);
            double numeric = (up - down) / (2.0 * h);
            double err = Math.Abs(numeric - analytic[i]);
            if (err > 2e-3 * scale + 1e-2 * Math.Abs(numeric))
                Assert.Fail($"{what}[{i}]: analytic {analytic[i]:R}, central difference {numeric:R}");
        }
    }
}
