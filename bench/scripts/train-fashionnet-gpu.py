#!/usr/bin/env python3
"""FashionNet, the reference recipe of ../shared/BENCHMARKS.md, 10 epochs on one CUDA GPU in PyTorch eager: the
same-card reference for Tandem's RecipeBench (scripts/gpu-check.sh runs both). Data already on the GPU, flips on
the GPU, channels-last, evaluation on the test split after every epoch (counted in the total, as in Tandem's).

    python3 bench/scripts/train-fashionnet-gpu.py --data DIR [--epochs 10] [--batch 128] [--amp]

Prints one line per epoch and a last line `RESULT framework=pytorch ... train_seconds=... test_accuracy=...`.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(folder, split, dev):
    prefix = "train" if split == "train" else "t10k"
    def name(kind, d):
        for ext in (".gz", ""):
            p = os.path.join(folder, f"{prefix}-{kind}-idx{d}-ubyte{ext}")
            if os.path.exists(p):
                return p
        raise FileNotFoundError(f"{prefix}-{kind} in {folder}")
    x = torch.from_numpy(read_idx(name("images", 3)).astype(np.float32) / 255.0)
    y = torch.from_numpy(read_idx(name("labels", 1)).astype(np.int64))
    return ((x - MEAN) / STD).unsqueeze(1).to(dev), y.to(dev)


def fashionnet():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2),
                         *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(inplace=True),
                         nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--amp", action="store_true", help="bf16 autocast")
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(1)
    xtr, ytr = load(a.data, "train", dev)
    xte, yte = load(a.data, "test", dev)
    model = fashionnet().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = (len(xtr) + a.batch - 1) // a.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps * a.epochs, pct_start=0.25)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    torch.cuda.synchronize()
    t_all = time.perf_counter()
    train_s = 0.0
    acc = 0.0
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr), device=dev)
        for i in range(steps):
            idx = perm[i * a.batch:(i + 1) * a.batch]
            x = xtr[idx]
            flip = torch.rand(x.shape[0], device=dev) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.amp):
                loss = loss_fn(model(x), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        train_s += dt
        model.eval()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.amp):
            correct = sum((model(xte[i:i + 1000].contiguous(memory_format=torch.channels_last)).argmax(1)
                           == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
        acc = correct / len(xte)
        print(f"epoch {epoch}: loss {loss.item():.4f} test acc {acc:.4f} train {dt:.2f} s "
              f"({steps * a.batch / dt:.0f} images/s)", flush=True)
    total = time.perf_counter() - t_all
    print(f"RESULT framework=pytorch-{torch.__version__} device={torch.cuda.get_device_name(0)} "
          f"epochs={a.epochs} amp={a.amp} train_seconds={train_s:.2f} total_seconds={total:.2f} "
          f"test_accuracy={acc:.4f}")


if __name__ == "__main__":
    main()
