using NetGen.Cpu;
using Xunit;

namespace NetGen.Runtime.Tests;

/// <summary>
/// The element-wise functions give one value for an element wherever it lies in a span: the 16-wide path, the 8-wide
/// path and the scalar tail agree bit for bit (so a batch split differently over threads or rows gives the same
/// outputs), and they stay close to the double-precision functions.
/// </summary>
public class VectorMathTests
{
    private static float[] Values()
    {
        var list = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 1e-8f, 0.625f, -0.625f, 0.6249999f, 1f, -1f, 5f, -5f, 9f, -9f, 20f, -20f,
            88.7f, 88.8f, -103.9f, -104f, 200f, -200f, float.MaxValue, float.MinValue, float.Epsilon, float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        var rng = new Random(7);
        for (int i = 0; i < 2000; i++) list.Add((float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-6, 3))));
        return list.ToArray();
    }

    [Theory]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("exp")]
    public void Every_path_gives_the_scalar_value(string function)
    {
        Func<float, float> scalar = function switch { "sigmoid" => VectorMath.Sigmoid, "tanh" => VectorMath.Tanh, _ => VectorMath.Exp };
        Action<float[], float[]> map = function switch
        {
            "sigmoid" => (x, y) => VectorMath.Sigmoid(x, y),
            "tanh" => (x, y) => VectorMath.Tanh(x, y),
            _ => (x, y) => VectorMath.Exp(x, y),
        };
        var values = Values();
        // Each value at every position of a 16 + 8 + 7 span: in the 16-wide part, the 8-wide part and the tail.
        foreach (float v in values)
        {
            var x = new float[31];
            for (int i = 0; i < x.Length; i++) x[i] = values[(i * 37 + 11) % values.Length];
            for (int at = 0; at < x.Length; at++)
            {
                float keep = x[at];
                x[at] = v;
                var y = new float[x.Length];
                map(x, y);
                Assert.True(BitConverter.SingleToInt32Bits(scalar(v)) == BitConverter.SingleToInt32Bits(y[at]),
                    $"{function}({v:R}) at {at}: {y[at]:R}, scalar {scalar(v):R}");
                x[at] = keep;
            }
        }
    }

    [Fact]
    public void Values_are_close_to_double_precision()
    {
        foreach (float v in Values())
        {
            if (!float.IsFinite(v)) continue;
            double sigmoid = 1 / (1 + Math.Exp(-v)), tanh = Math.Tanh(v);
            Assert.True(Math.Abs(VectorMath.Sigmoid(v) - sigmoid) <= 2e-7 + 2e-6 * Math.Abs(sigmoid), $"sigmoid({v:R}) = {VectorMath.Sigmoid(v):R}, {sigmoid:R}");
            Assert.True(Math.Abs(VectorMath.Tanh(v) - tanh) <= 2e-7 + 2e-6 * Math.Abs(tanh), $"tanh({v:R}) = {VectorMath.Tanh(v):R}, {tanh:R}");
            if (v < 88f)
            {
                double exp = Math.Exp(v);
                Assert.True(Math.Abs(VectorMath.Exp(v) - exp) <= 1e-44 + 2e-6 * exp, $"exp({v:R}) = {VectorMath.Exp(v):R}, {exp:R}");
            }
        }
    }
}
