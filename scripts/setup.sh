#!/usr/bin/env bash
# Installs bitnpu's build and test dependencies from Debian's packages.
# Idempotent: skips apt entirely when everything is already installed.
# Works as root (CI, containers) or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsystemc-dev libeigen3-dev libyaml-cpp-dev libfmt-dev catch2 verilator
  libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev nlohmann-json3-dev
  libstb-dev libbenchmark-dev zlib1g-dev libonnx-testdata libjemalloc-dev libglpk-dev
  slurm-wlm munge   # tests/slurm: a throw-away local Slurm cluster
  chromium          # scripts/sweep/test_report.sh: the sweep report in headless Chromium
)
# Python side (model zoo, PyTorch baseline): only with --python.
if [[ "${1:-}" == "--python" ]]; then
  packages+=(python3-torch python3-torchvision python3-onnx python3-numpy dataset-fashion-mnist)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
