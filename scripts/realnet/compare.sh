#!/usr/bin/env bash
# Side by side on the development set of issue 14: the peer (ONNX Runtime's
# quantize_static recipe, four variants, peer_qdq.py) and bitnpu (calib +
# the bit-accurate npusim run) on one accelerator YAML, each judged by the SQNR
# of every model output against the FP32 model run in ONNX Runtime, on
# evaluation photos/audio never used for calibration; plus the calibration
# wall time and peak memory of bitnpu against ONNX Runtime's FP32 inference
# over the same calibration samples.
#
#   scripts/realnet/compare.sh [--build DIR] [--arch YAML] [--cache DIR] [--out DIR]
#                              [--models m1,m2,...] [--skip-peer] [--skip-bitnpu]
#     --build   a bitnpu build folder with tools/calib and tools/npusim (default build)
#     --arch    default configs/int8_npu.yaml
#     --cache   default ${BITNPU_CACHE:-$HOME/.cache/bitnpu} (fetch_models.sh,
#               fetch_photos.sh and prepare_inputs.py must have run)
#     --out     default CACHE/out/<arch name>
#     --models  default: every development model (see MODELS below)
# Environment: N_CALIB_<group> / N_EVAL_<group> (group: MLSD, ISNET, OWW) cap
# the calibration / evaluation rows (defaults below); CALIB_TIMEOUT and
# SIM_TIMEOUT (seconds, default 590 each) bound one bitnpu run; THREADS (2);
# CALIB_FLAGS: more calib options, split on spaces (e.g. "--mixed-precision
# --budget lowbit-macs=0.5"), used for every model.
# Prints one markdown table (per model and output) and the list of bitnpu
# failures with their exact messages; everything is also kept in OUT
# (OUT/<model>/peer/peer.json, bitnpu.json, logs) and OUT/summary.json.
# Runs one heavy process at a time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/scripts/realnet"
build=build
arch=configs/int8_npu.yaml
cache=${BITNPU_CACHE:-$HOME/.cache/bitnpu}
out=""
models=""
skip_peer=0
skip_bitnpu=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --skip-peer) skip_peer=1; shift ;;
    --skip-bitnpu) skip_bitnpu=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$root"
py=/usr/bin/python3
threads=${THREADS:-2}
calib_timeout=${CALIB_TIMEOUT:-590}
sim_timeout=${SIM_TIMEOUT:-590}
# Peak resident memory of calib (GNU time's %M, kB) where /usr/bin/time exists.
if [[ -x /usr/bin/time ]]; then peak_rss=(/usr/bin/time -q -f %M); else peak_rss=(env); fi
archname=$(basename "$arch" .yaml)
out=${out:-$cache/out/$archname}
mkdir -p "$out"
build=$(cd "$build" && pwd)
arch=$(cd "$(dirname "$arch")" && pwd)/$(basename "$arch")

# The development set: model -> group (for the N_* caps).
MODELS="mlsd_320_tiny mlsd_320_large mlsd_512_tiny mlsd_512_large isnet_medium_fp32 isnet_medium isnet_small
oww_melspectrogram oww_embedding_model oww_alexa oww_hey_jarvis oww_hey_mycroft oww_hey_rhasspy oww_timer oww_weather"
[[ -n "$models" ]] && MODELS=$(echo "$models" | tr ',' ' ')
N_CALIB_MLSD=${N_CALIB_MLSD:-63};   N_EVAL_MLSD=${N_EVAL_MLSD:-58}
N_CALIB_ISNET=${N_CALIB_ISNET:-8};  N_EVAL_ISNET=${N_EVAL_ISNET:-4}
N_CALIB_OWW=${N_CALIB_OWW:-512};    N_EVAL_OWW=${N_EVAL_OWW:-512}

# npusim: the subcommand CLI (npusim run ...) or the old flags (npusim --arch ... MODEL)
if "$build/tools/npusim" run --help >/dev/null 2>&1; then sim_run=(run); else sim_run=(); fi

# first_rows SRC N DST: the first N rows of SRC as DST (a symlink when N covers SRC)
first_rows() {
  "$py" - "$1" "$2" "$3" <<'PY'
import os, sys
import numpy as np
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
a = np.load(src, mmap_mode="r")
if os.path.lexists(dst):
    os.remove(dst)
if n >= a.shape[0]:
    os.symlink(os.path.realpath(src), dst)
else:
    np.save(dst, np.ascontiguousarray(a[:n]))
print(min(n, a.shape[0]))
PY
}

# last_error LOG: the tool's error message (its "error:" lines), else the last line
last_error() {
  if grep -q '^error:' "$1"; then grep '^error:' "$1" | tail -3 | tr '\n' ' '; else tail -1 "$1"; fi
}

for m in $MODELS; do
  case "$m" in
    mlsd_*) nc=$N_CALIB_MLSD; ne=$N_EVAL_MLSD ;;
    isnet_*) nc=$N_CALIB_ISNET; ne=$N_EVAL_ISNET ;;
    oww_*) nc=$N_CALIB_OWW; ne=$N_EVAL_OWW ;;
    *) echo "compare: unknown model $m" >&2; exit 2 ;;
  esac
  model="$cache/models/$m.onnx"
  in="$cache/inputs/$m"
  [[ -f "$model" ]] || { echo "compare: $model missing (run fetch_models.sh)" >&2; continue; }
  src_c=$(ls "$in"/calib_*.npy 2>/dev/null | head -1); src_e=$(ls "$in"/eval_*.npy 2>/dev/null | head -1)
  [[ -n "$src_c" && -n "$src_e" ]] || { echo "compare: no inputs for $m (run prepare_inputs.py)" >&2; continue; }
  mo="$out/$m"
  mkdir -p "$mo"
  nc=$(first_rows "$src_c" "$nc" "$mo/calib.npy")
  ne=$(first_rows "$src_e" "$ne" "$mo/eval.npy")
  echo "compare: $m: $nc calibration rows, $ne evaluation rows" >&2

  # ---- ORT FP32 inference time over the calibration rows
  node "$here/peer_ort.js" time --model "$model" --input "$mo/calib.npy" --threads "$threads" \
    >"$mo/ort_time.json" 2>"$mo/ort_time.log" || echo '{"error": "ort time failed"}' >"$mo/ort_time.json"

  # ---- (a) the peer
  if [[ $skip_peer -eq 0 && "$m" != isnet_small && "$m" != isnet_medium ]]; then
    if ! "$py" "$here/peer_qdq.py" "$model" "$mo/calib.npy" "$mo/eval.npy" "$mo/peer" --name "$m" \
         --threads "$threads" >"$mo/peer.md" 2>"$mo/peer.log"; then
      echo "compare: peer failed on $m: $(tail -2 "$mo/peer.log")" >&2
    fi
  fi

  # ---- the shipped reduced-precision IS-Net files, run by ONNX Runtime, against the FP32 model
  if [[ $skip_peer -eq 0 && ( "$m" == isnet_small || "$m" == isnet_medium ) && -f "$cache/models/isnet_medium_fp32.onnx" ]]; then
    node "$here/peer_ort.js" eval --ref "$cache/models/isnet_medium_fp32.onnx" --variant "shipped=$model" \
      --input "$mo/eval.npy" --out "$mo/shipped.json" --threads "$threads" 2>"$mo/shipped.log" \
      || echo "compare: shipped-model evaluation failed on $m" >&2
  fi

  # ---- (b) bitnpu: calib, then the bit-accurate run, then SQNR like the peer
  if [[ $skip_bitnpu -eq 0 ]]; then
    rm -rf "$mo/bitnpu_out" "$mo/T.ctable.yaml" "$mo/calib_report.json"
    status=ok; msg=""; calib_s=""; sim_s=""
    t0=$(date +%s.%N)
    set +e
    read -r -a calib_flags <<<"${CALIB_FLAGS:-}"
    rm -f "$mo/calib_max_rss_kb"
    "${peak_rss[@]}" -o "$mo/calib_max_rss_kb" timeout "$calib_timeout" "$build/tools/calib" --arch "$arch" "$model" \
      --data "$mo/calib.npy" --samples "$nc" --threads "$threads" -o "$mo/T.ctable.yaml" \
      --report "$mo/calib_report.json" "${calib_flags[@]}" >"$mo/calib.log" 2>&1
    rc=$?
    set -e
    t1=$(date +%s.%N)
    calib_s=$(echo "$t1 - $t0" | bc)
    if [[ $rc -eq 124 ]]; then status=calib_timeout; msg="calib did not finish within ${calib_timeout} s ($nc samples)"
    elif [[ $rc -ne 0 ]]; then status=calib_failed; msg=$(last_error "$mo/calib.log")
    else
      t0=$(date +%s.%N)
      set +e
      timeout "$sim_timeout" "$build/tools/npusim" "${sim_run[@]}" --arch "$arch" --ctable "$mo/T.ctable.yaml" "$model" \
        --input "$mo/eval.npy" --output-dir "$mo/bitnpu_out" --threads "$threads" >"$mo/npusim.log" 2>&1
      rc=$?
      set -e
      t1=$(date +%s.%N)
      sim_s=$(echo "$t1 - $t0" | bc)
      if [[ $rc -eq 124 ]]; then status=sim_timeout; msg="npusim did not finish within ${sim_timeout} s ($ne samples)"
      elif [[ $rc -ne 0 ]]; then status=sim_failed; msg=$(last_error "$mo/npusim.log")
      else
        node "$here/peer_ort.js" eval --ref "$model" --dir "bitnpu=$mo/bitnpu_out" --input "$mo/eval.npy" \
          --out "$mo/bitnpu_sqnr.json" --threads "$threads" 2>"$mo/bitnpu_sqnr.log" \
          || { status=sqnr_failed; msg=$(tail -1 "$mo/bitnpu_sqnr.log"); }
      fi
    fi
    rss_kb=$(tail -1 "$mo/calib_max_rss_kb" 2>/dev/null | grep -E '^[0-9]+$' || true)
    "$py" - "$mo/bitnpu.json" "$status" "$msg" "$calib_s" "$sim_s" "$nc" "$ne" "$archname" "$rss_kb" <<'PY'
import json, sys
path, status, msg, cs, ss, nc, ne, arch, rss = sys.argv[1:10]
json.dump({"status": status, "message": msg, "calib_wall_s": float(cs) if cs else None,
           "npusim_wall_s": float(ss) if ss else None, "calib_rows": int(nc), "eval_rows": int(ne),
           "calib_max_rss_mb": round(int(rss) / 1024, 1) if rss else None,
           "arch": arch}, open(path, "w"), indent=1)
PY
    echo "compare: bitnpu on $m: $status ${msg:0:200}" >&2
  fi
done

"$py" "$here/summarize.py" "$out" $MODELS
