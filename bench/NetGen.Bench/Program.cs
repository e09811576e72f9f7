// NetGen side of the benchmark. Prints one JSON object per line, in the same format as bench/torch_bench.py:
//   dotnet run -c Release --project bench/NetGen.Bench -- [sgemm] [gpu] [ort:DIR] [mlp-small] [mlp] [autoencoder]
// bench/run.sh runs both sides in the same run and prints the ratios.
using NetGen.Bench;

var names = args.Length > 0 ? args : ["sgemm", .. NetworkBench.Names];
foreach (var name in names)
{
    if (name == "sgemm") SgemmBench.Run([]);
    else if (name == "gpu") GpuBench.Run();
    else if (name.StartsWith("ort:", StringComparison.Ordinal)) OrtBench.Run(name[4..]);
    else NetworkBench.Run(name);
}
