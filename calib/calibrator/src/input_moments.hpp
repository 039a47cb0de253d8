// Second moments of a MAC layer's input patches, H = E[x x^T] over the
// im2col columns of the calibration slice, one K x K matrix per group. They
// turn weight quantization error into layer-output error:
//     E[((w - w^) . x)^2] = (w - w^)^T H (w - w^)
// so the weight clipping can minimize what the layer actually outputs
// wrong, not the raw weight error (weight_clipping.hpp). Private to the
// calibrator.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/compile/lowering.hpp"
#include "bitnpu/graph/tensor.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

namespace bitnpu::calib {

// Patches read by at most this many output positions enter H (the first
// images of the slice); enough for a stable K x K estimate at K <= 256.
inline constexpr std::int64_t kMomentPositions = 4096;
// Layers with longer patches are not worth a K x K matrix (cost K^2 a candidate).
inline constexpr std::int64_t kMaxMomentK = 256;

// H of the layer's input x (FP32, the layer's input layout); empty (k = 0)
// when the patch is longer than kMaxMomentK. The result does not depend on
// threads.
InputMoments input_moments(const sim::MacLayer& layer, const Tensor& x, int threads = 1);

}  // namespace bitnpu::calib
