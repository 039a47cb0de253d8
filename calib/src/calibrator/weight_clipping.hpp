// MSE-optimal clipping of weights before quantization (private to the
// calibrator). With few levels (int4) the largest weight sets a scale that
// wastes most of the grid on rare outliers; shrinking the range trades a
// little clipping error for much less rounding error on everything else.
#pragma once

#include "bitnpu/calib/scale.hpp"
#include "bitnpu/calib/statistics.hpp"
#include "input_moments.hpp"

namespace bitnpu::calib {

// The ranges (per channel along axis 0 when per_channel, else one range for
// the whole tensor, repeated) that minimize the quantization error over
// shrink factors of the observed range: 1.00, 0.96, ..., 0.20, then the
// hundredths around the best of those. The error is sum (w - Q(w))^2, or,
// given the layer's input moments (input_moments.hpp), the layer-output
// error sum d^T H d: weights that meet large, correlated inputs count more.
// Deterministic; the chosen ranges then go through weight_params().
ChannelRanges mse_weight_ranges(const Tensor& weight, const ChannelRanges& observed, arch::ValueType type,
                                bool restricted, bool per_channel, const ScaleOptions& options,
                                const InputMoments* moments = nullptr, int threads = 1);

}  // namespace bitnpu::calib
