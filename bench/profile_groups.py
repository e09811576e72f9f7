"""Groups `perf report --sort dso,symbol --no-children --stdio` lines by what the code does and prints one line per
network: the share of samples in each group (both threads, so waiting shows up as the idle thread's spinning).
Usage: perf report ... | python3 bench/profile_groups.py NAME"""
import re
import sys

# First match wins; the patterns match the JIT's method names (perf maps) and the native libraries.
GROUPS = [
    ("GEMM", r"Sgemm::"),
    ("Winograd transforms", r"WinogradJob::(Transform|Prefetch)|CpuBackend::TransformKernel|WinogradKernelGradient"),
    ("im2col/direct conv", r"Im2Col|Col2Im|SmallForward|SmallBackward|ConvActBackward|ConvEpilogue|KernelRows|Conv\w*Samples|Depthwise"),
    ("batch norm", r"::Bn|BatchNorm"),
    ("pooling", r"(?<!Worker)Pool"),
    ("recurrent cells", r"LstmMath|RnnMath|GruMath|StepCells|InferCell|VectorMath"),
    ("element-wise", r"TensorPrimitives|Activation|Merge|Dropout|Noise|Adam|RMSprop|SGD|Optimizer|Loss|Softmax|Accumulate|Regulariz|memmove|memset|memcpy"),
    # The workspace's first touch (the kernel zeroing fresh pages): setup, inside the short profiled run.
    ("page faults", r"clear_page|page_fault|do_anonymous_page|handle_mm_fault|memcg|lru_"),
    ("waiting", r"\[kernel|sched|futex|WorkerPool|libcoreclr|SpinWait|Thread"),
]

totals = {name: 0.0 for name, _ in GROUPS}
other = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
    if not m:
        continue
    share, rest = float(m.group(1)), m.group(2)
    for name, pattern in GROUPS:
        if re.search(pattern, rest):
            totals[name] += share
            break
    else:
        other += share

name = sys.argv[1] if len(sys.argv) > 1 else "?"
parts = [f"{g} {totals[g]:.0f}%" for g, _ in GROUPS if totals[g] >= 0.5] + [f"other {other:.0f}%"]
print(f"{name}: " + ", ".join(parts))
