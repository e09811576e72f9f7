using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetGen.Kernels;

// ILGPU emits kernel launchers (and the CPU accelerator's kernel bodies) into a dynamic assembly of this name; the
// kernels and their parameter structs are internal, so that assembly must see them.
[assembly: InternalsVisibleTo("ILGPURuntime")]

namespace NetGen.Backends;

/// <summary>
/// The ILGPU backend: the workspace is one device buffer of floats, and every operation launches kernels
/// (<c>NetGen.Kernels</c>) on sub-views at the given offsets. Kernels are compiled once per accelerator and
/// cached (the element-wise kernels of an activation on its first use); after warm-up a step loads and
/// allocates nothing. Results match <see cref="CpuBackend"/> within float rounding; dropout masks are
/// bit-identical. Launches are asynchronous on the accelerator's default stream; <see cref="Download"/>,
/// <see cref="Loss"/> and <see cref="CountCorrect"/> synchronise.
/// </summary>
public sealed partial class IlgpuBackend : IBackend
{
    private readonly Context? _ownedContext;
    private readonly bool _ownsAccelerator;
    private readonly KernelSet _k;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;
    private readonly MemoryBuffer1D<double, Stride1D.Dense> _result;
    private readonly double[] _resultHost = new double[2];
    private readonly ArrayView<float> _none;
    private readonly ArrayView<double> _resultView;
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;
    private MemoryBuffer1D<double, Stride1D.Dense>? _scratch;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scratchF;
    private ArrayView<float> _ws;
    private long _capacity;
    private bool _disposed;

    /// <summary>Creates a backend on <paramref name="accelerator"/>, which stays owned (and disposed) by the caller.</summary>
    public IlgpuBackend(Accelerator accelerator) : this(accelerator, null, false)
    {
    }

    private IlgpuBackend(Accelerator accelerator, Context? ownedContext, bool ownsAccelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        Accelerator = accelerator;
        _ownedContext = ownedContext;
        _ownsAccelerator = ownsAccelerator;
        _k = KernelSet.For(accelerator);
        _dummy = accelerator.Allocate1D<float>(1);
        _result = accelerator.Allocate1D<double>(2);
        _none = _dummy.View;
        _resultView = _result.View;
    }

    /// <summary>The accelerator the kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <inheritdoc/>
    public string Name => $"ilgpu {Accelerator.AcceleratorType} ({Accelerator.Name})";

    /// <inheritdoc/>
    public long Capacity => _capacity;

    // ---- Creation ------------------------------------------------------------------------------------------

    /// <summary>
    /// A backend on the best device: the first CUDA device, else the first OpenCL device with double support,
    /// else (only when <paramref name="allowCpuAccelerator"/>) ILGPU's CPU accelerator, which emulates GPU threads
    /// and is meant for tests. The backend owns the ILGPU context and accelerator it creates.
    /// </summary>
    /// <exception cref="InvalidOperationException">No suitable device was found.</exception>
    public static IlgpuBackend CreateBest(bool allowCpuAccelerator = false) =>
        TryCreate(AcceleratorType.Cuda) ?? TryCreate(AcceleratorType.OpenCL)
        ?? (allowCpuAccelerator ? TryCreate(AcceleratorType.CPU) : null)
        ?? throw new InvalidOperationException(
            "ILGPU found no CUDA device and no OpenCL device with cl_khr_fp64. On Linux, CUDA needs libcuda.so " +
            "(the driver) on the library path; pass allowCpuAccelerator: true to fall back to ILGPU's CPU emulator, " +
            "or use the managed CpuBackend.");

    /// <summary>
    /// A backend on the first device of one kind, or null when there is none. <see cref="AcceleratorType.CPU"/>
    /// gives ILGPU's CPU accelerator with 4 threads per group (the emulator the tests use).
    /// </summary>
    /// <exception cref="InternalCompilerException">The device was found but a kernel failed to compile for it.</exception>
    public static IlgpuBackend? TryCreate(AcceleratorType type)
    {
        Context? context = null;
        Accelerator? accelerator = null;
        try
        {
            context = type switch
            {
                AcceleratorType.Cuda => Context.Create(b => b.Cuda()),
                AcceleratorType.OpenCL => Context.Create(b => b.OpenCL(d => d.HasExtension("cl_khr_fp64"))),
                AcceleratorType.CPU => Context.Create(b => b.CPU(new CPUDevice(4, 1, 1))),
                _ => null,
            };
            if (context is null) return null;
            Device? device = null;
            foreach (var d in context.Devices)
                if (d.AcceleratorType == type)
                {
                    device = d;
                    break;
                }
            if (device is null)
            {
                context.Dispose();
                return null;
            }
            accelerator = device is CPUDevice cpu
                ? cpu.CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel)
                : device.CreateAccelerator(context);
            return new IlgpuBackend(accelerator, context, true);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException
                                      or NotSupportedException or AcceleratorException)
        {
            // No usable driver: ILGPU reports most of these by listing no device, some by throwing.
            accelerator?.Dispose();
            context?.Dispose();
            return null;
        }
        catch
        {
            accelerator?.Dispose();
            context?.Dispose();
            throw;
        }
    }

    // ---- Workspace -----------------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void EnsureCapacity(long floats, long preserve)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (floats <= _capacity) return;
        var next = Accelerator.Allocate1D<float>(floats);
        next.View.MemSetToZero();
        if (_buffer is not null)
        {
            long keep = Math.Min(preserve, _capacity);
            if (keep > 0) _buffer.View.SubView(0, keep).CopyTo(next.View.SubView(0, keep));
            Accelerator.DefaultStream.Synchronize();
            _buffer.Dispose();
        }
        _buffer = next;
        _ws = next.View;
        _capacity = floats;
    }

    /// <summary>The workspace region [offset, offset + count), checked (a bad view would crash or corrupt the device).</summary>
    private ArrayView<float> V(int offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > _capacity)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"The region [{offset}, {offset + count}) lies outside the workspace of {_capacity} floats.");
        return _ws.SubView(offset, count);
    }

    /// <summary>The region, or a one-float placeholder that the kernel never reads when the offset is -1.</summary>
    private ArrayView<float> VOrDummy(int offset, long count) => offset < 0 ? _none : V(offset, count);

    private ArrayView<double> Scratch(long count)
    {
        if (_scratch is null || _scratch.Length < count)
        {
            Accelerator.DefaultStream.Synchronize();
            _scratch?.Dispose();
            _scratch = Accelerator.Allocate1D<double>(Math.Max(count, 256));
        }
        return _scratch.View;
    }

    private ArrayView<float> ScratchF(long count)
    {
        if (_scratchF is null || _scratchF.Length < count)
        {
            Accelerator.DefaultStream.Synchronize();
            _scratchF?.Dispose();
            _scratchF = Accelerator.Allocate1D<float>(Math.Max(count, 256));
        }
        return _scratchF.View;
    }

    /// <inheritdoc/>
    public void Upload(ReadOnlySpan<float> source, int offset)
    {
        if (source.IsEmpty) return;
        V(offset, source.Length).CopyFromCPU(source);
    }

    /// <inheritdoc/>
    public void Download(int offset, Span<float> destination)
    {
        if (destination.IsEmpty) return;
        V(offset, destination.Length).CopyToCPU(destination);
    }

    /// <inheritdoc/>
    public void Fill(int offset, int count, float value)
    {
        if (count <= 0) return;
        _k.Fill(count, V(offset, count), value);
    }

    /// <inheritdoc/>
    public void Copy(int source, int destination, int count)
    {
        if (count <= 0) return;
        V(source, count).CopyTo(V(destination, count)); // a device-side copy on the accelerator's default stream
    }

    // ---- Dense ---------------------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, int a, int lda, int b, int ldb, float beta, int c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
        var cv = V(c, (long)(m - 1) * ldc + n);
        bool product = k > 0 && alpha != 0f;
        var av = product ? V(a, transA ? (long)(k - 1) * lda + m : (long)(m - 1) * lda + k) : _none;
        var bv = product ? V(b, transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n) : _none;
        RunGemm(_k.GemmDense, m, n, k, alpha, av, new StridedOperand(lda, transA), bv, new StridedOperand(ldb, !transB), beta, cv, ldc);
    }

    /// <summary>
    /// Test hook: the number of k-slices every GEMM is split into (0 = automatic: split only when a GEMM has
    /// too few output tiles to fill a GPU, e.g. convolution kernel gradients).
    /// </summary>
    internal int ForcedSplits { get; set; }

    /// <summary>For benchmarks: GEMMs run the tile even where the wide kernel is loaded (the two compared in one process).</summary>
    internal bool TiledGemmOnly { get; set; }

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C through one GEMM kernel instantiation, split along k when that helps: the wide
    /// 128×128 kernel when C has at least 128 rows and columns and the accelerator has it, else the tile.
    /// </summary>
    private void RunGemm<TA, TB>(GemmKernels<TA, TB> kernels,
        int m, int n, int k, float alpha, ArrayView<float> a, TA opA, ArrayView<float> b, TB opB, float beta, ArrayView<float> c, int ldc)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0f)
        {
            _k.ScaleMatrix(checked(m * n), c, new ScaleParams(n, ldc, beta));
            return;
        }
        bool wide = kernels.Wide != null && !TiledGemmOnly && m >= DenseKernels.WideBlock && n >= DenseKernels.WideBlock;
        var kernel = wide ? kernels.Wide! : kernels.Tiled;
        int t = wide ? DenseKernels.WideThreads : _k.GemmThreads, block = wide ? DenseKernels.WideBlock : 4 * t,
            depth = wide ? DenseKernels.WideDepth : _k.GemmDepth;
        int gx = (n + block - 1) / block, gy = (m + block - 1) / block;
        int splits = ForcedSplits;
        if (splits <= 0)
        {
            splits = 1;
            int target = 2 * Math.Max(1, Accelerator.NumMultiprocessors);
            if (Accelerator.AcceleratorType != AcceleratorType.CPU && (long)gx * gy < target && k >= 512)
                splits = (int)Math.Min(Math.Min((target + (long)gx * gy - 1) / ((long)gx * gy), k / 256), 32);
        }
        int chunk = (k + splits - 1) / splits;
        chunk = (chunk + depth - 1) / depth * depth;
        splits = (k + chunk - 1) / chunk;
        var group = new Index3D(t, t, 1);
        if (splits == 1)
        {
            kernel(new KernelConfig(new Index3D(gx, gy, 1), group), a, b, c, new GemmShape(m, n, k, ldc, alpha, beta, k, 0), opA, opB);
            return;
        }
        int mn = checked(m * n);
        var partial = ScratchF(checked((long)splits * mn));
        kernel(new KernelConfig(new Index3D(gx, gy, splits), group), a, b, partial, new GemmShape(m, n, k, n, 1f, 0f, chunk, mn), opA, opB);
        _k.SumSplits(mn, partial, c, new GemmShape(m, n, k, ldc, alpha, beta, splits, mn));
    }

    /// <inheritdoc/>
    public void DenseForward(int rows, int inputs, int units, in Epilogue epilogue, int x, int kernel, int bias, int y)
    {
        epilogue.CheckNoDropout(nameof(DenseForward), addsResidual: true);
        if (epilogue.HasResidual) CpuBackend.CheckResidual(epilogue.Residual, y, (long)rows * units);
        int z = epilogue.StoresPreActivation ? epilogue.PreActivation : y;
        Gemm(false, false, rows, units, inputs, 1f, x, inputs, kernel, units, 0f, z, units);
        ApplyEpilogue(rows, units, epilogue, z, bias, y);
    }

    /// <summary>
    /// y = act(z + bias) with the epilogue's activation, also storing z + bias into its pre-activation slot when it has
    /// one (then z is that slot); softmax is applied per row after the bias.
    /// </summary>
    private void ApplyEpilogue(int rows, int cols, in Epilogue epilogue, int z, int bias, int y)
    {
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        long count = (long)rows * cols;
        if (count == 0) return;
        bool softmax = activation == ActivationFunction.Softmax;
        var elementwise = softmax ? ActivationFunction.Linear : activation;
        // The kernel's pre-activation view carries the residual instead when there is one (Epilogue allows never both).
        int side = epilogue.HasResidual ? epilogue.Residual : preActivation;
        if (bias >= 0 || elementwise != ActivationFunction.Linear || z != y || epilogue.HasResidual)
            _k.For(elementwise).BiasActivation(count, V(z, count), VOrDummy(bias, cols), VOrDummy(side, count), V(y, count),
                new EpilogueParams(cols, bias >= 0, preActivation >= 0, epilogue.HasResidual), alpha);
        if (softmax) _k.SoftmaxForward(rows, V(y, count), V(y, count), cols);
    }

    /// <inheritdoc/>
    public void DenseBackward(int rows, int inputs, int units, in Epilogue epilogue, bool gradientIsPreActivation,
        int x, int kernel, int y, int dy, int dx, int dKernel, int dBias, bool accumulateDx = false)
    {
        epilogue.CheckNoDropout(nameof(DenseBackward));
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        if (!gradientIsPreActivation && activation != ActivationFunction.Linear)
            ActivationBackward(activation, alpha, rows, units, preActivation, y, dy, dy);
        // dKernel[inputs, units] = xᵀ[inputs, rows] · dz[rows, units]
        Gemm(true, false, inputs, units, rows, 1f, x, inputs, dy, units, 0f, dKernel, units);
        if (dBias >= 0) BiasGradient(rows, units, dy, dBias);
        // dx[rows, inputs] = dz[rows, units] · kernelᵀ[units, inputs]
        if (dx >= 0) Gemm(false, true, rows, inputs, units, 1f, dy, units, kernel, units, accumulateDx ? 1f : 0f, dx, inputs);
    }

    /// <summary>db[c] = Σ_r dz[r, c].</summary>
    private void BiasGradient(int rows, int cols, int dz, int db)
    {
        if (cols <= 0) return;
        if (rows <= 0)
        {
            Fill(db, cols, 0f);
            return;
        }
        _k.ColumnSum(cols, V(dz, (long)rows * cols), V(db, cols), rows, cols);
    }

    // ---- Activations and dropout ---------------------------------------------------------------------------

    /// <inheritdoc/>
    public void ActivationForward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y)
    {
        long count = (long)rows * cols;
        if (count == 0) return;
        if (activation == ActivationFunction.Softmax)
        {
            _k.SoftmaxForward(rows, V(x, count), V(y, count), cols);
            return;
        }
        if (activation == ActivationFunction.Linear && x == y) return;
        _k.For(activation).BiasActivation(count, V(x, count), _none, _none, V(y, count),
            new EpilogueParams(cols, false, false), alpha);
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationFunction activation, float alpha, int rows, int cols, int x, int y, int dy, int dx)
    {
        long count = (long)rows * cols;
        if (count == 0) return;
        if (activation == ActivationFunction.Softmax)
        {
            _k.SoftmaxBackward(rows, V(y, count), V(dy, count), V(dx, count), cols);
            return;
        }
        if (activation == ActivationFunction.Linear && dx == dy) return;
        _k.For(activation).Backward(count, VOrDummy(x, count), V(y, count), V(dy, count), V(dx, count),
            new ActivationBackwardParams(x >= 0 ? 1 : 0), alpha);
    }

    /// <inheritdoc/>
    public void DropoutForward(int count, float rate, ulong key, int x, int y) => Dropout(count, rate, key, x, y);

    /// <inheritdoc/>
    public void DropoutBackward(int count, float rate, ulong key, int dy, int dx) => Dropout(count, rate, key, dy, dx);

    private void Dropout(int count, float rate, ulong key, int src, int dst)
    {
        if (count <= 0) return;
        _k.Dropout(count, V(src, count), V(dst, count),
            new DropoutParams(key, CounterRng.DropThreshold(rate), 1f / (1f - rate)));
    }

    // ---- Loss, metrics, optimizer --------------------------------------------------------------------------

    /// <inheritdoc/>
    public double Loss(Loss loss, LossInput input, int rows, int cols, int prediction, int labels, int gradient, float gradientScale)
    {
        if (loss is < NetGen.Loss.CategoricalCrossEntropy or > NetGen.Loss.MeanAbsoluteError)
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        if (rows <= 0) return 0;
        bool sparse = loss == NetGen.Loss.SparseCategoricalCrossEntropy;
        long count = (long)rows * cols;
        var scratch = Scratch(2L * rows);
        var rowLoss = scratch.SubView(0, rows);
        var flags = scratch.SubView(rows, rows);
        _k.LossRows(rows, V(prediction, count), V(labels, sparse ? rows : count), VOrDummy(gradient, count), rowLoss, flags,
            new LossParams(loss, input == LossInput.Logits, cols, gradient >= 0, gradientScale));
        var (sum, firstBad) = Reduce(rowLoss, flags, rows, sparse);
        if (firstBad >= 0)
        {
            Span<float> label = stackalloc float[1];
            Download(labels + firstBad, label);
            throw new ArgumentException($"Label {label[0]} in row {firstBad} is not a class index in [0, {cols}).");
        }
        return loss is NetGen.Loss.CategoricalCrossEntropy or NetGen.Loss.SparseCategoricalCrossEntropy ? sum : sum / cols;
    }

    /// <inheritdoc/>
    public bool AllFinite(int offset, int count)
    {
        if (count <= 0) return true;
        var scratch = Scratch(2L * count);
        var differences = scratch.SubView(0, count);
        _k.FiniteDifference(count, V(offset, count), differences);
        var (sum, _) = Reduce(differences, scratch.SubView(count, count), count, useFlags: false);
        return sum == 0;
    }

    /// <summary>Sums values[0..count) on the device; returns the sum and the first flagged index (or -1). Synchronises.</summary>
    private (double Sum, int FirstFlagged) Reduce(ArrayView<double> values, ArrayView<double> flags, int count, bool useFlags)
    {
        _k.Reduce(new KernelConfig(1, _k.ReduceThreads), values, flags, _resultView, new ReduceParams(count, useFlags));
        _resultView.CopyToCPU(_resultHost.AsSpan());
        return (_resultHost[0], (int)_resultHost[1]);
    }

    /// <inheritdoc/>
    public int CountCorrect(Metric metric, int rows, int cols, int prediction, int labels)
    {
        if (rows <= 0) return 0;
        long count = (long)rows * cols;
        var correct = Scratch(rows).SubView(0, rows);
        _k.CorrectRows(rows, V(prediction, count), V(labels, metric == Metric.SparseCategoricalAccuracy ? rows : count),
            correct, (int)metric, cols);
        int total = (int)Reduce(correct, correct, rows, false).Sum;
        return metric == Metric.BinaryAccuracy ? total / Math.Max(1, cols) : total;
    }

    /// <inheritdoc/>
    public void OptimizerStep(in OptimizerUpdate u, int parameters, int gradients, int state, int count, int slotStride = 0)
    {
        if (count <= 0) return;
        int stride = slotStride > 0 ? slotStride : (count + 15) / 16 * 16; // the model aligns each state slot to 16 floats
        var w = V(parameters, count);
        var g = V(gradients, count);
        ArrayView<float> Slot(int i) => V(state + i * stride, count);
        switch (u.Kind)
        {
            case OptimizerKind.Sgd:
                _k.Sgd(count, w, g, u.Momentum == 0 ? _none : Slot(0), new SgdParams(u.LearningRate, u.Momentum, u.Nesterov));
                break;
            case OptimizerKind.Adam:
            {
                double t = u.Step;
                float a = (float)(u.LearningRate * Math.Sqrt(1 - Math.Pow(u.Beta2, t)) / (1 - Math.Pow(u.Beta1, t)));
                _k.Adam(count, w, g, Slot(0), Slot(1), u.AmsGrad ? Slot(2) : _none,
                    new AdamParams(a, u.Beta1, u.Beta2, u.Epsilon, u.AmsGrad));
                break;
            }
            case OptimizerKind.RmsProp:
            {
                bool momentum = u.Momentum > 0;
                _k.RmsProp(count, w, g, Slot(0), momentum ? Slot(1) : _none,
                    u.Centered ? Slot(momentum ? 2 : 1) : _none,
                    new RmsPropParams(u.LearningRate, u.Beta1, u.Momentum, u.Epsilon, momentum, u.Centered));
                break;
            }
            case OptimizerKind.Adagrad:
                _k.Adagrad(count, w, g, Slot(0), u.LearningRate, u.Epsilon);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(u), u.Kind, "Unknown optimizer.");
        }
    }

    /// <summary>Waits until every launched kernel has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _buffer?.Dispose();
        _scratch?.Dispose();
        _scratchF?.Dispose();
        _dummy.Dispose();
        _result.Dispose();
        _buffer = null;
        _capacity = 0;
        if (_ownsAccelerator) Accelerator.Dispose();
        _ownedContext?.Dispose();
    }

    // ---- Kernels -------------------------------------------------------------------------------------------

    /// <summary>
    /// Every kernel of the backend, loaded once per accelerator (shared by all backends on it) with its launcher
    /// delegate cached. Element-wise kernels use ILGPU's auto grouping on a GPU and a group size of 1 on the CPU
    /// accelerator (where each group costs an OS-thread barrier). The GEMM tile follows the device: 16×16
    /// threads on a GPU, 2×2 (or 1×1) on the CPU accelerator.
    /// </summary>
    internal sealed partial class KernelSet
    {
        private static readonly ConditionalWeakTable<Accelerator, KernelSet> Sets = new();

        private readonly Accelerator _acc;
        private readonly bool _cpu;
        private readonly ActivationKernels?[] _activations = new ActivationKernels?[Enum.GetValues<ActivationFunction>().Length];
        private readonly List<(MethodInfo Method, bool Grouped)> _loaded = [];

        public static KernelSet For(Accelerator accelerator)
        {
            lock (Sets) return Sets.GetValue(accelerator, a => new KernelSet(a));
        }

        private KernelSet(Accelerator accelerator)
        {
            _acc = accelerator;
            _cpu = accelerator.AcceleratorType == AcceleratorType.CPU;
            int maxGroup = accelerator.MaxNumThreadsPerGroup;
            (GemmThreads, GemmDepth) = !_cpu && maxGroup >= 256 ? (16, 16) : !_cpu && maxGroup >= 64 ? (8, 8) : maxGroup >= 4 ? (2, 4) : (1, 4);
            UsesWideGemm = (GemmThreads == 16 || WideOnCpuForTests && maxGroup >= 256)
                && Environment.GetEnvironmentVariable("NETGEN_GPU_GEMM")?.Trim() != "tiled";
            GemmDense = LoadGemm<StridedOperand, StridedOperand>();
            SumSplits = Elementwise<ArrayView<float>, ArrayView<float>, GemmShape>(DenseKernels.SumSplits);
            ReduceThreads = 1;
            while (ReduceThreads * 2 <= Math.Min(maxGroup, LossKernels.MaxReduceGroup)) ReduceThreads *= 2;
            Reduce = Grouped<ArrayView<double>, ArrayView<double>, ArrayView<double>, ReduceParams>(LossKernels.Reduce);
            Fill = Elementwise<ArrayView<float>, float>(ElementwiseKernels.Fill);
            ScaleMatrix = Elementwise<ArrayView<float>, ScaleParams>(ElementwiseKernels.ScaleMatrix);
            SoftmaxForward = Elementwise<ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.SoftmaxForward);
            SoftmaxBackward = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.SoftmaxBackward);
            Dropout = Elementwise<ArrayView<float>, ArrayView<float>, DropoutParams>(ElementwiseKernels.Dropout);
            ColumnSum = Elementwise<ArrayView<float>, ArrayView<float>, int, int>(DenseKernels.ColumnSum);
            LossRows = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<double>, ArrayView<double>, LossParams>(
                LossKernels.LossRows);
            CorrectRows = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int>(LossKernels.CorrectRows);
            FiniteDifference = Elementwise<ArrayView<float>, ArrayView<double>>(LossKernels.FiniteDifference);
            Sgd = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdParams>(OptimizerKernels.Sgd);
            Adam = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamParams>(
                OptimizerKernels.Adam);
            RmsProp = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RmsPropParams>(
                OptimizerKernels.RmsProp);
            Adagrad = Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float>(OptimizerKernels.Adagrad);
        }

        /// <summary>Threads per GEMM group along each axis (the tile's T).</summary>
        public int GemmThreads { get; }

        /// <summary>k values per GEMM shared-memory slice (the tile's Depth).</summary>
        public int GemmDepth { get; }

        /// <summary>Threads of the single <see cref="Reduce"/> group.</summary>
        public int ReduceThreads { get; }

        public GemmKernels<StridedOperand, StridedOperand> GemmDense { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, GemmShape> SumSplits { get; }
        public Action<KernelConfig, ArrayView<double>, ArrayView<double>, ArrayView<double>, ReduceParams> Reduce { get; }
        public Action<Index1D, ArrayView<float>, float> Fill { get; }
        public Action<Index1D, ArrayView<float>, ScaleParams> ScaleMatrix { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, int> SoftmaxForward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> SoftmaxBackward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, DropoutParams> Dropout { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> ColumnSum { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<double>, ArrayView<double>, LossParams> LossRows { get; }

        /// <summary>y[i] = x[i] − x[i]: 0 for a finite value, NaN otherwise (<see cref="IlgpuBackend.AllFinite"/> sums them).</summary>
        public Action<Index1D, ArrayView<float>, ArrayView<double>> FiniteDifference { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int> CorrectRows { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdParams> Sgd { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamParams> Adam { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RmsPropParams> RmsProp { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float> Adagrad { get; }

        /// <summary>Every kernel loaded so far on this accelerator, and whether it is explicitly grouped.</summary>
        public IReadOnlyList<(MethodInfo Method, bool Grouped)> Loaded
        {
            get
            {
                lock (_loaded) return [.. _loaded];
            }
        }

        /// <summary>The kernels of one element-wise activation (not softmax), loaded on first use.</summary>
        public ActivationKernels For(ActivationFunction f)
        {
            int i = (int)f;
            if ((uint)i >= (uint)_activations.Length || f == ActivationFunction.Softmax)
                throw new ArgumentOutOfRangeException(nameof(f), f, "Not an element-wise activation.");
            var set = Volatile.Read(ref _activations[i]);
            if (set is not null) return set;
            lock (_activations)
            {
                return _activations[i] ??= f switch
                {
                    ActivationFunction.Linear => Create<LinearActivation>(static _ => default),
                    ActivationFunction.Relu => Create<ReluActivation>(static _ => default),
                    ActivationFunction.Sigmoid => Create<SigmoidActivation>(static _ => default),
                    ActivationFunction.Tanh => Create<TanhActivation>(static _ => default),
                    ActivationFunction.Elu => Create<EluActivation>(static _ => default),
                    ActivationFunction.Selu => Create<SeluActivation>(static _ => default),
                    ActivationFunction.Softplus => Create<SoftplusActivation>(static _ => default),
                    ActivationFunction.Softsign => Create<SoftsignActivation>(static _ => default),
                    ActivationFunction.HardSigmoid => Create<HardSigmoidActivation>(static _ => default),
                    ActivationFunction.Swish => Create<SwishActivation>(static _ => default),
                    ActivationFunction.Gelu => Create<GeluActivation>(static _ => default),
                    ActivationFunction.Exponential => Create<ExponentialActivation>(static _ => default),
                    ActivationFunction.LeakyRelu => Create<LeakyReluActivation>(static a => new LeakyReluActivation(a)),
                    ActivationFunction.EluAlpha => Create<EluAlphaActivation>(static a => new EluAlphaActivation(a)),
                    _ => throw new ArgumentOutOfRangeException(nameof(f), f, "Unknown activation."),
                };
            }
        }

        private ActivationKernels<TAct> Create<TAct>(Func<float, TAct> make) where TAct : struct, IActivation =>
            new(this, make,
                Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EpilogueParams, TAct>(
                    ElementwiseKernels.BiasActivation<TAct>),
                Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationBackwardParams, TAct>(
                    ElementwiseKernels.ActivationBackward<TAct>));

        /// <summary>Loads every kernel now (all activations, batch norm and convolutions), e.g. to warm up or to list them.</summary>
        internal void LoadAll()
        {
            foreach (var f in Enum.GetValues<ActivationFunction>())
                if (f != ActivationFunction.Softmax) For(f).LoadBatchNorm();
            _ = Convolution;
            _ = ActivationNoise;
            _ = Resampling;
            _ = DepthwiseConvolution;
            _ = Merge;
            _ = BatchNormFrozen;
            _ = Recurrent;
        }

        /// <summary>
        /// The GEMM for one pair of operand kinds: this accelerator's tile, and on a GPU with 256-thread groups also
        /// the 128×128 register-blocked kernel (<see cref="DenseKernels.GemmWide{TA, TB}"/>) unless
        /// <c>NETGEN_GPU_GEMM=tiled</c> asks for the tile alone.
        /// </summary>
        internal GemmKernels<TA, TB> LoadGemm<TA, TB>()
            where TA : struct, IGemmOperand
            where TB : struct, IGemmOperand =>
            new(GemmThreads switch
            {
                16 => Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>(DenseKernels.Gemm<GemmTile16, TA, TB>),
                8 => Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>(DenseKernels.Gemm<GemmTile8, TA, TB>),
                2 => Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>(DenseKernels.Gemm<GemmTile2, TA, TB>),
                _ => Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>(DenseKernels.Gemm<GemmTile1, TA, TB>),
            }, UsesWideGemm ? Grouped<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>(DenseKernels.GemmWide<TA, TB>) : null);

        /// <summary>Whether GEMMs large enough run <see cref="DenseKernels.GemmWide{TA, TB}"/> (a GPU with 256-thread groups).</summary>
        public bool UsesWideGemm { get; }

        /// <summary>
        /// For tests, on the thread that creates a kernel set: a CPU accelerator with 256-thread groups runs the wide
        /// GEMM too, so the backend's calls through it are checked without a GPU.
        /// </summary>
        [ThreadStatic] internal static bool WideOnCpuForTests;

        /// <summary>Convolution, pooling and batch-norm kernels, loaded on first use.</summary>
        public ConvolutionKernels Convolution
        {
            get
            {
                var set = Volatile.Read(ref _convolution);
                if (set is not null) return set;
                lock (_activations) return _convolution ??= new ConvolutionKernels(this);
            }
        }

        private ConvolutionKernels? _convolution;

        private void Record(Delegate kernel, bool grouped)
        {
            lock (_loaded) _loaded.Add((kernel.Method, grouped));
        }

        private Action<KernelConfig, T1, T2, T3, T4> Grouped<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct
        {
            Record(kernel, true);
            return _acc.LoadStreamKernel(kernel);
        }

        private Action<KernelConfig, T1, T2, T3, T4, T5, T6> Grouped<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
        {
            Record(kernel, true);
            return _acc.LoadStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2> Elementwise<T1, T2>(Action<Index1D, T1, T2> kernel)
            where T1 : struct where T2 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3> Elementwise<T1, T2, T3>(Action<Index1D, T1, T2, T3> kernel)
            where T1 : struct where T2 : struct where T3 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4> Elementwise<T1, T2, T3, T4>(Action<Index1D, T1, T2, T3, T4> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5> Elementwise<T1, T2, T3, T4, T5>(Action<Index1D, T1, T2, T3, T4, T5> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8> Elementwise<T1, T2, T3, T4, T5, T6, T7, T8>(
            Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
            where T7 : struct where T8 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9> Elementwise<T1, T2, T3, T4, T5, T6, T7, T8, T9>(
            Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
            where T7 : struct where T8 : struct where T9 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> Elementwise<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(
            Action<Index1D, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
            where T7 : struct where T8 : struct where T9 : struct where T10 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5, T6> Elementwise<T1, T2, T3, T4, T5, T6>(
            Action<Index1D, T1, T2, T3, T4, T5, T6> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }

        internal Action<Index1D, T1, T2, T3, T4, T5, T6, T7> Elementwise<T1, T2, T3, T4, T5, T6, T7>(
            Action<Index1D, T1, T2, T3, T4, T5, T6, T7> kernel)
            where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
            where T7 : struct
        {
            Record(kernel, false);
            return _cpu ? _acc.LoadImplicitlyGroupedStreamKernel(kernel, 1) : _acc.LoadAutoGroupedStreamKernel(kernel);
        }
    }

    /// <summary>The element-wise kernels of one activation, behind a non-generic face.</summary>
    internal abstract class ActivationKernels
    {
        /// <summary>y = act(z + bias) (see <see cref="ElementwiseKernels.BiasActivation{TAct}"/>).</summary>
        public abstract void BiasActivation(long count, ArrayView<float> z, ArrayView<float> bias, ArrayView<float> pre,
            ArrayView<float> y, EpilogueParams p, float alpha);

        /// <summary>dx = dy·act'(x, y) (see <see cref="ElementwiseKernels.ActivationBackward{TAct}"/>).</summary>
        public abstract void Backward(long count, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
            ActivationBackwardParams p, float alpha);

        /// <summary>Loads the batch-norm kernel of this activation.</summary>
        public abstract void LoadBatchNorm();

        /// <summary>Batch-norm normalisation + activation (+ dropout) (see <see cref="BatchNormKernels.Apply{TAct}"/>); loaded on first use.</summary>
        public abstract void BatchNormApply(long count, ArrayView<float> x, ArrayView<float> coefficients, ArrayView<float> pre,
            ArrayView<float> y, EpilogueParams p, DropoutParams drop, float alpha);

        /// <summary>
        /// The backward of a dropout fused into batch norm, then act' (see
        /// <see cref="BatchNormKernels.DropoutActivationBackward{TAct}"/>); loaded on first use.
        /// </summary>
        public abstract void BatchNormDropoutBackward(long count, ArrayView<float> pre, ArrayView<float> dy, DropoutParams drop,
            ActivationBackwardParams p, float alpha);
    }

    private sealed class ActivationKernels<TAct>(
        KernelSet owner,
        Func<float, TAct> make,
        Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EpilogueParams, TAct> biasActivation,
        Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ActivationBackwardParams, TAct> backward)
        : ActivationKernels where TAct : struct, IActivation
    {
        public override void BiasActivation(long count, ArrayView<float> z, ArrayView<float> bias, ArrayView<float> pre,
            ArrayView<float> y, EpilogueParams p, float alpha) =>
            biasActivation(checked((int)count), z, bias, pre, y, p, make(alpha));

        public override void Backward(long count, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
            ActivationBackwardParams p, float alpha) =>
            backward(checked((int)count), x, y, dy, dx, p, make(alpha));

        private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EpilogueParams, DropoutParams, TAct>? _batchNormApply;
        private Action<Index1D, ArrayView<float>, ArrayView<float>, DropoutParams, ActivationBackwardParams, TAct>? _batchNormDropoutBackward;

        public override void LoadBatchNorm()
        {
            GetBatchNormApply();
            GetBatchNormDropoutBackward();
        }

        public override void BatchNormApply(long count, ArrayView<float> x, ArrayView<float> coefficients, ArrayView<float> pre,
            ArrayView<float> y, EpilogueParams p, DropoutParams drop, float alpha) =>
            GetBatchNormApply()(checked((int)count), x, coefficients, pre, y, p, drop, make(alpha));

        public override void BatchNormDropoutBackward(long count, ArrayView<float> pre, ArrayView<float> dy, DropoutParams drop,
            ActivationBackwardParams p, float alpha) =>
            GetBatchNormDropoutBackward()(checked((int)count), pre, dy, drop, p, make(alpha));

        private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EpilogueParams, DropoutParams, TAct> GetBatchNormApply()
        {
            var kernel = Volatile.Read(ref _batchNormApply);
            if (kernel is not null) return kernel;
            lock (owner)
                return _batchNormApply ??=
                    owner.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EpilogueParams, DropoutParams, TAct>(
                        BatchNormKernels.Apply<TAct>);
        }

        private Action<Index1D, ArrayView<float>, ArrayView<float>, DropoutParams, ActivationBackwardParams, TAct> GetBatchNormDropoutBackward()
        {
            var kernel = Volatile.Read(ref _batchNormDropoutBackward);
            if (kernel is not null) return kernel;
            lock (owner)
                return _batchNormDropoutBackward ??=
                    owner.Elementwise<ArrayView<float>, ArrayView<float>, DropoutParams, ActivationBackwardParams, TAct>(
                        BatchNormKernels.DropoutActivationBackward<TAct>);
        }
    }

    /// <summary>Convolution, pooling and batch-norm kernels of one accelerator.</summary>
    internal sealed class ConvolutionKernels
    {
        public ConvolutionKernels(KernelSet k)
        {
            Forward = k.LoadGemm<Im2ColOperand, StridedOperand>();
            KernelGradient = k.LoadGemm<Im2ColTransposedOperand, StridedOperand>();
            InputGradient = k.LoadGemm<OutputGradientOperand, KernelTransposedOperand>();
            ColumnBlockSums = k.Elementwise<ArrayView<float>, ArrayView<double>, int, int>(ConvKernels.ColumnBlockSums);
            FinishColumnSums = k.Elementwise<ArrayView<double>, ArrayView<float>, int, int>(ConvKernels.FinishColumnSums);
            MaxForward = k.Elementwise<ArrayView<float>, ArrayView<float>, PoolShape>(PoolKernels.MaxForward);
            MaxBackward = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape>(PoolKernels.MaxBackward);
            AvgForward = k.Elementwise<ArrayView<float>, ArrayView<float>, PoolShape>(PoolKernels.AvgForward);
            AvgBackward = k.Elementwise<ArrayView<float>, ArrayView<float>, PoolShape>(PoolKernels.AvgBackward);
            StatisticsPartials = k.Elementwise<ArrayView<float>, ArrayView<double>, int, int>(BatchNormKernels.StatisticsPartials);
            FinishStatistics = k.Elementwise<ArrayView<float>, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormStatsParams>(BatchNormKernels.FinishStatistics);
            InferenceCoefficients = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                BatchNormStatsParams>(BatchNormKernels.InferenceCoefficients);
            BackwardPartials = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int>(
                BatchNormKernels.BackwardPartials);
            FinishBackward = k.Elementwise<ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, BatchNormBackwardParams>(BatchNormKernels.FinishBackward);
            BackwardDx = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BatchNormKernels.BackwardDx);
            Fold = k.Elementwise<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, FoldParams>(BatchNormKernels.Fold);
        }

        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, FoldParams> Fold { get; }

        public GemmKernels<Im2ColOperand, StridedOperand> Forward { get; }
        public GemmKernels<Im2ColTransposedOperand, StridedOperand> KernelGradient { get; }
        public GemmKernels<OutputGradientOperand, KernelTransposedOperand> InputGradient { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<double>, int, int> ColumnBlockSums { get; }
        public Action<Index1D, ArrayView<double>, ArrayView<float>, int, int> FinishColumnSums { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, PoolShape> MaxForward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape> MaxBackward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, PoolShape> AvgForward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, PoolShape> AvgBackward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<double>, int, int> StatisticsPartials { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormStatsParams> FinishStatistics { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormStatsParams>
            InferenceCoefficients { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int> BackwardPartials { get; }
        public Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, BatchNormBackwardParams> FinishBackward { get; }
        public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> BackwardDx { get; }
    }
}


/// <summary>
/// One GEMM operand pair's kernels: the accelerator's tile (<see cref="DenseKernels.Gemm{TTile, TA, TB}"/>), and on a
/// GPU the 128×128 register-blocked kernel (<see cref="DenseKernels.GemmWide{TA, TB}"/>; null where not loaded).
/// </summary>
internal sealed record GemmKernels<TA, TB>(
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB> Tiled,
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, TA, TB>? Wide)
    where TA : struct, IGemmOperand
    where TB : struct, IGemmOperand;
/// <summary>Chooses the backend a model runs on when the user does not.</summary>
public static class BackendSelector
{
    /// <summary>The environment variable that overrides the choice: <c>cpu</c>, <c>cuda</c>, <c>opencl</c> or <c>ilgpu-cpu</c>.</summary>
    public const string EnvironmentVariable = "NETGEN_BACKEND";

    /// <summary>
    /// The feature switch that removes the ILGPU backends from a trimmed or NativeAOT program (CPU inference needs no
    /// ILGPU): <c>&lt;RuntimeHostConfigurationOption Include="NetGen.Backends.Ilgpu.IsSupported" Value="false" Trim="true" /&gt;</c>
    /// in the project. On by default.
    /// </summary>
    public const string IlgpuSwitch = "NetGen.Backends.Ilgpu.IsSupported";

    [System.Diagnostics.CodeAnalysis.FeatureSwitchDefinition(IlgpuSwitch)]
    internal static bool IlgpuIsSupported => !AppContext.TryGetSwitch(IlgpuSwitch, out bool on) || on;

    /// <summary>
    /// An <see cref="IlgpuBackend"/> on a real GPU (CUDA, then OpenCL) when there is one, otherwise the managed
    /// <see cref="CpuBackend"/>. <c>NETGEN_BACKEND</c> forces a choice: <c>cpu</c> (managed), <c>cuda</c>,
    /// <c>opencl</c>, or <c>ilgpu-cpu</c> (ILGPU's CPU emulator, for tests).
    /// </summary>
    /// <exception cref="InvalidOperationException">The forced device is not present, or the value is unknown.</exception>
    public static IBackend Default()
    {
        string? choice = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        if (!IlgpuIsSupported)
            return choice is null or "" or "cpu" ? new CpuBackend() : throw new InvalidOperationException(
                $"{EnvironmentVariable}={choice} was requested, but this program was built without the ILGPU backends (the {IlgpuSwitch} switch is off, as for a NativeAOT CPU build). Unset it to use the managed CPU backend.");
        return choice switch
        {
            null or "" => Automatic(),
            "cpu" => new CpuBackend(),
            "cuda" or "opencl" or "ilgpu-cpu" => Forced(choice),
            _ => throw new InvalidOperationException(
                $"{EnvironmentVariable}={choice} is not a backend; use cpu, cuda, opencl or ilgpu-cpu, or unset it to choose automatically."),
        };
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // touches ILGPU's types: kept out of Default, which a CPU-only process runs
    private static IBackend Forced(string choice) => choice switch
    {
        "cuda" => IlgpuBackend.TryCreate(AcceleratorType.Cuda) ?? throw Missing("cuda", "no CUDA device (is libcuda.so on the library path?)"),
        "opencl" => IlgpuBackend.TryCreate(AcceleratorType.OpenCL) ?? throw Missing("opencl", "no OpenCL device with cl_khr_fp64"),
        _ => IlgpuBackend.TryCreate(AcceleratorType.CPU) ?? throw Missing("ilgpu-cpu", "ILGPU's CPU accelerator could not start"),
    };

    /// <summary>CUDA, then OpenCL, then the managed CPU backend; a GPU whose kernels fail to load is skipped with a trace message.</summary>
    private static bool s_noGpu;

    private static IBackend Automatic()
    {
        if (Volatile.Read(ref s_noGpu)) return new CpuBackend(); // probed once per process: models are created often
        if (!GpuPresent())
        {
            // No CUDA device and no OpenCL platform: ILGPU (its assembly, its context, their JIT) is never touched, which
            // saves a CPU-only process about 6 MB of resident memory and the time of ILGPU's own probe.
            Volatile.Write(ref s_noGpu, true);
            return new CpuBackend();
        }
        return ProbeGpus();
    }

    /// <summary>
    /// Whether the CUDA driver reports a device or an OpenCL loader a platform, asked directly (cuInit and
    /// cuDeviceGetCount, clGetPlatformIDs): an OpenCL loader alone, with no vendor driver behind it, is common on Linux.
    /// A library once called stays loaded (the GPU backend loads it again).
    /// </summary>
    internal static unsafe bool GpuPresent()
    {
        string[] cuda = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : OperatingSystem.IsMacOS() ? [] : ["libcuda.so.1", "libcuda.so"];
        string[] openCl = OperatingSystem.IsWindows() ? ["OpenCL.dll"]
            : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"] : ["libOpenCL.so.1", "libOpenCL.so"];
        foreach (string name in cuda)
        {
            if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(name, out nint lib)) continue;
            if (System.Runtime.InteropServices.NativeLibrary.TryGetExport(lib, "cuInit", out nint init) &&
                System.Runtime.InteropServices.NativeLibrary.TryGetExport(lib, "cuDeviceGetCount", out nint count))
            {
                int devices = 0;
                if (((delegate* unmanaged<uint, int>)init)(0) == 0 && ((delegate* unmanaged<int*, int>)count)(&devices) == 0 && devices > 0)
                    return true;
            }
            break;
        }
        foreach (string name in openCl)
        {
            if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(name, out nint lib)) continue;
            if (System.Runtime.InteropServices.NativeLibrary.TryGetExport(lib, "clGetPlatformIDs", out nint platforms))
            {
                uint n = 0;
                if (((delegate* unmanaged<uint, nint, uint*, int>)platforms)(0, 0, &n) == 0 && n > 0) return true;
            }
            break;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // the only method here that touches ILGPU's types
    private static IBackend ProbeGpus()
    {
        foreach (var type in (ReadOnlySpan<AcceleratorType>)[AcceleratorType.Cuda, AcceleratorType.OpenCL])
        {
            try
            {
                var backend = IlgpuBackend.TryCreate(type);
                if (backend is not null) return backend;
            }
            catch (Exception e)
            {
                System.Diagnostics.Trace.TraceWarning($"NetGen: the {type} device could not be used ({e.GetType().Name}: {e.Message}); trying the next backend.");
            }
        }
        Volatile.Write(ref s_noGpu, true);
        return new CpuBackend();
    }

    private static InvalidOperationException Missing(string choice, string why) =>
        new($"{EnvironmentVariable}={choice} was requested, but ILGPU found {why}. Unset it to fall back to the managed CPU backend.");
}
