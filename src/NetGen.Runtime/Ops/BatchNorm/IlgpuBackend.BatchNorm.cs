using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NetGen.Kernels;

namespace NetGen.Backends;

// Batch normalisation on the GPU (BatchNormKernels): statistics, normalisation with the fused activation and dropout, backward, and folding into the layer before it.
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(int rows, in BatchNormArguments a, bool training, in Epilogue epilogue, int x, int y)
    {
        epilogue.CheckNoResidual(nameof(BatchNormForward));
        if (training) epilogue.CheckDropout();
        int channels = a.Channels;
        if (rows <= 0 || channels <= 0) return;
        var (gamma, beta, movingMean, movingVariance, savedMean, savedInvStd) = (a.Gamma, a.Beta, a.MovingMean, a.MovingVariance, a.SavedMean, a.SavedInvStd);
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        var ck = _k.Convolution;
        long count = (long)rows * channels;
        var coefficients = ScratchF(4L * channels);
        int blocks = (rows + BatchNormKernels.BlockRows - 1) / BatchNormKernels.BlockRows;
        var p = new BatchNormStatsParams(rows, channels, blocks, a.Momentum, a.Epsilon, a.UnbiasedMovingVariance, gamma >= 0, beta >= 0,
            savedMean >= 0, savedInvStd >= 0);
        if (training)
        {
            var partial = Scratch(2L * blocks * channels);
            ck.StatisticsPartials(blocks * channels, V(x, count), partial, rows, channels);
            ck.FinishStatistics(channels, V(x, channels), partial, VOrDummy(gamma, channels), VOrDummy(beta, channels),
                V(movingMean, channels), V(movingVariance, channels), VOrDummy(savedMean, channels), VOrDummy(savedInvStd, channels),
                coefficients, p);
        }
        else
        {
            ck.InferenceCoefficients(channels, VOrDummy(gamma, channels), VOrDummy(beta, channels), V(movingMean, channels),
                V(movingVariance, channels), coefficients, p);
        }
        bool softmax = activation == ActivationFunction.Softmax;
        _k.For(softmax ? ActivationFunction.Linear : activation).BatchNormApply(count, V(x, count), coefficients,
            VOrDummy(preActivation, count), V(y, count), new EpilogueParams(channels, false, preActivation >= 0),
            FusedDropout(training ? epilogue.DropoutRate : 0f, epilogue.DropoutKey), alpha);
        if (softmax) _k.SoftmaxForward(rows, V(y, count), V(y, count), channels);
    }

    /// <inheritdoc/>
    public void FoldBatchNorm(int fanIn, int channels, int inner, float epsilon, int kernel, int bias, int gamma, int beta,
        int movingMean, int movingVariance, int foldedKernel, int foldedBias)
    {
        if (fanIn <= 0 || channels <= 0 || inner <= 0) return;
        long count = (long)fanIn * channels * inner;
        _k.Convolution.Fold(checked((int)count), V(kernel, count), VOrDummy(bias, channels), VOrDummy(gamma, channels), VOrDummy(beta, channels),
            V(movingMean, channels), V(movingVariance, channels), V(foldedKernel, count), V(foldedBias, channels),
            new FoldParams(channels, inner, epsilon, bias >= 0, gamma >= 0, beta >= 0));
    }

    /// <inheritdoc/>
    public void BatchNormBackward(int rows, in BatchNormArguments a, in Epilogue epilogue, int x, int y, int dy, int dx, int dGamma, int dBeta,
        bool accumulateDx = false)
    {
        epilogue.CheckDropout();
        int channels = a.Channels;
        if (rows <= 0 || channels <= 0) return;
        var (gamma, savedMean, savedInvStd) = (a.Gamma, a.SavedMean, a.SavedInvStd);
        var (activation, alpha, preActivation) = (epilogue.Activation, epilogue.Alpha, epilogue.PreActivation);
        var ck = _k.Convolution;
        long count = (long)rows * channels;
        if (epilogue.HasDropout)
            _k.For(activation).BatchNormDropoutBackward(count, VOrDummy(preActivation, count), V(dy, count),
                FusedDropout(epilogue.DropoutRate, epilogue.DropoutKey), new ActivationBackwardParams(preActivation >= 0 ? 1 : 0), alpha);
        else if (activation != ActivationFunction.Linear) ActivationBackward(activation, alpha, rows, channels, preActivation, y, dy, dy);
        int blocks = (rows + BatchNormKernels.BlockRows - 1) / BatchNormKernels.BlockRows;
        var partial = Scratch(2L * blocks * channels);
        var coefficients = ScratchF(4L * channels);
        ck.BackwardPartials(blocks * channels, V(x, count), V(dy, count), V(savedMean, channels), partial, rows, channels);
        ck.FinishBackward(channels, partial, VOrDummy(gamma, channels), V(savedMean, channels), V(savedInvStd, channels),
            VOrDummy(dGamma, channels), VOrDummy(dBeta, channels), coefficients,
            new BatchNormBackwardParams(rows, channels, blocks, gamma >= 0, dGamma >= 0, dBeta >= 0));
        if (dx >= 0) ck.BackwardDx(checked((int)count), V(x, count), V(dy, count), coefficients, V(dx, count), channels, accumulateDx ? 1 : 0);
    }

    /// <summary>The parameters of a dropout fused into batch norm; a threshold of 0 (rate 0) turns it off.</summary>
    private static DropoutParams FusedDropout(float rate, ulong key) =>
        rate > 0f ? new DropoutParams(key, CounterRng.DropThreshold(rate), 1f / (1f - rate)) : default;
}
