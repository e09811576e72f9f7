#!/usr/bin/env bash
# Peak resident memory of inference: NetGen (NetGen.Bench infer:NAME:BATCH) against ONNX Runtime (OrtBench on that
# network's ONNX file alone), each a process of its own, both .NET processes measured alike (the process's peak
# resident set, runtime included). NetGen's model is compiled with Adam, as a Keras user would before predict.
#   bench/inference_memory.sh MODELS_DIR [NAME ...]   (MODELS_DIR: a run's models-* folder from bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:?usage: bench/inference_memory.sh MODELS_DIR [NAME ...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(mlp mnist-cnn fashion-cnn resnet)
dotnet build bench/NetGen.Bench -c Release -v q -nologo >/dev/null
dotnet build bench/OrtBench -c Release -v q -nologo >/dev/null
peak() { /usr/bin/python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)' "$@"; }
one=$(mktemp -d)
trap 'rm -rf "$one"' EXIT
printf '%-14s %6s %12s %14s %8s\n' network batch "NetGen MB" "ONNX Rt MB" ratio
for name in "${names[@]}"; do
  [ -f "$models/$name.onnx" ] || { echo "no $models/$name.onnx: skipped" >&2; continue; }
  rm -f "$one"/*.onnx
  cp "$models/$name.onnx" "$one/"
  for batch in 1 256; do
    ng=$(NETGEN_THREADS=2 peak dotnet bench/NetGen.Bench/bin/Release/net10.0/NetGen.Bench.dll "infer:$name:$batch")
    ort=$(peak dotnet bench/OrtBench/bin/Release/net10.0/OrtBench.dll "$one" "$batch")
    printf '%-14s %6d %12.1f %14.1f %7.2fx\n' "$name" "$batch" "$ng" "$ort" "$(/usr/bin/python3 -c "print($ng / $ort)")"
  done
done
