"""PyTorch side of the NetGen benchmark: training and inference throughput (samples/s) of small
networks with Keras-equivalent settings, on random data of the right shapes (fixed seed).

    /usr/bin/python3 bench/torch_bench.py                 # every benchmark
    /usr/bin/python3 bench/torch_bench.py mlp autoencoder # some of them
    OPENBLAS_CORETYPE=SkylakeX LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
        MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 \
        /usr/bin/python3 bench/torch_bench.py             # the best configuration on our machine

Allocator: every PyTorch op allocates its output, and page faults are expensive on this VM (a
fresh 12.8 MB activation took 18-60 ms to fault in), so the allocator must keep freed memory. glibc returns large
blocks to the kernel; so does jemalloc with its default decay (measured: 57 ms for a ReLU on a
256x16x28x28 tensor with plain jemalloc, 0.5-1.2 ms with MALLOC_CONF=dirty_decay_ms:-1,
muzzy_decay_ms:-1). The CNNs are the ones this matters for.

Needs Debian's python3-torch (run with /usr/bin/python3). Prints one JSON object per line on
stdout, e.g. {"bench": "mlp", "phase": "train", "impl": "pytorch", "samples_per_s": 13500.0,
"batch": 128, ...}; a line describing the configuration (threads, BLAS core type, allocator) goes
to stderr.

Method: for each benchmark and phase, warm-up steps, then the median of several timed repeats
of N steps each, N chosen from the warm-up so that one repeat lasts about --seconds.
- train: one optimizer step per batch (zero_grad, forward, loss, backward, step), in train mode
  (dropout active). Batches are drawn in turn from a pool of pre-made random batches, so the
  timing is of the step itself, not of data loading or shuffling.
- infer: forward only under torch.inference_mode(), in eval mode, with the output activation
  applied (softmax for classifiers), as Keras' predict would return; at batches 1 and 256 (one line
  each), or at --infer-batch if given.
- The CNNs are slow (fashion-cnn: ~1.2 s a training step here), so fashion-cnn warms up for 4
  steps instead of 20 and times repeats of at least 2 steps instead of 5; --warmup overrides.

The CNNs (mnist-cnn, fashion-cnn) are the two networks of seed 002, whose Keras code is NHWC;
PyTorch runs them NCHW with the same layers, in the memory format (--memory-format) that is faster
here (see CNN_CHANNELS_LAST), recorded as "memory_format" in each line. Keras' padding='same'
for 3x3 convolutions with stride 1 is padding=1; its AveragePooling2D(2, padding='same') is
AvgPool2d(2, 2, ceil_mode=True), which averages over the real cells only as TensorFlow does (see
mnist_cnn). The seed's Adam(decay=1e-5) learning-rate decay is left out: it does not change the
cost of a step.

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
import resource
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

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
    infer_batches: Tuple[int, ...] = (128,)     # inference batch sizes (--infer-batch overrides)
    channels_last: bool = False                 # NHWC memory format for 4-D tensors (CNNs)
    warmup: Optional[int] = None                # warm-up steps (None: --warmup's default, 20)
    min_steps: int = 5                          # least steps in one timed repeat


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


# Whether the CNN benchmarks run in channels_last (NHWC) memory format by default; --memory-format
# overrides it. Measured here (2 threads, jemalloc without decay, steps of the two layouts
# interleaved in one process on a busy machine): channels_last trains mnist-cnn 1.2-1.4x and
# fashion-cnn ~1.05x faster, infers at batch 256 1.5-2.4x faster, and ties at batch 1.
CNN_CHANNELS_LAST = True


def softmax(y):
    return torch.softmax(y, dim=1)


def mnist_cnn():
    """Seed 002, first example (MNIST). Keras is NHWC, PyTorch NCHW: the same layers on a permuted
    layout (Flatten orders features (c, h, w) instead of (h, w, c), a fixed permutation of the first
    Dense layer's rows that changes no cost).
    AveragePooling2D(2, padding='same') has strides = pool size: 28 -> 14 -> 7 -> 4. TensorFlow's
    'same' pads only at the bottom/right (7 + 1 = 8) and divides each window by its real cells, so
    the last row/column of the 7x7 -> 4x4 pooling averages 2 (corner: 1) cells. AvgPool2d(2, 2,
    ceil_mode=True) with no padding does exactly that: the clipped last window starts at 6, inside
    the input, and PyTorch divides a window that overhangs the input (beyond any padding) by its
    clipped size."""
    def avg_pool_same():
        return nn.AvgPool2d(2, stride=2, padding=0, ceil_mode=True, count_include_pad=False)

    return nn.Sequential(
        nn.Dropout(0.25),                                            # on the 28x28x1 input
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
        avg_pool_same(),                                             # 28 -> 14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        avg_pool_same(),                                             # 14 -> 7
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Dropout(0.5),
        avg_pool_same(),                                             # 7 -> 4
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 1024), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(1024, 10))


def fashion_cnn():
    """Seed 002, second example (Fashion-MNIST): 4 x [Conv2D 3x3 same (bias kept, as Keras does
    even before BatchNormalization) -> BatchNormalization -> LeakyReLU(0.1)] with 32, 64, 128, 128
    filters, one MaxPooling2D(2) after the fourth (28 -> 14), Flatten (14*14*128 = 25088), twice
    [Dense 1024 -> BatchNormalization -> LeakyReLU(0.1)], Dense 10 softmax. Keras BatchNormalization
    defaults: momentum 0.99 (PyTorch momentum 0.01), epsilon 1e-3."""
    def bn2(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    def bn1(c):
        return nn.BatchNorm1d(c, eps=1e-3, momentum=0.01)

    layers = []
    for cin, cout in ((1, 32), (32, 64), (64, 128), (128, 128)):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), bn2(cout), nn.LeakyReLU(0.1)]
    return nn.Sequential(
        *layers,
        nn.MaxPool2d(2),                                             # 28 -> 14
        nn.Flatten(),
        nn.Linear(128 * 14 * 14, 1024), bn1(1024), nn.LeakyReLU(0.1),
        nn.Linear(1024, 1024), bn1(1024), nn.LeakyReLU(0.1),
        nn.Linear(1024, 10))


def bn_dropout_cnn():
    """The Keras Conv-BN-ReLU-Dropout pattern (not a seed network; it measures NetGen's dropout fused into
    batch norm): [Conv2D 3x3 same -> BatchNormalization -> ReLU -> Dropout] with 32 (.2), 32 (.2), MaxPooling2D(2),
    64 (.3), MaxPooling2D(2), Flatten, Dense 128 -> BatchNormalization -> ReLU -> Dropout .5, Dense 10 softmax.
    Keras BatchNormalization defaults as in fashion_cnn."""
    def block(cin, cout, rate):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU(), nn.Dropout(rate)]

    return nn.Sequential(
        *block(1, 32, 0.2), *block(32, 32, 0.2), nn.MaxPool2d(2),       # 28 -> 14
        *block(32, 64, 0.3), nn.MaxPool2d(2),                           # 14 -> 7
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.BatchNorm1d(128, eps=1e-3, momentum=0.01), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


class ResNet(nn.Module):
    """samples/InceptionResNet's residual network: a Conv-BN-ReLU stem (32), an identity block at 28x28x32, then two
    blocks that halve the resolution and double the filters (64, 128) with strided 1x1 Conv-BN projection shortcuts,
    global average pooling, Dense 10. Keras BatchNormalization defaults as in fashion_cnn."""

    def __init__(self):
        super().__init__()

        def conv_bn(cin, cout, k, stride):
            return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2),
                                 nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))

        self.stem = nn.Sequential(conv_bn(1, 32, 3, 1), nn.ReLU())
        self.b1 = nn.Sequential(conv_bn(32, 32, 3, 1), nn.ReLU(), conv_bn(32, 32, 3, 1))
        self.b2 = nn.Sequential(conv_bn(32, 64, 3, 2), nn.ReLU(), conv_bn(64, 64, 3, 1))
        self.s2 = conv_bn(32, 64, 1, 2)
        self.b3 = nn.Sequential(conv_bn(64, 128, 3, 2), nn.ReLU(), conv_bn(128, 128, 3, 1))
        self.s3 = conv_bn(64, 128, 1, 2)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.b1(x))
        x = torch.relu(self.s2(x) + self.b2(x))
        x = torch.relu(self.s3(x) + self.b3(x))
        return self.head(x.mean(dim=(2, 3)))


class RowLstm(nn.Module):
    """samples/Sequences RowLstm: LSTM(128) over 28 steps of 28 values, its last state into Dense 10."""
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


class RowGru(nn.Module):
    """GRU(128) over 28 steps of 28 values, its last state into Dense 10 (PyTorch's GRU is Keras's reset_after form)."""
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1, :])


class RowConv1D(nn.Module):
    """seed 001's Conv1D classifier on 28 steps of 28 values (PyTorch's Conv1d is channels-first: transposed in)."""
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(28, 64, 3), nn.ReLU(), nn.Conv1d(64, 64, 3), nn.ReLU(), nn.MaxPool1d(3),
            nn.Conv1d(64, 128, 3), nn.ReLU(), nn.Conv1d(128, 128, 3), nn.ReLU())
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        h = self.body(x.transpose(1, 2)).mean(dim=2)
        return self.head(self.dropout(h))


BENCHES: Dict[str, Bench] = {
    "mlp-small": Bench(
        build=lambda: dense_stack([20, 64, 64, 10]),
        input_shape=(20,), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        batch=128, output_activation=softmax, infer_batches=(1, 256),
        description="Dense 20-64 relu-64 relu-10 softmax, SGD(0.01, momentum 0.9, nesterov), CCE"),
    "mlp": Bench(
        build=lambda: dense_stack([784, 512, 512, 10], dropout=0.2),
        input_shape=(784,), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256),
        description="Keras mnist_mlp: 784-512 relu-Dropout .2-512 relu-Dropout .2-10 softmax, RMSprop, CCE"),
    "autoencoder": Bench(
        build=lambda: dense_stack([29, 80, 40, 80, 29]),
        input_shape=(29,), target="input", loss=nn.MSELoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=64, infer_batches=(1, 256),
        description="seed-004 autoencoder 29-80 relu-40 relu-80 relu-29 linear, Adam(1e-3, eps 1e-7), MSE"),
    "mnist-cnn": Bench(
        build=mnist_cnn,
        input_shape=(1, 28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=256, output_activation=softmax, infer_batches=(1, 256), channels_last=CNN_CHANNELS_LAST,
        description="seed-002 MNIST CNN: Dropout .25-Conv16 relu-Dropout .5-Conv32 relu-Dropout .5-AvgPool2 same-"
                    "Conv64 relu-AvgPool2 same-Conv64 relu-Dropout .5-AvgPool2 same-Flatten-Dense1024 relu-"
                    "Dropout .5-Dense10 softmax (3x3 same convs), Adam(1e-3, eps 1e-7), CCE"),
    "fashion-cnn": Bench(
        build=fashion_cnn,
        input_shape=(1, 28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-4, eps=1e-7),
        batch=256, output_activation=softmax, infer_batches=(1, 256), channels_last=CNN_CHANNELS_LAST,
        warmup=4, min_steps=2,                  # ~1.2 s a training step here
        description="seed-002 Fashion CNN: 4x[Conv 3x3 same (32,64,128,128)-BN-LeakyReLU .1]-MaxPool2-Flatten-"
                    "2x[Dense1024-BN-LeakyReLU .1]-Dense10 softmax, BN momentum .99 eps 1e-3, Adam(1e-4, eps 1e-7), CCE"),
    "bn-dropout-cnn": Bench(
        build=bn_dropout_cnn,
        input_shape=(1, 28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256), channels_last=CNN_CHANNELS_LAST,
        description="3x[Conv 3x3 same (32,32,64)-BN-ReLU-Dropout (.2,.2,.3)] with MaxPool2 after the 2nd and 3rd-"
                    "Flatten-Dense128-BN-ReLU-Dropout .5-Dense10 softmax, Adam(1e-3, eps 1e-7), CCE"),
    "resnet": Bench(
        build=ResNet,
        input_shape=(1, 28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256), channels_last=CNN_CHANNELS_LAST,
        warmup=4, min_steps=2,
        description="samples/InceptionResNet ResNet: stem Conv32-BN-ReLU, 3 residual blocks (32, 64/2, 128/2) of "
                    "2x[Conv 3x3-BN] with ReLU between, Add shortcuts (1x1/2 Conv-BN projections), ReLU, GAP, "
                    "Dense10 softmax, Adam(1e-3, eps 1e-7), CCE"),
    "lstm": Bench(
        build=RowLstm,
        input_shape=(28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256), warmup=4, min_steps=2,
        description="samples/Sequences RowLstm: LSTM(128) over 28 steps of 28, Dense10 softmax, Adam(1e-3, eps 1e-7), CCE"),
    "gru": Bench(
        build=RowGru,
        input_shape=(28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256), warmup=4, min_steps=2,
        description="GRU(128) (reset_after) over 28 steps of 28, Dense10 softmax, Adam(1e-3, eps 1e-7), CCE"),
    "conv1d": Bench(
        build=RowConv1D,
        input_shape=(28, 28), target="classes:10", loss=nn.CrossEntropyLoss,
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        batch=128, output_activation=softmax, infer_batches=(1, 256), warmup=4, min_steps=2,
        description="seed 001 Conv1D classifier: 2x Conv1D 64 relu, MaxPool1D 3, 2x Conv1D 128 relu, GAP1D, Dropout .5, "
                    "Dense10 softmax, Adam(1e-3, eps 1e-7), CCE"),
}


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def glorot(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def make_batches(bench: Bench, batch: int, pool: int, gen: torch.Generator, channels_last: bool = False):
    batches = []
    for _ in range(pool):
        x = torch.randn((batch,) + bench.input_shape, generator=gen)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if bench.target == "input":
            y = x
        elif bench.target.startswith("classes:"):
            y = torch.randint(0, int(bench.target.split(":")[1]), (batch,), generator=gen)
        else:
            raise ValueError(f"unknown target kind {bench.target!r}")
        batches.append((x, y))
    return batches


def timed(run_steps: Callable[[int], None], warmup: int, repeats: int, seconds: float, min_steps: int = 5):
    """Runs `warmup // 2` then `warmup` steps, picks N (at least `min_steps`) so that N steps take
    about `seconds`, then returns (N, [seconds of each of `repeats` runs of N steps])."""
    warmup = max(1, warmup)
    run_steps(max(1, warmup // 2))
    t0 = time.perf_counter()
    run_steps(warmup)
    per_step = max((time.perf_counter() - t0) / warmup, 1e-7)
    steps = max(min_steps, int(round(seconds / per_step)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_steps(steps)
        times.append(time.perf_counter() - t0)
    return steps, times


def channels_last(bench: Bench, args) -> bool:
    if len(bench.input_shape) != 3 or args.memory_format == "auto":
        return len(bench.input_shape) == 3 and bench.channels_last
    return args.memory_format == "channels_last"


def warmup_steps(bench: Bench, args) -> int:
    if args.warmup is not None:
        return args.warmup
    return bench.warmup if bench.warmup is not None else 20


def build_model(bench: Bench, cl: bool) -> nn.Module:
    model = bench.build()
    model.apply(glorot)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    return model


def bench_train(bench: Bench, args, gen: torch.Generator):
    cl = channels_last(bench, args)
    model = build_model(bench, cl)
    model.train()
    loss_fn = bench.loss()
    opt = bench.optimizer(list(model.parameters()))
    batches = make_batches(bench, bench.batch, args.pool, gen, cl)
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

    steps, times = timed(run_steps, warmup_steps(bench, args), args.repeats, args.seconds, bench.min_steps)
    # A sanity check that training ran on real numbers.
    with torch.no_grad():
        x, y = batches[0]
        final = float(loss_fn(model(x), y))
    if final != final:  # NaN
        raise RuntimeError("training diverged (loss NaN)")
    return steps, times, bench.batch


def bench_infer(bench: Bench, args, gen: torch.Generator, batch: int):
    cl = channels_last(bench, args)
    model = build_model(bench, cl)
    model.eval()
    batches = make_batches(bench, batch, args.pool, gen, cl)
    state = {"i": 0}

    def run_steps(n):
        i = state["i"]
        with torch.inference_mode():
            for _ in range(n):
                bench.output_activation(model(batches[i % len(batches)][0]))
                i += 1
        state["i"] = i

    steps, times = timed(run_steps, warmup_steps(bench, args), args.repeats, args.seconds, bench.min_steps)
    return steps, times, batch


def record(name, phase, steps, times, batch, args):
    rates = [steps * batch / t for t in times]
    bench = BENCHES[name]
    extra = {"memory_format": "channels_last" if channels_last(bench, args) else "contiguous"} \
        if len(bench.input_shape) == 3 else {}
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
        **extra,
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
    ap.add_argument("--warmup", type=int, default=None,
                    help="warm-up steps (default 20; fashion-cnn 4, about 5 s)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported (default 5)")
    ap.add_argument("--seconds", type=float, default=1.0, help="target duration of one repeat (default 1.0)")
    ap.add_argument("--infer-batch", type=int, default=None,
                    help="inference batch size (default: each network's, 1 and 256)")
    ap.add_argument("--memory-format", choices=["auto", "contiguous", "channels_last"], default="auto",
                    help="4-D tensor layout of the CNNs (default auto: the faster one here, "
                         f"{'channels_last' if CNN_CHANNELS_LAST else 'contiguous'})")
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
        "MALLOC_CONF": os.environ.get("MALLOC_CONF"),
        "python": sys.version.split()[0],
        # Other processes on the machine distort the timings; a load above ~0.3 at start is a warning sign.
        "loadavg_1m": round(os.getloadavg()[0], 2)}}), file=sys.stderr, flush=True)

    first_training = True
    for name in names:
        bench = BENCHES[name]
        if args.phase in ("train", "both"):
            torch.manual_seed(args.seed)
            gen = torch.Generator().manual_seed(args.seed)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
            print(json.dumps(record(name, "train", *bench_train(bench, args, gen), args)), flush=True)
            # Peak resident memory growth while training: only for the process's first benchmark, whose peak is its own
            # (ru_maxrss never falls, so a later, smaller network would show only what it adds to an earlier peak).
            if first_training:
                grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
                print(json.dumps({"bench": name, "phase": "memory", "impl": "pytorch", "bytes": grown, "batch": bench.batch}), flush=True)
            first_training = False
        if args.phase in ("infer", "both"):
            for batch in ([args.infer_batch] if args.infer_batch else bench.infer_batches):
                torch.manual_seed(args.seed)
                gen = torch.Generator().manual_seed(args.seed)
                print(json.dumps(record(name, "infer", *bench_infer(bench, args, gen, batch), args)), flush=True)


if __name__ == "__main__":
    main()
