#!/usr/bin/env bash
# Independent check of bitnpu's FP32 executor against ONNX Runtime: runs every
# zoo model (models/*.onnx) on the first 100 Fashion-MNIST test images through
# `npusim fp32` and through ONNX Runtime (scripts/ort/ort_run.js), then
# requires every logit to agree within |a-b| <= 1e-4 * max(|b|, 1) and every
# top-1 prediction to be identical (docs/ort.md says why this rule).
#
#   scripts/check_ort.sh --npusim BUILD/tools/npusim --compare BUILD/tests/ort/ort_compare_npy [--out DIR]
#
# Exit 0: all models match. 1: a mismatch. 2: bad usage / a tool failed.
# 77: ONNX Runtime is not available (no node/npm, or the npm install failed,
# e.g. offline) -- CTest reports that as skipped (SKIP_RETURN_CODE 77).
set -euo pipefail
cd "$(dirname "$0")/.."

NPUSIM="" COMPARE="" OUT="out/ort_check"
X=data/test_100_x.npy Y=data/test_100_y.npy
while [[ $# -gt 0 ]]; do
  case "$1" in
    --npusim) NPUSIM="$2"; shift 2 ;;
    --compare) COMPARE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in "$NPUSIM" "$COMPARE"; do
  [[ -x "$tool" ]] || { echo "error: give --npusim and --compare (built executables), got '$tool'" >&2; exit 2; }
done

skip() { echo "SKIPPED: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed (apt-get install nodejs npm)"
bash scripts/ort/setup.sh || skip "could not install onnxruntime-node (no access to the npm registry?)"
(cd scripts/ort && node -e "require('onnxruntime-node')") 2>/dev/null || skip "onnxruntime-node does not load"

models=(models/*.onnx)
[[ -e "${models[0]}" ]] || { echo "error: no models/*.onnx" >&2; exit 2; }
mkdir -p "$OUT"
status=0
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  "$NPUSIM" fp32 "$model" --input "$X" --output-dir "$OUT/$name.exec" --threads 2 >/dev/null
  node scripts/ort/ort_run.js --model "$model" --input "$X" --output "$OUT/$name.ort.npy" --threads 1
  printf '%-10s ' "$name"
  "$COMPARE" "$OUT/$name.exec/logits.npy" "$OUT/$name.ort.npy" --labels "$Y" || status=1
done

# Negative control: the comparison must reject two different models' logits,
# or a passing run above would prove nothing.
if [[ ${#models[@]} -ge 2 ]]; then
  a=$(basename "${models[0]}" .onnx) b=$(basename "${models[1]}" .onnx)
  if "$COMPARE" "$OUT/$a.exec/logits.npy" "$OUT/$b.ort.npy" >/dev/null; then
    echo "FAIL: negative control ($a executor vs $b ORT) was accepted"; status=1
  else
    echo "negative control ($a executor vs $b ORT) rejected, as it must be"
  fi
fi
[[ $status -eq 0 ]] && echo "ort check: all ${#models[@]} models match ONNX Runtime" || echo "ort check: MISMATCH"
exit $status
