namespace NetGen.Backends;

/// <summary>
/// One batch normalisation's constants: its channel count (the last axis), settings and the workspace offsets of its
/// weights and saved statistics. Its forward, backward and frozen backward passes take the same value.
/// </summary>
public readonly record struct BatchNormArguments
{
    /// <summary>The arguments of a batch normalisation over <paramref name="channels"/>; offsets of -1 are absent.</summary>
    /// <param name="channels">Channels: the normalised (last) axis.</param>
    /// <param name="gamma">γ [channels], or -1 (Keras <c>scale=False</c>: γ = 1).</param>
    /// <param name="beta">β [channels], or -1 (Keras <c>center=False</c>: β = 0).</param>
    /// <param name="movingMean">The moving mean [channels] (the forward pass needs it).</param>
    /// <param name="movingVariance">The moving variance [channels] (the forward pass and the frozen backward need it).</param>
    /// <param name="savedMean">Where training saves the batch mean for the backward pass [channels], or -1.</param>
    /// <param name="savedInvStd">Where training saves the batch 1/√(var + ε) for the backward pass [channels], or -1.</param>
    /// <param name="momentum">moving = momentum·moving + (1 − momentum)·batch (Keras's default 0.99).</param>
    /// <param name="epsilon">ε added to the variance (Keras's default 0.001).</param>
    /// <param name="unbiasedMovingVariance">Whether the moving variance takes the unbiased batch variance (Keras's fused
    /// 4-D path) rather than the biased one.</param>
    public BatchNormArguments(int channels, int gamma = -1, int beta = -1, int movingMean = -1, int movingVariance = -1,
        int savedMean = -1, int savedInvStd = -1, float momentum = 0.99f, float epsilon = 1e-3f, bool unbiasedMovingVariance = false)
    {
        if (channels < 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "A batch norm's channel count cannot be negative.");
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Epsilon must be finite and non-negative.");
        if (!(momentum >= 0f && momentum <= 1f)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1].");
        (Channels, Gamma, Beta, MovingMean, MovingVariance, SavedMean, SavedInvStd) =
            (channels, gamma, beta, movingMean, movingVariance, savedMean, savedInvStd);
        (Momentum, Epsilon, UnbiasedMovingVariance) = (momentum, epsilon, unbiasedMovingVariance);
    }

    /// <summary>Channels: the normalised (last) axis.</summary>
    public int Channels { get; }

    /// <summary>γ [Channels], or -1 (γ = 1).</summary>
    public int Gamma { get; }

    /// <summary>β [Channels], or -1 (β = 0).</summary>
    public int Beta { get; }

    /// <summary>The moving mean [Channels].</summary>
    public int MovingMean { get; }

    /// <summary>The moving variance [Channels].</summary>
    public int MovingVariance { get; }

    /// <summary>The batch mean saved in training [Channels], or -1.</summary>
    public int SavedMean { get; }

    /// <summary>The batch 1/√(var + ε) saved in training [Channels], or -1.</summary>
    public int SavedInvStd { get; }

    /// <summary>The moving statistics' momentum.</summary>
    public float Momentum { get; }

    /// <summary>ε added to the variance.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the moving variance takes the unbiased batch variance.</summary>
    public bool UnbiasedMovingVariance { get; }
}
