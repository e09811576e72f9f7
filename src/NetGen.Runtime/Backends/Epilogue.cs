namespace NetGen.Backends;

/// <summary>
/// What a layer's kernel does to its linear result z before writing its output y, in the same pass: an activation
/// (with its alpha), the pre-activation z kept in a slot of its own for the backward pass, a dropout after the
/// activation, and (the forward pass of a convolution or Dense layer, in inference) a residual tensor added before the
/// activation. Dense, the convolutions and batch normalisation take one; their backward passes take the same value
/// that their forward pass took, so a new fusion is a new field here, not a new parameter on every operation.
/// <para>
/// <c>default(Epilogue)</c> is <see cref="None"/>: linear, no pre-activation slot, no dropout. The constructor checks
/// each value; <see cref="CheckDropout"/> checks what a dropout needs from the rest, once for every backend.
/// </para>
/// </summary>
public readonly record struct Epilogue
{
    // The slot plus one, so that default(Epilogue) means "no slot" rather than "slot 0".
    private readonly int _preActivationPlusOne;
    private readonly int _residualPlusOne;

    /// <summary>An epilogue of <paramref name="activation"/>, optionally storing z and masking y with a dropout.</summary>
    /// <param name="activation">y = act(z); softmax acts over each row (each pixel's channels).</param>
    /// <param name="alpha">The activation's alpha (LeakyReLU's slope, ELU's alpha); ignored by the others.</param>
    /// <param name="preActivation">Workspace offset where z is stored as well, or -1 (the backward pass then takes act' from y).</param>
    /// <param name="dropoutRate">A dropout after the activation, in training: y = act(z)·m/(1-rate), with
    /// <see cref="IBackend.DropoutForward"/>'s mask under <paramref name="dropoutKey"/>; 0 for none. In [0, 1).</param>
    /// <param name="dropoutKey">The dropout's counter-based mask key (one per layer and step).</param>
    /// <param name="residual">Workspace offset of a tensor shaped as y that is added to z (after the bias) before the
    /// activation, y = act(z + bias + residual): a residual block's Add fused into the convolution before it, in
    /// inference (Keras's <c>Add</c> then <c>ReLU</c>); -1 for none. Only <see cref="IBackend.Conv2DForward"/> and
    /// <see cref="IBackend.DenseForward"/> take one, without a pre-activation slot, a dropout or a softmax, and y must not
    /// overlap it.</param>
    public Epilogue(ActivationFunction activation, float alpha = 0f, int preActivation = -1, float dropoutRate = 0f, ulong dropoutKey = 0,
        int residual = -1)
    {
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        if (!float.IsFinite(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The activation's alpha must be finite.");
        if (preActivation < -1)
            throw new ArgumentOutOfRangeException(nameof(preActivation), preActivation, "A pre-activation slot is a workspace offset, or -1 for none.");
        if (!(dropoutRate >= 0f && dropoutRate < 1f))
            throw new ArgumentOutOfRangeException(nameof(dropoutRate), dropoutRate, "The fused dropout rate must be in [0, 1).");
        if (residual < -1)
            throw new ArgumentOutOfRangeException(nameof(residual), residual, "A residual is a workspace offset, or -1 for none.");
        if (residual >= 0 && (preActivation >= 0 || dropoutRate > 0f || activation == ActivationFunction.Softmax))
            throw new ArgumentException("A residual is added in inference only: not with a pre-activation slot, a dropout or a softmax.", nameof(residual));
        Activation = activation;
        Alpha = alpha;
        _preActivationPlusOne = preActivation + 1;
        _residualPlusOne = residual + 1;
        DropoutRate = dropoutRate;
        DropoutKey = dropoutKey;
    }

    /// <summary>Linear, nothing stored, no dropout.</summary>
    public static Epilogue None => default;

    /// <summary>The activation applied to z.</summary>
    public ActivationFunction Activation { get; }

    /// <summary>The activation's alpha (LeakyReLU's slope, ELU's alpha).</summary>
    public float Alpha { get; }

    /// <summary>Workspace offset of the stored pre-activation z, or -1.</summary>
    public int PreActivation => _preActivationPlusOne - 1;

    /// <summary>The rate of the dropout after the activation; 0 for none.</summary>
    public float DropoutRate { get; }

    /// <summary>The dropout's mask key.</summary>
    public ulong DropoutKey { get; }

    /// <summary>Workspace offset of the tensor added to z before the activation, or -1.</summary>
    public int Residual => _residualPlusOne - 1;

    /// <summary>Whether a residual tensor is added before the activation.</summary>
    public bool HasResidual => _residualPlusOne > 0;

    /// <summary>Whether z is stored in a slot of its own.</summary>
    public bool StoresPreActivation => _preActivationPlusOne > 0;

    /// <summary>Whether a dropout follows the activation.</summary>
    public bool HasDropout => DropoutRate > 0f;

    /// <summary>
    /// Throws when the dropout cannot run with the rest: a softmax (normalised per row, a separate pass), or an
    /// activation but linear without z stored (y holds the masked output, so act' cannot come from it).
    /// </summary>
    public void CheckDropout()
    {
        CheckNoResidual("This operation");
        if (!HasDropout) return;
        if (Activation == ActivationFunction.Softmax)
            throw new ArgumentException("A dropout cannot be fused with a softmax: run DropoutForward after it.", "epilogue");
        if (Activation != ActivationFunction.Linear && !StoresPreActivation)
            throw new ArgumentException("A dropout fused after an activation needs the pre-activation stored (y holds the masked output): pass a preActivation slot.",
                "epilogue");
    }

    /// <summary>Throws for a dropout, which <paramref name="operation"/> does not fuse, and for a residual unless it adds one.</summary>
    public void CheckNoDropout(string operation, bool addsResidual = false)
    {
        if (!addsResidual) CheckNoResidual(operation);
        if (HasDropout)
            throw new ArgumentException($"{operation} does not fuse a dropout: run DropoutForward after it.", "epilogue");
    }

    /// <summary>Throws for a residual, which only the forward passes of Conv2D and Dense add.</summary>
    public void CheckNoResidual(string operation)
    {
        if (HasResidual)
            throw new ArgumentException($"{operation} does not add a residual (only Conv2DForward and DenseForward do): run MergeForward after it.", "epilogue");
    }

    /// <summary>For the debugger and error messages, e.g. "Relu, z at 1024, dropout 0.5".</summary>
    public override string ToString() =>
        Activation + (Alpha != 0f ? $"({Alpha})" : "") + (StoresPreActivation ? $", z at {PreActivation}" : "") +
        (HasDropout ? $", dropout {DropoutRate}" : "") + (HasResidual ? $", + residual at {Residual}" : "");
}
