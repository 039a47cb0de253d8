#!/usr/bin/env bash
# Calibrates every zoo model for several accelerators and evaluates FP32 vs
# bit-accurate top-1 on the full Fashion-MNIST test set; prints a Markdown
# table (docs/results.md holds the last run). Needs the test set:
#   /usr/bin/python3 scripts/make_testset.py out/fmnist   (bash scripts/setup.sh --python)
# Usage: scripts/results.sh [build_dir] [test_dir] [configs...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
testdir=${2:-out/fmnist}
shift $(( $# > 2 ? 2 : $# )) || true
configs=("$@")
[[ ${#configs[@]} -gt 0 ]] || configs=(int8_npu w4a8 shift_only tflite hetero ort_cpu nvdla_like)
mkdir -p out/results
echo "| model | arch | FP32 top-1 | bit-accurate top-1 | drop (pp) | calib wall s (stats / search) |"
echo "|---|---|---|---|---|---|"
for model in cnn resnet mobilenet; do
  for cfg in "${configs[@]}"; do
    rep=out/results/${model}_${cfg}.json
    if ! "$build"/tools/calib --arch configs/$cfg.yaml models/$model.onnx --data data/calib_500.npy -q \
        -o out/results/${model}_${cfg}.ctable.yaml --report "$rep" \
        --eval-data "$testdir"/fmnist_test_x.npy --eval-labels "$testdir"/fmnist_test_y.npy 2>out/results/err.txt; then
      echo "| $model | $cfg | error: $(head -c 200 out/results/err.txt) | | | |"
      continue
    fi
    /usr/bin/python3 - "$rep" "$model" "$cfg" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = r["evaluation"]; t = r["timing_seconds"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {e['fp32_top1']:.2f} | {e['bit_accurate_top1']:.2f} | "
      f"{e['drop_pp']:+.2f} | {t['total']:.2f} ({t['statistics']:.2f} / {t['search']:.2f}) |")
PY
  done
done
