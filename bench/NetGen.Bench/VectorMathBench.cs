using System.Diagnostics;
using NetGen.Cpu;

namespace NetGen.Bench;

internal static class VectorMathBench
{
    public static void Run()
    {
        var x = new float[32768];
        var y = new float[32768];
        var rng = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 8 - 4);
        for (int round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < 1000; r++) VectorMath.Sigmoid(x, y);
            double sig = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            for (int r = 0; r < 1000; r++) VectorMath.Tanh(x, y);
            double tanh = sw.Elapsed.TotalMilliseconds;
            Console.WriteLine($"sigmoid {sig / 1000 / 32768 * 1e6:F2} ns/value, tanh {tanh / 1000 / 32768 * 1e6:F2} ns/value");
        }
    }
}
