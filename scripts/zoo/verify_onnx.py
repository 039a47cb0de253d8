#!/usr/bin/python3
"""Checks the exported zoo against ONNX Runtime (the independent oracle):
runs each models/*.onnx on the 10k test set with scripts/ort/ort_run.js,
compares the logits with the torch model's (models/*.pt) and records the ORT
top-1 and, with --bench, ORT CPU throughput into models/zoo_summary.json.

    bash scripts/ort/setup.sh && /usr/bin/python3 scripts/zoo/verify_onnx.py [--bench]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
from train_zoo import MODELS_DIR, REPO, ZOO, logits_of  # noqa: E402

ORT_RUN = os.path.join(REPO, "scripts", "ort", "ort_run.js")
# Logits are O(10); ORT and torch may reorder float sums, nothing more.
MAX_ABS_DIFF = 1e-3


def ort_logits(onnx_path, x_path, out_path):
    subprocess.run(["node", ORT_RUN, "--model", onnx_path, "--input", x_path,
                    "--output", out_path, "--threads", "2"], check=True)
    return np.load(out_path)


def ort_bench(onnx_path, x_path, threads):
    out = subprocess.run(["node", ORT_RUN, "--model", onnx_path, "--input", x_path,
                          "--threads", str(threads), "--bench"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="store_true", help="also time ORT at 1 and 2 threads")
    args = ap.parse_args()
    torch.set_num_threads(2)
    summary_path = os.path.join(MODELS_DIR, "zoo_summary.json")
    with open(summary_path) as f:
        summaries = json.load(f)
    x, y = fmnist.load_preprocessed("t10k")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        x_path = os.path.join(tmp, "x.npy")
        np.save(x_path, x)
        for name, s in summaries.items():
            model = ZOO[name]()
            model.load_state_dict(torch.load(os.path.join(MODELS_DIR, f"{name}.pt")))
            ref = logits_of(model, torch.from_numpy(x)).numpy()
            onnx_path = os.path.join(MODELS_DIR, f"{name}.onnx")
            got = ort_logits(onnx_path, x_path, os.path.join(tmp, "out.npy"))
            diff = float(np.abs(got - ref).max())
            s["ort_fp32_top1"] = float((got.argmax(1) == y).mean())
            s["ort_vs_torch_max_abs_diff"] = diff
            s["ort_vs_torch_argmax_mismatches"] = int((got.argmax(1) != ref.argmax(1)).sum())
            if args.bench:
                s["ort_bench"] = {t: ort_bench(onnx_path, x_path, t) for t in (1, 2)}
            ok = diff <= MAX_ABS_DIFF
            failed |= not ok
            print(f"{name}: ORT top-1 {s['ort_fp32_top1'] * 100:.2f}% (torch "
                  f"{s['torch_fp32_top1'] * 100:.2f}%), max |ORT-torch| {diff:.2e} "
                  f"{'ok' if ok else 'FAIL'}")
    with open(summary_path, "w") as f:
        json.dump(summaries, f, indent=1)
        f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
