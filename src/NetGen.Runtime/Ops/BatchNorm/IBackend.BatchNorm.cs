namespace NetGen.Backends;

/// <summary>Batch normalisation over the last axis with its fused activation and dropout.</summary>
public partial interface IBackend
{
    /// <summary>
    /// Fused batch normalisation over the last axis plus an activation: rows = batch·H·W, channels = C.
    /// In training it normalises with the batch mean and biased variance, saves mean and 1/√(var+ε) for the
    /// backward pass, and updates the moving statistics (moving = momentum·moving + (1-momentum)·batch, with the
    /// unbiased variance when <paramref name="unbiasedMovingVariance"/>, as Keras's fused 4-D path). In inference it
    /// uses the moving statistics. The pre-activation (normalised, scaled, shifted) goes to <paramref name="preActivation"/>
    /// when it is not -1. <paramref name="gamma"/> or <paramref name="beta"/> may be -1 (Keras <c>scale</c> or
    /// <c>center</c> off: γ = 1, β = 0). <paramref name="savedMean"/> and <paramref name="savedInvStd"/> are written in
    /// training only (-1 skips them; the backward needs them).
    /// With a <paramref name="dropoutRate"/> above 0 a dropout layer after the activation runs in the same pass in
    /// training: y = act(z)·m/(1-rate) with exactly <see cref="DropoutForward"/>'s mask for element row·channels + channel
    /// under <paramref name="dropoutKey"/> (inference ignores both). The pre-activation must then be stored for any
    /// activation but linear, since y no longer holds act(z). Softmax cannot take a dropout.
    /// </summary>
    void BatchNormForward(int rows, int channels, bool training, float momentum, float epsilon, bool unbiasedMovingVariance,
        ActivationFunction activation, float alpha, float dropoutRate, ulong dropoutKey,
        int x, int gamma, int beta, int movingMean, int movingVariance, int savedMean, int savedInvStd, int preActivation, int y);

    /// <summary>
    /// Backward of <see cref="BatchNormForward"/> in training: dz = dy ⊙ act'(z, y) in place in dy, then dGamma,
    /// dBeta and dx (if not -1), all overwritten; dGamma and dBeta may be -1. The pre-activation is only read for
    /// activations whose derivative needs it (as <see cref="ActivationBackward"/>). With a <paramref name="dropoutRate"/>
    /// above 0 (the forward pass's, same key) dy is first masked as <see cref="DropoutBackward"/> does, and act' is
    /// computed from the pre-activation alone (y holds the masked output).
    /// </summary>
    void BatchNormBackward(int rows, int channels, ActivationFunction activation, float alpha, float dropoutRate, ulong dropoutKey,
        int x, int gamma, int savedMean, int savedInvStd, int preActivation, int y, int dy, int dx, int dGamma, int dBeta);
}
