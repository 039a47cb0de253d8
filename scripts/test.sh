#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd "${BITNPU_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)"
