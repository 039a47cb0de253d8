#!/usr/bin/env bash
# A QDQ model made by PyTorch (scripts/qat/torch_qdq_export.py: the zoo CNN,
# fake-quantized, exported by torch.onnx.export) imports and refines with
# `calib`: on int8_npu.yaml as given (no forced change), on shift_only.yaml
# with every change the arch forces reported (power-of-two scales, int8 for
# uint8, no zero-points, per-tensor weights), both evaluated bit-accurately.
#
#   scripts/qat/check_torch_qdq.sh --build BUILD [--out DIR]
#
# Exit 0: as expected. 1: not. 2: bad usage. 77: no Debian python3-torch /
# python3-onnx (scripts/setup.sh --python), reported as skipped by CTest.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="" OUT=out/torch_qdq
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$BUILD/tools/calib" ]] || { echo "error: give --build (no $BUILD/tools/calib)" >&2; exit 2; }
PY=/usr/bin/python3
"$PY" -c "import torch, onnx" 2>/dev/null || { echo "SKIPPED: Debian python3-torch / python3-onnx not installed"; exit 77; }
mkdir -p "$OUT"
"$PY" scripts/qat/torch_qdq_export.py --model cnn --out "$OUT/cnn.qdq.onnx"
status=0
for arch in int8_npu shift_only; do
  "$BUILD/tools/calib" --arch "configs/$arch.yaml" "$OUT/cnn.qdq.onnx" --data data/calib_500.npy --samples 100 \
      --threads 2 -o "$OUT/$arch.ctable.yaml" --report "$OUT/$arch.json" \
      --eval-data data/test_100_x.npy --eval-labels data/test_100_y.npy > "$OUT/$arch.log"
  "$PY" - "$OUT/$arch.json" "$arch" <<'PY' || status=1
import json, sys
r = json.load(open(sys.argv[1])); arch = sys.argv[2]
forced = r["forced_changes"]; ev = r["evaluation"]
print(f"{arch:10s} forced changes {len(forced):2d}; top-1 FP32 {ev['fp32_top1']:.2f}% bit-accurate {ev['bit_accurate_top1']:.2f}%")
for c in forced:
    print(f"    {c['item']}: {c['why']}: {c['before']} -> {c['after']} "
          f"({c.get('sqnr_before_db', float('inf')):.2f} -> {c.get('sqnr_after_db', float('inf')):.2f} dB)")
ok = (len(forced) == 0) if arch == "int8_npu" else (len(forced) > 0)
ok = ok and ev["drop_pp"] < 5.0
sys.exit(0 if ok else 1)
PY
done
[[ $status -eq 0 ]] && echo "torch QDQ check: ok" || echo "torch QDQ check: FAILED"
exit $status
