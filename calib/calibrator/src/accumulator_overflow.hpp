// Accumulator-aware calibration's pieces that the search calls (private to
// the calibrator; numerics.md "Accumulator-aware weight bound").
#pragma once

#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::calib {

// Whether some input can make the layer's accumulator wrap or saturate
// (overflowable_channels). Binary weights have no scale that bounds their
// sum, so they count as never: accumulator-aware calibration leaves them alone.
bool can_overflow(const sim::MacLayer& layer);

// What the layer's accumulator does on input x (every sample):
// sim::count_overflows, which steps through only the elements whose bound
// does not clear the accumulator. Layers no input can overflow
// (running_sum_range) are not run at all: only `outputs` and `steps` are set.
sim::OverflowCounts accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads);

// The squared error of a layer's output `out` (per-tensor quantization,
// dequantized) against the FP32 output `ref` (same layout, out.size() values).
double output_squared_error(const sim::QTensor& out, const float* ref);

}  // namespace bitnpu::calib
