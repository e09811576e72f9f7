namespace NetGen;

/// <summary>Which update rule an <see cref="OptimizerUpdate"/> applies.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional (Nesterov) momentum.</summary>
    Sgd,
    /// <summary>Adam / AMSGrad.</summary>
    Adam,
    /// <summary>RMSprop, optionally centered and with momentum.</summary>
    RmsProp,
    /// <summary>Adagrad.</summary>
    Adagrad,
}

/// <summary>One step's hyper-parameters, passed by value to a backend kernel (no allocation).</summary>
public readonly record struct OptimizerUpdate(
    OptimizerKind Kind,
    float LearningRate,
    float Beta1,
    float Beta2,
    float Epsilon,
    float Momentum,
    bool Nesterov,
    bool Centered,
    bool AmsGrad,
    long Step);

/// <summary>
/// An optimizer with Keras 2 (OptimizerV2) semantics: the rate at step t (0-based) is
/// <c>lr / (1 + decay·t)</c>, and slots start at zero.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates an optimizer.</summary>
    protected Optimizer(float learningRate, float decay)
    {
        if (!(learningRate > 0) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive number, e.g. 1e-3.");
        if (!(decay >= 0) || float.IsInfinity(decay))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "Decay must be a finite number of at least 0.");
        LearningRate = learningRate;
        Decay = decay;
    }

    private float _learningRate;

    /// <summary>The initial learning rate; callbacks change it. A finite number of at least 0.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set => _learningRate = value >= 0 && !float.IsInfinity(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a finite number of at least 0, e.g. 1e-3.");
    }

    /// <summary>A hyperparameter in [<paramref name="low"/>, <paramref name="high"/>) (or ] with <paramref name="highIncluded"/>), else an error naming it.</summary>
    protected static float InRange(float value, string name, float low, float high, bool highIncluded, string example)
    {
        bool ok = value >= low && (highIncluded ? value <= high : value < high);
        return ok ? value : throw new ArgumentOutOfRangeException(name, value,
            $"{name} must be in [{low}, {high}{(highIncluded ? "]" : ")")}, e.g. {example}.");
    }

    /// <summary>A positive finite ε (0 or NaN would divide by zero on the first step).</summary>
    protected static float PositiveEpsilon(float value, string name = "epsilon") =>
        value > 0 && !float.IsInfinity(value) ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a small positive number, e.g. 1e-7 (Keras's default).");

    /// <summary>Keras's <c>decay</c>: lr_t = lr / (1 + decay·iterations).</summary>
    public float Decay { get; }

    /// <summary>Number of state vectors (each as long as the parameters) the optimizer keeps.</summary>
    public abstract int StateSlots { get; }

    /// <summary>The value state starts at (Adagrad's initial accumulator; 0 otherwise).</summary>
    public virtual float InitialState => 0f;

    /// <summary>The learning rate Keras uses at 0-based iteration <paramref name="iteration"/>.</summary>
    public float RateAt(long iteration) => (float)(LearningRate / (1.0 + Decay * (double)iteration));

    /// <summary>The update for 0-based iteration <paramref name="iteration"/>.</summary>
    public abstract OptimizerUpdate UpdateFor(long iteration);
}

/// <summary>Keras <c>SGD(learning_rate=0.01, momentum=0.0, nesterov=False, decay=0)</c>.</summary>
public sealed class SGD(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false, float decay = 0f)
    : Optimizer(learningRate, decay)
{
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; } = momentum >= 0 && momentum <= 1 ? momentum
        : throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1].");
    /// <summary>Whether momentum is Nesterov's.</summary>
    public bool Nesterov { get; } = nesterov;
    /// <inheritdoc/>
    public override int StateSlots => Momentum > 0 ? 1 : 0;
    /// <inheritdoc/>
    public override OptimizerUpdate UpdateFor(long iteration) =>
        new(OptimizerKind.Sgd, RateAt(iteration), 0, 0, 0, Momentum, Nesterov, false, false, iteration + 1);
}

/// <summary>Keras <c>Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, decay=0)</c>.</summary>
public sealed class Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f,
    bool amsgrad = false, float decay = 0f) : Optimizer(learningRate, decay)
{
    /// <summary>β1.</summary>
    public float Beta1 { get; } = InRange(beta1, nameof(beta1), 0f, 1f, false, "0.9");
    /// <summary>β2.</summary>
    public float Beta2 { get; } = InRange(beta2, nameof(beta2), 0f, 1f, false, "0.999");
    /// <summary>ε, added to the uncorrected √v as Keras does.</summary>
    public float Epsilon { get; } = PositiveEpsilon(epsilon);
    /// <summary>Whether to use AMSGrad.</summary>
    public bool AmsGrad { get; } = amsgrad;
    /// <inheritdoc/>
    public override int StateSlots => AmsGrad ? 3 : 2;
    /// <inheritdoc/>
    public override OptimizerUpdate UpdateFor(long iteration) =>
        new(OptimizerKind.Adam, RateAt(iteration), Beta1, Beta2, Epsilon, 0, false, false, AmsGrad, iteration + 1);
}

/// <summary>Keras <c>RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, decay=0)</c>.</summary>
public sealed class RMSprop(float learningRate = 0.001f, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f,
    bool centered = false, float decay = 0f) : Optimizer(learningRate, decay)
{
    /// <summary>ρ, the decay of the mean square.</summary>
    public float Rho { get; } = InRange(rho, nameof(rho), 0f, 1f, false, "0.9");
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; } = InRange(momentum, nameof(momentum), 0f, 1f, true, "0.9");
    /// <summary>ε.</summary>
    public float Epsilon { get; } = PositiveEpsilon(epsilon);
    /// <summary>Whether to divide by the centred second moment.</summary>
    public bool Centered { get; } = centered;
    /// <inheritdoc/>
    public override int StateSlots => 1 + (Momentum > 0 ? 1 : 0) + (Centered ? 1 : 0);
    /// <inheritdoc/>
    public override OptimizerUpdate UpdateFor(long iteration) =>
        new(OptimizerKind.RmsProp, RateAt(iteration), Rho, 0, Epsilon, Momentum, false, Centered, false, iteration + 1);
}

/// <summary>Keras <c>Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, decay=0)</c>.</summary>
public sealed class Adagrad(float learningRate = 0.001f, float initialAccumulatorValue = 0.1f, float epsilon = 1e-7f,
    float decay = 0f) : Optimizer(learningRate, decay)
{
    /// <summary>The accumulator's starting value.</summary>
    public float InitialAccumulatorValue { get; } = initialAccumulatorValue >= 0 && !float.IsInfinity(initialAccumulatorValue) ? initialAccumulatorValue
        : throw new ArgumentOutOfRangeException(nameof(initialAccumulatorValue), initialAccumulatorValue, "initialAccumulatorValue must be a finite number of at least 0, e.g. 0.1.");
    /// <summary>ε.</summary>
    public float Epsilon { get; } = PositiveEpsilon(epsilon);
    /// <inheritdoc/>
    public override int StateSlots => 1;
    /// <inheritdoc/>
    public override float InitialState => InitialAccumulatorValue;
    /// <inheritdoc/>
    public override OptimizerUpdate UpdateFor(long iteration) =>
        new(OptimizerKind.Adagrad, RateAt(iteration), 0, 0, Epsilon, 0, false, false, false, iteration + 1);
}
