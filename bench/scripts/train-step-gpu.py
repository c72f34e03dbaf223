#!/usr/bin/env python3
"""Training-step throughput of torchvision's ResNet-18 (10 classes) on one CUDA GPU in PyTorch eager, on synthetic
batches already on the GPU: the same-card reference for Tandem's StepBench (scripts/gpu-check.sh runs both).

    python3 bench/scripts/train-step-gpu.py [--batch 256] [--size 32] [--steps 50] [--warmup 10] [--channels-last]

Prints `RESULT framework=pytorch-... arch=resnet18 batch=... ms_per_step=... images_per_second=...`.
"""
import argparse
import time

import torch
import torch.nn as nn
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(1)
    model = torchvision.models.resnet18(num_classes=10).to(dev)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    xs = [torch.randn(a.batch, 3, a.size, a.size, device=dev).contiguous(memory_format=fmt) for _ in range(8)]
    ys = [torch.randint(0, 10, (a.batch,), device=dev) for _ in range(8)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i % 8]), ys[i % 8])
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(i)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(f"RESULT framework=pytorch-{torch.__version__} arch=resnet18 device={torch.cuda.get_device_name(0)} "
          f"batch={a.batch} steps={a.steps} ms_per_step={dt * 1e3 / a.steps:.3f} "
          f"images_per_second={a.steps * a.batch / dt:.0f} loss={loss.item():.4f}")


if __name__ == "__main__":
    main()
