using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// The backward calls the generator lets read dy from a buffer that holds another tensor's gradient at the same time
/// (an Add's inputs share one): with a linear epilogue they only read dy, on both backends, whatever path they take;
/// and a frozen batch norm adding into a gradient another reader wrote.
/// </summary>
public sealed class GradientSharingTests(IlgpuCpuFixture fixture) : IClassFixture<IlgpuCpuFixture>
{
    public static TheoryData<string> Convolutions() => new()
    {
        "winograd 3x3 same", "3x3 s2 same", "1x1 s2", "few-in 3x3 same", "5x5 same", "1x1",
    };

    private static Conv2DGeometry Geometry(string name) => name switch
    {
        "winograd 3x3 same" => KerasGeometry.Conv(19, 17, 16, 32, 3, 3, same: true),
        "3x3 s2 same" => KerasGeometry.Conv(12, 12, 16, 32, 3, 3, 2, 2, same: true),
        "1x1 s2" => KerasGeometry.Conv(12, 12, 16, 32, 1, 1, 2, 2),
        "few-in 3x3 same" => KerasGeometry.Conv(9, 7, 3, 16, 3, 3, same: true),
        "5x5 same" => KerasGeometry.Conv(9, 7, 8, 12, 5, 5, same: true),
        _ => KerasGeometry.Conv(9, 7, 16, 48, 1, 1),
    };

    private IEnumerable<IBackend> Backends()
    {
        var cpu = new CpuBackend();
        cpu.EnsureCapacity(Layout.Floats, 0);
        yield return cpu;
        var ilgpu = new IlgpuBackend(fixture.Accelerator);
        ilgpu.EnsureCapacity(Layout.Floats, 0);
        yield return ilgpu;
    }

    [Theory]
    [MemberData(nameof(Convolutions))]
    public void Conv2DBackwardOnlyReadsDy(string shape)
    {
        var g = Geometry(shape);
        const int batch = 3;
        foreach (var b in Backends())
            using (b)
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    var dy = Num.Uniform(batch * g.OutSize, 61);
                    var at = new Layout();
                    int x = at.Put(b, Num.Uniform(batch * g.InSize, 62)), k = at.Put(b, Num.Uniform(g.Patch * g.OutC, 63, -0.5, 0.5));
                    int y = at.Put(b, new float[batch * g.OutSize]), d = at.Put(b, dy), dx = at.Put(b, Num.Uniform(batch * g.InSize, 64));
                    int dk = at.Put(b, new float[g.Patch * g.OutC]), db = at.Put(b, new float[g.OutC]);
                    b.Conv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), false, x, k, y, d, dx, dk, db, accumulateDx: accumulate);
                    AssertBits(b, d, dy, $"{b.GetType().Name} {shape}, accumulate {accumulate}: dy was written");
                }
            }
    }

    [Fact]
    public void DenseBackwardOnlyReadsDy()
    {
        const int rows = 37, inputs = 70, units = 33;
        foreach (var b in Backends())
            using (b)
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    var dy = Num.Uniform(rows * units, 71);
                    var at = new Layout();
                    int x = at.Put(b, Num.Uniform(rows * inputs, 72)), k = at.Put(b, Num.Uniform(inputs * units, 73));
                    int y = at.Put(b, new float[rows * units]), d = at.Put(b, dy), dx = at.Put(b, Num.Uniform(rows * inputs, 74));
                    int dk = at.Put(b, new float[inputs * units]), db = at.Put(b, new float[units]);
                    b.DenseBackward(rows, inputs, units, new Epilogue(ActivationFunction.Linear), false, x, k, y, d, dx, dk, db, accumulateDx: accumulate);
                    AssertBits(b, d, dy, $"{b.GetType().Name}, accumulate {accumulate}: dy was written");
                }
            }
    }

    [Theory]
    [InlineData(3000, 16)]
    [InlineData(777, 112)]
    [InlineData(50, 5)]
    public void BatchNormBackwardOnlyReadsDy(int rows, int channels)
    {
        foreach (var b in Backends())
            using (b)
            {
                var dy = Num.Uniform(rows * channels, 81);
                var at = new Layout();
                int x = at.Put(b, Num.Uniform(rows * channels, 82)), y = at.Put(b, new float[rows * channels]);
                int gamma = at.Put(b, Num.Uniform(channels, 83, 0.5, 1.5)), beta = at.Put(b, Num.Uniform(channels, 84));
                int moving = at.Put(b, new float[2 * channels]), saved = at.Put(b, new float[2 * channels]);
                var a = new BatchNormArguments(channels, gamma, beta, moving, moving + channels, saved, saved + channels);
                b.BatchNormForward(rows, a, training: true, new Epilogue(ActivationFunction.Linear), x, y);
                int d = at.Put(b, dy), dx = at.Put(b, new float[rows * channels]);
                int dg = at.Put(b, new float[channels]), dbeta = at.Put(b, new float[channels]);
                b.BatchNormBackward(rows, a, new Epilogue(ActivationFunction.Linear), x, y, d, dx, dg, dbeta);
                AssertBits(b, d, dy, b.GetType().Name + " training: dy was written");
                b.BatchNormFrozenBackward(rows, a, new Epilogue(ActivationFunction.Linear), -1, d, dx);
                AssertBits(b, d, dy, b.GetType().Name + " frozen: dy was written");
            }
    }

    /// <summary>
    /// A frozen batch norm adds its input gradient into dx (linear, and with the ReLU's or sigmoid's derivative from
    /// its output): exactly the gradient it writes without adding, plus what dx held; from a stored pre-activation
    /// (dx is its scratch) it refuses.
    /// </summary>
    [Theory]
    [InlineData(ActivationFunction.Linear)]
    [InlineData(ActivationFunction.Relu)]
    [InlineData(ActivationFunction.Sigmoid)]
    public void AFrozenBatchNormAddsIntoDx(ActivationFunction f)
    {
        const int rows = 300, channels = 24;
        foreach (var b in Backends())
            using (b)
            {
                var at = new Layout();
                int gamma = at.Put(b, Num.Uniform(channels, 91, 0.5, 1.5)), beta = at.Put(b, Num.Uniform(channels, 92));
                int moving = at.Put(b, Num.Uniform(2 * channels, 93, 0.3, 2)), x = at.Put(b, Num.Uniform(rows * channels, 94)), y = at.Put(b, new float[rows * channels]);
                var a = new BatchNormArguments(channels, gamma, beta, moving, moving + channels);
                b.BatchNormForward(rows, a, training: false, new Epilogue(f), x, y);
                var dy = Num.Uniform(rows * channels, 95);
                var prior = Num.Uniform(rows * channels, 96);
                int d = at.Put(b, dy), written = at.Put(b, new float[rows * channels]);
                b.BatchNormFrozenBackward(rows, a, new Epilogue(f), f == ActivationFunction.Linear ? -1 : y, d, written);
                int d2 = at.Put(b, dy), added = at.Put(b, prior);
                b.BatchNormFrozenBackward(rows, a, new Epilogue(f), f == ActivationFunction.Linear ? -1 : y, d2, added, accumulateDx: true);
                var expected = new float[rows * channels];
                b.Download(written, expected);
                for (int i = 0; i < expected.Length; i++) expected[i] += prior[i];
                AssertBits(b, added, expected, $"{b.GetType().Name} {f}: dx added is not dx written plus what dx held");
                int z = at.Put(b, new float[rows * channels]);
                Assert.Throws<ArgumentException>(() => b.BatchNormFrozenBackward(rows, a, new Epilogue(ActivationFunction.Tanh, 0f, z), -1, d2, added, accumulateDx: true));
            }
    }

    /// <summary>
    /// The recurrent layers add their input gradient into dx (a Bidirectional's backward direction does): what they
    /// write without adding, plus what dx held, on both backends (the ILGPU one on its device path and, with an
    /// initial state, its host path); with an input dropout they refuse before any work.
    /// </summary>
    [Theory]
    [InlineData("lstm", false)]
    [InlineData("lstm", true)]
    [InlineData("gru", false)]
    [InlineData("gru", true)]
    [InlineData("rnn", false)]
    public void ARecurrentLayerAddsIntoDx(string cell, bool initialState)
    {
        const int batch = 3, T = 4, F = 6, u = 5;
        bool lstm = cell == "lstm";
        var lg = new LstmGeometry(T, F, u, true, ActivationFunction.Tanh, ActivationFunction.Sigmoid);
        var rg = new RnnGeometry(cell == "gru" ? RnnCell.Gru : RnnCell.SimpleRnn, T, F, u, true, ActivationFunction.Tanh, ActivationFunction.Sigmoid);
        int gates = lstm ? 4 * u : rg.Gates * u;
        foreach (var b in Backends())
            using (b)
            {
                var at = new Layout();
                int x = at.Put(b, Num.Uniform(batch * T * F, 101)), k = at.Put(b, Num.Uniform(F * gates, 102, -0.5, 0.5));
                int r = at.Put(b, Num.Uniform(u * gates, 103, -0.5, 0.5)), bias = at.Put(b, Num.Uniform(cell == "gru" ? 2 * gates : gates, 104));
                int cache = at.Put(b, new float[batch * (lstm ? lg.CachePerSample : rg.CachePerSample)]), y = at.Put(b, new float[batch * T * u]);
                int dy = at.Put(b, Num.Uniform(batch * T * u, 105)), h0 = initialState ? at.Put(b, Num.Uniform(batch * u, 106)) : -1;
                int dk = at.Put(b, new float[F * gates]), dr = at.Put(b, new float[u * gates]), db = at.Put(b, new float[cell == "gru" ? 2 * gates : gates]);
                var prior = Num.Uniform(batch * T * F, 107);
                int written = at.Put(b, new float[prior.Length]), added = at.Put(b, prior);
                void Run(int dx, bool accumulate)
                {
                    if (lstm)
                    {
                        b.LstmForward(lg, batch, x, k, r, bias, cache, y, 0, h0);
                        b.LstmBackward(lg, batch, x, k, r, cache, dy, dx, dk, dr, db, 0, h0, accumulateDx: accumulate);
                    }
                    else
                    {
                        b.RnnForward(rg, batch, x, k, r, bias, cache, y, 0, h0);
                        b.RnnBackward(rg, batch, x, k, r, cache, dy, dx, dk, dr, db, 0, h0, accumulateDx: accumulate);
                    }
                }
                Run(written, false);
                Run(added, true);
                var expected = new float[prior.Length];
                b.Download(written, expected);
                var actual = new float[prior.Length];
                b.Download(added, actual);
                Num.Close(expected.Select((v, i) => (double)v + prior[i]).ToArray(), actual, 1e-6, 1e-6, $"{b.GetType().Name} {cell}: dx added");
                var dropped = lg with { Dropout = 0.3f };
                var ex = Assert.Throws<ArgumentException>(() =>
                {
                    if (lstm) b.LstmBackward(dropped, batch, x, k, r, cache, dy, added, dk, dr, db, 1, accumulateDx: true);
                    else b.RnnBackward(rg with { Dropout = 0.3f }, batch, x, k, r, cache, dy, added, dk, dr, db, 1, accumulateDx: true);
                });
                Assert.Contains("input dropout", ex.Message);
                b.Download(added, expected);
                Assert.True(actual.AsSpan().SequenceEqual(expected), "the refused call changed dx");
            }
    }

    /// <summary>A depthwise convolution adds its dx to what dx holds: the dx it writes, plus the prior, on both backends.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    public void ADepthwiseConvolutionAddsIntoDx(int depthMultiplier, int stride)
    {
        const int batch = 2;
        var g = KerasGeometry.Conv(7, 6, 5, 5 * depthMultiplier, 3, 3, stride, stride, same: true);
        foreach (var b in Backends())
            using (b)
            {
                var at = new Layout();
                int x = at.Put(b, Num.Uniform(batch * g.InSize, 111)), k = at.Put(b, Num.Uniform(9 * g.OutC, 112, -0.5, 0.5));
                int y = at.Put(b, new float[batch * g.OutSize]), dy = at.Put(b, Num.Uniform(batch * g.OutSize, 113));
                int dk = at.Put(b, new float[9 * g.OutC]);
                var prior = Num.Uniform(batch * g.InSize, 114);
                int written = at.Put(b, new float[prior.Length]), added = at.Put(b, prior);
                b.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), true, x, k, y, dy, written, dk, -1);
                b.DepthwiseConv2DBackward(g, batch, new Epilogue(ActivationFunction.Linear), true, x, k, y, dy, added, dk, -1, accumulateDx: true);
                var expected = new float[prior.Length];
                b.Download(written, expected);
                var actual = new float[prior.Length];
                b.Download(added, actual);
                Num.Close(expected.Select((v, i) => (double)v + prior[i]).ToArray(), actual, 1e-6, 1e-6, $"{b.GetType().Name}: dx added");
            }
    }

    private static void AssertBits(IBackend b, int offset, float[] expected, string what)
    {
        var actual = new float[expected.Length];
        b.Download(offset, actual);
        Assert.True(expected.AsSpan().SequenceEqual(actual), what);
    }

    /// <summary>Places arrays one after another in a backend's workspace of <see cref="Floats"/> floats.</summary>
    private sealed class Layout
    {
        public const int Floats = 1 << 20;
        private int _top = 16;

        public int Put(IBackend b, float[] data)
        {
            int at = _top;
            _top += (data.Length + 15) / 16 * 16 + 16;
            Assert.True(_top <= Floats, "the test's arrays fit the workspace");
            b.Upload(data, at);
            return at;
        }
    }
}
