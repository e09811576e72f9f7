using ILGPU;
using NetGen.Backends;

namespace NetGen.Kernels;

/// <summary>One step of <see cref="RecurrentKernels.LstmCellForward"/> and <see cref="RecurrentKernels.LstmCellBackward"/>.</summary>
internal struct LstmStepParams(in LstmGeometry g, int batch, int step, int prev, bool hasPrev, bool lastProcessed)
{
    /// <summary>Samples in the batch.</summary>
    public int Batch = batch;
    /// <summary>Steps of a sample (the row stride of the cache, in rows).</summary>
    public int Steps = g.Steps;
    /// <summary>Units u.</summary>
    public int Units = g.Units;
    /// <summary>The step this launch computes.</summary>
    public int Step = step;
    /// <summary>The step processed before it (its c_{t−1}).</summary>
    public int Prev = prev;
    /// <summary>1 unless this is the first step processed (no previous state).</summary>
    public int HasPrev = hasPrev ? 1 : 0;
    /// <summary>1 when the layer outputs every step (dy has a row per step).</summary>
    public int ReturnSequences = g.ReturnSequences ? 1 : 0;
    /// <summary>1 for the last step processed, whose h is the output without return_sequences.</summary>
    public int LastProcessed = lastProcessed ? 1 : 0;
    /// <summary>The candidate's and output's activation.</summary>
    public int Activation = (int)g.Activation;
    /// <summary>The gates' activation.</summary>
    public int RecurrentActivation = (int)g.RecurrentActivation;
}

/// <summary>One step of the SimpleRNN and GRU cell kernels.</summary>
internal struct RnnStepParams(in RnnGeometry g, int batch, int step, int prev, bool hasPrev, bool lastProcessed, bool recurrentBias)
{
    /// <summary>Samples in the batch.</summary>
    public int Batch = batch;
    /// <summary>Steps of a sample.</summary>
    public int Steps = g.Steps;
    /// <summary>Units u.</summary>
    public int Units = g.Units;
    /// <summary>The step this launch computes.</summary>
    public int Step = step;
    /// <summary>The step processed before it.</summary>
    public int Prev = prev;
    /// <summary>1 unless this is the first step processed.</summary>
    public int HasPrev = hasPrev ? 1 : 0;
    /// <summary>1 when the layer outputs every step.</summary>
    public int ReturnSequences = g.ReturnSequences ? 1 : 0;
    /// <summary>1 for the last step processed.</summary>
    public int LastProcessed = lastProcessed ? 1 : 0;
    /// <summary>The activation (SimpleRNN's; the GRU's candidate).</summary>
    public int Activation = (int)g.Activation;
    /// <summary>The GRU gates' activation.</summary>
    public int RecurrentActivation = (int)g.RecurrentActivation;
    /// <summary>1 when the GRU has its recurrent bias (b_h).</summary>
    public int RecurrentBias = recurrentBias ? 1 : 0;
}

/// <summary>A dropout mask over [batch, steps, width] rows, one draw per (sample, column) for every step.</summary>
internal struct RowMaskParams(int steps, int width, ulong key, float rate)
{
    /// <summary>Steps per sample.</summary>
    public int Steps = steps;
    /// <summary>Columns (features or units).</summary>
    public int Width = width;
    /// <summary>The mask's key.</summary>
    public ulong Key = key;
    /// <summary>Kept when the top 24 random bits are at least this (<see cref="CounterRng.DropThreshold"/>).</summary>
    public ulong Threshold = CounterRng.DropThreshold(rate);
    /// <summary>1 / (1 − rate).</summary>
    public float Scale = 1f / (1f - rate);
}

/// <summary>
/// The LSTM's per-step cell math and the recurrent layers' dropout masks as ILGPU kernels, one thread per (sample,
/// unit) or per element; the GEMMs between them are the backend's. The same formulas, order and masks as
/// <see cref="LstmMath"/> and <see cref="RecurrentDropout"/>.
/// </summary>
internal static class RecurrentKernels
{
    /// <summary>Whether the device kernels compute this activation and its derivative from its output (else the host path runs).</summary>
    public static bool OnDevice(ActivationFunction f) => f is ActivationFunction.Linear or ActivationFunction.Relu or ActivationFunction.Sigmoid or
        ActivationFunction.Tanh or ActivationFunction.Elu or ActivationFunction.Selu or ActivationFunction.Softsign or
        ActivationFunction.HardSigmoid or ActivationFunction.Exponential;

    private static float Activate(int f, float x) => f switch
    {
        (int)ActivationFunction.Relu => new ReluActivation().Forward(x),
        (int)ActivationFunction.Sigmoid => new SigmoidActivation().Forward(x),
        (int)ActivationFunction.Tanh => new TanhActivation().Forward(x),
        (int)ActivationFunction.Elu => new EluActivation().Forward(x),
        (int)ActivationFunction.Selu => new SeluActivation().Forward(x),
        (int)ActivationFunction.Softsign => new SoftsignActivation().Forward(x),
        (int)ActivationFunction.HardSigmoid => new HardSigmoidActivation().Forward(x),
        (int)ActivationFunction.Exponential => new ExponentialActivation().Forward(x),
        _ => x,
    };

    /// <summary>f'(x) from x (NaN: not kept) and y = f(x), as <see cref="Activations.Derivative"/>.</summary>
    private static float Derivative(int f, float x, float y) => f switch
    {
        (int)ActivationFunction.Relu => new ReluActivation().Derivative(x, y),
        (int)ActivationFunction.Sigmoid => new SigmoidActivation().Derivative(x, y),
        (int)ActivationFunction.Tanh => new TanhActivation().Derivative(x, y),
        (int)ActivationFunction.Elu => new EluActivation().Derivative(x, y),
        (int)ActivationFunction.Selu => new SeluActivation().Derivative(x, y),
        (int)ActivationFunction.Softsign => new SoftsignActivation().Derivative(x, y),
        (int)ActivationFunction.HardSigmoid => new HardSigmoidActivation().Derivative(x, y),
        (int)ActivationFunction.Exponential => new ExponentialActivation().Derivative(x, y),
        _ => 1f,
    };

    /// <summary>y[i] += b[i mod width]: the bias on every (sample, step) row.</summary>
    /// <param name="index">Element of [rows, width].</param>
    /// <param name="y">The rows, in place.</param>
    /// <param name="b">The bias [width].</param>
    /// <param name="width">Columns.</param>
    internal static void AddRows(Index1D index, ArrayView<float> y, ArrayView<float> b, int width) =>
        y[index] = y[index] + b[index % width];

    /// <summary>y = x·m over [batch, steps, width] (may be in place): the input dropout, or its gradient.</summary>
    /// <param name="index">Element.</param>
    /// <param name="x">Source.</param>
    /// <param name="y">Destination (may be x).</param>
    /// <param name="p">The mask.</param>
    internal static void MaskRows(Index1D index, ArrayView<float> x, ArrayView<float> y, RowMaskParams p)
    {
        long i = index;
        long perSample = (long)p.Steps * p.Width;
        long s = i / perSample;
        long c = i % p.Width;
        bool keep = (CounterRng.Bits(p.Key, (ulong)(s * p.Width + c)) >> 40) >= p.Threshold;
        y[index] = keep ? x[index] * p.Scale : 0f;
    }

    /// <summary>y[s, j] = h[s·stride + j]·r[s, j] over [batch, units]: the recurrent dropout (h_{t−1}, or dh_{t−1} in place).</summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="h">Source rows, <paramref name="stride"/> apart.</param>
    /// <param name="y">Destination [batch, units] (may be h when stride is units).</param>
    /// <param name="p">The mask (Steps unused: 1).</param>
    /// <param name="stride">Floats from one sample's row to the next in h.</param>
    internal static void MaskStates(Index1D index, ArrayView<float> h, ArrayView<float> y, RowMaskParams p, int stride)
    {
        int s = index / p.Width, j = index - s * p.Width;
        bool keep = (CounterRng.Bits(p.Key, (ulong)index.X) >> 40) >= p.Threshold;
        y[index] = keep ? h[(long)s * stride + j] * p.Scale : 0f;
    }

    /// <summary>
    /// One LSTM step for every (sample, unit): the gates from z (in place: i, f, o through the recurrent activation, the
    /// candidate through the activation), c_t = f·c_{t−1} + i·g, h_t = o·activation(c_t).
    /// </summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="gates">[batch·steps, 4u]: z in, the gates out.</param>
    /// <param name="cells">[batch·steps, u].</param>
    /// <param name="hs">[batch·steps, u].</param>
    /// <param name="p">The step.</param>
    internal static void LstmCellForward(Index1D index, ArrayView<float> gates, ArrayView<float> cells, ArrayView<float> hs, LstmStepParams p)
    {
        int u = p.Units, s = index / u, j = index - s * u;
        long row = (long)s * p.Steps + p.Step;
        long z = row * 4 * u;
        float ig = Activate(p.RecurrentActivation, gates[z + j]);
        float fg = Activate(p.RecurrentActivation, gates[z + u + j]);
        float gg = Activate(p.Activation, gates[z + 2 * u + j]);
        float og = Activate(p.RecurrentActivation, gates[z + 3 * u + j]);
        gates[z + j] = ig;
        gates[z + u + j] = fg;
        gates[z + 2 * u + j] = gg;
        gates[z + 3 * u + j] = og;
        float c = ig * gg + (p.HasPrev != 0 ? fg * cells[((long)s * p.Steps + p.Prev) * u + j] : 0f);
        cells[row * u + j] = c;
        hs[row * u + j] = Activate(p.Activation, c) * og;
    }

    /// <summary>
    /// One LSTM step backward for every (sample, unit): from dh (carried plus this step's dy) and the carried dc, the
    /// gates' dz (written over the gates) and dc for the step before.
    /// </summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="gates">[batch·steps, 4u]: the gates in, dz out.</param>
    /// <param name="cells">[batch·steps, u].</param>
    /// <param name="dy">The output gradient ([batch, steps, u] with return_sequences, else [batch, u]).</param>
    /// <param name="carry">[2, batch, u]: dL/dh_t (read), then dL/dc_t (read, and written with dL/dc_{t−1}).</param>
    /// <param name="p">The step.</param>
    internal static void LstmCellBackward(Index1D index, ArrayView<float> gates, ArrayView<float> cells, ArrayView<float> dy, ArrayView<float> carry, LstmStepParams p)
    {
        int u = p.Units, s = index / u, j = index - s * u;
        long row = (long)s * p.Steps + p.Step;
        long z = row * 4 * u;
        float ig = gates[z + j], fg = gates[z + u + j], gg = gates[z + 2 * u + j], og = gates[z + 3 * u + j];
        float dyt = p.ReturnSequences != 0 ? dy[row * u + j] : p.LastProcessed != 0 ? dy[(long)s * u + j] : 0f;
        float dhj = carry[index] + dyt;
        long dcAt = (long)p.Batch * u + index;
        float c = cells[row * u + j];
        float tc = Activate(p.Activation, c);
        float dcj = dhj * og * Derivative(p.Activation, c, tc) + carry[dcAt];
        float cPrev = p.HasPrev != 0 ? cells[((long)s * p.Steps + p.Prev) * u + j] : 0f;
        carry[dcAt] = dcj * fg; // to c_{t−1}
        gates[z + j] = dcj * gg * Derivative(p.RecurrentActivation, float.NaN, ig);
        gates[z + u + j] = (p.HasPrev != 0 ? dcj * cPrev : 0f) * Derivative(p.RecurrentActivation, float.NaN, fg);
        gates[z + 2 * u + j] = dcj * ig * Derivative(p.Activation, float.NaN, gg);
        gates[z + 3 * u + j] = dhj * tc * Derivative(p.RecurrentActivation, float.NaN, og);
    }

    /// <summary>This step's output gradient for (sample, unit) <paramref name="index"/>: dy's row with return_sequences, else dy at the last step processed.</summary>
    private static float StepGradient(ArrayView<float> dy, Index1D index, long row, int u, int returnSequences, int lastProcessed)
    {
        int s = index / u, j = index - s * u;
        return returnSequences != 0 ? dy[row * u + j] : lastProcessed != 0 ? dy[(long)s * u + j] : 0f;
    }

    /// <summary>SimpleRNN step: h = activation(z) for every (sample, unit); z (x·W + b + h_{t−1}·U) stays for the backward pass.</summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="pre">[batch·steps, u] pre-activations.</param>
    /// <param name="hs">[batch·steps, u] outputs.</param>
    /// <param name="p">The step.</param>
    internal static void RnnCellForward(Index1D index, ArrayView<float> pre, ArrayView<float> hs, RnnStepParams p)
    {
        int u = p.Units, s = index / u, j = index - s * u;
        long at = ((long)s * p.Steps + p.Step) * u + j;
        hs[at] = Activate(p.Activation, pre[at]);
    }

    /// <summary>SimpleRNN step backward: dz = (dh + dy)·f'(z), written over z.</summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="pre">[batch·steps, u]: z in, dz out.</param>
    /// <param name="hs">[batch·steps, u] outputs.</param>
    /// <param name="dy">The output gradient.</param>
    /// <param name="dhNext">[batch, u]: dL/dh_t carried from the step after.</param>
    /// <param name="p">The step.</param>
    internal static void RnnCellBackward(Index1D index, ArrayView<float> pre, ArrayView<float> hs, ArrayView<float> dy, ArrayView<float> dhNext, RnnStepParams p)
    {
        int u = p.Units, s = index / u, j = index - s * u;
        long row = (long)s * p.Steps + p.Step, at = row * u + j;
        float dh = dhNext[index] + StepGradient(dy, index, row, u, p.ReturnSequences, p.LastProcessed);
        pre[at] = dh * Derivative(p.Activation, pre[at], hs[at]);
    }

    /// <summary>
    /// GRU step (reset_after) for every (sample, unit): r = h_{t−1}·U (+ b_h) from <paramref name="rt"/>, z and r gates,
    /// ĥ = activation(x·W_h + b_xh + r_gate·(h·U_h + b_hh)), h = z·h_{t−1} + (1 − z)·ĥ; the gates and ĥ written over the
    /// pre-activations, h·U_h + b_hh kept in <paramref name="rec"/>.
    /// </summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="pre">[batch·steps, 3u]: x·W + b_x in, z, r, ĥ out.</param>
    /// <param name="rec">[batch·steps, u].</param>
    /// <param name="hs">[batch·steps, u].</param>
    /// <param name="rt">[batch, 3u]: h_{t−1}·U (zeros at the first step).</param>
    /// <param name="bias">[2, 3u] (the recurrent half read), or a placeholder.</param>
    /// <param name="p">The step.</param>
    internal static void GruCellForward(Index1D index, ArrayView<float> pre, ArrayView<float> rec, ArrayView<float> hs, ArrayView<float> rt,
        ArrayView<float> bias, RnnStepParams p)
    {
        int u = p.Units, G = 3 * u, s = index / u, j = index - s * u;
        long row = (long)s * p.Steps + p.Step;
        long z = row * G, r = (long)s * G;
        float rz = rt[r + j], rr = rt[r + u + j], rh = rt[r + 2 * u + j];
        if (p.RecurrentBias != 0)
        {
            rz += bias[G + j];
            rr += bias[G + u + j];
            rh += bias[G + 2 * u + j];
        }
        float zg = Activate(p.RecurrentActivation, pre[z + j] + rz);
        float rg = Activate(p.RecurrentActivation, pre[z + u + j] + rr);
        float hh = Activate(p.Activation, pre[z + 2 * u + j] + rg * rh);
        pre[z + j] = zg;
        pre[z + u + j] = rg;
        pre[z + 2 * u + j] = hh;
        rec[row * u + j] = rh;
        float previous = p.HasPrev != 0 ? hs[((long)s * p.Steps + p.Prev) * u + j] : 0f;
        hs[row * u + j] = zg * previous + (1 - zg) * hh;
    }

    /// <summary>
    /// GRU step backward for every (sample, unit): from dh (carried plus this step's dy), the input side's dz, dr, dĥ
    /// (written over the gates), the recurrent side's (into <paramref name="dRecurrentSide"/>'s row of this step) and
    /// the direct path to h_{t−1} (into <paramref name="dhNext"/>; the recurrent GEMM adds the rest).
    /// </summary>
    /// <param name="index">Element of [batch, units].</param>
    /// <param name="pre">[batch·steps, 3u]: z, r, ĥ in; their input-side gradients out.</param>
    /// <param name="rec">[batch·steps, u] h·U_h + b_hh.</param>
    /// <param name="hs">[batch·steps, u].</param>
    /// <param name="dy">The output gradient.</param>
    /// <param name="dhNext">[batch, u]: dL/dh_t in, the direct part of dL/dh_{t−1} out.</param>
    /// <param name="dRecurrentSide">[batch·steps, 3u]: dL/d(h·U + b_h) of every step.</param>
    /// <param name="p">The step.</param>
    internal static void GruCellBackward(Index1D index, ArrayView<float> pre, ArrayView<float> rec, ArrayView<float> hs, ArrayView<float> dy,
        ArrayView<float> dhNext, ArrayView<float> dRecurrentSide, RnnStepParams p)
    {
        int u = p.Units, G = 3 * u, s = index / u, j = index - s * u;
        long row = (long)s * p.Steps + p.Step, z = row * G;
        float zg = pre[z + j], rg = pre[z + u + j], hh = pre[z + 2 * u + j];
        float dhj = dhNext[index] + StepGradient(dy, index, row, u, p.ReturnSequences, p.LastProcessed);
        float previous = p.HasPrev != 0 ? hs[((long)s * p.Steps + p.Prev) * u + j] : 0f;
        float dz = dhj * (previous - hh) * Derivative(p.RecurrentActivation, float.NaN, zg);
        float dhh = dhj * (1 - zg) * Derivative(p.Activation, float.NaN, hh);
        float dr = dhh * rec[row * u + j] * Derivative(p.RecurrentActivation, float.NaN, rg);
        dhNext[index] = dhj * zg;
        pre[z + j] = dz;
        pre[z + u + j] = dr;
        pre[z + 2 * u + j] = dhh;
        dRecurrentSide[z + j] = dz;
        dRecurrentSide[z + u + j] = dr;
        dRecurrentSide[z + 2 * u + j] = dhh * rg;
    }

    /// <summary>
    /// y[r, :] = table[x[r], :], one thread per output value. The model checks the indices before the pass; an index
    /// outside [0, inputDim) still reads nothing here (its row is zeros), so the device memory stays safe.
    /// </summary>
    /// <param name="index">Element of [rows, dim].</param>
    /// <param name="x">[rows] indices as floats.</param>
    /// <param name="table">[inputDim, dim].</param>
    /// <param name="y">[rows, dim].</param>
    /// <param name="dim">Vector length.</param>
    /// <param name="inputDim">Table rows.</param>
    internal static void EmbeddingForward(Index1D index, ArrayView<float> x, ArrayView<float> table, ArrayView<float> y, int dim, int inputDim)
    {
        int r = index / dim, d = index - r * dim;
        float v = x[r];
        int i = (int)v;
        y[index] = i == v && i >= 0 && i < inputDim ? table[(long)i * dim + d] : 0f;
    }

    /// <summary>dTable[x[r], :] += dy[r, :], one thread per dy value (atomic adds: rows sharing an index add in any order).</summary>
    /// <param name="index">Element of [rows, dim].</param>
    /// <param name="x">[rows] indices.</param>
    /// <param name="dy">[rows, dim].</param>
    /// <param name="dTable">[inputDim, dim], zeroed before.</param>
    /// <param name="dim">Vector length.</param>
    /// <param name="inputDim">Table rows.</param>
    internal static void EmbeddingBackward(Index1D index, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dTable, int dim, int inputDim)
    {
        int r = index / dim, d = index - r * dim;
        float v = x[r];
        int i = (int)v;
        if (i == v && i >= 0 && i < inputDim) Atomic.Add(ref dTable[(long)i * dim + d], dy[index]);
    }
}
