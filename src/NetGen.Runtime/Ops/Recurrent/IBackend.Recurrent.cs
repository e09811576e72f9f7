namespace NetGen.Backends;

/// <summary>
/// Recurrent layers. The default implementations run the managed kernels (<see cref="LstmMath"/>) on host copies of
/// the tensors, so every backend computes them (the CPU backend works in place, without the copies).
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// An LSTM over <paramref name="batch"/> samples (x: [batch, steps, features]) into y ([batch, units], or
    /// [batch, steps, units] with return_sequences). With a <paramref name="cache"/> (training: [batch,
    /// <see cref="LstmGeometry.CachePerSample"/>]), it keeps what the backward pass reads, and applies the geometry's
    /// dropouts with masks drawn from <paramref name="dropoutKey"/>. <paramref name="bias"/> −1: none. The states
    /// (Keras's initial_state and return_state; [batch, units] each, −1: none): <paramref name="h0"/> and
    /// <paramref name="c0"/> are h and c before the first step (zeros when −1), <paramref name="hT"/> and
    /// <paramref name="cT"/> receive them after the last step.
    /// </summary>
    void LstmForward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int hT = -1, int cT = -1) =>
        RecurrentHost.LstmForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey, h0, c0, hT, cT);

    /// <summary>
    /// The LSTM's backward pass from dy, with the cache its training forward pass kept (which it overwrites): writes
    /// the kernel, recurrent kernel and bias gradients, and dx when <paramref name="dx"/> ≥ 0; the dropout masks are the
    /// forward pass's (the same <paramref name="dropoutKey"/>). <paramref name="dy"/> −1: only the last states have a
    /// gradient. With states: <paramref name="h0"/> and <paramref name="c0"/> are the forward pass's initial states,
    /// <paramref name="dhT"/> and <paramref name="dcT"/> the gradients of its last states (−1: none); the initial states'
    /// gradients go to <paramref name="dh0"/> and <paramref name="dc0"/> (−1: not wanted), added to what is there with
    /// <paramref name="addH0"/> / <paramref name="addC0"/> (another reader of the state wrote its gradient first). With
    /// <paramref name="accumulateDx"/> the input gradient is added to what dx holds (a Bidirectional's second
    /// direction, or another reader of x); not with an input dropout, whose mask applies to the product alone (that
    /// throws before any work).
    /// </summary>
    void LstmBackward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int dhT = -1, int dcT = -1, int dh0 = -1, int dc0 = -1, bool addH0 = false, bool addC0 = false,
        bool accumulateDx = false) =>
        RecurrentHost.LstmBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey,
            h0, c0, dhT, dcT, dh0, dc0, addH0, addC0, accumulateDx);
}

/// <summary>Argument checks of the recurrent operations, shared by every backend.</summary>
public static class LstmChecks
{
    /// <summary>Throws when dx cannot be added to: an input dropout's mask applies to the new gradient alone.</summary>
    public static void CheckAccumulate(float dropout, bool accumulateDx)
    {
        if (accumulateDx && dropout > 0)
            throw new ArgumentException("A recurrent layer with an input dropout cannot add its input gradient into dx (the mask applies to its own part): " +
                "write it apart and add it.", nameof(accumulateDx));
    }

    /// <summary>Throws for a geometry or batch no LSTM has.</summary>
    public static void Check(in LstmGeometry g, int batch)
    {
        if (batch < 0 || g.Steps <= 0 || g.Features <= 0 || g.Units <= 0)
            throw new ArgumentOutOfRangeException(nameof(g), $"An LSTM needs positive steps, features and units and a batch of 0 or more; got {g} with batch {batch}.");
    }
}

/// <summary>SimpleRNN and GRU, with host-copy defaults as the LSTM's.</summary>
public partial interface IBackend
{
    /// <summary>
    /// A SimpleRNN or GRU over <paramref name="batch"/> samples (x: [batch, steps, features]) into y; with a
    /// <paramref name="cache"/> (training: [batch, <see cref="RnnGeometry.CachePerSample"/>]) it keeps what the
    /// backward pass reads. <paramref name="bias"/> −1: none. <paramref name="h0"/>: the state before the first step
    /// (−1: zeros); <paramref name="hT"/> receives the state after the last step (−1: not wanted).
    /// </summary>
    void RnnForward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int hT = -1) =>
        RecurrentHost.RnnForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey, h0, hT);

    /// <summary>The SimpleRNN or GRU backward pass, as <see cref="LstmBackward"/> (one state, h).</summary>
    void RnnBackward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0, int h0 = -1, int dhT = -1, int dh0 = -1, bool addH0 = false,
        bool accumulateDx = false) =>
        RecurrentHost.RnnBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey, h0, dhT, dh0, addH0, accumulateDx);

}

/// <summary>Argument checks of SimpleRNN and GRU.</summary>
public static class RnnChecks
{
    /// <summary>Throws for a geometry or batch no recurrent layer has.</summary>
    public static void Check(in RnnGeometry g, int batch)
    {
        if (batch < 0 || g.Steps <= 0 || g.Features <= 0 || g.Units <= 0)
            throw new ArgumentOutOfRangeException(nameof(g), $"A recurrent layer needs positive steps, features and units and a batch of 0 or more; got {g} with batch {batch}.");
    }
}

/// <summary>
/// The recurrent layers on host copies of their tensors: the interface's default implementation, and the fallback of
/// a backend whose own kernels do not cover a geometry (the ILGPU backend for activations it has no kernels for).
/// </summary>
internal static class RecurrentHost
{
    public static unsafe void LstmForward(IBackend b, in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey,
        int h0 = -1, int c0 = -1, int hT = -1, int cT = -1)
    {
        LstmChecks.Check(g, batch);
        int u4 = 4 * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * u4);
        var hr = Read(b, recurrent, (long)g.Units * u4);
        var hb = bias >= 0 ? Read(b, bias, u4) : null;
        var hc = new float[(long)batch * g.CachePerSample];
        var hy = new float[(long)batch * g.OutputPerSample];
        long n = (long)batch * g.Units;
        var (hh0, hc0) = (Optional(b, h0, n), Optional(b, c0, n));
        var (hhT, hcT) = (hT >= 0 ? new float[n] : null, cT >= 0 ? new float[n] : null);
        fixed (float* px = hx, pk = hk, pr = hr, pb = hb, pc = hc, py = hy, ph0 = hh0, pc0 = hc0, phT = hhT, pcT = hcT)
            LstmMath.Forward(g, batch, px, pk, pr, pb, pc, py, training: cache >= 0, dropoutKey, ph0, pc0, phT, pcT);
        b.Upload(hy, y);
        if (cache >= 0) b.Upload(hc, cache);
        if (hhT is not null) b.Upload(hhT, hT);
        if (hcT is not null) b.Upload(hcT, cT);
    }

    public static unsafe void LstmBackward(IBackend b, in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey,
        int h0 = -1, int c0 = -1, int dhT = -1, int dcT = -1, int dh0 = -1, int dc0 = -1, bool addH0 = false, bool addC0 = false,
        bool accumulateDx = false)
    {
        LstmChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        int u4 = 4 * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * u4);
        var hr = Read(b, recurrent, (long)g.Units * u4);
        var hc = Read(b, cache, (long)batch * g.CachePerSample);
        var hdy = Optional(b, dy, (long)batch * g.OutputPerSample);
        var hdx = dx < 0 ? null : accumulateDx ? Read(b, dx, (long)batch * g.Steps * g.Features) : new float[(long)batch * g.Steps * g.Features];
        var hdk = new float[(long)g.Features * u4];
        var hdr = new float[(long)g.Units * u4];
        var hdb = dBias >= 0 ? new float[u4] : null;
        var carry = new float[2L * batch * g.Units];
        long n = (long)batch * g.Units;
        var (hh0, hc0, hdhT, hdcT) = (Optional(b, h0, n), Optional(b, c0, n), Optional(b, dhT, n), Optional(b, dcT, n));
        // An initial state's gradient is added on the device's copy when asked to: start from it.
        var (hdh0, hdc0) = (dh0 < 0 ? null : addH0 ? Read(b, dh0, n) : new float[n], dc0 < 0 ? null : addC0 ? Read(b, dc0, n) : new float[n]);
        fixed (float* px = hx, pk = hk, pr = hr, pc = hc, pdy = hdy, pdx = hdx, pdk = hdk, pdr = hdr, pdb = hdb, pcarry = carry,
            ph0 = hh0, pc0 = hc0, pdhT = hdhT, pdcT = hdcT, pdh0 = hdh0, pdc0 = hdc0)
            LstmMath.Backward(g, batch, px, pk, pr, pc, pdy, pdx, pdk, pdr, pdb, pcarry, dropoutKey, ph0, pc0, pdhT, pdcT, pdh0, pdc0, addH0, addC0, accumulateDx);
        if (hdh0 is not null) b.Upload(hdh0, dh0);
        if (hdc0 is not null) b.Upload(hdc0, dc0);
        b.Upload(hdk, dKernel);
        b.Upload(hdr, dRecurrent);
        if (hdb is not null) b.Upload(hdb, dBias);
        if (hdx is not null) b.Upload(hdx, dx);
        b.Upload(hc, cache);
    }

    public static unsafe void RnnForward(IBackend b, in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey,
        int h0 = -1, int hT = -1)
    {
        RnnChecks.Check(g, batch);
        int G = g.Gates * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * G);
        var hr = Read(b, recurrent, (long)g.Units * G);
        var hb = bias >= 0 ? Read(b, bias, g.Cell == RnnCell.Gru ? 2 * G : G) : null;
        var hc = new float[(long)batch * g.CachePerSample];
        var hy = new float[(long)batch * g.OutputPerSample];
        var scratch = new float[Math.Max(1, g.ScratchFloats(batch))];
        long n = (long)batch * g.Units;
        var hh0 = Optional(b, h0, n);
        var hhT = hT >= 0 ? new float[n] : null;
        fixed (float* px = hx, pk = hk, pr = hr, pb = hb, pc = hc, py = hy, ps = scratch, ph0 = hh0, phT = hhT)
            RnnMath.Forward(g, batch, px, pk, pr, pb, pc, py, ps, training: cache >= 0, dropoutKey, ph0, phT);
        b.Upload(hy, y);
        if (cache >= 0) b.Upload(hc, cache);
        if (hhT is not null) b.Upload(hhT, hT);
    }

    public static unsafe void RnnBackward(IBackend b, in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey, int h0 = -1, int dhT = -1, int dh0 = -1, bool addH0 = false, bool accumulateDx = false)
    {
        RnnChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        int G = g.Gates * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * G);
        var hr = Read(b, recurrent, (long)g.Units * G);
        var hc = Read(b, cache, (long)batch * g.CachePerSample);
        var hdy = Optional(b, dy, (long)batch * g.OutputPerSample);
        var hdx = dx < 0 ? null : accumulateDx ? Read(b, dx, (long)batch * g.Steps * g.Features) : new float[(long)batch * g.Steps * g.Features];
        var hdk = new float[(long)g.Features * G];
        var hdr = new float[(long)g.Units * G];
        var hdb = dBias >= 0 ? new float[g.Cell == RnnCell.Gru ? 2 * G : G] : null;
        var scratch = new float[Math.Max(1, g.ScratchFloats(batch))];
        long n = (long)batch * g.Units;
        var (hh0, hdhT) = (Optional(b, h0, n), Optional(b, dhT, n));
        var hdh0 = dh0 < 0 ? null : addH0 ? Read(b, dh0, n) : new float[n];
        fixed (float* px = hx, pk = hk, pr = hr, pc = hc, pdy = hdy, pdx = hdx, pdk = hdk, pdr = hdr, pdb = hdb, ps = scratch,
            ph0 = hh0, pdhT = hdhT, pdh0 = hdh0)
            RnnMath.Backward(g, batch, px, pk, pr, pc, pdy, pdx, pdk, pdr, pdb, ps, dropoutKey, ph0, pdhT, pdh0, addH0, accumulateDx);
        if (hdh0 is not null) b.Upload(hdh0, dh0);
        b.Upload(hdk, dKernel);
        b.Upload(hdr, dRecurrent);
        if (hdb is not null) b.Upload(hdb, dBias);
        if (hdx is not null) b.Upload(hdx, dx);
        b.Upload(hc, cache);
    }

    /// <summary>A host copy of an optional tensor: null when <paramref name="offset"/> is −1.</summary>
    private static float[]? Optional(IBackend backend, int offset, long count) => offset >= 0 ? Read(backend, offset, count) : null;

    private static float[] Read(IBackend backend, int offset, long count)
    {
        var values = new float[count];
        backend.Download(offset, values);
        return values;
    }
}
