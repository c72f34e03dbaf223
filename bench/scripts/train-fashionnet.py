#!/usr/bin/python3
"""FashionNet training throughput in PyTorch: the recipe of /work/shared/BENCHMARKS.md, for side-by-side numbers
with Tandem's TrainThroughput (docs/benchmarks.md, "Training throughput").

Uses Debian's python3-torch (1.13) with /usr/bin/python3, reads the Fashion-MNIST IDX files, and prints one JSON
line: images/s over the timed steps (after warm-up steps; batches prepared beforehand, as Tandem's benchmark does),
and optionally the test accuracy after one epoch of training with the full recipe (one-cycle LR, flips).

    /usr/bin/python3 bench/scripts/train-fashionnet.py --steps 60 --warmup 10 [--threads 2] [--epoch]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(folder, split):
    prefix = "train" if split == "train" else "t10k"
    name = lambda kind: next(os.path.join(folder, f"{prefix}-{kind}-idx{d}-ubyte{ext}")
                             for d in ("3", "1") for ext in (".gz", "")
                             if os.path.exists(os.path.join(folder, f"{prefix}-{kind}-idx{d}-ubyte{ext}")))
    x = read_idx(name("images")).astype(np.float32) / 255.0
    y = read_idx(name("labels")).astype(np.int64)
    x = (x - MEAN) / STD
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def fashionnet():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*block(1, 32), *block(32, 32), nn.MaxPool2d(2),
                         *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(inplace=True),
                         nn.Linear(128, 10))


def flip(x, gen):
    mask = torch.rand(x.shape[0], generator=gen) < 0.5
    x = x.clone()
    x[mask] = x[mask].flip(3)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--steps", type=int, default=60, help="timed steps")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epoch", action="store_true", help="also train one epoch and report test accuracy")
    ap.add_argument("--seed", type=int, default=1, help="seed of the weights, the order and the flips")
    ap.add_argument("--epoch-steps", type=int, default=0, help="cut the epoch to this many steps (a quick check)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data, "train")
    model = fashionnet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    # throughput: 32 batches prepared beforehand (shuffled, flipped), cycled
    perm = torch.randperm(len(xtr), generator=gen)
    batches = [(flip(xtr[perm[i * a.batch:(i + 1) * a.batch]], gen), ytr[perm[i * a.batch:(i + 1) * a.batch]])
               for i in range(32)]
    model.train()
    for i in range(a.warmup):
        step(*batches[i % 32])
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(a.steps):
        loss = step(*batches[i % 32])
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    result = {"framework": "pytorch", "version": torch.__version__, "threads": a.threads, "batch": a.batch,
              "steps": a.steps, "images_per_s": round(a.steps * a.batch / dt, 1),
              "cpu_ms_per_step": round(cpu * 1000 / a.steps, 1), "loss": round(loss.item(), 4)}

    if a.epoch:
        torch.manual_seed(a.seed)
        model = fashionnet()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        steps = len(xtr) // a.batch
        if a.epoch_steps > 0:
            steps = min(steps, a.epoch_steps)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.25)
        perm = torch.randperm(len(xtr), generator=gen)
        model.train()
        t0 = time.perf_counter()
        for i in range(steps):
            idx = perm[i * a.batch:(i + 1) * a.batch]
            step(flip(xtr[idx], gen), ytr[idx])
            sched.step()
        epoch_s = time.perf_counter() - t0
        xte, yte = load(a.data, "test")
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                          for i in range(0, len(xte), 1000))
        result.update({"epoch_s": round(epoch_s, 1), "epoch_images_per_s": round(steps * a.batch / epoch_s, 1),
                       "test_accuracy": round(correct / len(xte), 4)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
