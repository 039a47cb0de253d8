#!/usr/bin/python3
"""PyTorch's own post-training static quantization (eager mode, W8A8) of the
zoo models: the peer baseline that bitnpu's calibrator is compared against.

    /usr/bin/python3 scripts/ptq_baseline.py [--engine onednn|qnnpack] [--models cnn,resnet]
                                             [--json OUT.json]

For each model: load models/NAME.pt, fuse conv-bn(-relu) (and linear-relu),
insert the engine's default observers (get_default_qconfig(engine)), run
data/calib_500.npy through it, convert, and evaluate FP32 and INT8 top-1 on
the 10k Fashion-MNIST test set. Debian's torch has no fbgemm: onednn is the
x86 engine here. The reported calibration time is in-process wall time of
fuse + prepare + calibrate + convert (no interpreter start, no data loading).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.ao.quantization as tq

ZOO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo")
sys.path.insert(0, ZOO_DIR)
import fmnist  # noqa: E402
from train_zoo import DATA_DIR, MODELS_DIR, ZOO, logits_of  # noqa: E402


def load_fp32(name):
    model = ZOO[name]()
    model.load_state_dict(torch.load(os.path.join(MODELS_DIR, f"{name}.pt")))
    return model.eval()


def quantize(model, calib, engine, batch):
    """Returns (int8 model, seconds per phase). Observers run once per batch
    (the default HistogramObserver costs per call), so one 500-sample batch
    is both the fastest and the most faithful to 'calibrate on 500 images'."""
    times = {}
    t = time.perf_counter()
    fused = tq.fuse_modules(model, model.fuse_groups(), inplace=False)
    fused.qconfig = tq.get_default_qconfig(engine)
    times["fuse"] = time.perf_counter() - t
    t = time.perf_counter()
    prepared = tq.prepare(fused)
    times["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(calib), batch):
            prepared(calib[i:i + batch])
    times["calibrate"] = time.perf_counter() - t
    t = time.perf_counter()
    int8 = tq.convert(prepared)
    times["convert"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    return int8, times


def top1(model, x, y):
    return float((logits_of(model, x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    ap.add_argument("--models", default=",".join(ZOO), help="comma-separated subset of "
                    + ",".join(ZOO))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calib-batch", type=int, default=500,
                    help="calibration batch size (default: all 500 at once)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="calibrate this many times and report the fastest (machine noise)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"error: unknown model(s) {unknown}; choose from {list(ZOO)}", file=sys.stderr)
        return 2
    if args.engine not in torch.backends.quantized.supported_engines:
        print(f"error: engine {args.engine} not in this torch "
              f"({torch.backends.quantized.supported_engines})", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = args.engine
    warnings.filterwarnings("ignore", module="torch.ao.quantization")

    calib = torch.from_numpy(np.load(os.path.join(DATA_DIR, "calib_500.npy")))
    x_np, y_np = fmnist.load_preprocessed("t10k")
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    results = []
    for name in names:
        fp32 = load_fp32(name)
        runs = [quantize(fp32, calib, args.engine, args.calib_batch) for _ in range(max(1, args.repeat))]
        int8, times = min(runs, key=lambda r: r[1]["total"])
        fp32_acc, int8_acc = top1(fp32, x, y), top1(int8, x, y)
        results.append({
            "model": name, "engine": args.engine, "threads": args.threads, "repeat": args.repeat,
            "calib_batch": args.calib_batch,
            "fp32_top1": fp32_acc, "int8_top1": int8_acc,
            "drop_pt": round((fp32_acc - int8_acc) * 100, 2),
            "calib_seconds": {k: round(v, 4) for k, v in times.items()}})
    print(f"{'model':10} {'engine':8} {'fp32':>7} {'int8':>7} {'drop':>6} {'calib s':>8}")
    for r in results:
        print(f"{r['model']:10} {r['engine']:8} {r['fp32_top1'] * 100:6.2f}% "
              f"{r['int8_top1'] * 100:6.2f}% {r['drop_pt']:5.2f}p {r['calib_seconds']['total']:8.3f}")
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
