#!/usr/bin/python3
"""Exports the torchvision models of the side-by-side inference benchmark to ONNX.

Each model gets random weights (seeded, weights=None), eval mode, input "input" 1x3x224x224 float32 with a
dynamic batch axis named "batch", output "logits", opset 13. Next to each M.onnx it writes M.input.npy (a seeded
standard-normal input, 1x3x224x224) and M.output.npy (PyTorch's output for that input, 1x1000).

With torchvision's initialisation alone, BatchNorm running statistics are mean 0 / variance 1, and the activations of
some models shrink to nothing with depth (MobileNetV2's logits come out near 1e-9), which makes a poor numerical
test. So, unless --no-bn-calibration, each model's BatchNorm running statistics are first set from a few seeded
random batches (train-mode forward passes, cumulative averages, no gradient); every weight stays random.

Usage: scripts/export-models.py [OUT_DIR] [--only name,name] [--force] [--no-bn-calibration]
  OUT_DIR defaults to models/ under the repository root. Existing files are kept unless --force.
Needs Debian's python3-torch (1.13) and python3-torchvision (0.14): run it with /usr/bin/python3.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torchvision

MODELS = [
    "resnet18",
    "mobilenet_v2",
    "squeezenet1_1",
    "shufflenet_v2_x1_0",
    "efficientnet_b0",
    "resnet50",
    "densenet121",
]
SEED = 20261126
OPSET = 13


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024.0


def calibrate_batchnorm(model, seed, batches=3, batch_size=8):
    """Sets BatchNorm running statistics from random inputs so activations keep a healthy scale."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the calibration batches
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, 224, 224, generator=gen))
    model.eval()
    return len(bns)


def export(name, out_dir, force, calibrate):
    onnx_path = os.path.join(out_dir, name + ".onnx")
    in_path = os.path.join(out_dir, name + ".input.npy")
    out_path = os.path.join(out_dir, name + ".output.npy")
    paths = (onnx_path, in_path, out_path)
    if not force and all(os.path.exists(p) for p in paths):
        print(f"{name}: already exported (use --force to redo)")
    else:
        t0 = time.time()
        torch.manual_seed(SEED)
        model = getattr(torchvision.models, name)(weights=None)
        model.eval()
        n_bn = calibrate_batchnorm(model, SEED + 1) if calibrate else 0
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy().astype(np.float32)
            torch.onnx.export(
                model,
                torch.from_numpy(x),
                onnx_path,
                export_params=True,
                opset_version=OPSET,
                do_constant_folding=True,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            )
        np.save(in_path, x)
        np.save(out_path, y)
        print(f"{name}: exported in {time.time() - t0:.1f} s, logits max |y| = {np.abs(y).max():.4g}, "
              f"std {y.std():.4g}" + (f", {n_bn} BatchNorms calibrated" if n_bn else ""))
    for p in paths:
        print(f"  {p}  {human(os.path.getsize(p))}")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", nargs="?", default=os.path.join(repo, "models"))
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(MODELS))
    ap.add_argument("--force", action="store_true", help="re-export models that already exist")
    ap.add_argument("--no-bn-calibration", action="store_true",
                    help="keep torchvision's initial BatchNorm statistics (mean 0, variance 1)")
    args = ap.parse_args()
    names = MODELS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in MODELS]
        if unknown:
            sys.exit(f"unknown model(s) {unknown}; choose from {MODELS}")
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, opset {OPSET}, seed {SEED}, "
          f"BatchNorm calibration {'off' if args.no_bn_calibration else 'on'}")
    for name in names:
        export(name, args.out_dir, args.force, not args.no_bn_calibration)


if __name__ == "__main__":
    main()
