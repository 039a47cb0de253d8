#!/usr/bin/python3
"""Trains, evaluates and exports the bitnpu model zoo (Fashion-MNIST).

One command reproduces everything (from the repository root):
    /usr/bin/python3 scripts/zoo/train_zoo.py            # all three models + data/
    /usr/bin/python3 scripts/zoo/train_zoo.py --only cnn # one model

Writes models/{cnn,resnet,mobilenet}.{onnx,pt}, models/zoo_summary.json,
data/calib_500{,_labels}.npy and data/test_100_{x,y}.npy.
Deterministic: fixed seeds, 2 threads, no data-dependent nondeterministic ops.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
from onnx_export import export_onnx, onnx_summary  # noqa: E402
from zoo_models import ZOO  # noqa: E402, F401  (re-exported for ptq_baseline)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS_DIR = os.path.join(REPO, "models")
DATA_DIR = os.path.join(REPO, "data")
SEED = 20261122
CALIB_SEED = 500

# name -> (epochs, peak learning rate); sized for ~1-4 min each on 2 cores.
RECIPES = {"cnn": (3, 3e-3), "resnet": (4, 4e-3), "mobilenet": (4, 5e-3)}
BATCH = 128


def train(model, x, y, epochs, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * ((len(x) + BATCH - 1) // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for epoch in range(epochs):
        t0, order, total = time.time(), torch.randperm(len(x), generator=gen), 0.0
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            # Horizontal flip of a random half of the batch: cheap augmentation,
            # valid for clothing images.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    model.eval()


@torch.no_grad()
def logits_of(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def top1(logits, y):
    return float((logits.argmax(1) == y).float().mean())


def count_macs(model):
    """Multiply-accumulates of one 1x28x28 inference: Conv and Linear only."""
    macs = []

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        macs.append(out.numel() * (m.in_channels // m.groups) * kh * kw)

    def linear_hook(m, inp, out):
        macs.append(out.numel() * m.in_features)

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    return int(sum(macs))


def write_data(x_train, y_train, x_test, y_test):
    os.makedirs(DATA_DIR, exist_ok=True)
    rng = np.random.default_rng(CALIB_SEED)
    pick = np.sort(rng.choice(len(x_train), size=500, replace=False))
    np.save(os.path.join(DATA_DIR, "calib_500.npy"), x_train[pick])
    np.save(os.path.join(DATA_DIR, "calib_500_labels.npy"), y_train[pick])
    np.save(os.path.join(DATA_DIR, "test_100_x.npy"), x_test[:100])
    np.save(os.path.join(DATA_DIR, "test_100_y.npy"), y_test[:100])
    print(f"data/: calib_500 (train indices seeded {CALIB_SEED}), test_100")


def build_one(name, x_train, y_train, x_test, y_test, retrain):
    epochs, lr = RECIPES[name]
    torch.manual_seed(SEED)
    model = ZOO[name]()
    pt_path = os.path.join(MODELS_DIR, f"{name}.pt")
    facts = {}
    if retrain:
        print(f"{name}: training {epochs} epochs, peak lr {lr}", flush=True)
        t0 = time.time()
        train(model, torch.from_numpy(x_train), torch.from_numpy(y_train), epochs, lr, SEED)
        facts = {"epochs": epochs, "train_seconds": round(time.time() - t0, 1),
                 "train_threads": torch.get_num_threads()}
        torch.save(model.state_dict(), pt_path)
    else:
        print(f"{name}: re-exporting the trained weights in {os.path.relpath(pt_path, REPO)}")
        model.load_state_dict(torch.load(pt_path))
    acc = top1(logits_of(model, torch.from_numpy(x_test)), torch.from_numpy(y_test))
    onnx_path = os.path.join(MODELS_DIR, f"{name}.onnx")
    export_onnx(model, onnx_path)
    summary = onnx_summary(onnx_path)
    summary.update(
        model=name, torch_fp32_top1=acc,
        params=sum(p.numel() for p in model.parameters()), macs=count_macs(model),
        onnx_bytes=os.path.getsize(onnx_path), pt_bytes=os.path.getsize(pt_path), **facts)
    print(f"{name}: torch FP32 top-1 {acc * 100:.2f}%  params {summary['params']}  "
          f"MACs {summary['macs']}  ops {summary['op_counts']}", flush=True)
    return summary


def save_summaries(path, summaries):
    ordered = {k: summaries[k] for k in RECIPES if k in summaries}
    with open(path, "w") as f:
        json.dump(ordered, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(RECIPES), action="append",
                    help="build only this model (repeatable); default all")
    ap.add_argument("--skip-data", action="store_true", help="do not rewrite data/*.npy")
    ap.add_argument("--no-train", action="store_true",
                    help="reuse models/NAME.pt: only evaluate, re-export and summarize")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (default 2; use 1 on a crowded machine: two "
                         "OpenMP threads that wait on each other slow down badly there)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(MODELS_DIR, exist_ok=True)

    x_train, y_train = fmnist.load_preprocessed("train")
    x_test, y_test = fmnist.load_preprocessed("t10k")
    if not args.skip_data:
        write_data(x_train, y_train, x_test, y_test)

    summary_path = os.path.join(MODELS_DIR, "zoo_summary.json")
    summaries = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summaries = json.load(f)
    for name in args.only or list(RECIPES):
        old = summaries.get(name, {})
        summaries[name] = build_one(name, x_train, y_train, x_test, y_test, not args.no_train)
        if args.no_train:  # keep the training facts of the run that made the weights
            for key in ("epochs", "train_seconds", "train_threads"):
                if key in old:
                    summaries[name][key] = old[key]
        save_summaries(summary_path, summaries)
    print(f"wrote {os.path.relpath(summary_path, REPO)} "
          f"(onnx {onnx.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
