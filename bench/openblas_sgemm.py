#!/usr/bin/python3
"""Reference side of the SGEMM benchmark: PyTorch (Debian python3-torch, OpenBLAS) torch.mm.

Times the same shapes as ``dotnet run -c Release --project bench/NetGen.Bench -- sgemm``
(square n = 256, 512, 1024, 2048 and the MLP / small network shapes, including the transposed
backward forms through ``.t()`` views) with 2 threads, and prints one JSON object per line:

    {"bench":"sgemm","shape":"1024x1024x1024","op":"NN","impl":"openblas","gflops":341.0}

``shape`` is MxNxK of C[M,N] = op(A)[M,K] . op(B)[K,N]; ``op`` says which operand is transposed
(T) as stored, exactly like NetGen's ``Sgemm.Multiply(transA, transB, ...)``.

It MUST be run with ``OPENBLAS_CORETYPE=SkylakeX`` in the environment (and only this command needs
it): without it Debian's OpenBLAS picks its AVX2 kernels on this AMD CPU and runs far slower.

    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/openblas_sgemm.py

Options: ``--threads N`` (default 2), ``--quick`` (fewer repetitions), ``--best`` (report the best sample
instead of the median: steadier on a busy machine, for tuning), ``--shape MxNxK[:TN]`` (only these shapes).
"""
import json
import os
import statistics
import sys
import time

import torch

# (m, n, k, transA, transB): C[m,n] = op(A)[m,k] . op(B)[k,n]
SHAPES = [
    (256, 256, 256, False, False),
    (512, 512, 512, False, False),
    (1024, 1024, 1024, False, False),
    (2048, 2048, 2048, False, False),
    # MLP 784-512-512-10, batch 128: forward
    (128, 512, 784, False, False),
    (128, 512, 512, False, False),
    (128, 10, 512, False, False),
    # backward: dW = X^T . dY (transA), dX = dY . W^T (transB)
    (784, 512, 128, True, False),
    (512, 512, 128, True, False),
    (512, 10, 128, True, False),
    (128, 784, 512, False, True),
    (128, 512, 512, False, True),
    (128, 512, 10, False, True),
    # small networks
    (64, 80, 29, False, False),
    (128, 64, 20, False, False),
    (128, 64, 64, False, False),
]


def op_name(ta, tb):
    return ("T" if ta else "N") + ("T" if tb else "N")


def bench_one(m, n, k, ta, tb, quick, best=False):
    g = torch.Generator().manual_seed(1)
    a_store = torch.rand((k, m) if ta else (m, k), generator=g) - 0.5
    b_store = torch.rand((n, k) if tb else (k, n), generator=g) - 0.5
    a = a_store.t() if ta else a_store
    b = b_store.t() if tb else b_store
    c = torch.empty((m, n))
    flops = 2.0 * m * n * k
    # calibrate: one sample lasts >= ~20 ms (>= 1 call)
    torch.mm(a, b, out=c)
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=c)
        dt = time.perf_counter() - t0
        if dt >= 0.02 or reps >= 1 << 20:
            break
        reps *= 2
    samples = 7 if quick else 21
    rates = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=c)
        dt = time.perf_counter() - t0
        rates.append(flops * reps / dt / 1e9)
    return max(rates) if best else statistics.median(rates)


def main(argv):
    threads = 2
    quick = "--quick" in argv
    if "--threads" in argv:
        threads = int(argv[argv.index("--threads") + 1])
    if os.environ.get("OPENBLAS_CORETYPE") != "SkylakeX":
        print("warning: OPENBLAS_CORETYPE=SkylakeX is not set; OpenBLAS will use AVX2 kernels",
              file=sys.stderr)
    best = "--best" in argv
    shapes = []
    for i, a in enumerate(argv):
        if a == "--shape":
            dims, _, op = argv[i + 1].partition(":")
            m, n, k = (int(x) for x in dims.split("x"))
            op = (op or "NN").upper()
            shapes.append((m, n, k, op[0] == "T", op[1] == "T"))
    torch.set_num_threads(threads)
    for (m, n, k, ta, tb) in shapes or SHAPES:
        gf = bench_one(m, n, k, ta, tb, quick, best)
        print(json.dumps({"bench": "sgemm", "shape": f"{m}x{n}x{k}", "op": op_name(ta, tb),
                          "impl": "openblas", "threads": threads, "gflops": round(gf, 1)}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
