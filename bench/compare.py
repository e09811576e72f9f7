"""Reads the JSON lines of bench/run.sh and prints medians per (benchmark, phase, implementation) and the
NetGen/reference ratios (PyTorch or OpenBLAS; ONNX Runtime where it ran). Usage: python3 bench/compare.py results.jsonl"""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
values = defaultdict(list)
memory = defaultdict(list)
for r in rows:
    if r.get("phase") == "memory":
        memory[(r["bench"], r["impl"])].append(r["bytes"])
        continue
    if r.get("bench") == "sgemm":
        values[("sgemm " + r["shape"], "gflops", r["impl"])].append(r["gflops"])
    else:
        values[(r["bench"], f'{r["phase"]}@{r["batch"]}', r["impl"])].append(r["samples_per_s"])

keys = sorted({(b, p) for (b, p, _) in values})
print(f"{'benchmark':<34} {'phase':<10} {'NetGen':>12} {'reference':>12} {'ratio':>7}   {'ONNX Runtime':>12} {'ratio':>7}")
for b, p in keys:
    ng = values.get((b, p, "netgen"))
    ref = values.get((b, p, "pytorch")) or values.get((b, p, "openblas"))
    ngm = statistics.median(ng) if ng else float("nan")
    refm = statistics.median(ref) if ref else float("nan")
    unit = "GFLOPS" if p == "gflops" else "samples/s"
    ort = values.get((b, p, "onnxruntime"))
    ortm = statistics.median(ort) if ort else float("nan")
    ort_text = f"   {ortm:>12,.1f} {ngm / ortm:>6.2f}x" if ort and ng else ""
    print(f"{b:<34} {p if p != 'gflops' else '':<10} {ngm:>12,.1f} {refm:>12,.1f} {ngm / refm if ref and ng else float('nan'):>6.2f}x{ort_text}  ({unit})")

# The dropout fused into batch norm against the same network with its dropouts as their own passes (NetGen only).
for p in sorted({p for (b, p, _) in values if b == "bn-dropout-cnn"}):
    fused = values.get(("bn-dropout-cnn", p, "netgen"))
    apart = values.get(("bn-dropout-apart-cnn", p, "netgen"))
    if fused and apart:
        print(f"{'bn-dropout-cnn fused / apart':<34} {p:<10} {statistics.median(fused) / statistics.median(apart):>6.2f}x")

# Training memory: NetGen's plan (everything it reserves at the batch) against PyTorch's peak resident memory growth
# while training (run in its own process, so the peak is that benchmark's).
for b in sorted({b for (b, _) in memory}):
    ng = memory.get((b, "netgen"))
    pt = memory.get((b, "pytorch"))
    if ng and pt:
        print(f"{b + ' training memory':<34} {'':<10} {statistics.median(ng) / 1e6:>10,.1f}MB {statistics.median(pt) / 1e6:>10,.1f}MB {statistics.median(ng) / statistics.median(pt):>6.2f}x")
