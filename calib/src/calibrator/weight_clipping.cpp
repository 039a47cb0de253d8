// MSE-optimal weight clipping (weight_clipping.hpp).
#include "weight_clipping.hpp"

#include <algorithm>
#include <limits>

namespace bitnpu::calib {
namespace {

// Shrink factors: a coarse pass over 1.00, 0.96, ..., 0.20, then the
// hundredths around the best coarse factor.
constexpr int kCoarseSteps = 21;
constexpr double kCoarse = 0.04;
constexpr double kFine = 0.01;

double squared_error(const float* w, std::int64_t n, const AffineQuant& q) {
    double e = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const double d = w[i] - fake_quantize(w[i], q);
        e += d * d;
    }
    return e;
}

// The best shrink of [lo, hi] for the values w[0..n).
ClipRange best_range(const float* w, std::int64_t n, ClipRange observed, arch::ValueType type, bool restricted,
                     const ScaleOptions& options) {
    ClipRange best = observed;
    double best_error = std::numeric_limits<double>::infinity();
    double best_factor = 1.0;
    auto consider = [&](double f) {
        if (f <= 0.0 || f > 1.0) return;
        const ClipRange r{observed.lo * f, observed.hi * f};
        const double e = squared_error(w, n, derive_quant(r, type, restricted, options));
        if (e < best_error) {  // strict: ties keep the earlier (wider) range
            best_error = e;
            best = r;
            best_factor = f;
        }
    };
    for (int step = 0; step < kCoarseSteps; ++step) consider(1.0 - kCoarse * step);
    const double center = best_factor;
    for (int step = -3; step <= 3; ++step)
        if (step != 0) consider(center + kFine * step);
    return best;
}

}  // namespace

ChannelRanges mse_weight_ranges(const Tensor& weight, const ChannelRanges& observed, arch::ValueType type,
                                bool restricted, bool per_channel, const ScaleOptions& options) {
    ChannelRanges out = observed;
    const float* w = weight.data<float>();
    const std::int64_t channels = static_cast<std::int64_t>(observed.channels());
    const std::int64_t per_row = weight.numel() / std::max<std::int64_t>(1, channels);
    if (per_channel) {
        for (std::int64_t c = 0; c < channels; ++c) {
            const ClipRange r = best_range(w + c * per_row, per_row, {observed.min[c], observed.max[c]}, type,
                                           restricted, options);
            out.min[c] = r.lo;
            out.max[c] = r.hi;
        }
        return out;
    }
    const double lo = *std::min_element(observed.min.begin(), observed.min.end());
    const double hi = *std::max_element(observed.max.begin(), observed.max.end());
    const ClipRange r = best_range(w, weight.numel(), {lo, hi}, type, restricted, options);
    std::fill(out.min.begin(), out.min.end(), r.lo);
    std::fill(out.max.begin(), out.max.end(), r.hi);
    return out;
}

}  // namespace bitnpu::calib
