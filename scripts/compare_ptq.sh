#!/usr/bin/env bash
# bitnpu calib vs PyTorch's own post-training static quantization (eager
# mode, onednn, default observers) on the zoo models, in one command on the
# same machine: calibration wall time on the same 500 samples and top-1 on
# the 10k test set. Needs: bash scripts/setup.sh --python, a build, and
#   /usr/bin/python3 scripts/make_testset.py out/fmnist
# Usage: scripts/compare_ptq.sh [build_dir] [test_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
testdir=${2:-out/fmnist}
mkdir -p out/ptq
/usr/bin/python3 scripts/ptq_baseline.py --engine onednn --threads 1 --json out/ptq/torch.json >/dev/null
echo "| model | tool | INT8 top-1 | drop (pp) | calibration wall s |"
echo "|---|---|---|---|---|"
for model in cnn resnet mobilenet; do
  /usr/bin/python3 - out/ptq/torch.json "$model" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["model"] == sys.argv[2] and r["engine"] == "onednn":
        print(f"| {r['model']} | PyTorch PTQ (onednn, 1 thread) | {100*r['int8_top1']:.2f} | "
              f"{100*(r['fp32_top1']-r['int8_top1']):+.2f} | {r['calib_seconds']['total']:.2f} |")
PY
  for policy in max auto; do
    for threads in 1 2; do
      rep=out/ptq/${model}_${policy}_${threads}.json
      "$build"/tools/calib --arch configs/int8_npu.yaml models/$model.onnx --data data/calib_500.npy -q \
        --policy $policy --threads $threads -o out/ptq/${model}.ctable.yaml --report "$rep" \
        --eval-data "$testdir"/fmnist_test_x.npy --eval-labels "$testdir"/fmnist_test_y.npy
      /usr/bin/python3 - "$rep" "$model" "$policy" "$threads" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = r["evaluation"]
print(f"| {sys.argv[2]} | bitnpu calib int8_npu (--policy {sys.argv[3]}, {sys.argv[4]} thread(s)) | "
      f"{e['bit_accurate_top1']:.2f} | {e['drop_pp']:+.2f} | {r['timing_seconds']['total']:.2f} |")
PY
    done
  done
done
