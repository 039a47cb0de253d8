// MSE-optimal clipping of weights before quantization. The calibrator
// measures the input moments; lowering clips a MAC layer's weights with them
// when no CTable records the layer's weight scales. With few levels (int4)
// the largest weight sets a scale that wastes most of the grid on rare outliers; shrinking the range trades a
// little clipping error for much less rounding error on everything else.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/quant/scale.hpp"
#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

// Second moments H = E[x x^T] of a MAC layer's input patches, one K x K
// matrix per group: the weight clipping then minimizes the layer-output
// error (w - w^)^T H (w - w^) instead of the raw weight error.
struct InputMoments {
    std::int64_t k = 0;                 // patch length (reduction_length); 0: none
    std::int64_t groups = 0;
    std::vector<double> h;              // groups x K x K, row-major
    const double* group(std::int64_t g) const { return h.data() + g * k * k; }
};

// The ranges (per channel along axis 0 when per_channel, else one range for
// the whole tensor, repeated) that minimize the quantization error over
// shrink factors of the observed range: 1.00, 0.96, ..., 0.20, then the
// hundredths around the best of those. The error is sum (w - Q(w))^2, or,
// given the layer's input moments (the calibrator's input_moments.hpp), the layer-output
// error sum d^T H d: weights that meet large, correlated inputs count more.
// Deterministic; the chosen ranges then go through weight_params().
ChannelRanges mse_weight_ranges(const Tensor& weight, const ChannelRanges& observed, arch::ValueType type,
                                bool restricted, bool per_channel, const ScaleOptions& options,
                                const InputMoments* moments = nullptr, int threads = 1);

}  // namespace bitnpu::calib
