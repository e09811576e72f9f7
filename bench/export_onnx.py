#!/usr/bin/env python3
"""Exports the benchmark CNNs (torch_bench.mnist_cnn / fashion_cnn, inference mode, random weights) to ONNX for
the ONNX Runtime side of the inference benchmark: python3 bench/export_onnx.py OUT_DIR.
With a second argument "seq": the sequence classifiers instead (RowLstm, RowGru, RowConv1D, with their softmax) and the
seed-004 autoencoder. The batch axis is dynamic;
the input is [batch, 1, 28, 28] for the CNNs, [batch, 28, 28] (28 steps of 28 values) for the sequence nets and [batch, 29]
for the autoencoder."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import RowConv1D, RowGru, RowLstm, dense_stack, fashion_cnn, mnist_cnn  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    nets = [("mnist-cnn", mnist_cnn, (1, 1, 28, 28)), ("fashion-cnn", fashion_cnn, (1, 1, 28, 28))]
    if sys.argv[2:] == ["seq"]:
        nets = [("lstm", RowLstm, (1, 28, 28)), ("gru", RowGru, (1, 28, 28)), ("conv1d", RowConv1D, (1, 28, 28)),
                ("autoencoder", lambda: dense_stack([29, 80, 40, 80, 29]), (1, 29))]
    for name, make, shape in nets:
        model = make().eval()
        if name in ("lstm", "gru", "conv1d"):
            model = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()  # NetGen's output layer is a softmax
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(model, torch.rand(*shape), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
