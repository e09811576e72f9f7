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
        new(LayerKind.Dense, name, units, (int)activation, useBias, (int)kernel, (int)bias, 0, default);

    public static LayerSpec Activation(ActivationKind activation, string? name = null) =>
        new(LayerKind.Activation, name, 0, (int)activation, true, 0, 1, 0, default);

    public static LayerSpec LeakyReLU(double alpha = 0.3) => new(LayerKind.LeakyReLU, null, 0, 0, true, 0, 1, alpha, default);

    public static LayerSpec Dropout(double rate) => new(LayerKind.Dropout, null, 0, 0, true, 0, 1, rate, default);

    public static LayerSpec Flatten() => new(LayerKind.Flatten, null, 0, 0, true, 0, 1, 0, default);

    public static LayerSpec Reshape(params int[] target) =>
        new(LayerKind.Reshape, null, 0, 0, true, 0, 1, 0, new EquatableArray<int>(target));
}
