using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NetGen.Generator.Diagnostics;
using NetGen.Generator.Emit;
using NetGen.Generator.Model;
using NetGen.Generator.Shapes;
using static NetGen.Generator.Emit.Emitter;

namespace NetGen.Generator.Layers;

/// <summary>
/// The recurrent layers, as TF 2 Keras: LSTM (gates i, f, c, o), GRU (reset_after: gates z, r, h; bias (2, 3u)) and
/// SimpleRNN, on (steps, features) samples: units, activation, recurrent activation (LSTM, GRU), use_bias, kernel /
/// recurrent / bias initializers (glorot_uniform, orthogonal, zeros), unit_forget_bias (LSTM), return_sequences, and
/// Bidirectional (a second layer reading the steps last to first; <see cref="Bidirectional"/>). Weights kernel
/// (features, g·u), recurrent_kernel (u, g·u), bias. The spec keeps the recurrent activation, unit_forget_bias,
/// return_sequences and the bidirectional merge in <c>Sizes</c>, the recurrent initializer in
/// <c>PointwiseInitializer</c>, dropout in <c>Value</c> and recurrent_dropout in <c>Epsilon</c> (masks drawn in the
/// kernels from the step's <c>DropoutKey</c>, passed as <c>dropoutKey</c> when either is set). What it writes, e.g. for LSTM(32) on (28, 28):
/// <code>
///   private static readonly global::NetGen.Backends.LstmGeometry G1 = new(28, 28, 32, false, Tanh, Sigmoid);
///   b.LstmForward(G1, batch, x: ..., kernel: p + P1_Kernel, recurrent: p + P1_Recurrent, bias: p + P1_Bias,
///       cache: training ? Train(M1, batch) : -1, y: ...);
///   b.LstmBackward(G1, batch, x: Train(T0, batch), kernel: ..., recurrent: ..., cache: Train(M1, batch), dy: ..., dx: ...,
///       dKernel: g + P1_Kernel, dRecurrent: g + P1_Recurrent, dBias: g + P1_Bias);
/// </code>
/// GRU and SimpleRNN write the same with RnnGeometry (its cell first), RnnForward and RnnBackward.
/// </summary>
internal sealed class RecurrentRule(LayerKind layerKind) : LayerRule(layerKind)
{
    private const int Tanh = 3, Sigmoid = 2, Orthogonal = 8; // NetGen.Activation and NetGen.Initializer values

    private bool Lstm => Kind == LayerKind.LSTM;
    private bool Gru => Kind == LayerKind.GRU;
    private int GateCount => Lstm ? 4 : Gru ? 3 : 1;
    private string GeometryType => Lstm ? "global::NetGen.Backends.LstmGeometry" : "global::NetGen.Backends.RnnGeometry";
    private string Op => Lstm ? "Lstm" : "Rnn";

    public override string KerasName => Lstm ? "lstm" : Gru ? "gru" : "simple_rnn";

    /// <summary>How many states a recurrent layer of this kind returns with ReturnState (h and c for the LSTM), 0 for other kinds.</summary>
    public static int ReturnedStates(LayerKind kind) => kind == LayerKind.LSTM ? 2 : kind is LayerKind.GRU or LayerKind.SimpleRNN ? 1 : 0;

    public override BackwardStyle StyleOf(LayerSpec layer) => BackwardStyle.Separate;

    /// <summary>A recurrent layer's arguments (LSTM, GRU, SimpleRNN, and Bidirectional's).</summary>
    internal static RecurrentArgs Args(LayerSpec l) => l.As<RecurrentArgs>();
    private static int RecurrentActivation(LayerSpec l) => Args(l).RecurrentActivation;
    private static bool ReturnSequences(LayerSpec l) => Args(l).ReturnSequences;
    /// <summary>0: one direction; 1 concat, 2 sum, 3 multiply, 4 average (NetGen.BidirectionalMerge).</summary>
    private static int Merge(LayerSpec l) => Args(l).Merge;
    /// <summary>Whether it returns its last states as layers of their own (<see cref="RecurrentStateRule"/>).</summary>
    private static bool ReturnState(LayerSpec l) => Args(l).ReturnState;

    public override LayerSpec Read(AttributeData data, string? name)
    {
        int units = Int(data.ConstructorArguments, 0);
        int activation = Tanh, recurrentActivation = Sigmoid, kernelInit = 0, recurrentInit = Orthogonal, biasInit = 1;
        bool useBias = true, unitForgetBias = true, returnSequences = false, returnState = false;
        int merge = 0;
        double dropout = 0, recurrentDropout = 0;
        foreach (var pair in data.NamedArguments)
        {
            if (pair.Value.Kind == TypedConstantKind.Array) continue; // InitialState
            switch (pair.Key)
            {
                case "Activation" when pair.Value.Value is int v: activation = v; break;
                case "RecurrentActivation" when pair.Value.Value is int v: recurrentActivation = v; break;
                case "UseBias" when pair.Value.Value is bool v: useBias = v; break;
                case "KernelInitializer" when pair.Value.Value is int v: kernelInit = v; break;
                case "RecurrentInitializer" when pair.Value.Value is int v: recurrentInit = v; break;
                case "BiasInitializer" when pair.Value.Value is int v: biasInit = v; break;
                case "UnitForgetBias" when pair.Value.Value is bool v: unitForgetBias = v; break;
                case "ReturnSequences" when pair.Value.Value is bool v: returnSequences = v; break;
                case "ReturnState" when pair.Value.Value is bool v: returnState = v; break;
                case "Bidirectional" when pair.Value.Value is int v: merge = v; break;
                case "Dropout" when pair.Value.Value is double v: dropout = v; break;
                case "RecurrentDropout" when pair.Value.Value is double v: recurrentDropout = v; break;
            }
        }
        return new LayerSpec(Kind, name, new RecurrentArgs(units, activation, recurrentActivation, useBias, kernelInit, recurrentInit, biasInit,
            Lstm && unitForgetBias, returnSequences, returnState, merge, dropout, recurrentDropout), Regularizers: ReadRegularizers(data));
    }

    /// <summary>The activations the recurrent kernels compute element-wise (not softmax, whose rows are not one cell).</summary>
    private static bool Supported(int activation) => activation is >= 0 and < 13 && activation != 4;

    /// <summary>
    /// Whether the backward pass can take the derivative from the activation's output alone, as the LSTM's and GRU's
    /// kernels do for their gates and candidate (they keep the outputs, not the pre-activations): not softplus (7),
    /// swish (10) or gelu (11).
    /// </summary>
    private static bool FromOutput(int activation) => activation is not (7 or 10 or 11);

    public override int[]? InferShape(LayerSpec layer, int i, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        var shape = inputShapes[0];
        var a = Args(layer);
        string name = Kind.ToString(), index = (i + 1).ToString(CultureInfo.InvariantCulture);
        if (!ShapeInference.RequireSequence(shape, i, name, index, errors)) return null;
        if (a.Units <= 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadUnitsId, new[] { name, index, I(a.Units) }));
            return null;
        }
        bool ok = true;
        var checks = Kind == LayerKind.SimpleRNN ? new[] { ("activation", a.Activation) }
            : new[] { ("activation", a.Activation), ("recurrent activation", RecurrentActivation(layer)) };
        foreach (var (what, value) in checks)
            if (!Supported(value))
            {
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, what, value == 4 ? "Softmax" : I(value),
                    "use an element-wise activation, e.g. Activation.Tanh (the cell) or Activation.Sigmoid (the gates)" }));
                ok = false;
            }
            else if (Kind != LayerKind.SimpleRNN && !FromOutput(value))
            {
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, what, ActivationNames[value],
                    "the " + name + " takes its gates' and candidate's derivatives from their outputs, which softplus, swish and gelu do not determine; use Tanh, Sigmoid, HardSigmoid, Relu, Elu, Selu, Softsign, Exponential or Linear" }));
                ok = false;
            }
        if (a.RecurrentInitializer is < 0 or >= 10)
        {
            errors.Add(new ShapeError(i, Descriptors.UnknownInitializerId, new[] { name, index, "RecurrentInitializer", I(a.RecurrentInitializer) }));
            ok = false;
        }
        if (Merge(layer) is < 0 or > 4)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "Bidirectional value", I(Merge(layer)),
                "use BidirectionalMerge.None, Concat, Sum, Multiply or Average" }));
            ok = false;
        }
        foreach (var (what, rate) in new[] { ("Dropout", a.Dropout), ("RecurrentDropout", a.RecurrentDropout) })
            if (!(rate >= 0 && (float)rate < 1f))
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, what, rate.ToString("R", CultureInfo.InvariantCulture),
                    "a dropout rate is a fraction in [0, 1), e.g. 0.2" })); // the shape still follows
        ok &= CheckStates(layer, i, name, index, inputShapes, inputNames, errors);
        if (!ok) return null;
        int width = Merge(layer) == 1 ? 2 * a.Units : a.Units;
        return ReturnSequences(layer) ? new[] { shape[0], width } : new[] { width };
    }

    /// <summary>
    /// Checks InitialState (Keras's initial_state: h, and c for the LSTM, each (units)) and ReturnState: both need one
    /// direction (a Bidirectional layer has a state per direction).
    /// </summary>
    private bool CheckStates(LayerSpec layer, int i, string name, string index, int[][] inputShapes, string[] inputNames, List<ShapeError> errors)
    {
        int given = inputShapes.Length - 1, wanted = ReturnedStates(Kind);
        if (given == 0 && !ReturnState(layer)) return true;
        if (Merge(layer) != 0)
        {
            errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, given > 0 ? "an InitialState" : "ReturnState", "with Bidirectional",
                "a bidirectional layer has states per direction, which NetGen does not pass: drop Bidirectional, or use two layers (one with ReturnState, one reading it)" }));
            return false;
        }
        if (given == 0) return true;
        int units = Args(layer).Units;
        string what = Lstm ? "h and c" : "h";
        if (given != wanted)
        {
            errors.Add(new ShapeError(i, Descriptors.InputCountId, new[] { name, index, I(wanted) + (wanted == 1 ? " initial state (" : " initial states (") + what + ")",
                I(given), Lstm ? "give InitialState = new[] { \"encoder.state_h\", \"encoder.state_c\" }: the states of an LSTM with ReturnState = true, or two layers of (" + I(units) + ") values"
                    : "give InitialState = new[] { \"encoder.state_h\" }: the state of a layer with ReturnState = true, or a layer of (" + I(units) + ") values" }));
            return false;
        }
        bool ok = true;
        for (int k = 1; k <= given; k++)
            if (inputShapes[k].Length != 1 || inputShapes[k][0] != units)
            {
                errors.Add(new ShapeError(i, Descriptors.BadArgumentId, new[] { name, index, "initial state '" + inputNames[k] + "' of shape", ShapeMath.Keras(inputShapes[k]),
                    "the state of a " + name + " with " + I(units) + " units is (None, " + I(units) + "): give both layers the same units" +
                    (inputShapes[k].Length != 1 ? ", and pass a vector per sample (a returned state, or a Dense)" : "") }));
                ok = false;
            }
        return ok;
    }

    public override IReadOnlyList<WeightSlot> Weights(LayerSpec layer, int[] inputShape, int[] outputShape)
    {
        var a = Args(layer);
        int f = inputShape[1], u = a.Units, g = (int)Math.Min(int.MaxValue, (long)GateCount * u);
        var list = new List<WeightSlot>
        {
            new("kernel", "Kernel", new EquatableArray<int>(new[] { f, g }), a.KernelInitializer, f, g),
            new("recurrent_kernel", "Recurrent", new EquatableArray<int>(new[] { u, g }), a.RecurrentInitializer, u, g),
        };
        if (a.UseBias) // the GRU's (reset_after) input and recurrent biases, as TF 2 Keras's (2, 3u)
            list.Add(new("bias", "Bias", new EquatableArray<int>(Gru ? new[] { 2, g } : new[] { g }), a.BiasInitializer, g, g));
        if (Merge(layer) == 0) return list;
        // Bidirectional: the backward layer's own weights follow, with Keras's forward_/backward_ prefixes.
        var both = new List<WeightSlot>();
        foreach (var w in list) both.Add(w with { Name = "forward_" + w.Name });
        foreach (var w in list) both.Add(w with { Name = "backward_" + w.Name, Constant = "Back" + w.Constant });
        return both;
    }

    public override void WriteInitialize(SourceWriter w, ResolvedLayer l)
    {
        base.WriteInitialize(w, l);
        var a = Args(l.Spec);
        if (!a.UseBias || !a.UnitForgetBias) return;
        int u = a.Units;
        w.WriteLine("p.Slice(P" + I(l.Index + 1) + "_Bias + " + I(u) + ", " + I(u) + ").Fill(1f); // unit_forget_bias: the forget gate's bias starts at 1");
        if (Merge(l.Spec) != 0)
            w.WriteLine("p.Slice(P" + I(l.Index + 1) + "_BackBias + " + I(u) + ", " + I(u) + ").Fill(1f); // and the backward LSTM's");
    }

    /// <summary>One direction's cache per sample (every step's gates and states; LstmGeometry's and RnnGeometry's CachePerSample).</summary>
    private long DirectionCache(ResolvedLayer l) => (Lstm ? 6L : Gru ? 5L : 2L) * l.InputShape[0] * Args(l.Spec).Units;

    /// <summary>One direction's output per sample.</summary>
    private static long DirectionOutput(ResolvedLayer l) => (ReturnSequences(l.Spec) ? (long)l.InputShape[0] : 1) * Args(l.Spec).Units;

    // Bidirectional training cache: forward cache | backward cache | forward y | backward y | their dy | dx of the backward one.
    public override int CachePerSample(ResolvedLayer l) => (int)Math.Min(int.MaxValue, Merge(l.Spec) == 0 ? DirectionCache(l)
        : Bidirectional.CachePerSample(DirectionCache(l), DirectionOutput(l), l.InputSize, Args(l.Spec).Dropout != 0));

    public override int InferenceScratchPerSample(ResolvedLayer l) => Merge(l.Spec) == 0 ? 0 : (int)Math.Min(int.MaxValue, 2 * DirectionOutput(l));

    public override string Describe(ResolvedLayer l)
    {
        var a = Args(l.Spec);
        return ", " + I(a.Units) + " units, " + ActivationNames[a.Activation].ToLowerInvariant() +
            (Kind == LayerKind.SimpleRNN ? "" : "/" + ActivationNames[a.RecurrentActivation].ToLowerInvariant()) + (a.ReturnSequences ? ", sequences" : "") +
            (a.UseBias ? "" : ", no bias") + (a.Merge != 0 ? ", bidirectional " + MergeNames[a.Merge] : "") +
            (a.Dropout != 0 ? ", dropout " + F(a.Dropout).TrimEnd('f') : "") + (a.RecurrentDropout != 0 ? ", recurrent dropout " + F(a.RecurrentDropout).TrimEnd('f') : "");
    }

    private static bool HasDropout(LayerSpec l) => Args(l).Dropout != 0 || Args(l).RecurrentDropout != 0;

    /// <summary>The kernels' last argument: the step's dropout key when the layer drops anything.</summary>
    private static string DropoutArgument(ResolvedLayer l) => HasDropout(l.Spec) ? ", dropoutKey: DropoutKey(" + I(l.Index) + ")" : "";

    private static readonly string[] MergeNames = { "", "concat", "sum", "mul", "ave" };

    public override void WriteGeometry(SourceWriter w, ResolvedLayer l)
    {
        var a = Args(l.Spec);
        w.WriteLine("// " + OneLine(l.Name) + ": " + I(l.InputShape[0]) + " steps of " + I(l.InputShape[1]) + " features, " + I(a.Units) + " units");
        string arguments = (Lstm ? "" : "global::NetGen.Backends.RnnCell." + (Gru ? "Gru" : "SimpleRnn") + ", ") + I(l.InputShape[0]) + ", " + I(l.InputShape[1]) + ", " +
            I(a.Units) + ", " + (a.ReturnSequences ? "true" : "false") + ", " + ActivationFunctionType + "." + ActivationNames[a.Activation] + ", " +
            ActivationFunctionType + "." + ActivationNames[a.RecurrentActivation];
        string dropouts = (a.Dropout != 0 ? ", Dropout: " + F(a.Dropout) : "") + (a.RecurrentDropout != 0 ? ", RecurrentDropout: " + F(a.RecurrentDropout) : "");
        w.WriteLine("private static readonly " + GeometryType + " G" + I(l.Index + 1) + " = new(" + arguments + dropouts + ");");
        if (Merge(l.Spec) != 0)
            w.WriteLine("private static readonly " + GeometryType + " GB" + I(l.Index + 1) + " = new(" + arguments + ", Reverse: true" + dropouts + "); // the backward direction");
    }

    public override void WriteForward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string y)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        if (Merge(l.Spec) != 0)
        {
            Bidirectional.WriteForward(w, l, y, Op + "Forward", DirectionCache(l), DirectionOutput(l), Merge(l.Spec), DropoutArgument(l));
            return;
        }
        w.WriteLine("b." + Op + "Forward(G" + n + ", batch, x: Slot(training, T" + prev + ", I" + prev + ", batch), kernel: p + P" + n + "_Kernel, recurrent: p + P" + n +
            "_Recurrent, bias: " + (Args(l.Spec).UseBias ? "p + P" + n + "_Bias" : "-1") + ",");
        w.Indent();
        w.WriteLine("cache: training ? Train(M" + n + ", batch) : -1, y: " + y + DropoutArgument(l) + StateArguments(net, l) + ");");
        w.Unindent();
    }

    /// <summary>The names of the states in the kernels' arguments: h (and c for the LSTM).</summary>
    private string[] StateNames => Lstm ? new[] { "h", "c" } : new[] { "h" };

    /// <summary>
    /// The forward call's state arguments: the initial states (its inputs after the first) and the slots of the returned
    /// states that something reads; empty without states.
    /// </summary>
    private string StateArguments(ResolvedNetwork net, ResolvedLayer l)
    {
        var parts = new List<string>();
        for (int k = 1; k < l.Inputs.Length; k++)
        {
            string source = I(l.InputLayer(k) + 1);
            parts.Add(StateNames[k - 1] + "0: Slot(training, T" + source + ", I" + source + ", batch)");
        }
        for (int which = 0; which < StateNames.Length; which++)
            if (RecurrentStateRule.Of(net, l.Index, which) is { } state)
            {
                string s = I(state.Index + 1);
                parts.Add(StateNames[which] + "T: Slot(training, T" + s + ", I" + s + ", batch)");
            }
        return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
    }

    /// <summary>
    /// The backward call's state arguments: the initial states and where their gradients go (added where another reader
    /// wrote one already), and the gradients of the returned states.
    /// </summary>
    private string StateGradientArguments(ResolvedNetwork net, ResolvedLayer l)
    {
        var parts = new List<string>();
        for (int k = 1; k < l.Inputs.Length; k++)
        {
            string name = StateNames[k - 1], source = I(l.InputLayer(k) + 1);
            parts.Add(name + "0: Train(T" + source + ", batch)");
            int gin = l.GradientIn[k];
            if (gin < 0) continue;
            parts.Add("d" + name + "0: Backprop(" + I(l.InputLayer(k)) + ") ? " + Gradient(gin) + " : -1");
            if (l.GradientAccumulate[k] != 0) parts.Add("add" + name.ToUpperInvariant() + "0: true");
        }
        for (int which = 0; which < StateNames.Length; which++)
            if (RecurrentStateRule.Of(net, l.Index, which) is { GradientOut: >= 0 } state)
                parts.Add("d" + StateNames[which] + "T: " + Gradient(state.GradientOut));
        return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
    }

    /// <summary>
    /// Where another reader of the input wrote its gradient already, the backward call adds its dx there
    /// (<c>accumulateDx: true</c>), except with an input dropout (its mask applies to this layer's part alone): then dx
    /// goes to the planner's temporary buffer and is added.
    /// </summary>
    public override bool AddsIntoInputGradient => true;

    public override void WriteBackward(SourceWriter w, ResolvedNetwork net, ResolvedLayer l, string dy, string dx)
    {
        string n = I(l.Index + 1), prev = I(l.InputLayer() + 1);
        bool adds = AddsToInputGradient(l), apart = adds && Args(l.Spec).Dropout != 0;
        string target = apart ? "Backprop(" + I(l.InputLayer()) + ") ? " + Gradient(l.GradientTemp) + " : -1" : dx;
        if (Merge(l.Spec) != 0)
            Bidirectional.WriteBackward(w, l, dy, target, adds && !apart, Op + "Backward", DirectionCache(l), DirectionOutput(l), Merge(l.Spec), DropoutArgument(l));
        else
        {
            w.WriteLine("b." + Op + "Backward(G" + n + ", batch, x: Train(T" + prev + ", batch), kernel: p + P" + n + "_Kernel, recurrent: p + P" + n + "_Recurrent,");
            w.Indent();
            w.WriteLine("cache: Train(M" + n + ", batch), dy: " + dy + ", dx: " + target + ", dKernel: g + P" + n + "_Kernel, dRecurrent: g + P" + n +
                "_Recurrent, dBias: " + (Args(l.Spec).UseBias ? "g + P" + n + "_Bias" : "-1") + DropoutArgument(l) + StateGradientArguments(net, l) +
                (apart ? ");" : BackwardCallEnd(l)));
            w.Unindent();
        }
        if (apart) WriteAccumulate(w, l, Gradient(l.GradientTemp));
    }
}

/// <summary>
/// LSTM, GRU and SimpleRNN: units, activation and recurrent activation (ids as declared), bias, initializers (ids as
/// declared), the LSTM's unit forget bias, what it returns, the Bidirectional merge mode (0: none, 1 concat, 2 sum,
/// 3 mul, 4 ave), and the input and recurrent dropout rates.
/// </summary>
internal sealed record RecurrentArgs(int Units, int Activation, int RecurrentActivation, bool UseBias, int KernelInitializer,
    int RecurrentInitializer, int BiasInitializer, bool UnitForgetBias, bool ReturnSequences, bool ReturnState, int Merge,
    double Dropout, double RecurrentDropout) : LayerArgs
{
    /// <summary>
    /// The activation, dropouts and <c>sizes</c> = (recurrent activation, unit forget bias, return sequences, merge
    /// mode[, return state]): ONNX export reads them so.
    /// </summary>
    public override void WriteConfig(ConfigWriter config)
    {
        config.Common(Units, Activation, UseBias);
        if (Dropout != 0) config.Real("value", Dropout);
        if (RecurrentDropout != 0) config.Real("epsilon", RecurrentDropout);
        var sizes = new List<int> { RecurrentActivation, UnitForgetBias ? 1 : 0, ReturnSequences ? 1 : 0, Merge };
        if (ReturnState) sizes.Add(1); // a fifth value only with ReturnState: the other layers' generated code stays as it was
        config.Ints("sizes", sizes);
    }

    public override LayerArgs WithBlockArguments(Func<int, int> set) => this with { Units = set(Units) };
}
