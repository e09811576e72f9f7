using System.Diagnostics;
using ILGPU.Runtime;
using NetGen;
using NetGen.Backends;

var cuda = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
if (cuda is null) { Console.WriteLine("NO CUDA DEVICE"); return 2; }
Console.WriteLine($"device: {cuda.Name}");
int failures = 0;
var cpu = new CpuBackend();
cpu.EnsureCapacity(1 << 26, 0);
cuda.EnsureCapacity(1 << 26, 0);
int top = 0;
int Put(float[] d) { int o = top; top += d.Length + 7; cpu.Upload(d, o); cuda.Upload(d, o); return o; }
int Alloc(int n) { int o = top; top += n + 7; cpu.Fill(o, n, float.NaN); cuda.Fill(o, n, float.NaN); return o; }
float[] Rand(int n, int seed) { var r = new Random(seed); var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1); return a; }
void Compare(string what, int off, int n, double tol)
{
    var a = new float[n]; var b = new float[n];
    cpu.Download(off, a); cuda.Download(off, b);
    double worst = 0, scale = 0;
    for (int i = 0; i < n; i++) { worst = Math.Max(worst, Math.Abs(a[i] - b[i])); scale = Math.Max(scale, Math.Abs(a[i])); }
    bool ok = worst <= tol * Math.Max(1, scale) && !b.Any(float.IsNaN);
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}: max |cpu - cuda| {worst:E2} (max |cpu| {scale:F3}) over {n}");
}
(int, int) Axis(int input, int k, int s, int d, bool same)
{
    int ke = k + (k - 1) * (d - 1);
    int o = same ? (input + s - 1) / s : (input - ke) / s + 1;
    int total = same ? Math.Max(0, (o - 1) * s + ke - input) : 0;
    return (o, total / 2);
}
foreach (var (h, w, c, dm, k, s, d, same, batch) in new[] { (28, 28, 32, 1, 3, 1, 1, true, 32), (29, 27, 24, 2, 3, 2, 1, true, 16), (17, 19, 8, 3, 5, 1, 2, false, 8) })
{
    var (oh, pt) = Axis(h, k, s, d, same); var (ow, pl) = Axis(w, k, s, d, same);
    var g = new Conv2DGeometry(h, w, c, oh, ow, c * dm, k, k, s, s, d, d, pt, pl);
    int kf = k * k * g.OutC;
    int x = Put(Rand(batch * g.InSize, 1)), kk = Put(Rand(kf, 2)), b = Put(Rand(g.OutC, 3));
    int pre = Alloc(batch * g.OutSize), y = Alloc(batch * g.OutSize);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.DepthwiseConv2DForward(g, batch, new Epilogue(ActivationFunction.Relu, 0, pre), x, kk, b, y);
    Compare($"depthwise {h}x{w}x{c} dm{dm} k{k} s{s} d{d} {(same ? "same" : "valid")} y", y, batch * g.OutSize, 1e-4);
    int dy = Put(Rand(batch * g.OutSize, 4)), dx = Alloc(batch * g.InSize), dk = Alloc(kf), db = Alloc(g.OutC);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Relu, 0, pre), false, x, kk, y, dy, dx, dk, db);
    Compare("  dx", dx, batch * g.InSize, 1e-4); Compare("  dKernel", dk, kf, 1e-4); Compare("  dBias", db, g.OutC, 1e-4);
}
foreach (var (h, w, c, f, k, s, same, batch) in new[] { (14, 14, 32, 16, 3, 2, true, 32), (7, 9, 16, 8, 4, 2, false, 16), (8, 8, 8, 4, 2, 3, false, 8), (16, 16, 16, 32, 1, 1, false, 16) })
{
    int oh = same ? h * s : h * s + Math.Max(k - s, 0), ow = same ? w * s : w * s + Math.Max(k - s, 0);
    int pt = same ? Math.Max(0, (h - 1) * s + k - oh) / 2 : 0, pl = same ? Math.Max(0, (w - 1) * s + k - ow) / 2 : 0;
    var g = new Conv2DGeometry(oh, ow, f, h, w, c, k, k, s, s, 1, 1, pt, pl);
    int kf = g.Patch * g.OutC;
    int x = Put(Rand(batch * g.OutSize, 5)), kk = Put(Rand(kf, 6)), b = Put(Rand(f, 7));
    int pre = Alloc(batch * g.InSize), y = Alloc(batch * g.InSize);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.Conv2DTransposeForward(g, batch, new Epilogue(ActivationFunction.Tanh, 0, pre), x, kk, b, y);
    Compare($"transpose {h}x{w}x{c} -> {oh}x{ow}x{f} k{k} s{s} {(same ? "same" : "valid")} y", y, batch * g.InSize, 1e-4);
    int dy = Put(Rand(batch * g.InSize, 8)), dx = Alloc(batch * g.OutSize), dk = Alloc(kf), db = Alloc(f);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.Conv2DTransposeBackward(g, batch, new Epilogue(ActivationFunction.Tanh, 0, pre), false, x, kk, y, dy, dx, dk, db);
    Compare("  dx", dx, batch * g.OutSize, 1e-4); Compare("  dKernel", dk, kf, 1e-4); Compare("  dBias", db, f, 1e-4);
}
// Batch norm with a fused activation and dropout (training), its backward, and the fold with inner runs
// (a transposed convolution's [kh, kw, filters, C] kernel), plus the workspace copy.
foreach (var (rows, c, act) in new[] { (32 * 28 * 28, 32, ActivationFunction.LeakyRelu), (256, 1024, ActivationFunction.Tanh), (999, 7, ActivationFunction.Linear) })
{
    int n = rows * c;
    int x = Put(Rand(n, 9)), gamma = Put(Rand(c, 10)), beta = Put(Rand(c, 11)), mm = Alloc(c), mv = Alloc(c);
    cpu.Fill(mm, c, 0f); cuda.Fill(mm, c, 0f); cpu.Fill(mv, c, 1f); cuda.Fill(mv, c, 1f);
    int sm = Alloc(c), si = Alloc(c), pre = act == ActivationFunction.Linear ? -1 : Alloc(n), y = Alloc(n);
    foreach (IBackend be in new IBackend[] { cpu, cuda })
        be.BatchNormForward(rows, new BatchNormArguments(c, gamma, beta, mm, mv, sm, si, 0.99f, 1e-3f, true), true, new Epilogue(act, 0.1f, pre, 0.3f, 777UL), x, y);
    var ya = new float[n]; var yb = new float[n]; cpu.Download(y, ya); cuda.Download(y, yb);
    int maskDiff = 0; for (int i = 0; i < n; i++) if ((ya[i] == 0f) != (yb[i] == 0f)) maskDiff++;
    if (maskDiff > 0) failures++;
    Console.WriteLine($"{(maskDiff == 0 ? "ok  " : "FAIL")} bn + {act} + dropout {rows}x{c}: {maskDiff} mask differences");
    Compare("  y", y, n, 1e-4);
    int dy = Put(Rand(n, 12)), dx = Alloc(n), dg = Alloc(c), db = Alloc(c);
    foreach (IBackend be in new IBackend[] { cpu, cuda })
        be.BatchNormBackward(rows, new BatchNormArguments(c, gamma: gamma, savedMean: sm, savedInvStd: si), new Epilogue(act, 0.1f, pre, 0.3f, 777UL), x, y, dy, dx, dg, db);
    Compare("  dx", dx, n, 1e-3); Compare("  dGamma", dg, c, 1e-3); Compare("  dBeta", db, c, 1e-3);
}
{
    const int fanIn = 9, filters = 16, inner = 8;
    int k = Put(Rand(fanIn * filters * inner, 13)), bias = Put(Rand(filters, 14)), g2 = Put(Rand(filters, 15)), b2 = Put(Rand(filters, 16));
    int m2 = Put(Rand(filters, 17)), v2 = Put(Rand(filters, 18).Select(v => v + 2).ToArray());
    int fk = Alloc(fanIn * filters * inner), fb = Alloc(filters);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.FoldBatchNorm(fanIn, filters, inner, 1e-3f, k, bias, g2, b2, m2, v2, fk, fb);
    Compare("fold into a transposed kernel", fk, fanIn * filters * inner, 1e-6); Compare("  folded bias", fb, filters, 1e-6);
    int copied = Alloc(fanIn * filters * inner);
    foreach (IBackend be in new IBackend[] { cpu, cuda }) be.Copy(k, copied, fanIn * filters * inner);
    Compare("copy", copied, fanIn * filters * inner, 0);
}
void Net<T>(Func<T> make, int[] shape, int classes, int batch) where T : Model
{
    var r = new Random(3);
    int size = shape.Aggregate(1, (a, b) => a * b);
    var xs = new float[batch * size]; for (int i = 0; i < xs.Length; i++) xs[i] = (float)r.NextDouble();
    var ys = new float[batch * classes]; for (int i = 0; i < batch; i++) ys[i * classes + r.Next(classes)] = 1;
    var x = new Tensor(xs, [batch, .. shape]); var y = new Tensor(ys, batch, classes);
    using var a = make(); using var b = make();
    b.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.Cuda)!);
    a.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy); b.Compile(new Adam(1e-3f), Loss.CategoricalCrossEntropy);
    double worst = 0;
    for (int i = 0; i < 10; i++) { float la = a.TrainOnBatch(x, y), lb = b.TrainOnBatch(x, y); worst = Math.Max(worst, Math.Abs(la - lb) / Math.Abs(la)); if (i < 2 || i == 9) Console.WriteLine($"  {a.Name} step {i}: loss cpu {la:F6} cuda {lb:F6}"); }
    var wa = a.GetWeights(); var wb = b.GetWeights(); double mw = 0; for (int i = 0; i < wa.Length; i++) mw = Math.Max(mw, Math.Abs(wa[i] - wb[i]));
    bool ok = worst < 1e-3 && mw < 1e-2;
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {a.Name}: {wa.Length} weights, worst relative loss difference {worst:E2}, max |w_cpu - w_cuda| {mw:E2}");
    var sw = Stopwatch.StartNew(); for (int i = 0; i < 20; i++) b.TrainOnBatch(x, y); cuda.Synchronize();
    Console.WriteLine($"  cuda train step {sw.Elapsed.TotalMilliseconds / 20:F2} ms at batch {batch}");
}
Net(() => new MobileBlock(), [32, 32, 3], 10, 64);
Net(() => new Decoder(), [7, 7, 16], 10, 64);
Console.WriteLine($"{failures} failed");
return failures == 0 ? 0 : 1;

[Network(32, 32, 3)]
[Conv2D(32, 3, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[DepthwiseConv2D(3, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2D(64, 1, Activation = Activation.Relu)]
[DepthwiseConv2D(3, Strides = 2, Padding = Padding.Same, DepthMultiplier = 2, Activation = Activation.Relu)]
[SeparableConv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[GlobalAveragePooling2D]
[Dense(10, Activation = Activation.Softmax)]
public partial class MobileBlock;

[Network(7, 7, 16)]
[Conv2DTranspose(32, 4, Strides = 2, Padding = Padding.Same, Activation = Activation.Relu)]
[Conv2DTranspose(16, 3, Strides = 2, Activation = Activation.Relu)]
[SeparableConv2D(8, 3, DilationRate = 2, Activation = Activation.Tanh)]
[Flatten]
[Dense(10, Activation = Activation.Softmax)]
public partial class Decoder;
