#!/usr/bin/env bash
# Builds every library target as a shared library linked with
# -Wl,--no-undefined: each must link on its own against only the targets it
# declares (a static build would hide an undeclared dependency until some
# executable happened to pull in both). Then builds npusim and checks it
# does not link the calibrator.
#
#   bash scripts/check_targets_link.sh [BUILD_DIR]     (default: build-shared)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-shared}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
      "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,--no-undefined" \
      -DBITNPU_BUILD_TESTS=OFF -DBITNPU_BUILD_BENCH=OFF -DBITNPU_BUILD_RTL=OFF >/dev/null
targets=(bitnpu_arch bitnpu_sim bitnpu_systemc bitnpu_graph bitnpu_fp32 bitnpu_frontend bitnpu_quant
         bitnpu_ctable bitnpu_compile bitnpu_calibrator npusim calib archinfo)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
for t in "${targets[@]}"; do echo "links on its own: $t"; done
if ldd "$build/tools/npusim" | grep -q calibrator; then
  echo "error: npusim links the calibrator" >&2
  exit 1
fi
echo "npusim does not link the calibrator:"
ldd "$build/tools/npusim" | grep -o 'libbitnpu_[a-z0-9]*' | sort | tr '\n' ' '; echo
