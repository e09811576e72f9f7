using NetGen.Backends;
using Xunit;
using Xunit.Abstractions;

namespace NetGen.Tests;

/// <summary>
/// Parity of the ILGPU padding, cropping and upsampling kernels (on ILGPU's CPU accelerator, which runs the code a GPU
/// would) with <see cref="CpuBackend"/>: moving values and the upsampling gradient's fixed summation order are
/// bit-identical on both; and a generated convolutional autoencoder that uses all three layers trains the same on
/// both. The kernels' PTX compilation is covered by <see cref="IlgpuBackendTests"/> (every loaded kernel).
/// </summary>
public sealed class ResamplingIlgpuTests(IlgpuCpuFixture fixture, ITestOutputHelper output) : IClassFixture<IlgpuCpuFixture>
{
    /// <summary>The same data on both backends; each op runs on both and the results are compared bit for bit.</summary>
    private sealed class Pair : IDisposable
    {
        private int _top = 3;

        public Pair(IlgpuCpuFixture fixture)
        {
            Gpu = new IlgpuBackend(fixture.Accelerator);
            Cpu.EnsureCapacity(1 << 16, 0);
            Gpu.EnsureCapacity(1 << 16, 0);
        }

        public CpuBackend Cpu { get; } = new();

        public IlgpuBackend Gpu { get; }

        public int Put(float[] data)
        {
            int offset = Reserve(data.Length);
            Cpu.Upload(data, offset);
            Gpu.Upload(data, offset);
            return offset;
        }

        public int Alloc(int count)
        {
            int offset = Reserve(count);
            Cpu.Fill(offset, count, float.NaN);
            Gpu.Fill(offset, count, float.NaN);
            return offset;
        }

        public void Run(Action<IBackend> op)
        {
            op(Cpu);
            op(Gpu);
        }

        public void Same(int offset, int count, string what)
        {
            var c = new float[count];
            var g = new float[count];
            Cpu.Download(offset, c);
            Gpu.Download(offset, g);
            for (int i = 0; i < count; i++)
            {
                Assert.False(float.IsNaN(c[i]), $"{what}: element {i} was not written on the CPU backend");
                if (BitConverter.SingleToInt32Bits(c[i]) != BitConverter.SingleToInt32Bits(g[i]))
                    Assert.Fail($"{what}: element {i} is {g[i]:R} on ILGPU, {c[i]:R} on the CPU backend (bit-identical expected).");
            }
        }

        private int Reserve(int count)
        {
            int offset = _top;
            _top += count + 5;
            return offset;
        }

        public void Dispose()
        {
            Cpu.Dispose();
            Gpu.Dispose();
        }
    }

    [Theory]
    [InlineData(7, 5, 3, 1, 1, 1, 1)]
    [InlineData(7, 5, 3, 2, 0, 0, 3)]
    [InlineData(5, 7, 17, 0, 3, 1, 0)]
    [InlineData(7, 5, 1, -1, -2, 0, -1)]    // negative: a crop of ((1, 2), (0, 1))
    [InlineData(7, 5, 16, -6, 0, -2, -2)]   // a single pixel left
    [InlineData(6, 5, 3, -1, 1, 2, -3)]     // crop rows at the top, pad columns on the left
    public void Ilgpu_PadAndCropMatchCpu(int h, int w, int ch, int top, int bottom, int left, int right)
    {
        const int batch = 3;
        var g = new Pad2DGeometry(h, w, ch, h + top + bottom, w + left + right, top, left);
        using var t = new Pair(fixture);
        int x = t.Put(Num.Uniform(batch * g.InSize, 1)), y = t.Alloc(batch * g.OutSize);
        int dy = t.Put(Num.Uniform(batch * g.OutSize, 2)), dx = t.Alloc(batch * g.InSize);
        t.Run(be => be.Pad2DForward(g, batch, x, y));
        t.Same(y, batch * g.OutSize, $"shift {g} forward");
        t.Run(be => be.Pad2DBackward(g, batch, dy, dx));
        t.Same(dx, batch * g.InSize, $"shift {g} backward");
    }

    [Theory]
    [InlineData(7, 5, 3, 2, 2)]
    [InlineData(7, 5, 1, 3, 1)]
    [InlineData(5, 7, 17, 1, 4)]
    [InlineData(3, 2, 5, 3, 3)]
    public void Ilgpu_UpSamplingMatchesCpu(int h, int w, int ch, int rows, int cols)
    {
        const int batch = 3;
        var g = new UpSample2DGeometry(h, w, ch, rows, cols);
        using var t = new Pair(fixture);
        int x = t.Put(Num.Uniform(batch * g.InSize, 3)), y = t.Alloc(batch * g.OutSize);
        int dy = t.Put(Num.Uniform(batch * g.OutSize, 4)), dx = t.Alloc(batch * g.InSize);
        t.Run(be => be.UpSample2DForward(g, batch, x, y));
        t.Same(y, batch * g.OutSize, $"upsample {g} forward");
        t.Run(be => be.UpSample2DBackward(g, batch, dy, dx));
        t.Same(dx, batch * g.InSize, $"upsample {g} backward (same summation order)");
    }

    [Fact]
    public void Ilgpu_ConvAutoencoderTrainsLikeCpu()
    {
        const int batch = 4;
        var x = new Tensor(Num.Uniform(batch * 7 * 5 * 2, 41), batch, 7, 5, 2);
        using var cpu = new GradConvAutoencoderNet { Seed = 5 };
        using var gpu = new GradConvAutoencoderNet { Seed = 5 };
        gpu.UseBackend(new IlgpuBackend(fixture.Accelerator));
        cpu.Compile(new Adam(0.01f), Loss.MeanSquaredError);
        gpu.Compile(new Adam(0.01f), Loss.MeanSquaredError);
        Assert.Equal(cpu.GetWeights(), gpu.GetWeights());
        for (int step = 0; step < 4; step++)
        {
            float lc = cpu.TrainOnBatch(x, x), lg = gpu.TrainOnBatch(x, x);
            output.WriteLine($"step {step}: loss cpu {lc:R}, ilgpu {lg:R}");
            Assert.True(Math.Abs(lc - lg) <= 1e-5 * Math.Abs(lc) + 1e-6, $"step {step}: loss {lg} on ILGPU, {lc} on the CPU backend");
        }
        Num.Close(Array.ConvertAll(cpu.GetWeights(), v => (double)v), gpu.GetWeights(), 1e-5, 1e-4, "weights after 4 steps");
        Num.Close(Array.ConvertAll(cpu.Predict(x).Data, v => (double)v), gpu.Predict(x).Data, 1e-5, 1e-4, "predict");
    }
}
