namespace NetGen.Backends;

/// <summary>Element-wise activation functions as kernels see them: <see cref="Activation"/> plus LeakyReLU and ELU with an alpha.</summary>
public enum ActivationFunction
{
    /// <summary>Identity.</summary>
    Linear = 0,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>1 / (1 + e^-x).</summary>
    Sigmoid,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>Softmax over each row.</summary>
    Softmax,
    /// <summary>x if x &gt; 0, else e^x - 1.</summary>
    Elu,
    /// <summary>1.05070098 * elu(x, 1.67326324).</summary>
    Selu,
    /// <summary>log(1 + e^x).</summary>
    Softplus,
    /// <summary>x / (1 + |x|).</summary>
    Softsign,
    /// <summary>clip(0.2x + 0.5, 0, 1).</summary>
    HardSigmoid,
    /// <summary>x * sigmoid(x).</summary>
    Swish,
    /// <summary>0.5x(1 + erf(x / sqrt 2)).</summary>
    Gelu,
    /// <summary>e^x.</summary>
    Exponential,
    /// <summary>x if x &gt; 0, else alpha * x.</summary>
    LeakyRelu,
    /// <summary>x if x &gt; 0, else alpha * (e^x - 1) (the ELU layer; <see cref="Elu"/> is alpha = 1).</summary>
    EluAlpha,
}

/// <summary>How a loss reads its prediction.</summary>
public enum LossInput
{
    /// <summary>From the output probabilities (Keras clips them to [1e-7, 1 - 1e-7]).</summary>
    Probabilities,
    /// <summary>From the logits before the output softmax or sigmoid (exact, no clipping).</summary>
    Logits,
}

/// <summary>
/// The operations a network runs, on one float workspace that the backend owns. Every tensor argument is an
/// offset (in floats) into that workspace, so the same generated code drives the managed CPU backend and a
/// device backend. Offsets are trusted: the model checks shapes at its public entry points. An offset of -1
/// means "absent". Matrices are row-major.
/// </summary>
public partial interface IBackend : IDisposable
{
    /// <summary>A short name, e.g. "cpu (AVX-512, 2 threads)".</summary>
    string Name { get; }

    /// <summary>Size of the workspace in floats.</summary>
    long Capacity { get; }

    /// <summary>Grows the workspace to at least <paramref name="floats"/>, keeping its first <paramref name="preserve"/> floats.</summary>
    void EnsureCapacity(long floats, long preserve);

    /// <summary>Copies host data into the workspace at <paramref name="offset"/>.</summary>
    void Upload(ReadOnlySpan<float> source, int offset);

    /// <summary>Copies workspace data at <paramref name="offset"/> to the host.</summary>
    void Download(int offset, Span<float> destination);

    /// <summary>
    /// Whether the <paramref name="count"/> floats at <paramref name="offset"/> are all finite (no NaN, no ±∞); the
    /// training step checks the gradients with it before the optimizer runs. The default reads them back in chunks.
    /// </summary>
    bool AllFinite(int offset, int count)
    {
        Span<float> chunk = stackalloc float[1024];
        for (int done = 0; done < count; done += chunk.Length)
        {
            var part = chunk[..Math.Min(chunk.Length, count - done)];
            Download(offset + done, part);
            foreach (float v in part)
                if (!float.IsFinite(v)) return false;
        }
        return true;
    }

    /// <summary>Sets <paramref name="count"/> floats at <paramref name="offset"/> to <paramref name="value"/>.</summary>
    void Fill(int offset, int count, float value);

    /// <summary>Copies <paramref name="count"/> floats from <paramref name="source"/> to <paramref name="destination"/> in the workspace; the ranges must not overlap.</summary>
    void Copy(int source, int destination, int count);

    /// <summary>C[m,n] = alpha·op(A)·op(B) + beta·C (row-major; op transposes when asked).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, int a, int lda, int b, int ldb, float beta, int c, int ldc);

    /// <summary>
    /// Fused dense layer: y[rows, units] = act(x[rows, inputs] · kernel[inputs, units] + bias[units]) with the
    /// <paramref name="epilogue"/>'s activation, storing z in its pre-activation slot too when it has one; bias may be -1.
    /// No dropout (see <see cref="Epilogue.CheckNoDropout"/>). With the epilogue's residual, y = act(z + bias + residual)
    /// (inference: a residual block's Add fused in), the residual [rows, units] not overlapping y.
    /// </summary>
    void DenseForward(int rows, int inputs, int units, in Epilogue epilogue, int x, int kernel, int bias, int y);

    /// <summary>
    /// Backward of <see cref="DenseForward"/> with the forward pass's epilogue: dz = dy ⊙ act'(z, y) (in place in dy;
    /// skipped when <paramref name="gradientIsPreActivation"/>), dKernel = xᵀ·dz, dBias = Σ_rows dz (if not -1),
    /// dx = dz·kernelᵀ (if dx is not -1), or added to what dx holds with <paramref name="accumulateDx"/> (another reader
    /// of x wrote its gradient there already). With a linear epilogue dy is only read, never written (the generator
    /// lets dy's buffer hold another tensor's gradient too).
    /// </summary>
    void DenseBackward(int rows, int inputs, int units, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false);

    /// <summary>y[rows, cols] = act(x) (softmax per row). x and y may be the same.</summary>
    void ActivationForward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y);

    /// <summary>dx = dy ⊙ act'(x, y). dx and dy may be the same.</summary>
    void ActivationBackward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y, int dy, int dx);

    /// <summary>Inverted dropout with a counter-based mask: y = x·m/(1-rate), m = [u(key, i) ≥ rate].</summary>
    void DropoutForward(int count, float rate, ulong key, int x, int y);

    /// <summary>dx = dy·m/(1-rate) with the same mask as <see cref="DropoutForward"/>.</summary>
    void DropoutBackward(int count, float rate, ulong key, int dy, int dx);

    /// <summary>
    /// Computes the summed (not averaged) per-sample loss of a batch and writes dL/d(prediction) into
    /// <paramref name="gradient"/>, where L is the Keras loss (mean over samples). With <see cref="LossInput.Logits"/>
    /// <paramref name="prediction"/> holds logits and the gradient is with respect to them.
    /// </summary>
    /// <param name="loss">Which loss.</param>
    /// <param name="input">Whether the prediction is probabilities or logits.</param>
    /// <param name="rows">Rows: samples times every output axis but the last.</param>
    /// <param name="cols">The last output axis.</param>
    /// <param name="prediction">Predictions [rows, cols].</param>
    /// <param name="labels">Labels: [rows, cols], or [rows] class indices for the sparse loss.</param>
    /// <param name="gradient">Where to write the gradient [rows, cols]; -1 to skip it.</param>
    /// <param name="gradientScale">Factor for the gradient (1/rows for Keras's mean).</param>
    double Loss(Loss loss, LossInput input, int rows, int cols, int prediction, int labels, int gradient, float gradientScale);

    /// <summary>Counts correct predictions for an accuracy metric.</summary>
    int CountCorrect(Metric metric, int rows, int cols, int prediction, int labels);

    /// <summary>
    /// One optimizer update over <paramref name="count"/> parameters. The optimizer's slots (moments) lie at
    /// <paramref name="state"/> + k·<paramref name="slotStride"/>; 0 means <paramref name="count"/> rounded up to 16
    /// floats (a model updating only part of its parameters passes the stride of the whole block).
    /// </summary>
    void OptimizerStep(in OptimizerUpdate update, int parameters, int gradients, int state, int count, int slotStride = 0);
}
