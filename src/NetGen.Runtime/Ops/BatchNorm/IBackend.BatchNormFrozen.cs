namespace NetGen.Backends;

/// <summary>A frozen BatchNormalization (Keras's <c>trainable=False</c>), which runs in inference mode in training too.</summary>
public partial interface IBackend
{
    /// <summary>
    /// dx[r, c] = dy[r, c]·γ[c] / √(movingVariance[c] + ε): the input gradient of batch norm in inference mode, an
    /// affine map per channel (no batch statistics, so no centring terms), or added to what dx holds with
    /// <paramref name="accumulate"/>. dx may be dy (without <paramref name="accumulate"/>).
    /// </summary>
    void BatchNormFrozenScale(int rows, int channels, float epsilon, int gamma, int movingVariance, int dy, int dx, bool accumulate = false);

    /// <summary>
    /// Backward of a frozen batch norm with its forward pass's arguments and epilogue: dy is masked by the dropout (same
    /// mask as the forward pass), multiplied by act'(z), then scaled per channel into dx. act' comes from the stored
    /// pre-activation z, or, without one, from the output <paramref name="y"/> (an activation whose derivative its output
    /// gives, and no dropout: the generator keeps z otherwise). dy is overwritten, except with a linear epilogue and no
    /// dropout: then it is only read; nothing is computed when dx is -1 (a frozen layer has no weight gradients). With
    /// <paramref name="accumulateDx"/> the input gradient is added to what dx holds (another reader of the input wrote
    /// its gradient there), except where the activation's derivative needs dx as scratch (a non-linear activation from
    /// the stored pre-activation): that throws, and the caller adds through a buffer of its own
    /// (<see cref="NeedsScratchForBackward"/>).
    /// </summary>
    void BatchNormFrozenBackward(int rows, in BatchNormArguments a, in Epilogue epilogue, int y, int dy, int dx, bool accumulateDx = false)
    {
        epilogue.CheckNoResidual(nameof(BatchNormFrozenBackward));
        int channels = a.Channels;
        if (dx < 0 || rows <= 0 || channels <= 0) return;
        int count = checked(rows * channels);
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (accumulateDx && NeedsScratchForBackward(epilogue))
            throw new ArgumentException($"A frozen batch norm with {activation} from its stored pre-activation uses dx as scratch: it cannot add into dx.",
                nameof(accumulateDx));
        if (epilogue.HasDropout) DropoutBackward(count, epilogue.DropoutRate, epilogue.DropoutKey, dy, dy);
        if (activation != ActivationFunction.Linear)
        {
            if (preActivation >= 0)
            {
                // act(z) into dx (overwritten below anyway), so that every activation can take its derivative from x and y.
                ActivationForward(activation, alpha, rows, channels, preActivation, dx);
                ActivationBackward(activation, alpha, rows, channels, preActivation, dx, dy, dy);
            }
            else if (y >= 0 && !epilogue.HasDropout)
                ActivationBackward(activation, alpha, rows, channels, -1, y, dy, dy);
            else
                throw new ArgumentException($"A frozen batch norm with {activation} needs its stored pre-activation, or its output without a fused dropout.",
                    nameof(epilogue));
        }
        BatchNormFrozenScale(rows, channels, a.Epsilon, a.Gamma, a.MovingVariance, dy, dx, accumulateDx);
    }

    /// <summary>
    /// Whether <see cref="BatchNormFrozenBackward"/> with this epilogue uses dx as scratch (a non-linear activation whose
    /// derivative comes from the stored pre-activation), so that it cannot add into dx.
    /// </summary>
    static bool NeedsScratchForBackward(in Epilogue epilogue) => epilogue.Activation != ActivationFunction.Linear && epilogue.PreActivation >= 0;
}
