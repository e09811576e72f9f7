namespace NetGen.Backends;

/// <summary>
/// Keras's <c>dropout</c> and <c>recurrent_dropout</c> on the recurrent layers, in training: one keep mask per sample
/// and input feature (or state unit), the same at every step (Gal and Ghahramani's variational dropout, as Keras), kept
/// values scaled by 1/(1 − rate). The input mask multiplies x_t before x_t·W; the recurrent mask multiplies h_{t−1}
/// before h_{t−1}·U (only there: the LSTM's carry and the GRU's z·h_{t−1} read the unmasked state, as Keras's
/// implementation 1). Masks come from the step's dropout key (the backward direction of a Bidirectional layer derives
/// its own), so the backward pass draws the same ones.
/// </summary>
internal static unsafe class RecurrentDropout
{
    /// <summary>The key of one direction's masks: the layer's step key, or one derived from it for the reversed direction.</summary>
    public static ulong DirectionKey(ulong key, bool reverse) => reverse ? CounterRng.Key(key, 2, 0) : key;

    /// <summary>The recurrent mask's key, apart from the input mask's.</summary>
    public static ulong RecurrentKey(ulong directionKey) => CounterRng.Key(directionKey, 1, 0);

    /// <summary>[rows, width] keep masks, 0 or 1/(1 − rate): element i kept when Uniform(key, i) ≥ rate (the other dropouts' rule).</summary>
    public static void Mask(ulong key, int rows, int width, float rate, Span<float> mask)
    {
        int count = checked(rows * width);
        ulong threshold = CounterRng.DropThreshold(rate);
        float scale = 1f / (1f - rate);
        for (int i = 0; i < count; i++)
            mask[i] = (CounterRng.Bits(key, (ulong)i) >> 40) >= threshold ? scale : 0f;
    }

    /// <summary>
    /// One pass's dropout buffers, rented from the shared pool (no allocation per training step): the input mask
    /// [batch, features] and room for the masked inputs [batch·steps, features] when <paramref name="input"/>; the state
    /// mask and room for the masked states [batch, units] when <paramref name="state"/>. Dispose returns them.
    /// </summary>
    public static Buffers Rent(ulong dropoutKey, bool reverse, bool input, bool state, int batch, int steps, int features, int units,
        float dropout, float recurrentDropout)
    {
        ulong key = DirectionKey(dropoutKey, reverse);
        var pool = System.Buffers.ArrayPool<float>.Shared;
        float[]? inputMask = input ? pool.Rent(checked(batch * features)) : null;
        float[]? stateMask = state ? pool.Rent(checked(batch * units)) : null;
        if (inputMask is not null) Mask(key, batch, features, dropout, inputMask);
        if (stateMask is not null) Mask(RecurrentKey(key), batch, units, recurrentDropout, stateMask);
        return new Buffers(inputMask, stateMask, input ? pool.Rent(checked(batch * steps * features)) : null, state ? pool.Rent(checked(batch * units)) : null);
    }

    /// <summary>See <see cref="Rent"/>.</summary>
    public readonly struct Buffers(float[]? inputMask, float[]? stateMask, float[]? masked, float[]? maskedStates) : IDisposable
    {
        public float[]? InputMask { get; } = inputMask;
        public float[]? StateMask { get; } = stateMask;
        public float[]? Masked { get; } = masked;
        public float[]? MaskedStates { get; } = maskedStates;

        public void Dispose()
        {
            var pool = System.Buffers.ArrayPool<float>.Shared;
            if (InputMask is not null) pool.Return(InputMask);
            if (StateMask is not null) pool.Return(StateMask);
            if (Masked is not null) pool.Return(Masked);
            if (MaskedStates is not null) pool.Return(MaskedStates);
        }
    }

    /// <summary>x·m for (sample, step) rows of <paramref name="features"/> values, one mask row per sample.</summary>
    public static void MaskInputs(float* x, float* xm, float* mask, int batch, int steps, int features)
    {
        for (int s = 0; s < batch; s++)
            for (int t = 0; t < steps; t++)
            {
                long row = ((long)s * steps + t) * features;
                float* m = mask + (long)s * features;
                for (int f = 0; f < features; f++) xm[row + f] = x[row + f] * m[f];
            }
    }

    /// <summary>h_{t−1}·r for the batch: <paramref name="hs"/> rows strided by <paramref name="stride"/>, into [batch, units].</summary>
    public static void MaskStates(float* hs, int stride, float* mask, float* hm, int batch, int units)
    {
        for (int s = 0; s < batch; s++)
        {
            float* h = hs + (long)s * stride;
            float* m = mask + (long)s * units;
            float* o = hm + (long)s * units;
            for (int j = 0; j < units; j++) o[j] = h[j] * m[j];
        }
    }
}
