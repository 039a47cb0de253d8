// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization
// Through Weight Equalization and Bias Correction", sec. 4.2; Finkelstein et
// al. 2019). Quantized weights, and the quantized upstream, shift the mean of
// a layer's pre-activation output. By linearity the shift of output channel c
// is
//     delta[c] = sum_k W[c,k] E[x_k] - sum_k W^[c,k] E[x^_k]
// where E[.] is the mean over the calibration slice and output positions of
// im2col entry k (a padded position reads 0 on both sides: z_x dequantizes to
// 0), W the float weight, W^ = s_w[c] (w_q - z_w) the weight the engine
// multiplies and x^ the dequantized input the quantized upstream delivers.
// Adding delta to the float bias before it is quantized centres the simulated
// output on FP32's. Private to the calibrator.
#pragma once

#include <vector>

#include "bitnpu/graph/tensor.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"

namespace bitnpu::calib {

// The mean im2col vector of input x (layout x_shape) for the layer: one entry
// per (input channel, kernel tap), index c * kH * kW + ky * kW + kx, for
// Conv; one per k for Gemm (mean over the input rows). The result does not
// depend on threads.
std::vector<double> mean_patch(const sim::MacLayer& layer, const Shape& x_shape, const float* x, int threads = 1);

// delta[c] per output channel. float_weight: the layer's weight in the layout
// of layer.weights (Lowering::mac_weight); weight_scale: one scale, or one per
// output channel; x_fp32 / x_quantized: the same slice through the FP32
// model and through the quantized upstream.
std::vector<double> bias_correction(const sim::MacLayer& layer, const Tensor& float_weight,
                                    const std::vector<float>& weight_scale, const Tensor& x_fp32,
                                    const sim::QTensor& x_quantized, int threads = 1);

}  // namespace bitnpu::calib
