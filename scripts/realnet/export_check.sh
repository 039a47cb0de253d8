#!/usr/bin/env bash
# npuexport on the real-network development models (docs/export.md, issue
# #16): each model calibrated for configs/ort_cpu.yaml on its cached
# calibration inputs, run bit-accurately by npusim on its evaluation inputs,
# exported in QOperator and QDQ form, run by ONNX Runtime; prints per output
# how many elements differ from npusim (0 = bit for bit) and per format the
# layers that are not exact by construction.
#
#   scripts/realnet/export_check.sh --build BUILD [--models "mlsd_320_tiny oww_alexa"]
#       [--calib N] [--eval N] [--out DIR]
#
# Needs the cache of scripts/realnet/fetch_models.sh + prepare_inputs.py
# (~/.cache/bitnpu) and onnxruntime-node (scripts/ort/setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${BITNPU_CACHE:-$HOME/.cache/bitnpu}
BUILD="" MODELS="mlsd_320_tiny mlsd_320_large mlsd_512_tiny mlsd_512_large oww_alexa oww_timer oww_hey_rhasspy oww_hey_mycroft oww_weather oww_embedding_model"
NC=32 NE=8 OUT=/tmp/bitnpu_export_check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --calib) NC="$2"; shift 2 ;;
    --eval) NE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$BUILD/tools/npuexport" ]] || { echo "error: give --build (no $BUILD/tools/npuexport)" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
ARCH=$root/configs/ort_cpu.yaml
mkdir -p "$OUT"
for m in $MODELS; do
  model=$cache/models/$m.onnx
  inputs=$cache/inputs/$m
  [[ -f "$model" && -d "$inputs" ]] || { echo "$m: not in the cache (fetch_models.sh, prepare_inputs.py)"; continue; }
  d=$OUT/$m; mkdir -p "$d"
  calib_src=$(ls "$inputs"/calib_*.npy | head -1) eval_src=$(ls "$inputs"/eval_*.npy | head -1)
  "$PY" -c "import numpy as np,sys; a=np.load(sys.argv[1]); np.save(sys.argv[2], a[:int(sys.argv[3])]); b=np.load(sys.argv[4]); np.save(sys.argv[5], b[:int(sys.argv[6])])" \
    "$calib_src" "$d/calib.npy" "$NC" "$eval_src" "$d/eval.npy" "$NE"
  if ! "$BUILD/tools/calib" --arch "$ARCH" "$model" --data "$d/calib.npy" --threads 2 -q -o "$d/T.ctable.yaml" >"$d/calib.log" 2>&1; then
    echo "$m: calib failed: $(tail -1 "$d/calib.log")"; continue
  fi
  "$BUILD/tools/npusim" run --arch "$ARCH" --ctable "$d/T.ctable.yaml" "$model" --input "$d/eval.npy" \
    --output-dir "$d/npusim" --threads 2 >/dev/null
  for format in qoperator qdq; do
    shape=$("$PY" -c "import numpy as np,sys; s=np.load(sys.argv[1], mmap_mode='r').shape; print(','.join(map(str, (1,) + s[1:])))" "$d/eval.npy")
    if ! "$BUILD/tools/npuexport" --arch "$ARCH" --ctable "$d/T.ctable.yaml" "$model" -o "$d/$format.onnx" \
        --format "$format" --report "$d/$format.json" --input-shape "$shape" >"$d/$format.log" 2>&1; then
      echo "$m $format: export failed: $(tail -1 "$d/$format.log")"; continue
    fi
    # ONNX Runtime's output NAME=PATH per model output, PATH named as npusim
    # names its files (the output name with unsafe characters replaced).
    mapfile -t outs < <("$PY" - "$model" "$d/$format" <<'PY'
import re, sys, onnx
for o in onnx.load(sys.argv[1], load_external_data=False).graph.output:
    print("--output")
    print(f"{o.name}={sys.argv[2]}.{re.sub(r'[^A-Za-z0-9_.-]', '_', o.name)}.ort.npy")
PY
)
    node "$root/scripts/ort/ort_run.js" --model "$d/$format.onnx" --input "$d/eval.npy" "${outs[@]}" --threads 1 --batch 1
    "$PY" - "$d" "$format" "$m" <<'PY'
import json, sys, glob, os
import numpy as np
d, fmt, m = sys.argv[1:4]
rep = json.load(open(f"{d}/{fmt}.json"))
parts = []
for f in sorted(glob.glob(f"{d}/npusim/*.npy")):
    n = os.path.basename(f)[:-4]
    a, b = np.load(f), np.load(f"{d}/{fmt}.{n}.ort.npy")
    diff = int(np.count_nonzero(a != b))
    parts.append(f"{n}: {diff}/{a.size} differ")
inexact = [f"{l['op']}" for l in rep["layers"] if not l["exact"]]
print(f"{m:24s} {fmt:9s} layers {rep['layers_exact']}/{rep['layers_total']} exact by construction"
      f"{' (not: ' + ', '.join(sorted(set(inexact))) + ')' if inexact else ''}; " + "; ".join(parts))
PY
  done
done
