#!/usr/bin/env bash
# ONNX Runtime runs what npuexport writes (docs/export.md): for every zoo
# model (models/*.onnx) calibrated for configs/ort_cpu.yaml,
#   - the QOperator export run by ONNX Runtime must give exactly npusim's
#     outputs (0 elements differ: the float outputs are the same dequantized
#     integers, and dequantization is one-to-one, so equal floats <=> equal
#     integers);
#   - the QDQ export must run in ONNX Runtime; how many elements differ from
#     npusim is printed (not required to be 0: see docs/export.md "QDQ").
#
#   scripts/check_export.sh --build BUILD [--out DIR] [--models "cnn resnet"]
#
# Exit 0: all QOperator exports exact. 1: a mismatch. 2: bad usage / a tool
# failed. 77: ONNX Runtime is not available (CTest reports it as skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="" OUT="out/export_check" MODELS=""
X=data/test_100_x.npy CALIB=data/calib_500.npy ARCH=configs/ort_cpu.yaml
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in calib npusim npuexport; do
  [[ -x "$BUILD/tools/$tool" ]] || { echo "error: give --build (no $BUILD/tools/$tool)" >&2; exit 2; }
done
COMPARE="$BUILD/tests/ort/ort_compare_npy"
[[ -x "$COMPARE" ]] || { echo "error: no $COMPARE" >&2; exit 2; }

skip() { echo "SKIPPED: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed (apt-get install nodejs npm)"
bash scripts/ort/setup.sh || skip "could not install onnxruntime-node (no access to the npm registry?)"
(cd scripts/ort && node -e "require('onnxruntime-node')") 2>/dev/null || skip "onnxruntime-node does not load"

if [[ -z "$MODELS" ]]; then
  MODELS=$(for m in models/*.onnx; do basename "$m" .onnx; done)
fi
mkdir -p "$OUT"
status=0
for name in $MODELS; do
  model=models/$name.onnx
  dir=$OUT/$name
  mkdir -p "$dir"
  "$BUILD/tools/calib" --arch "$ARCH" "$model" --data "$CALIB" --samples 100 --threads 2 -q -o "$dir/ctable.yaml"
  "$BUILD/tools/npusim" run --arch "$ARCH" --ctable "$dir/ctable.yaml" "$model" --input "$X" \
      --output-dir "$dir/npusim" --threads 2 >/dev/null
  for format in qoperator qdq; do
    "$BUILD/tools/npuexport" --arch "$ARCH" --ctable "$dir/ctable.yaml" "$model" -o "$dir/$format.onnx" \
        --format "$format" --report "$dir/$format.json" >/dev/null
    node scripts/ort/ort_run.js --model "$dir/$format.onnx" --input "$X" --output "$dir/$format.ort.npy" --threads 1
    printf '%-10s %-9s ' "$name" "$format"
    for out in "$dir"/npusim/*.npy; do
      if "$COMPARE" "$out" "$dir/$format.ort.npy" --rtol 0 > "$dir/$format.compare.txt"; then
        echo "exact: $(head -1 "$dir/$format.compare.txt")"
      else
        echo "DIFFERS: $(head -1 "$dir/$format.compare.txt")"
        [[ $format == qoperator ]] && status=1
      fi
      break   # zoo models have one output
    done
  done
done

# Negative control: a QOperator export of one model must not match another's
# npusim outputs, or the exact matches above would prove nothing.
set -- $MODELS
if [[ $# -ge 2 ]]; then
  if "$COMPARE" "$OUT/$1/npusim/logits.npy" "$OUT/$2/qoperator.ort.npy" --rtol 0 >/dev/null; then
    echo "FAIL: negative control ($1 npusim vs $2 export) was accepted"; status=1
  else
    echo "negative control ($1 npusim vs $2 export) rejected, as it must be"
  fi
fi
[[ $status -eq 0 ]] && echo "export check: every QOperator export matches npusim bit for bit" || echo "export check: MISMATCH"
exit $status
