using NetGen.Generator.Layers;
using NetGen.Generator.Model;

namespace NetGen.Generator.Tests;

/// <summary>Builds <see cref="NetworkSpec"/>s in code, for the shape-rule and summary tests (no Roslyn involved).</summary>
internal static class Specs
{
    public static NetworkSpec Network(int[] input, params LayerSpec[] layers) => Named("N", input, layers);

    public static NetworkSpec Named(string name, int[] input, params LayerSpec[] layers) =>
        new(null, name, name, new EquatableArray<int>(input), new EquatableArray<LayerSpec>(layers));

    public static LayerSpec Dense(int units, ActivationKind activation = ActivationKind.Linear, bool useBias = true,
        InitializerKind kernel = InitializerKind.GlorotUniform, InitializerKind bias = InitializerKind.Zeros, string? name = null) =>
        new(LayerKind.Dense, name, new DenseArgs(units, (int)activation, useBias, (int)kernel, (int)bias));

    public static LayerSpec Activation(ActivationKind activation, string? name = null) =>
        new(LayerKind.Activation, name, new ActivationArgs((int)activation));

    public static LayerSpec LeakyReLU(double alpha = 0.3) => new(LayerKind.LeakyReLU, null, new AlphaArgs(alpha));

    public static LayerSpec Dropout(double rate) => new(LayerKind.Dropout, null, new DropoutArgs(rate));

    public static LayerSpec Flatten() => new(LayerKind.Flatten, null, NoArgs.Instance);

    public static LayerSpec Reshape(params int[] target) => new(LayerKind.Reshape, null, new ReshapeArgs(new EquatableArray<int>(target)));

    public static LayerSpec BatchNorm(double momentum = 0.99, double epsilon = 1e-3) =>
        new(LayerKind.BatchNormalization, null, new BatchNormArgs(momentum, epsilon));

    /// <summary>A square window of <paramref name="kernel"/> (0: none, a global pooling's), its strides, dilation and padding.</summary>
    public static WindowArgs Window(int kernel, int strides = 1, bool same = false, int dilation = 1, int kernelW = -1) =>
        new(kernel, kernelW < 0 ? kernel : kernelW, strides, null, dilation, same ? 1 : 0);

    public static LayerSpec Conv2D(int filters, int kernel, int strides = 1, bool same = false, ActivationKind activation = ActivationKind.Linear,
        string? name = null) =>
        new(LayerKind.Conv2D, name, new ConvArgs(filters, (int)activation, true, 0, 1, Window(kernel, strides, same)));

    /// <summary>A pooling of <paramref name="kind"/> with a square pool (strides 0: the pool size).</summary>
    public static LayerSpec Pool(LayerKind kind, int pool, int strides = 0, bool same = false) =>
        new(kind, null, new PoolArgs(Window(pool, strides, same)));

    /// <summary>
    /// A layer of any kind from the numbers the plan tests vary: units or filters, the activation, its one real argument
    /// (a dropout rate or noise stddev, an alpha, a ReLU's max value), a square kernel or pool (a pool's strides are its size).
    /// </summary>
    public static LayerSpec Layer(LayerKind kind, int units = 0, ActivationKind activation = ActivationKind.Linear, double value = 0, int kernel = 0,
        double negativeSlope = 0, double threshold = 0) => kind switch
    {
        LayerKind.Dense => Dense(units, activation),
        LayerKind.Conv2D => Conv2D(units, kernel, activation: activation),
        LayerKind.MaxPooling2D or LayerKind.AveragePooling2D => Pool(kind, kernel),
        LayerKind.GaussianNoise => new(kind, null, new GaussianNoiseArgs(value)),
        LayerKind.Dropout or LayerKind.GaussianDropout or LayerKind.SpatialDropout2D or LayerKind.SpatialDropout1D => new(kind, null, new DropoutArgs(value)),
        LayerKind.Activation => Activation(activation),
        LayerKind.LeakyReLU or LayerKind.ELU => new(kind, null, new AlphaArgs(value)),
        LayerKind.ReLU => new(kind, null, new ReluArgs(value, negativeSlope, threshold)),
        LayerKind.Flatten => Flatten(),
        LayerKind.BatchNormalization => BatchNorm(),
        _ => throw new System.ArgumentException("no test builder for " + kind),
    };
}
