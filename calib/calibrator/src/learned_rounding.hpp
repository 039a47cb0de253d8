// AdaRound of one MAC layer on the calibration slice (bitnpu/quant/adaround.hpp
// per group, on cross_moments): the calibrator's side of --adaround.
// Private to the calibrator.
#pragma once

#include <vector>

#include "bitnpu/compile/lowering.hpp"
#include "bitnpu/graph/tensor.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::calib {

// The rounding flags (Lowering::set_weight_rounding) AdaRound chooses for
// `layer`, lowered with nearest rounding as `nearest`, whose float weight is
// `weight` (Lowering::mac_weight), from its FP32 input x and the input x_q
// the quantized upstream delivers on the same slice. Empty when AdaRound
// leaves every weight at nearest rounding or does not run (cross_moments
// empty: long patches, too few patches). The result does not depend on threads.
std::vector<bool> learned_rounding(const sim::MacLayer& layer, const LoweredWeights& nearest, const Tensor& weight,
                                   const Tensor& x, const sim::QTensor& x_q, int threads = 1);

}  // namespace bitnpu::calib
