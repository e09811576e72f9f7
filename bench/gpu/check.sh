#!/usr/bin/env bash
# The CUDA checks of the speed issue, prepared here and run on a lent GPU machine (which has no .NET):
#   bench/gpu/check.sh publish    here: NetGen.Bench as a self-contained linux-x64 app, packed as
#                                 bench/gpu/publish.tar.gz (ignored by git; about 35 MB: carry it to the device)
#   bench/gpu/check.sh run        there: per layer of the Fashion CNN, the 64x64 GEMM tile against the 128x128
#                                 register-blocked kernel in one process (gpu-layers), then the CPU/CUDA parity and
#                                 training throughput with each (gpu, NETGEN_GPU_GEMM=tiled gpu); logs in $OUT or
#                                 bench/gpu/out
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  publish)
    rm -rf bench/gpu/publish
    dotnet publish bench/NetGen.Bench -c Release -r linux-x64 --self-contained -p:DebugType=none -o bench/gpu/publish -v q -nologo
    tar -czf bench/gpu/publish.tar.gz -C bench/gpu publish
    rm -rf bench/gpu/publish
    du -h bench/gpu/publish.tar.gz ;;
  run)
    out=${OUT:-bench/gpu/out}
    mkdir -p "$out"
    [ -x bench/gpu/publish/NetGen.Bench ] || tar -xzf bench/gpu/publish.tar.gz -C bench/gpu
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt" || true
    bench/gpu/publish/NetGen.Bench gpu-layers 2>&1 | tee "$out/gpu-layers.log"
    bench/gpu/publish/NetGen.Bench gpu 2>&1 | tee "$out/gpu-wide.log"
    NETGEN_GPU_GEMM=tiled bench/gpu/publish/NetGen.Bench gpu 2>&1 | tee "$out/gpu-tiled.log" ;;
  *) echo "usage: bench/gpu/check.sh publish|run" >&2; exit 2 ;;
esac
