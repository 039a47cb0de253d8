#!/usr/bin/env bash
# Checks that dependencies point one way: every #include "bitnpu/<target>/..."
# in a folder names a target that folder may depend on (README "Layout").
# A new include that points back up the data flow fails here, before it
# turns into a link cycle.
#
#   bash scripts/check_layering.sh [REPO_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# folder -> the bitnpu/<name>/ include folders it may use (errors.hpp is arch's).
declare -A allowed=(
  [arch]="arch"
  [sim]="arch sim"
  [calib/graph]="arch graph"
  [calib/fp32]="arch sim graph fp32"
  [calib/frontend]="arch sim graph fp32 frontend"
  [calib/quant]="arch sim graph quant"
  [calib/ctable]="arch sim graph quant ctable"
  [calib/compile]="arch sim graph fp32 quant ctable compile"
  [calib/calibrator]="arch sim graph fp32 frontend quant ctable compile calibrator"
  [calib/export]="arch sim graph fp32 quant ctable compile export"
  [calib/importer]="arch sim graph fp32 quant ctable compile export importer"
  [sweep]="arch sim graph fp32 frontend quant ctable compile calibrator sweep"
  [rtl]="arch sim graph fp32 frontend quant ctable compile"
  [tools/npusim.cpp]="arch sim graph fp32 frontend quant ctable compile importer"
  [tools/npuexport.cpp]="arch sim graph fp32 frontend quant ctable compile export"
  [tools/archinfo.cpp]="arch"
)

problems=0
for folder in "${!allowed[@]}"; do
  [[ -e "$folder" ]] || { echo "check_layering: $folder does not exist" >&2; problems=$((problems + 1)); continue; }
  ok=" ${allowed[$folder]} "
  while IFS=: read -r file line text; do
    target=$(sed -E 's#.*"bitnpu/([a-z0-9_]+)/.*#\1#' <<<"$text")
    if [[ "$ok" != *" $target "* ]]; then
      echo "$file:$line: $folder may not include bitnpu/$target/ (allowed: ${allowed[$folder]})"
      problems=$((problems + 1))
    fi
  done < <(grep -rnHE '#include "bitnpu/[a-z0-9_]+/' "$folder" --include='*.cpp' --include='*.hpp' --include='*.h' || true)
done
if [[ $problems -ne 0 ]]; then
  echo "check_layering: $problems include(s) against the layering" >&2
  exit 1
fi
echo "check_layering: OK (${#allowed[@]} folders)"
