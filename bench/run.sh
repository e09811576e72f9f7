#!/usr/bin/env bash
# Runs the NetGen benchmark and its references side by side, in the same run, and prints the ratios: PyTorch, and ONNX
# Runtime's inference of each network (PyTorch's exports, or NetGen's own ExportOnnx files where PyTorch has none here).
#   bench/run.sh [rounds]          (default 3 rounds; the median of the rounds is reported)
#   CNN=1 bench/run.sh 1           (also the seed-002 CNNs, and ONNX Runtime inference of their PyTorch exports; slow)
#   BNDROPOUT=1 bench/run.sh 3     (also the Conv-BN-ReLU-Dropout CNN, with its dropouts fused into batch norm and apart)
#   RESNET=1 bench/run.sh 3        (also the residual network of samples/InceptionResNet, and training memory)
#   SEQ=1 bench/run.sh 3           (also LSTM(128), GRU(128) and the Conv1D classifier on 28 steps of 28, and ONNX
#                                   Runtime inference of their PyTorch exports)
#   ALL=1 bench/run.sh 3           (every network above, in one table, and PyTorch's training memory of each network in
#                                   a process of its own (MEMORY=1 alone adds that); about an hour for 3 rounds on 2 cores)
#   ONLY_MEMORY=1 bench/run.sh 3   (training memory only, every network, each side in a process of its own per round;
#                                   about 10 minutes a round; MEMORY_NETS="resnet fashion-cnn" picks networks)
# Needs Debian's python3-torch, libopenblas0-pthread and libjemalloc2 for the reference side:
#   apt-get install python3-torch libopenblas0-pthread libjemalloc2
# The reference runs in its best configuration here: 2 threads, OpenBLAS's SkylakeX kernels
# (OPENBLAS_CORETYPE=SkylakeX, set for the reference only) and jemalloc.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
if [ -n "${ALL:-}${ONLY_MEMORY:-}" ]; then CNN=1 BNDROPOUT=1 RESNET=1 SEQ=1; fi
out=bench/results
mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
results="$out/results-$stamp.jsonl"
models="$out/models-$stamp" # this run's ONNX files, for ONNX Runtime
mkdir -p "$models"

dotnet build bench/NetGen.Bench -c Release -v q -nologo >/dev/null
netgen="dotnet bench/NetGen.Bench/bin/Release/net10.0/NetGen.Bench.dll"
jemalloc=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null || true)
# jemalloc keeps freed pages (page faults are slow on this VM; without this PyTorch CNNs run ~2x slower).
reference_env=(env OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=2 ${jemalloc:+LD_PRELOAD=$jemalloc MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1})

if [ -n "${ONLY_MEMORY:-}" ]; then
  dotnet build-server shutdown >/dev/null 2>&1 || true
  for round in $(seq "$rounds"); do
    echo "memory round $round/$rounds" >&2
    for name in ${MEMORY_NETS:-mlp-small mlp autoencoder mnist-cnn fashion-cnn bn-dropout-cnn resnet lstm gru conv1d}; do
      "${reference_env[@]}" /usr/bin/python3 bench/torch_bench.py --phase train "$name" 2>/dev/null | grep '"phase": "memory"' >>"$results" || true
      NETGEN_THREADS=2 $netgen "train:$name" | grep '"phase":"rss"' >>"$results" || true
    done
  done
  /usr/bin/python3 bench/compare.py "$results"
  exit 0
fi
if [ -n "${CNN:-}" ]; then
  /usr/bin/python3 bench/export_onnx.py "$models" >&2
  dotnet build bench/OrtBench -c Release -v q -nologo >/dev/null
fi
if [ -n "${SEQ:-}" ]; then
  /usr/bin/python3 bench/export_onnx.py "$models" seq >&2
  dotnet build bench/OrtBench -c Release -v q -nologo >/dev/null
fi

# ONNX Runtime runs NetGen's own exports of the networks PyTorch has none of here (fresh weights; the same layers).
$netgen "export-onnx:$models:mlp-small,mlp${BNDROPOUT:+,bn-dropout-cnn}${RESNET:+,resnet}" >&2
dotnet build bench/OrtBench -c Release -v q -nologo >/dev/null
# A build server left running takes CPU time in bursts (batch-1 figures fell to one thread's for minutes).
dotnet build-server shutdown >/dev/null 2>&1 || true

for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  NETGEN_THREADS=2 $netgen sgemm mlp-small mlp autoencoder ${CNN:+mnist-cnn fashion-cnn} ${BNDROPOUT:+bn-dropout-cnn bn-dropout-apart-cnn} >>"$results"
  "${reference_env[@]}" /usr/bin/python3 bench/openblas_sgemm.py >>"$results"
  "${reference_env[@]}" /usr/bin/python3 bench/torch_bench.py mlp-small mlp autoencoder ${CNN:+mnist-cnn fashion-cnn} ${BNDROPOUT:+bn-dropout-cnn} >>"$results"
  if [ -n "${RESNET:-}" ]; then
    NETGEN_THREADS=2 $netgen resnet >>"$results"
    # Its own process, so that its peak resident memory is this network's.
    "${reference_env[@]}" /usr/bin/python3 bench/torch_bench.py resnet >>"$results"
  fi
  if [ -n "${SEQ:-}" ]; then
    NETGEN_THREADS=2 $netgen lstm gru conv1d >>"$results"
    "${reference_env[@]}" /usr/bin/python3 bench/torch_bench.py lstm gru conv1d >>"$results"
  fi
  dotnet bench/OrtBench/bin/Release/net10.0/OrtBench.dll "$models" >>"$results"
done
if [ -n "${ALL:-}${MEMORY:-}" ]; then
  # PyTorch's training memory, each network in a process of its own (its peak resident memory is that network's;
  # resnet's already ran so in the rounds).
  echo "training memory" >&2
  for name in mlp-small mlp autoencoder ${CNN:+mnist-cnn fashion-cnn} ${BNDROPOUT:+bn-dropout-cnn} ${SEQ:+lstm gru conv1d}; do
    "${reference_env[@]}" /usr/bin/python3 bench/torch_bench.py --phase train "$name" 2>/dev/null | grep '"phase": "memory"' >>"$results" || true
  done
  # NetGen's, measured the same way (the plan above leaves out the backend's scratch and the runtime).
  for name in mlp-small mlp autoencoder ${CNN:+mnist-cnn fashion-cnn} ${BNDROPOUT:+bn-dropout-cnn} ${RESNET:+resnet} ${SEQ:+lstm gru conv1d}; do
    NETGEN_THREADS=2 $netgen "train:$name" | grep '"phase":"rss"' >>"$results" || true
  done
fi
/usr/bin/python3 bench/compare.py "$results"
