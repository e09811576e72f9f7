#!/usr/bin/env python3
"""PyTorch reference for samples/FashionCnn (and, with --net bn-dropout-cnn, samples/FashionBnDropout):
the same network (torch_bench.fashion_cnn / bn_dropout_cnn), data, settings and epochs, with Keras 2
semantics where PyTorch's defaults differ: Glorot-uniform kernels and zero biases, BN momentum 0.99 /
epsilon 1e-3 (in the network builders), Adam with epsilon 1e-7. fashion-cnn: Adam(lr 1e-4) with Keras's
time-based decay lr / (1 + 1e-5 * iterations), batch 256. bn-dropout-cnn: Adam(lr 1e-3), no decay, batch 128.
Shuffled every epoch, test set as validation data.

  python3 bench/fashion_cnn_torch.py [--net fashion-cnn|bn-dropout-cnn] [--epochs 10] [--device cuda|cpu] [--seed 2] [--threads 2]

Prints one line per epoch (train loss/accuracy, test loss/accuracy, seconds) and a final JSON line."""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import bn_dropout_cnn, fashion_cnn  # noqa: E402

# network builder, learning rate, Keras decay, batch size
NETS = {"fashion-cnn": (fashion_cnn, 1e-4, 1e-5, 256), "bn-dropout-cnn": (bn_dropout_cnn, 1e-3, 0.0, 128)}

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--net", choices=sorted(NETS), default="fashion-cnn")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)

    def images(n):
        return torch.tensor(idx(n), dtype=torch.float32).div_(255).unsqueeze(1)

    xtr, ytr = images("train-images-idx3-ubyte.gz").to(dev), torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.long).to(dev)
    xte, yte = images("t10k-images-idx3-ubyte.gz").to(dev), torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long).to(dev)

    build, lr, decay, batch = NETS[a.net]
    model = build()
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: 1.0 / (1.0 + decay * it))
    lossf = nn.CrossEntropyLoss()
    start = time.time()
    history = []
    for epoch in range(a.epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), device=dev)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xtr), batch):
            b = perm[i:i + batch]
            x, y = xtr[b], ytr[b]
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = lossf(out, y)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(b)
            correct += (out.argmax(1) == y).sum().item()
            total += len(b)
        model.eval()
        with torch.no_grad():
            tl, tc = 0.0, 0
            for i in range(0, len(xte), batch):
                out = model(xte[i:i + batch])
                tl += lossf(out, yte[i:i + batch]).item() * len(out)
                tc += (out.argmax(1) == yte[i:i + batch]).sum().item()
        row = dict(epoch=epoch + 1, loss=loss_sum / total, accuracy=correct / total,
                   val_loss=tl / len(xte), val_accuracy=tc / len(xte), seconds=time.time() - t0)
        history.append(row)
        print(f"Epoch {epoch + 1}/{a.epochs} - {row['seconds']:.1f}s - loss: {row['loss']:.4f} - accuracy: {row['accuracy']:.4f}"
              f" - val_loss: {row['val_loss']:.4f} - val_accuracy: {row['val_accuracy']:.4f}", flush=True)
    print(json.dumps(dict(impl="pytorch", net=a.net, device=str(dev), torch=torch.__version__, seed=a.seed,
                          test_accuracy=history[-1]["val_accuracy"], seconds=time.time() - start, history=history)))


if __name__ == "__main__":
    main()
