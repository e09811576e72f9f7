namespace NetGen.Backends;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void LstmForward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int hT = -1, int cT = -1)
    {
        LstmChecks.Check(g, batch);
        if (batch == 0) return;
        if (cache < 0)
        {
            // Inference: one step's working set, not every step's cache.
            LstmMath.Infer(g, batch, At(x), At(kernel), At(recurrent), Maybe(bias), Scratch(LstmMath.InferScratch(g, batch)), At(y),
                Maybe(h0), Maybe(c0), Maybe(hT), Maybe(cT));
            return;
        }
        LstmMath.Forward(g, batch, At(x), At(kernel), At(recurrent), Maybe(bias), At(cache), At(y), training: true, dropoutKey,
            Maybe(h0), Maybe(c0), Maybe(hT), Maybe(cT));
    }

    /// <summary>The workspace pointer of an optional tensor: null for −1.</summary>
    private float* Maybe(int offset) => offset >= 0 ? At(offset) : null;

    /// <inheritdoc/>
    public void LstmBackward(in LstmGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0,
        int h0 = -1, int c0 = -1, int dhT = -1, int dcT = -1, int dh0 = -1, int dc0 = -1, bool addH0 = false, bool addC0 = false,
        bool accumulateDx = false)
    {
        LstmChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        if (batch == 0) return;
        LstmMath.Backward(g, batch, At(x), At(kernel), At(recurrent), At(cache), Maybe(dy), Maybe(dx),
            At(dKernel), At(dRecurrent), Maybe(dBias), (float*)Aux(2L * batch * g.Units * sizeof(float)), dropoutKey,
            Maybe(h0), Maybe(c0), Maybe(dhT), Maybe(dcT), Maybe(dh0), Maybe(dc0), addH0, addC0, accumulateDx);
    }
}

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void EmbeddingForward(int rows, int dim, int inputDim, int x, int table, int y) =>
        EmbeddingMath.Forward(Span(x, rows), dim, inputDim, Span(table, inputDim * dim), Span(y, rows * dim));

    /// <inheritdoc/>
    public void EmbeddingBackward(int rows, int dim, int inputDim, int x, int dy, int dTable) =>
        EmbeddingMath.Backward(Span(x, rows), dim, inputDim, Span(dy, rows * dim), Span(dTable, inputDim * dim));
}

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void RnnForward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int bias, int cache, int y, ulong dropoutKey = 0,
        int h0 = -1, int hT = -1)
    {
        RnnChecks.Check(g, batch);
        if (batch == 0) return;
        if (cache < 0)
        {
            // Inference: one step's working set, not every step's cache.
            RnnMath.Infer(g, batch, At(x), At(kernel), At(recurrent), Maybe(bias), Scratch(RnnMath.InferScratch(g, batch)), At(y), Maybe(h0), Maybe(hT));
            return;
        }
        float* scratch = (float*)Aux(Math.Max(1, g.ScratchFloats(batch)) * sizeof(float));
        RnnMath.Forward(g, batch, At(x), At(kernel), At(recurrent), Maybe(bias), At(cache), At(y), scratch, training: true, dropoutKey, Maybe(h0), Maybe(hT));
    }

    /// <inheritdoc/>
    public void RnnBackward(in RnnGeometry g, int batch, int x, int kernel, int recurrent, int cache, int dy, int dx,
        int dKernel, int dRecurrent, int dBias, ulong dropoutKey = 0, int h0 = -1, int dhT = -1, int dh0 = -1, bool addH0 = false, bool accumulateDx = false)
    {
        RnnChecks.Check(g, batch);
        LstmChecks.CheckAccumulate(g.Dropout, accumulateDx && dx >= 0);
        if (batch == 0) return;
        float* scratch = (float*)Aux(Math.Max(1, g.ScratchFloats(batch)) * sizeof(float));
        RnnMath.Backward(g, batch, At(x), At(kernel), At(recurrent), At(cache), Maybe(dy), Maybe(dx),
            At(dKernel), At(dRecurrent), Maybe(dBias), scratch, dropoutKey, Maybe(h0), Maybe(dhT), Maybe(dh0), addH0, accumulateDx);
    }
}

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public double RegularizationPenalty(int x, int count, float l1, float l2) => RegularizationMath.Penalty(Span(x, count), l1, l2);

    /// <inheritdoc/>
    public void RegularizationGradient(int x, int g, int count, float l1, float l2) =>
        RegularizationMath.AddGradient(Span(x, count), Span(g, count), l1, l2);
}

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public double ContractivePenalty(int h, int kernel, int batch, int inputs, int units, float lambda) =>
        RegularizationMath.ContractivePenalty(Span(h, batch * units), Span(kernel, inputs * units), batch, inputs, units, lambda);

    /// <inheritdoc/>
    public void ContractiveGradient(int h, int kernel, int dh, int dKernel, int batch, int inputs, int units, float scale)
    {
        if (dh >= 0) RegularizationMath.ContractiveOutputGradient(Span(h, batch * units), Span(kernel, inputs * units), Span(dh, batch * units), batch, inputs, units, scale);
        if (dKernel >= 0) RegularizationMath.ContractiveKernelGradient(Span(h, batch * units), Span(kernel, inputs * units), Span(dKernel, inputs * units), batch, inputs, units, scale);
    }
}
