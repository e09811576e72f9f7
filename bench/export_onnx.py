#!/usr/bin/env python3
"""Exports the benchmark CNNs (torch_bench.mnist_cnn / fashion_cnn, inference mode, random weights) to ONNX for
the ONNX Runtime side of the inference benchmark: python3 bench/export_onnx.py OUT_DIR.
The batch axis is dynamic; the input is [batch, 1, 28, 28]."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import fashion_cnn, mnist_cnn  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, make in (("mnist-cnn", mnist_cnn), ("fashion-cnn", fashion_cnn)):
        model = make().eval()
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(model, torch.rand(1, 1, 28, 28), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
