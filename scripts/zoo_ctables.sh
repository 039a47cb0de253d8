#!/usr/bin/env bash
# Calibrates the three zoo models on every config in configs/ (and resnet
# on int8_npu with each single policy) and writes their CTables to
# OUT_DIR/<model>_<config>[_<policy>].ctable.yaml. With REFERENCE_DIR,
# compares each against the file of the same name there and fails unless
# every one is byte-identical: the "no change in behaviour" check of a
# restructuring (make the reference with the old build first).
#
#   bash scripts/zoo_ctables.sh BUILD_DIR OUT_DIR [REFERENCE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: zoo_ctables.sh BUILD_DIR OUT_DIR [REFERENCE_DIR]}
out=${2:?usage: zoo_ctables.sh BUILD_DIR OUT_DIR [REFERENCE_DIR]}
reference=${3:-}
calib="$build/tools/calib"
[[ -x "$calib" ]] || { echo "error: $calib not found (build first)" >&2; exit 2; }
mkdir -p "$out"

made=0 differ=0
for config in configs/*.yaml; do
  arch=$(basename "$config" .yaml)
  for model in cnn resnet mobilenet; do
    name="${model}_${arch}.ctable.yaml"
    "$calib" --arch "$config" "models/$model.onnx" --data data/calib_500.npy --threads 2 -q -o "$out/$name"
    made=$((made + 1))
    if [[ -n "$reference" ]]; then
      if ! cmp -s "$out/$name" "$reference/$name"; then
        echo "DIFFERS: $name" >&2
        differ=$((differ + 1))
      fi
    fi
  done
done
# Every single policy (not only the default search) on one model and config.
for policy in max percentile kld l1 l2; do
  name="resnet_int8_npu_${policy}.ctable.yaml"
  "$calib" --arch configs/int8_npu.yaml models/resnet.onnx --data data/calib_500.npy --policy "$policy" \
      --threads 2 -q -o "$out/$name"
  made=$((made + 1))
  if [[ -n "$reference" ]] && ! cmp -s "$out/$name" "$reference/$name"; then
    echo "DIFFERS: $name" >&2
    differ=$((differ + 1))
  fi
done
if [[ -n "$reference" ]]; then
  echo "zoo_ctables: $((made - differ)) of $made CTables byte-identical to $reference"
  [[ $differ -eq 0 ]]
else
  echo "zoo_ctables: wrote $made CTables to $out"
fi
