#!/usr/bin/env bash
# bitnpu calib vs PyTorch's own post-training static quantization (eager
# mode, onednn, default observers) on the zoo models, in one command on the
# same machine: calibration wall time on the same 500 samples and top-1 on
# the 10k test set. Both tools run with 1 and with 2 threads; each timing is
# the fastest of 3 runs (this machine's timings vary by 10-20 % run to run).
# Needs: bash scripts/setup.sh --python, a build, and
#   /usr/bin/python3 scripts/make_testset.py out/fmnist
# Usage: scripts/compare_ptq.sh [build_dir] [test_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
testdir=${2:-out/fmnist}
repeat=3
mkdir -p out/ptq
echo "| model | threads | tool | INT8 top-1 | drop (pp) | calibration wall s |"
echo "|---|---|---|---|---|---|"
for threads in 1 2; do
  /usr/bin/python3 scripts/ptq_baseline.py --engine onednn --threads $threads --repeat $repeat \
    --json out/ptq/torch_$threads.json >/dev/null
  for model in cnn resnet mobilenet; do
    /usr/bin/python3 - out/ptq/torch_$threads.json "$model" "$threads" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["model"] == sys.argv[2]:
        print(f"| {r['model']} | {sys.argv[3]} | PyTorch PTQ (onednn) | {100*r['int8_top1']:.2f} | "
              f"{100*(r['fp32_top1']-r['int8_top1']):+.2f} | {r['calib_seconds']['total']:.2f} |")
PY
    for policy in max auto; do
      rep=out/ptq/${model}_${policy}_${threads}.json
      common=(--arch configs/int8_npu.yaml models/$model.onnx --data data/calib_500.npy -q
              --policy $policy --threads $threads -o out/ptq/${model}.ctable.yaml)
      "$build"/tools/calib "${common[@]}" --report "$rep" \
        --eval-data "$testdir"/fmnist_test_x.npy --eval-labels "$testdir"/fmnist_test_y.npy
      for ((r = 1; r < repeat; r++)); do "$build"/tools/calib "${common[@]}" --report "$rep.$r"; done
      /usr/bin/python3 - "$rep" "$model" "$policy" "$threads" "$repeat" <<'PY'
import json, sys
rep, model, policy, threads, repeat = sys.argv[1:6]
r = json.load(open(rep)); e = r["evaluation"]
seconds = [r["timing_seconds"]["total"]] + [json.load(open(f"{rep}.{k}"))["timing_seconds"]["total"]
                                           for k in range(1, int(repeat))]
print(f"| {model} | {threads} | bitnpu calib int8_npu (--policy {policy}) | "
      f"{e['bit_accurate_top1']:.2f} | {e['drop_pp']:+.2f} | {min(seconds):.2f} |")
PY
    done
  done
done
