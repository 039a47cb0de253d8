#!/usr/bin/env bash
# Configures and builds bitnpu into build/ (or $BITNPU_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BITNPU_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
