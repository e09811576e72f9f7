using System.Diagnostics;
using System.Globalization;
using NetGen;

namespace NetGen.Bench;

[Network(20)]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(10, Activation = Activation.Softmax)]
public partial class MlpSmall;

[Network(784)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(512, Activation = Activation.Relu)]
[Dropout(0.2)]
[Dense(10, Activation = Activation.Softmax)]
public partial class Mlp;

[Network(29)]
[Dense(80, Activation = Activation.Relu)]
[Dense(40, Activation = Activation.Relu)]
[Dense(80, Activation = Activation.Relu)]
[Dense(29)]
public partial class Autoencoder;

/// <summary>Training and inference throughput of the benchmark networks, on random data (fixed seed).</summary>
public static class NetworkBench
{
    public static readonly string[] Names = ["mlp-small", "mlp", "autoencoder"];

    private sealed record Case(Func<Model> Create, Func<Optimizer> Optimizer, Loss Loss, int Batch, int Inputs, int Outputs, bool Classes);

    private static Case Get(string name) => name switch
    {
        "mlp-small" => new(() => new MlpSmall(), () => new SGD(0.01f, momentum: 0.9f, nesterov: true), Loss.CategoricalCrossEntropy, 128, 20, 10, true),
        "mlp" => new(() => new Mlp(), () => new RMSprop(), Loss.CategoricalCrossEntropy, 128, 784, 10, true),
        "autoencoder" => new(() => new Autoencoder(), () => new Adam(), Loss.MeanSquaredError, 64, 29, 29, false),
        _ => throw new ArgumentException($"Unknown benchmark '{name}'; use sgemm, {string.Join(", ", Names)}."),
    };

    public static void Run(string name, double seconds = 1.0, int repeats = 5)
    {
        var c = Get(name);
        using var model = c.Create();
        model.Compile(c.Optimizer(), c.Loss, Metric.Accuracy);
        var random = new Random(0);
        const int pool = 16;
        var xs = new Tensor[pool];
        var ys = new Tensor[pool];
        for (int i = 0; i < pool; i++)
        {
            var x = new float[c.Batch * c.Inputs];
            for (int j = 0; j < x.Length; j++) x[j] = (float)random.NextDouble();
            var y = new float[c.Batch * c.Outputs];
            for (int r = 0; r < c.Batch; r++)
                if (c.Classes) y[r * c.Outputs + random.Next(c.Outputs)] = 1;
                else for (int k = 0; k < c.Outputs; k++) y[r * c.Outputs + k] = x[r * c.Inputs + k];
            xs[i] = new Tensor(x, c.Batch, c.Inputs);
            ys[i] = new Tensor(y, c.Batch, c.Outputs);
        }

        int step = 0;
        Report(name, "train", c.Batch, Measure(n =>
        {
            for (int i = 0; i < n; i++, step++) model.TrainOnBatch(xs[step % pool], ys[step % pool]);
        }, seconds, repeats), model.Backend.Name);
        Report(name, "infer", c.Batch, Measure(n =>
        {
            for (int i = 0; i < n; i++, step++) model.Predict(xs[step % pool], c.Batch);
        }, seconds, repeats), model.Backend.Name);
    }

    /// <summary>Warm-up, then the median steps/s of <paramref name="repeats"/> runs of about <paramref name="seconds"/> each.</summary>
    private static double Measure(Action<int> runSteps, double seconds, int repeats)
    {
        runSteps(20);
        var clock = Stopwatch.StartNew();
        runSteps(20);
        int n = Math.Max(10, (int)(20 * seconds / Math.Max(1e-6, clock.Elapsed.TotalSeconds)));
        var rates = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            clock.Restart();
            runSteps(n);
            rates.Add(n / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }

    private static void Report(string name, string phase, int batch, double stepsPerSecond, string backend) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"{name}\",\"phase\":\"{phase}\",\"impl\":\"netgen\",\"samples_per_s\":{stepsPerSecond * batch:F1},\"batch\":{batch},\"backend\":\"{backend}\"}}"));
}
