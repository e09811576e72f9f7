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
    /// dropouts with masks drawn from <paramref name="dropoutKey"/>. <paramref name="bias"/> −1: none.
    /// </summary>
    void LstmForward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0) =>
        RecurrentHost.LstmForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey);

    /// <summary>
    /// The LSTM's backward pass from dy, with the cache its training forward pass kept (which it overwrites): writes
    /// the kernel, recurrent kernel and bias gradients, and dx when <paramref name="dx"/> ≥ 0; the dropout masks are the
    /// forward pass's (the same <paramref name="dropoutKey"/>).
    /// </summary>
    void LstmBackward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0) =>
        RecurrentHost.LstmBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey);
}

/// <summary>Argument checks of the recurrent operations, shared by every backend.</summary>
public static class LstmChecks
{
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
    /// backward pass reads. <paramref name="bias"/> −1: none.
    /// </summary>
    void RnnForward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0) =>
        RecurrentHost.RnnForward(this, g, batch, x, kernel, recurrent, bias, cache, y, dropoutKey);

    /// <summary>The SimpleRNN or GRU backward pass, as <see cref="LstmBackward"/>.</summary>
    void RnnBackward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0) =>
        RecurrentHost.RnnBackward(this, g, batch, x, kernel, recurrent, cache, dy, dx, dKernel, dRecurrent, dBias, dropoutKey);

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
    public static unsafe void LstmForward(IBackend b, in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey)
    {
        LstmChecks.Check(g, batch);
        int u4 = 4 * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * u4);
        var hr = Read(b, recurrent, (long)g.Units * u4);
        var hb = bias >= 0 ? Read(b, bias, u4) : null;
        var hc = new float[(long)batch * g.CachePerSample];
        var hy = new float[(long)batch * g.OutputPerSample];
        fixed (float* px = hx, pk = hk, pr = hr, pb = hb, pc = hc, py = hy)
            LstmMath.Forward(g, batch, px, pk, pr, pb, pc, py, training: cache >= 0, dropoutKey);
        b.Upload(hy, y);
        if (cache >= 0) b.Upload(hc, cache);
    }

    public static unsafe void LstmBackward(IBackend b, in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey)
    {
        LstmChecks.Check(g, batch);
        int u4 = 4 * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * u4);
        var hr = Read(b, recurrent, (long)g.Units * u4);
        var hc = Read(b, cache, (long)batch * g.CachePerSample);
        var hdy = Read(b, dy, (long)batch * g.OutputPerSample);
        var hdx = dx >= 0 ? new float[(long)batch * g.Steps * g.Features] : null;
        var hdk = new float[(long)g.Features * u4];
        var hdr = new float[(long)g.Units * u4];
        var hdb = dBias >= 0 ? new float[u4] : null;
        var carry = new float[2L * batch * g.Units];
        fixed (float* px = hx, pk = hk, pr = hr, pc = hc, pdy = hdy, pdx = hdx, pdk = hdk, pdr = hdr, pdb = hdb, pcarry = carry)
            LstmMath.Backward(g, batch, px, pk, pr, pc, pdy, pdx, pdk, pdr, pdb, pcarry, dropoutKey);
        b.Upload(hdk, dKernel);
        b.Upload(hdr, dRecurrent);
        if (hdb is not null) b.Upload(hdb, dBias);
        if (hdx is not null) b.Upload(hdx, dx);
        b.Upload(hc, cache);
    }

    public static unsafe void RnnForward(IBackend b, in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey)
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
        fixed (float* px = hx, pk = hk, pr = hr, pb = hb, pc = hc, py = hy, ps = scratch)
            RnnMath.Forward(g, batch, px, pk, pr, pb, pc, py, ps, training: cache >= 0, dropoutKey);
        b.Upload(hy, y);
        if (cache >= 0) b.Upload(hc, cache);
    }

    public static unsafe void RnnBackward(IBackend b, in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey)
    {
        RnnChecks.Check(g, batch);
        int G = g.Gates * g.Units;
        var hx = Read(b, x, (long)batch * g.Steps * g.Features);
        var hk = Read(b, kernel, (long)g.Features * G);
        var hr = Read(b, recurrent, (long)g.Units * G);
        var hc = Read(b, cache, (long)batch * g.CachePerSample);
        var hdy = Read(b, dy, (long)batch * g.OutputPerSample);
        var hdx = dx >= 0 ? new float[(long)batch * g.Steps * g.Features] : null;
        var hdk = new float[(long)g.Features * G];
        var hdr = new float[(long)g.Units * G];
        var hdb = dBias >= 0 ? new float[g.Cell == RnnCell.Gru ? 2 * G : G] : null;
        var scratch = new float[Math.Max(1, g.ScratchFloats(batch))];
        fixed (float* px = hx, pk = hk, pr = hr, pc = hc, pdy = hdy, pdx = hdx, pdk = hdk, pdr = hdr, pdb = hdb, ps = scratch)
            RnnMath.Backward(g, batch, px, pk, pr, pc, pdy, pdx, pdk, pdr, pdb, ps, dropoutKey);
        b.Upload(hdk, dKernel);
        b.Upload(hdr, dRecurrent);
        if (hdb is not null) b.Upload(hdb, dBias);
        if (hdx is not null) b.Upload(hdx, dx);
        b.Upload(hc, cache);
    }

    private static float[] Read(IBackend backend, int offset, long count)
    {
        var values = new float[count];
        backend.Download(offset, values);
        return values;
    }
}
