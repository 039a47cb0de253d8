// The mixed-precision search (private to the calibrator; the public types
// and the solver are in bitnpu/calibrator/mixed_precision.hpp).
#pragma once

#include <map>
#include <string>

#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/mixed_precision.hpp"
#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

// Chooses each MAC layer's engine and precision under `budget` (the four
// phases of mixed_precision.hpp). Every quality figure is the model outputs'
// SQNR against FP32 on `slice`, run by the bit-accurate simulator with the
// activations quantized by one policy (options.policy, else l2: MSE-optimal
// clipping at every width) and the weights clipped without data; the chosen
// assignment is then calibrated in full by the caller. UserError when the
// arch offers no choice or the budget cannot be met (naming the best
// fraction reachable).
MixedPrecisionReport choose_precisions(const Graph& graph, const arch::ArchSpec& arch,
                                       const std::map<std::string, TensorStats>& stats, const Feed& slice,
                                       const CalibOptions& options, const Budget& budget);

}  // namespace bitnpu::calib
