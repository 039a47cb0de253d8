// Accumulator-aware calibration's pieces that the search calls (private to
// the calibrator; numerics.md "Accumulator-aware weight bound").
#pragma once

#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/reference/mac.hpp"

namespace bitnpu::calib {

// Whether some input can make the layer's accumulator wrap or saturate
// (overflowable_channels). Binary weights have no scale that bounds their
// sum, so they count as never: accumulator-aware calibration leaves them alone.
bool can_overflow(const sim::MacLayer& layer);

// What the layer's accumulator does on input x: sim::reference::
// accumulator_stats, one sample (first dimension) per task. The reference is
// slow, so it runs only where some input can overflow the layer (elsewhere
// every accumulation fits, by running_sum_range, and only `outputs` is set),
// and on the first samples whose accumulation steps stay within
// kOverflowStepBudget (at least one): M-LSD's 16-sample slice would take
// the reference minutes per layer.
inline constexpr std::int64_t kOverflowStepBudget = 200'000'000;
struct AccumulatorOverflows {
    sim::reference::AccumulatorStats stats;
    std::int64_t samples = 0;   // the samples `stats` counts
};
AccumulatorOverflows accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads);

// The squared error of a layer's output `out` (per-tensor quantization,
// dequantized) against the FP32 output `ref` (same layout, out.size() values).
double output_squared_error(const sim::QTensor& out, const float* ref);

}  // namespace bitnpu::calib
