using NetGen.Backends;
using Xunit;

namespace NetGen.Tests;

/// <summary>
/// The CPU backend's element-wise passes at a size that it splits between threads (merges, gradient accumulation, a
/// ReLU or copy of its own): every element equal to the same float operation done one element at a time, and nothing
/// written outside the destination.
/// </summary>
public sealed class PointwiseTests
{
    // Above the parallel threshold, and not a multiple of a run or of a vector.
    private const int Count = 300_007;
    private const int Guard = 32;
    private const float Sentinel = 12345f;

    private static float[] Values(int seed)
    {
        var v = Num.Uniform(Count, seed);
        for (int i = 0; i < Count; i += 97) v[i] = 0f; // exact zeros, for the ReLU's strict comparison
        return v;
    }

    /// <summary>A backend holding the inputs, each Count floats, with a guarded destination after them.</summary>
    private static (CpuBackend Backend, int[] Inputs, int Output) Load(params float[][] inputs)
    {
        var b = new CpuBackend();
        int output = inputs.Length * Count + Guard;
        b.EnsureCapacity(output + Count + Guard, 0);
        for (int k = 0; k < inputs.Length; k++) b.Upload(inputs[k], k * Count);
        b.Upload(Enumerable.Repeat(Sentinel, Count + 2 * Guard).ToArray(), output - Guard);
        return (b, Enumerable.Range(0, inputs.Length).Select(k => k * Count).ToArray(), output);
    }

    private static void AssertOutput(CpuBackend b, int output, Func<int, float> expected)
    {
        var all = new float[Count + 2 * Guard];
        b.Download(output - Guard, all);
        for (int i = 0; i < Guard; i++)
        {
            Assert.Equal(Sentinel, all[i]);
            Assert.Equal(Sentinel, all[Guard + Count + i]);
        }
        for (int i = 0; i < Count; i++)
            if (all[Guard + i] != expected(i))
                Assert.Fail($"element {i}: {all[Guard + i]} instead of {expected(i)}");
    }

    [Theory]
    [InlineData(MergeOperation.Add)]
    [InlineData(MergeOperation.Subtract)]
    [InlineData(MergeOperation.Multiply)]
    [InlineData(MergeOperation.Average)]
    public void Merges_of_large_tensors_match_element_by_element(MergeOperation op)
    {
        var xs = op == MergeOperation.Subtract ? new[] { Values(1), Values(2) } : new[] { Values(1), Values(2), Values(3) };
        var (b, inputs, output) = Load(xs);
        using (b)
        {
            b.MergeForward(op, Count, output, inputs);
            AssertOutput(b, output, i => op switch
            {
                MergeOperation.Add => xs[0][i] + xs[1][i] + xs[2][i],
                MergeOperation.Subtract => xs[0][i] - xs[1][i],
                MergeOperation.Multiply => xs[0][i] * xs[1][i] * xs[2][i],
                _ => (xs[0][i] + xs[1][i] + xs[2][i]) * (1f / 3f),
            });
        }
    }

    [Theory]
    [InlineData(MergeOperation.Add, 0, false)]
    [InlineData(MergeOperation.Add, 1, true)]
    [InlineData(MergeOperation.Subtract, 1, false)]
    [InlineData(MergeOperation.Subtract, 1, true)]
    [InlineData(MergeOperation.Average, 0, true)]
    public void Merge_gradients_of_large_tensors_match_element_by_element(MergeOperation op, int index, bool accumulate)
    {
        float[] x0 = Values(4), x1 = Values(5), dy = Values(6), before = Values(7);
        var (b, inputs, output) = Load(x0, x1, dy);
        using (b)
        {
            b.Upload(before, output);
            b.MergeBackward(op, Count, index, inputs[0], inputs[2], output, accumulate, inputs[0], inputs[1]);
            float scale = op == MergeOperation.Average ? 0.5f : op == MergeOperation.Subtract && index == 1 ? -1f : 1f;
            AssertOutput(b, output, i => (accumulate, scale) switch
            {
                (true, 1f) => before[i] + dy[i],
                (true, _) => dy[i] * scale + before[i],
                (false, 1f) => dy[i],
                _ => dy[i] * scale,
            });
        }
    }

    [Fact]
    public void Accumulate_of_large_tensors_matches_element_by_element()
    {
        float[] x = Values(8), y = Values(9);
        var (b, inputs, output) = Load(x);
        using (b)
        {
            b.Upload(y, output);
            b.Accumulate(Count, inputs[0], output);
            AssertOutput(b, output, i => y[i] + x[i]);
        }
    }

    [Theory]
    [InlineData(ActivationFunction.Relu)]
    [InlineData(ActivationFunction.Linear)]
    public void Activations_of_large_tensors_match_element_by_element(ActivationFunction activation)
    {
        float[] x = Values(10), dy = Values(11);
        var (b, inputs, output) = Load(x, dy);
        using (b)
        {
            b.ActivationForward(activation, 0f, Count, 1, inputs[0], output);
            AssertOutput(b, output, i => activation == ActivationFunction.Relu ? Math.Max(x[i], 0f) : x[i]);
            // The backward reads the forward's output (x here, as the output of a ReLU would be).
            b.ActivationBackward(activation, 0f, Count, 1, -1, inputs[0], inputs[1], output);
            AssertOutput(b, output, i => activation == ActivationFunction.Relu ? (x[i] > 0 ? dy[i] : 0f) : dy[i]);
        }
    }

    [Fact]
    public unsafe void Winograd_partial_sums_add_in_part_order_in_double_on_every_thread()
    {
        // The kernel gradient's per-item partial sums, added on both threads: each element the double sum of its
        // parts in part order, rounded once (a count that is not a multiple of 16, above the parallel threshold).
        const int parts = 3, count = 30_007, stride = count + 25;
        Assert.True((long)parts * count >= CpuBackend.PartialSumJob.MinParallel);
        var partials = new float[parts * stride];
        for (int p = 0; p < parts; p++) Num.Uniform(count, 20 + p, -1e3, 1e3).CopyTo(partials, p * stride);
        var sums = new float[count + 1];
        sums[count] = Sentinel;
        fixed (float* pp = partials, ps = sums)
            new CpuBackend.PartialSumJob { Partials = pp, Parts = parts, Count = count, Stride = stride, Output = ps }.Run();
        for (int i = 0; i < count; i++)
        {
            double expected = 0;
            for (int p = 0; p < parts; p++) expected += partials[p * stride + i];
            Assert.Equal((float)expected, sums[i]);
        }
        Assert.Equal(Sentinel, sums[count]);
    }
}
