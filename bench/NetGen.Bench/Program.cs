// NetGen side of the benchmark. Prints one JSON object per line, in the same format as bench/torch_bench.py:
//   dotnet run -c Release --project bench/NetGen.Bench -- [sgemm] [gpu] [conv] [bn-dropout-op] [mlp-small] [mlp] [autoencoder] ...
// losses prints the residual net's first five training losses as float bits (compare two builds bit for bit).
// alternate:SETTING trains the residual net with one CPU setting off and on in alternating rounds (AlternatingBench).
// train:NAME runs only that network's training phase, infer:NAME:BATCH only its inference at that batch (what
// bench/profile.sh samples; NETGEN_BENCH_INTO=1: through Predict(x, output), which allocates nothing per call).
// bench/run.sh runs both sides in the same run and prints the ratios.
using NetGen.Bench;

if (args is ["sgemm", var option, ..] && option.StartsWith("--", StringComparison.Ordinal)) // sgemm with options: --shape MxNxK[:TN] --threads N ... (SgemmBench.Run); "sgemm mlp ..." runs the default sgemm set, then the networks
{
    SgemmBench.Run(args[1..]);
    return;
}
var names = args.Length > 0 ? args : ["sgemm", .. NetworkBench.Names];
foreach (var name in names)
{
    if (name == "sgemm") SgemmBench.Run([]);
    else if (name == "gpu") GpuBench.Run();
    else if (name == "gpu-layers") GpuBench.RunLayers(); // the Fashion CNN's layers on CUDA, 64x64 tile against the wide GEMM
    else if (name == "conv") ConvBench.Run();
    else if (name == "conv-only") ConvBench.RunConvolutions();
    else if (name == "winograd-blocks") ConvBench.RunConvolutions([24, 48, 96, 144, 192]);
    else if (name == "winograd-resnet-blocks") WinogradResNetBlocks.Run();
    else if (name == "bn-dropout-op") ConvBench.RunBatchNormDropout();
    else if (name == "resnet-ops") ConvBench.RunResNetOps();
    else if (name.StartsWith("resnet-infer-ops:", StringComparison.Ordinal)) // the residual net's convolutions in inference at a batch
    {
        var parts = name.Split(':'); // resnet-infer-ops:BATCH[:part of the op's name]
        ConvBench.RunResNetInferenceOps(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts.Length > 2 ? parts[2] : null);
    }
    else if (name.StartsWith("export-onnx:", StringComparison.Ordinal)) // export-onnx:DIR[:mlp,resnet,...]
    {
        var parts = name.Split(':');
        NetworkBench.ExportOnnx(parts[1], parts.Length > 2 ? parts[2].Split(',') : ["mlp-small", "mlp", "bn-dropout-cnn", "resnet"]);
    }
    else if (name == "losses") LossBits.Run(); // five training losses as bits, to compare two builds
    else if (name == "vector-math") VectorMathBench.Run();
    else if (name.StartsWith("alternate-infer:", StringComparison.Ordinal)) AlternatingInference.Run(name["alternate-infer:".Length..]); // an inference setting on and off
    else if (name.StartsWith("alternate:", StringComparison.Ordinal)) AlternatingBench.Run(name["alternate:".Length..]); // one setting on and off, in one process
    else if (name.StartsWith("train:", StringComparison.Ordinal)) NetworkBench.Run(name["train:".Length..], trainOnly: true); // bench/profile.sh
    else if (name.StartsWith("infer:", StringComparison.Ordinal)) // bench/profile.sh infer:lstm:32
    {
        var parts = name.Split(':');
        NetworkBench.RunInference(parts[1], parts.Length > 2 ? int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) : 256);
    }
    else NetworkBench.Run(name);
}
