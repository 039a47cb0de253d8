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

// AdaRound's moments (bitnpu/quant/adaround.hpp) of the layer's FP32 input x
// and of x_hat, the same slice through the quantized upstream (dequantized,
// x's shape), over the patches of the first images up to kAdaRoundPositions
// output positions: per group H_qq = E[x^ x^^T] and H_fq = E[x x^^T].
struct CrossMoments {
    std::int64_t k = 0;                 // patch length; 0: none
    std::int64_t groups = 0;
    std::vector<double> h_qq, h_fq;     // groups x K x K, row-major
    const double* qq(std::int64_t g) const { return h_qq.data() + g * k * k; }
    const double* fq(std::int64_t g) const { return h_fq.data() + g * k * k; }
};
// Layers with longer patches are left to nearest rounding: AdaRound's step
// costs rows x K^2 (docs/calibrator.md "AdaRound").
inline constexpr std::int64_t kMaxAdaRoundK = 1152;
inline constexpr std::int64_t kAdaRoundPositions = 8192;
// Empty (k = 0) above kMaxAdaRoundK, and when the slice has fewer patches
// than K: H would be singular and AdaRound would fit the slice, not the
// layer (a Gemm on 16 samples). The result does not depend on threads.
CrossMoments cross_moments(const sim::MacLayer& layer, const Tensor& x, const float* x_hat, int threads = 1);

}  // namespace bitnpu::calib
