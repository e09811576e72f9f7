"""PyTorch side of the NetGen benchmark: training and inference throughput (samples/s) of small
networks with Keras-equivalent settings, on random data of the right shapes (fixed seed).

    /usr/bin/python3 bench/torch_bench.py                 # every benchmark
    /usr/bin/python3 bench/torch_bench.py mlp autoencoder # some of them
    OPENBLAS_CORETYPE=SkylakeX LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
        /usr/bin/python3 bench/torch_bench.py             # the best configuration on our machine

Needs Debian's python3-torch (run with /usr/bin/python3). Prints one JSON object per line on
stdout, e.g. {"bench": "mlp", "phase": "train", "impl": "pytorch", "samples_per_s": 13500.0,
"batch": 128, ...}; a line describing the configuration (threads, BLAS core type, allocator) goes
to stderr.

Method: for each benchmark and phase, warm-up steps, then the median of several timed repeats
of N steps each, N chosen from the warm-up so that one repeat lasts about --seconds.
- train: one optimizer step per batch (zero_grad, forward, loss, backward, step), in train mode
  (dropout active). Batches are drawn in turn from a pool of pre-made random batches, so the
  timing is of the step itself, not of data loading or shuffling.
- infer: forward only under torch.inference_mode(), in eval mode, at --infer-batch (128), with the
  output activation applied (softmax for classifiers), as Keras' predict would return.

Keras equivalence: Glorot-uniform weights and zero biases, Keras optimizer defaults where the
brief gives no value (RMSprop rho 0.9 / eps 1e-7, Adam eps 1e-7). Softmax + categorical
cross-entropy is computed the way a fast implementation does it, as CrossEntropyLoss on the
logits with class-index targets (the same value as Keras' one-hot categorical cross-entropy).
Numerically PyTorch's Adam adds eps to the bias-corrected sqrt(v) where Keras adds it to the
uncorrected one, and its SGD momentum is scaled by lr differently; neither changes the cost of a
step.

To add a benchmark, add an entry to BENCHES: a Bench with a model builder, input shape,
target kind, loss and optimizer factory.
"""
import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn

# ---------------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------------


@dataclass
class Bench:
    build: Callable[[], nn.Module]              # the network, outputting logits / linear values
    input_shape: Tuple[int, ...]                # per sample
    target: str                                 # "classes:<n>" (class indices) or "input" (autoencoder)
    loss: Callable[[], nn.Module]
    optimizer: Callable[[List[nn.Parameter]], torch.optim.Optimizer]
    batch: int                                  # training batch size
    output_activation: Callable[[torch.Tensor], torch.Tensor] = lambda y: y   # applied at inference
    description: str = ""


def dense_stack(sizes, dropout=0.0):
    """Dense layers sizes[0] -> sizes[1] -> ... with ReLU (and optional Dropout) between them; the
    last layer is linear (its activation, if any, lives in the loss or Bench.output_activation)."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def softmax(y):
    return torch.softmax(y, dim=1)


BENCHES: Dict[str, Bench] = {
    "mlp-small": Bench(
        build=lambda: dense_stack([20, 64, 64, 10]),
        input_shape=(20,), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        batch=128, output_activation=softmax,
        description="Dense 20-64 relu-64 relu-10 softmax, SGD(0.01, momentum 0.9, nesterov), CCE"),
    "mlp": Bench(
        build=lambda: dense_stack([784, 512, 512, 10], dropout=0.2),
        input_shape=(784,), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7),
        batch=128, output_activation=softmax,
        description="Keras mnist_mlp: 784-512 relu-Dropout .2-512 relu-Dropout .2-10 softmax, RMSprop, CCE"),
    "autoencoder": Bench(
        build=lambda: dense_stack([29, 80, 40, 80, 29]),
        input_shape=(29,), target="input", loss=nn.MSELoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=64,
        description="seed-004 autoencoder 29-80 relu-40 relu-80 relu-29 linear, Adam(1e-3, eps 1e-7), MSE"),
}


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def glorot(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def make_batches(bench: Bench, batch: int, pool: int, gen: torch.Generator):
    batches = []
    for _ in range(pool):
        x = torch.randn((batch,) + bench.input_shape, generator=gen)
        if bench.target == "input":
            y = x
        elif bench.target.startswith("classes:"):
            y = torch.randint(0, int(bench.target.split(":")[1]), (batch,), generator=gen)
        else:
            raise ValueError(f"unknown target kind {bench.target!r}")
        batches.append((x, y))
    return batches


def timed(run_steps: Callable[[int], None], warmup: int, repeats: int, seconds: float):
    """Runs `warmup` steps, picks N so that N steps take about `seconds`, then returns
    (N, [seconds of each of `repeats` runs of N steps])."""
    run_steps(max(1, warmup // 2))
    t0 = time.perf_counter()
    run_steps(warmup)
    per_step = max((time.perf_counter() - t0) / warmup, 1e-7)
    steps = max(5, int(round(seconds / per_step)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_steps(steps)
        times.append(time.perf_counter() - t0)
    return steps, times


def bench_train(bench: Bench, args, gen: torch.Generator):
    model = bench.build()
    model.apply(glorot)
    model.train()
    loss_fn = bench.loss()
    opt = bench.optimizer(list(model.parameters()))
    batches = make_batches(bench, bench.batch, args.pool, gen)
    state = {"i": 0}

    def run_steps(n):
        i = state["i"]
        for _ in range(n):
            x, y = batches[i % len(batches)]
            i += 1
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        state["i"] = i

    steps, times = timed(run_steps, args.warmup, args.repeats, args.seconds)
    # A sanity check that training ran on real numbers.
    with torch.no_grad():
        x, y = batches[0]
        final = float(loss_fn(model(x), y))
    if final != final:  # NaN
        raise RuntimeError("training diverged (loss NaN)")
    return steps, times, bench.batch


def bench_infer(bench: Bench, args, gen: torch.Generator):
    model = bench.build()
    model.apply(glorot)
    model.eval()
    batches = make_batches(bench, args.infer_batch, args.pool, gen)
    state = {"i": 0}

    def run_steps(n):
        i = state["i"]
        with torch.inference_mode():
            for _ in range(n):
                bench.output_activation(model(batches[i % len(batches)][0]))
                i += 1
        state["i"] = i

    steps, times = timed(run_steps, args.warmup, args.repeats, args.seconds)
    return steps, times, args.infer_batch


def record(name, phase, steps, times, batch, args):
    rates = [steps * batch / t for t in times]
    return {
        "bench": name,
        "phase": phase,
        "impl": "pytorch",
        "samples_per_s": round(statistics.median(rates), 1),
        "batch": batch,
        "min_samples_per_s": round(min(rates), 1),
        "max_samples_per_s": round(max(rates), 1),
        "steps": steps,
        "repeats": len(times),
        "threads": torch.get_num_threads(),
    }


def allocator():
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("jemalloc", "tcmalloc", "mimalloc"):
        if name in maps:
            return name
    return "glibc"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="name",
                    help=f"benchmarks to run (default: all): {', '.join(BENCHES)}")
    ap.add_argument("--phase", choices=["train", "infer", "both"], default="both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=20, help="warm-up steps (default 20)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported (default 5)")
    ap.add_argument("--seconds", type=float, default=1.0, help="target duration of one repeat (default 1.0)")
    ap.add_argument("--infer-batch", type=int, default=128)
    ap.add_argument("--pool", type=int, default=16, help="pre-made random batches cycled through (default 16)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    names = args.names or list(BENCHES)

    torch.set_num_threads(args.threads)
    print(json.dumps({"config": {
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "allocator": allocator(),
        "python": sys.version.split()[0]}}), file=sys.stderr, flush=True)

    for name in names:
        bench = BENCHES[name]
        if args.phase in ("train", "both"):
            torch.manual_seed(args.seed)
            gen = torch.Generator().manual_seed(args.seed)
            print(json.dumps(record(name, "train", *bench_train(bench, args, gen), args)), flush=True)
        if args.phase in ("infer", "both"):
            torch.manual_seed(args.seed)
            gen = torch.Generator().manual_seed(args.seed)
            print(json.dumps(record(name, "infer", *bench_infer(bench, args, gen), args)), flush=True)


if __name__ == "__main__":
    main()
