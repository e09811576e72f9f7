using System;
using System.Collections.Generic;
using System.Globalization;
using NetGen.Generator.Model;

namespace NetGen.Generator.Shapes;

/// <summary>A problem found by shape inference; <see cref="LayerIndex"/> is -1 for the network itself.</summary>
internal sealed record ShapeError(int LayerIndex, string Id, string[] Args);

/// <summary>
/// Walks a declared network layer by layer: checks arguments, infers every output shape, assigns parameter
/// offsets and plans the activation arena. Pure: no Roslyn types, so it is unit-testable on its own.
/// </summary>
internal static class ShapeInference
{
    private const int ActivationCount = 13; // members of NetGen.Activation
    private const int InitializerCount = 8; // members of NetGen.Initializer
    private const long MaxFloats = int.MaxValue;

    public static (ResolvedNetwork? Network, List<ShapeError> Errors) Run(NetworkSpec spec)
    {
        var errors = new List<ShapeError>();
        var input = spec.InputShape.AsSpan().ToArray();
        if (input.Length == 0)
            errors.Add(new ShapeError(-1, "NG0004", new[] { "()", spec.ClassName, "give the shape of one sample, e.g. [Network(784)] or [Network(28, 28, 1)]" }));
        else if (Array.Exists(input, d => d <= 0))
            errors.Add(new ShapeError(-1, "NG0004", new[] { ShapeMath.Tuple(input), spec.ClassName, "every dimension must be positive (the batch axis is not part of the shape)" }));
        else if (ShapeMath.LongProduct(input) > MaxFloats / 4)
            errors.Add(new ShapeError(-1, "NG0004", new[] { ShapeMath.Tuple(input), spec.ClassName, "one sample has more than 536,870,911 elements" }));
        if (spec.Layers.Length == 0)
            errors.Add(new ShapeError(-1, "NG0002", new[] { spec.ClassName }));
        if (errors.Count > 0) return (null, errors);

        var layers = new List<ResolvedLayer>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        int[] shape = input;
        long paramOffset = 0;
        bool broken = false;

        for (int i = 0; i < spec.Layers.Length && !broken; i++)
        {
            LayerSpec layer = spec.Layers[i];
            string kind = layer.Kind.ToString();
            string index = (i + 1).ToString(CultureInfo.InvariantCulture);
            int[] output = shape;
            var activation = ActivationKind.Linear;
            long kernel = 0, bias = 0;
            int errorsBefore = errors.Count;

            switch (layer.Kind)
            {
                case LayerKind.Dense:
                    if (layer.Units <= 0)
                    {
                        errors.Add(new ShapeError(i, "NG0010", new[] { kind, index, Invariant(layer.Units) }));
                        broken = true;
                        break;
                    }
                    activation = CheckActivation(layer, i, kind, index, errors);
                    CheckInitializer(layer.KernelInitializer, "KernelInitializer", i, kind, index, errors);
                    CheckInitializer(layer.BiasInitializer, "BiasInitializer", i, kind, index, errors);
                    kernel = (long)shape[shape.Length - 1] * layer.Units;
                    bias = layer.UseBias ? layer.Units : 0;
                    output = (int[])shape.Clone();
                    output[output.Length - 1] = layer.Units;
                    if (paramOffset + kernel + bias > MaxFloats / 4)
                    {
                        errors.Add(new ShapeError(i, "NG0016", new[] { kind, index, Thousands(paramOffset + kernel + bias),
                            "parameters, more than the 536,870,911 that fit with their gradients and optimizer state" }));
                        broken = true;
                    }
                    else if (ShapeMath.LongProduct(output) > MaxFloats / 4)
                    {
                        errors.Add(new ShapeError(i, "NG0016", new[] { kind, index, Thousands(ShapeMath.LongProduct(output)),
                            "output floats per sample, more than the 536,870,911 one tensor may hold" }));
                        broken = true;
                    }
                    break;
                case LayerKind.Activation:
                    activation = CheckActivation(layer, i, kind, index, errors);
                    break;
                case LayerKind.LeakyReLU:
                    if (double.IsNaN(layer.Value) || double.IsInfinity(layer.Value))
                        errors.Add(new ShapeError(i, "NG0014", new[] { kind, index, Invariant(layer.Value) }));
                    activation = ActivationKind.LeakyRelu;
                    break;
                case LayerKind.Dropout:
                    if (!(layer.Value >= 0 && layer.Value < 1))
                        errors.Add(new ShapeError(i, "NG0011", new[] { kind, index, Invariant(layer.Value) }));
                    break;
                case LayerKind.Flatten:
                    output = new[] { ShapeMath.Product(shape) };
                    break;
                case LayerKind.Reshape:
                    output = Reshape(layer, shape, i, index, errors) ?? shape;
                    broken = errors.Count > errorsBefore;
                    break;
            }

            string baseName = KerasName(layer.Kind);
            names.TryGetValue(baseName, out int seen);
            names[baseName] = seen + 1;
            string name = layer.Name ?? (seen == 0 ? baseName : baseName + "_" + Invariant(seen));

            layers.Add(new ResolvedLayer(i, layer, name, kind, new EquatableArray<int>(shape), new EquatableArray<int>(output),
                activation, (int)paramOffset, (int)kernel, (int)(paramOffset + kernel), (int)bias, 0, 0, -1, 0, 0));
            paramOffset += kernel + bias;
            shape = output;
        }

        if (errors.Count > 0) return (null, errors);
        var network = Plan(spec, layers, (int)paramOffset, errors);
        return (errors.Count > 0 ? null : network, errors);
    }

    /// <summary>
    /// Plans the arena in floats per sample. Training keeps every tensor the backward pass reads (each layer's
    /// output, and the pre-activation where the derivative needs it); inference ping-pongs between two slots.
    /// Flatten, Reshape, and (in inference) Dropout alias their input.
    /// </summary>
    private static ResolvedNetwork? Plan(NetworkSpec spec, List<ResolvedLayer> layers, int parameterCount, List<ShapeError> errors)
    {
        int inputSize = ShapeMath.Product(spec.InputShape.AsSpan());
        int max = inputSize;
        foreach (var l in layers) max = Math.Max(max, l.OutputSize);

        long trainTop = inputSize; // long: the sum of all kept tensors can pass int.MaxValue (reported below)
        int trainCurrent = 0;
        int inferCurrent = 0;
        int logits = -1, inferLogits = -1, inferTop = 2 * max;
        var planned = new List<ResolvedLayer>(layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            bool last = i == layers.Count - 1;
            int trainOut, inferOut, pre = -1;
            bool alias = l.IsAlias || (l.Spec.Kind == LayerKind.Dropout && l.Spec.Value == 0);
            if (alias)
            {
                trainOut = trainCurrent;
                inferOut = inferCurrent;
            }
            else
            {
                if (l.Spec.Kind == LayerKind.Dense && (NeedsPreActivation(l.Activation) || (last && IsLogitActivation(l.Activation))))
                {
                    pre = (int)trainTop;
                    trainTop += l.OutputSize;
                }
                trainOut = (int)trainTop;
                trainTop += l.OutputSize;
                if (trainTop > MaxFloats)
                {
                    errors.Add(new ShapeError(i, "NG0016", new[] { l.TypeName, (i + 1).ToString(CultureInfo.InvariantCulture),
                        Thousands(trainTop), "floats of activations per sample in training" }));
                    return null;
                }
                inferOut = l.Spec.Kind == LayerKind.Dropout ? inferCurrent : (inferCurrent == 0 ? max : 0);
            }
            if (last && IsLogitActivation(l.Activation))
            {
                // The loss reads the logits in inference too (Evaluate, validation), as Keras's compiled evaluate does:
                // a Dense layer keeps them in one extra slot after the two ping-pong slots.
                logits = l.Spec.Kind == LayerKind.Dense ? pre : trainCurrent;
                inferLogits = l.Spec.Kind == LayerKind.Dense ? inferTop : inferCurrent;
                if (l.Spec.Kind == LayerKind.Dense) inferTop += l.OutputSize;
            }
            planned.Add(l with
            {
                TrainInput = trainCurrent, TrainOutput = trainOut, TrainPreActivation = pre,
                InferInput = inferCurrent, InferOutput = inferOut,
            });
            trainCurrent = trainOut;
            inferCurrent = inferOut;
        }
        var output = planned[planned.Count - 1];
        var outputActivation = output.Spec.Kind is LayerKind.Dense or LayerKind.Activation ? output.Activation : ActivationKind.Linear;
        return new ResolvedNetwork(spec, new EquatableArray<ResolvedLayer>(planned.ToArray()), parameterCount,
            (int)trainTop, inferTop, max, logits, inferLogits, outputActivation);
    }

    /// <summary>Activations whose derivative needs the input, not only the output.</summary>
    public static bool NeedsPreActivation(ActivationKind a) => a is ActivationKind.Gelu or ActivationKind.Swish or ActivationKind.Softplus;

    /// <summary>Activations whose pre-activation Keras feeds to the loss as logits.</summary>
    public static bool IsLogitActivation(ActivationKind a) => a is ActivationKind.Softmax or ActivationKind.Sigmoid;

    private static int[]? Reshape(LayerSpec layer, int[] shape, int i, string index, List<ShapeError> errors)
    {
        int[] target = layer.Target.AsSpan().ToArray();
        string targetText = ShapeMath.Tuple(target.Length == 0 ? new[] { 0 } : target);
        if (target.Length == 0)
        {
            errors.Add(new ShapeError(i, "NG0015", new[] { index, "()", "give at least one dimension, e.g. [Reshape(28, 28, 1)]" }));
            return null;
        }
        int unknowns = 0;
        foreach (int d in target)
        {
            if (d == -1) unknowns++;
            else if (d <= 0)
            {
                errors.Add(new ShapeError(i, "NG0015", new[] { index, targetText, "every dimension must be positive, or -1 for the one to infer" }));
                return null;
            }
        }
        if (unknowns > 1)
        {
            errors.Add(new ShapeError(i, "NG0102", new[] { index, targetText }));
            return null;
        }
        long count = ShapeMath.LongProduct(shape);
        long known = 1;
        foreach (int d in target)
        {
            if (d == -1) continue;
            known *= d; // known <= count < 2^31 before this step and d < 2^31: no overflow
            if (known > count)
            {
                errors.Add(new ShapeError(i, "NG0101", new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText,
                    (unknowns == 1 ? "the known dimensions multiply to more than " : "more than ") + Invariant(count) + (unknowns == 1 ? "" : " elements") }));
                return null;
            }
        }
        if (unknowns == 1)
        {
            if (count % known != 0)
            {
                errors.Add(new ShapeError(i, "NG0101", new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText,
                    "the known dimensions multiply to " + Invariant(known) + ", which does not divide " + Invariant(count) }));
                return null;
            }
            int[] resolved = (int[])target.Clone();
            resolved[Array.IndexOf(resolved, -1)] = (int)(count / known);
            return resolved;
        }
        if (known != count)
        {
            errors.Add(new ShapeError(i, "NG0101", new[] { index, ShapeMath.Tuple(shape), Invariant(count), targetText, Invariant(known) + " elements" }));
            return null;
        }
        return target;
    }

    private static ActivationKind CheckActivation(LayerSpec layer, int i, string kind, string index, List<ShapeError> errors)
    {
        if (layer.Activation < 0 || layer.Activation >= ActivationCount)
        {
            errors.Add(new ShapeError(i, "NG0012", new[] { kind, index, Invariant(layer.Activation) }));
            return ActivationKind.Linear;
        }
        return (ActivationKind)layer.Activation;
    }

    private static void CheckInitializer(int value, string property, int i, string kind, string index, List<ShapeError> errors)
    {
        if (value < 0 || value >= InitializerCount)
            errors.Add(new ShapeError(i, "NG0013", new[] { kind, index, property, Invariant(value) }));
    }

    /// <summary>Keras's default layer name stem (<c>keras.backend.unique_object_name</c> of the snake-cased class).</summary>
    public static string KerasName(LayerKind kind) => kind switch
    {
        LayerKind.Dense => "dense",
        LayerKind.Activation => "activation",
        LayerKind.LeakyReLU => "leaky_re_lu",
        LayerKind.Dropout => "dropout",
        LayerKind.Flatten => "flatten",
        LayerKind.Reshape => "reshape",
        _ => "layer",
    };

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Thousands(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
