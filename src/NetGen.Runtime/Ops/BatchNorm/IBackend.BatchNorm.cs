namespace NetGen.Backends;

/// <summary>Batch normalisation over the last axis with its fused activation and dropout.</summary>
public partial interface IBackend
{
    /// <summary>
    /// Fused batch normalisation over the last axis plus the <paramref name="epilogue"/>: rows = batch·H·W, channels =
    /// <see cref="BatchNormArguments.Channels"/>. In training it normalises with the batch mean and biased variance,
    /// saves mean and 1/√(var+ε) where the arguments have slots for them (the backward pass needs them), and updates the
    /// moving statistics (moving = momentum·moving + (1-momentum)·batch, with the unbiased variance when asked, as
    /// Keras's fused 4-D path). In inference it uses the moving statistics. z (normalised, scaled, shifted) goes to the
    /// epilogue's pre-activation slot when it has one. The epilogue's dropout runs in training only:
    /// y = act(z)·m/(1-rate) with exactly <see cref="DropoutForward"/>'s mask for element row·channels + channel (see
    /// <see cref="Epilogue.CheckDropout"/> for what it needs); inference ignores it.
    /// </summary>
    void BatchNormForward(int rows, in BatchNormArguments a, bool training, in Epilogue epilogue, int x, int y);

    /// <summary>
    /// Backward of <see cref="BatchNormForward"/> in training, with the forward pass's arguments and epilogue: dz = dy ⊙
    /// act'(z, y) in place in dy, then dGamma, dBeta and dx (if not -1), all overwritten, except dx with
    /// <paramref name="accumulateDx"/>: then the input gradient is added to what dx holds (the gradient another reader
    /// of x wrote there already); dGamma and dBeta may be -1.
    /// The pre-activation is only read for activations whose derivative needs it (as <see cref="ActivationBackward"/>).
    /// With a dropout, dy is first masked as <see cref="DropoutBackward"/> does, and act' is computed from the
    /// pre-activation alone (y holds the masked output). With a linear epilogue and no dropout dy is only read, never
    /// written (the generator lets dy's buffer hold another tensor's gradient too).
    /// </summary>
    void BatchNormBackward(int rows, in BatchNormArguments a, in Epilogue epilogue, int x, int y, int dy, int dx, int dGamma, int dBeta,
        bool accumulateDx = false);
}
