#!/usr/bin/env bash
# Where a network's training step goes on the CPU: perf samples of NetGen.Bench's training phase (both threads),
# grouped by what the code does (bench/profile_groups.py). Needs Debian's linux-perf.
#   bench/profile.sh resnet [fashion-cnn ...]      (any NetGen.Bench network name: its training)
#   bench/profile.sh infer:lstm:32 [infer:fashion-cnn:1 ...]   (its inference at that batch)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/NetGen.Bench -c Release -v q -nologo >/dev/null
data=$(mktemp -d)
for name in "$@"; do
  # Perf maps for the JIT's code; W^X off, or perf sees the code through an anonymous double mapping it cannot name.
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 NETGEN_THREADS=2 \
    perf record -q -F 999 -o "$data/$name.data" -- dotnet bench/NetGen.Bench/bin/Release/net10.0/NetGen.Bench.dll \
      "$([[ $name == *:* ]] && echo "$name" || echo "train:$name")" >/dev/null 2>&1
  perf report -i "$data/$name.data" --sort dso,symbol --no-children --stdio 2>/dev/null | /usr/bin/python3 bench/profile_groups.py "$name"
done
rm -rf "$data" /tmp/perf-*.map
