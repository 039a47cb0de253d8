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
// slow, so it runs only where some input can overflow the layer; elsewhere
// every accumulation fits (running_sum_range) and only `outputs` is set.
sim::reference::AccumulatorStats accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads);

}  // namespace bitnpu::calib
