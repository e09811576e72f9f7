using ILGPU.Runtime;
using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// The general ReLU and the noise layers on <see cref="IlgpuBackend"/> (ILGPU's CPU accelerator, and CUDA where
/// present) against <see cref="CpuBackend"/>: ReLU and spatial-dropout masks bit-identical; Gaussian noise within
/// <see cref="NormalAbs"/> absolute per unit of stddev (on the CPU accelerator the draws are in fact bit-identical,
/// since both run the same scalar code; a GPU may fuse multiply-adds in the logarithm and cosine polynomials).
/// ELU's alpha form is covered by <c>IlgpuBackendTests.Ilgpu_ActivationForwardBackwardMatchCpu</c>, which runs
/// every <see cref="ActivationFunction"/>; the PTX check there compiles these kernels too.
/// </summary>
public sealed class IlgpuActivationNoiseTests(IlgpuCpuFixture fixture, ITestOutputHelper output) : IClassFixture<IlgpuCpuFixture>
{
    /// <summary>Largest |z_gpu − z_cpu| allowed for a standard normal draw (|z| ≤ 5.8; a few float ulps).</summary>
    public const double NormalAbs = 4e-6;

    /// <summary>The same workspace on two backends.</summary>
    private sealed class Pair : IDisposable
    {
        private int _top = 7;

        public Pair(IBackend a, IBackend b, int floats = 1 << 18)
        {
            A = a;
            B = b;
            A.EnsureCapacity(floats, 0);
            B.EnsureCapacity(floats, 0);
        }

        public IBackend A { get; }
        public IBackend B { get; }

        public int Put(float[] data)
        {
            int offset = _top;
            _top += data.Length + 3;
            A.Upload(data, offset);
            B.Upload(data, offset);
            return offset;
        }

        public int Alloc(int count) => Put(Enumerable.Repeat(float.NaN, count).ToArray());

        public void Run(Action<IBackend> op)
        {
            op(A);
            op(B);
        }

        public (float[] A, float[] B) Get(int offset, int count)
        {
            var a = new float[count];
            var b = new float[count];
            A.Download(offset, a);
            B.Download(offset, b);
            return (a, b);
        }

        public void Same(int offset, int count, string what)
        {
            var (a, b) = Get(offset, count);
            for (int i = 0; i < count; i++)
                if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]) && !(float.IsNaN(a[i]) && float.IsNaN(b[i])))
                    Assert.Fail($"{what}: element {i} is {b[i]:R} on {B.Name}, {a[i]:R} on {A.Name} (bit-identical expected).");
        }

        /// <summary>Asserts |b − a| ≤ abs and returns the largest difference and how many elements differ at all.</summary>
        public (double Worst, int Differing) Close(int offset, int count, double abs, string what)
        {
            var (a, b) = Get(offset, count);
            double worst = 0;
            int differing = 0;
            for (int i = 0; i < count; i++)
            {
                double d = Math.Abs((double)a[i] - b[i]);
                if (a[i] != b[i]) differing++;
                worst = Math.Max(worst, d);
                if (!(d <= abs)) Assert.Fail($"{what}: element {i} is {b[i]:R} on {B.Name}, {a[i]:R} on {A.Name} (difference {d:E3} > {abs:E1}).");
            }
            return (worst, differing);
        }

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
        }
    }

    /// <summary>Every check against the CPU backend on one device backend; the normal draws within <paramref name="normalAbs"/>.</summary>
    private void CheckAgainstCpu(IlgpuBackend device, double normalAbs)
    {
        using var t = new Pair(new CpuBackend(), device);

        // ReLU: bit-identical (the same operations, and the two products never meet a nonzero sum).
        foreach (var (max, slope, threshold) in new[] { (6f, 0f, 0f), (0.7f, 0.2f, 0.3f), (float.PositiveInfinity, 0.25f, 0.5f), (0.4f, 0f, 1.2f) })
        {
            const int n = 3 * 7 * 5 * 3;
            var xs = Num.Uniform(n, 3, -3, 3);
            xs[0] = float.NaN;
            xs[1] = threshold;
            xs[2] = float.NegativeInfinity;
            xs[3] = max;
            int x = t.Put(xs), y = t.Alloc(n), dy = t.Put(Num.Uniform(n, 4)), dx = t.Alloc(n);
            t.Run(b => b.ReluForward(n, max, slope, threshold, x, y));
            t.Same(y, n, $"relu({max}, {slope}, {threshold}) forward");
            t.Run(b => b.ReluBackward(n, max, slope, threshold, x, dy, dx));
            t.Same(dx, n, $"relu({max}, {slope}, {threshold}) backward");
            t.Run(b => b.ReluBackward(n, max, slope, threshold, x, dy, dy));
            t.Same(dy, n, "relu backward in place");
        }

        // Spatial dropout: masks bit-identical, forward, backward and in place.
        foreach (var (batch, pixels, channels, rate) in new[] { (3, 35, 3, 0.45f), (2, 6, 37, 0.2f), (5, 1, 16, 0.7f) })
        {
            int n = batch * pixels * channels;
            ulong key = CounterRng.Key(11, (ulong)channels, 2);
            int x = t.Put(Num.Uniform(n, 5, -2, 2)), y = t.Alloc(n), dy = t.Put(Num.Uniform(n, 6)), dx = t.Alloc(n);
            t.Run(b => b.SpatialDropout2DForward(batch, pixels, channels, rate, key, x, y));
            t.Same(y, n, $"spatial dropout {batch}x{pixels}x{channels} forward");
            t.Run(b => b.SpatialDropout2DBackward(batch, pixels, channels, rate, key, dy, dx));
            t.Same(dx, n, "spatial dropout backward");
            t.Run(b => b.SpatialDropout2DForward(batch, pixels, channels, rate, key, x, x));
            t.Same(x, n, "spatial dropout in place");
        }

        // Normal draws: z itself (x = 0, stddev 1), then the two layers on odd sizes.
        const int m = 100_003;
        ulong k = CounterRng.Key(42, 7, 9);
        int zeros = t.Put(new float[m]), z = t.Alloc(m);
        t.Run(b => b.GaussianNoiseForward(m, 1f, k, zeros, z));
        var (worst, differing) = t.Close(z, m, normalAbs, "standard normal draws");
        output.WriteLine($"{device.Name}: {m} normal draws, {differing} differ from the CPU backend's, largest difference {worst:E2}");
        {
            const int n = 3 * 7 * 5 * 3;
            int x = t.Put(Num.Uniform(n, 8, -2, 2)), y = t.Alloc(n), dy = t.Put(Num.Uniform(n, 9)), dx = t.Alloc(n);
            t.Run(b => b.GaussianNoiseForward(n, 0.3f, k, x, y));
            t.Close(y, n, 0.3 * normalAbs + 1e-6, "gaussian noise");
            float stddev = (float)Math.Sqrt(0.3 / 0.7);
            t.Run(b => b.GaussianDropoutForward(n, stddev, k, x, y));
            t.Close(y, n, 2 * stddev * normalAbs + 1e-6, "gaussian dropout forward");
            t.Run(b => b.GaussianDropoutBackward(n, stddev, k, dy, dx));
            t.Close(dx, n, stddev * normalAbs + 1e-6, "gaussian dropout backward");
            t.Run(b => b.GaussianDropoutForward(n, stddev, k, x, x));
            t.Close(x, n, 2 * stddev * normalAbs + 1e-6, "gaussian dropout in place");
        }
    }

    [Fact]
    public void Ilgpu_ReluAndNoiseLayersMatchCpu()
    {
        CheckAgainstCpu(new IlgpuBackend(fixture.Accelerator), NormalAbs);
    }

    [Fact]
    public void Ilgpu_NormalDrawsAreBitIdenticalOnTheCpuAccelerator()
    {
        // The CPU accelerator runs the kernels' IL with the .NET JIT, which does not fuse multiply-adds.
        using var t = new Pair(new CpuBackend(), new IlgpuBackend(fixture.Accelerator));
        const int n = 4099;
        int zeros = t.Put(new float[n]), z = t.Alloc(n);
        t.Run(b => b.GaussianNoiseForward(n, 1f, CounterRng.Key(1, 2, 3), zeros, z));
        t.Same(z, n, "normal draws");
    }

    [Fact]
    public void Ilgpu_NoisyNetworkTrainsLikeCpu()
    {
        var x = new Tensor(Num.Uniform(5 * 90, 21, -1, 1), 5, 6, 5, 3);
        var y = new Tensor([0f, 1f, 2f, 1f, 0f], 5);
        using var cpu = new GradNoiseNet { Seed = 8 };
        using var gpu = new GradNoiseNet { Seed = 8 };
        cpu.UseBackend(new CpuBackend());
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        CompareTraining(cpu, gpu, x, y, 3);
    }

    /// <summary>
    /// A few SGD steps on both backends. SGD, not Adam: the convolution biases before batch norm get gradients that
    /// are zero up to rounding, which Adam would blow up to full-size steps of arbitrary sign.
    /// </summary>
    private void CompareTraining(Model cpu, Model gpu, Tensor x, Tensor y, int steps)
    {
        cpu.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        gpu.Compile(new SGD(0.1f), Loss.SparseCategoricalCrossEntropy, Metric.Accuracy);
        Assert.Equal(cpu.GetWeights(), gpu.GetWeights());
        for (int step = 0; step < steps; step++)
        {
            float lc = cpu.TrainOnBatch(x, y), lg = gpu.TrainOnBatch(x, y);
            output.WriteLine($"step {step}: loss cpu {lc:R}, {gpu.Backend.Name} {lg:R}");
            Assert.True(Math.Abs(lc - lg) <= 1e-4 * Math.Abs(lc) + 1e-5, $"step {step}: loss {lg} on {gpu.Backend.Name}, {lc} on the CPU backend");
        }
        var wc = cpu.GetWeights();
        var wg = gpu.GetWeights();
        for (int i = 0; i < wc.Length; i++)
            Assert.True(Math.Abs(wc[i] - wg[i]) <= 1e-3 * Math.Abs(wc[i]) + 1e-4, $"weight {i}: {wg[i]} vs {wc[i]}");
        Num.Close(Array.ConvertAll(cpu.Predict(x).Data, v => (double)v), gpu.Predict(x).Data, 1e-4, 1e-3, "predict");
    }

    /// <summary>On a machine with CUDA, the same checks on the real GPU; elsewhere it prints why it did nothing.</summary>
    [Fact]
    public void Cuda_ReluAndNoiseLayersMatchCpu_SkippedWithoutCudaDevice()
    {
        var cuda = IlgpuBackend.TryCreate(AcceleratorType.Cuda);
        if (cuda is null)
        {
            output.WriteLine("SKIPPED: no CUDA device. Nothing was checked.");
            return;
        }
        output.WriteLine($"Running on {cuda.Name}");
        CheckAgainstCpu(cuda, NormalAbs);

        var x = new Tensor(Num.Uniform(5 * 90, 21, -1, 1), 5, 6, 5, 3);
        var y = new Tensor([0f, 1f, 2f, 1f, 0f], 5);
        using var cpu = new GradNoiseNet { Seed = 8 };
        using var gpu = new GradNoiseNet { Seed = 8 };
        cpu.UseBackend(new CpuBackend());
        gpu.UseBackend(IlgpuBackend.TryCreate(AcceleratorType.Cuda)!);
        CompareTraining(cpu, gpu, x, y, 3);
    }
}
