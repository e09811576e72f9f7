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
    if r.get("phase") in ("memory", "rss"):
        # NetGen's plan ("memory", netgen), NetGen's peak resident growth ("rss"), PyTorch's peak resident growth.
        memory[(r["bench"], r["impl"] if r["phase"] == "memory" else "netgen-rss")].append(r["bytes"])
        continue
    if r.get("bench") == "sgemm":
        values[("sgemm " + r["shape"], "gflops", r["impl"])].append(r["gflops"])
    else:
        values[(r["bench"], f'{r["phase"]}@{r["batch"]}', r["impl"])].append(r["samples_per_s"])

def machine():
    """The CPU model and core count of this machine (the one that ran bench/run.sh)."""
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    import os
    return f"{model}, {os.cpu_count()} cores"

def spread(v):
    """min-max of a benchmark's rounds (empty for one round): the run-to-run noise next to each median."""
    return f"{min(v):,.0f}-{max(v):,.0f}" if v and len(v) > 1 else ""

import datetime, os
stamp = datetime.datetime.fromtimestamp(os.path.getmtime(sys.argv[1])).strftime("%Y-%m-%d %H:%M")
print(f"{sys.argv[1]}: {stamp}, {machine()}; medians of the rounds, (min-max) their spread")
keys = sorted({(b, p) for (b, p, _) in values})
print(f"{'benchmark':<34} {'phase':<10} {'NetGen':>12} {'(spread)':>17} {'reference':>12} {'(spread)':>17} {'ratio':>7}   {'ONNX Runtime':>12} {'ratio':>7}")
for b, p in keys:
    ng = values.get((b, p, "netgen"))
    ref = values.get((b, p, "pytorch")) or values.get((b, p, "openblas"))
    if not ng and not ref:
        continue  # ONNX Runtime ran an export of a network this run did not measure (e.g. SEQ not set)
    ngm = statistics.median(ng) if ng else float("nan")
    refm = statistics.median(ref) if ref else float("nan")
    unit = "GFLOPS" if p == "gflops" else "samples/s"
    ort = values.get((b, p, "onnxruntime"))
    ortm = statistics.median(ort) if ort else float("nan")
    ort_text = f"   {ortm:>12,.1f} {ngm / ortm:>6.2f}x" if ort and ng else ""
    print(f"{b:<34} {p if p != 'gflops' else '':<10} {ngm:>12,.1f} {spread(ng):>17} {refm:>12,.1f} {spread(ref):>17} {ngm / refm if ref and ng else float('nan'):>6.2f}x{ort_text}  ({unit})")

# The dropout fused into batch norm against the same network with its dropouts as their own passes (NetGen only).
for p in sorted({p for (b, p, _) in values if b == "bn-dropout-cnn"}):
    fused = values.get(("bn-dropout-cnn", p, "netgen"))
    apart = values.get(("bn-dropout-apart-cnn", p, "netgen"))
    if fused and apart:
        print(f"{'bn-dropout-cnn fused / apart':<34} {p:<10} {statistics.median(fused) / statistics.median(apart):>6.2f}x")

# Training memory: NetGen's plan (everything it reserves at the batch) and its peak resident memory growth while
# training, against PyTorch's peak resident memory growth (each network in a process of its own).
print(f"{'training memory':<34} {'':<10} {'plan':>12} {'NetGen RSS':>12} {'PyTorch RSS':>12} {'plan/PT':>8} {'RSS/PT':>8}")
for b in sorted({b for (b, _) in memory}):
    ng = memory.get((b, "netgen"))
    rss = memory.get((b, "netgen-rss"))
    pt = memory.get((b, "pytorch"))
    if (ng or rss) and pt:
        # NaN where a run has no plan (ONLY_MEMORY) or no resident figure (no memory pass).
        m_ng = statistics.median(ng) if ng else float("nan")
        m_pt = statistics.median(pt)
        m_rss = statistics.median(rss) if rss else float("nan")
        spread = f"  (RSS {min(rss) / 1e6:,.1f}-{max(rss) / 1e6:,.1f}, PyTorch {min(pt) / 1e6:,.1f}-{max(pt) / 1e6:,.1f})" if rss and len(rss) > 1 else ""
        def mb(v): return f"{v / 1e6:>10,.1f}MB" if v == v else f"{'-':>12}"
        def ratio(v): return f"{v / m_pt:>7.2f}x" if v == v else f"{'-':>8}"
        print(f"{b:<34} {'':<10} {mb(m_ng)} {mb(m_rss)} {mb(m_pt)} {ratio(m_ng)} {ratio(m_rss)}{spread}")
