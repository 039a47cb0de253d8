#!/usr/bin/env bash
# Sets up, builds and runs the main job on the bundled example: calibrate the
# bundled Fashion-MNIST CNN for the bundled accelerator (configs/npu.yaml) on
# the 500 bundled calibration samples, evaluate FP32 vs bit-accurate top-1 on
# the first 100 test images, and write the CTable to out/cnn.ctable.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build=${BITNPU_BUILD_DIR:-build}
mkdir -p out
"$build"/tools/archinfo configs/npu.yaml
echo
"$build"/tools/calib --arch configs/npu.yaml models/cnn.onnx --data data/calib_500.npy \
  --eval-data data/test_100_x.npy --eval-labels data/test_100_y.npy \
  -o out/cnn.ctable.yaml --report out/cnn.report.json
echo
# The calibrated program on the SystemC cycle model: cycles, utilization and
# stalls per layer (bit-identical outputs to the functional model).
"$build"/tools/npusim cycle --arch configs/npu.yaml --ctable out/cnn.ctable.yaml models/cnn.onnx \
  --input data/test_100_x.npy --output-dir out/cnn_cycle --report out/cnn.cycle.json
echo
# Mixed precision on the same chip: each MAC layer's engine and precision
# (INT8, INT4 weights, binary) chosen so that at least half of the MACs run
# below 8 bits, with the Pareto list of what the other budgets would give.
"$build"/tools/calib --arch configs/npu.yaml models/cnn.onnx --data data/calib_500.npy \
  --eval-data data/test_100_x.npy --eval-labels data/test_100_y.npy \
  --mixed-precision --budget lowbit-macs=0.5 -o out/cnn.mixed.ctable.yaml --report out/cnn.mixed.report.json
