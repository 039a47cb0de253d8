// Shared policy helpers: histogram views, quantiles, observed ranges.
#include "policy_util.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bitnpu::calib::policy_detail {

BinMasses nonempty_bins(const Histogram& h) {
    BinMasses out;
    const auto& c = h.counts();
    for (int i = 0; i < h.num_bins(); ++i)
        if (c[static_cast<std::size_t>(i)] != 0) {
            out.center.push_back(h.bin_width() == 0.0 ? 0.0 : h.bin_center(i));
            out.count.push_back(static_cast<double>(c[static_cast<std::size_t>(i)]));
        }
    return out;
}

void require_values(const TensorStats& stats, const char* policy) {
    if (stats.count == 0)
        throw std::invalid_argument(std::string(policy) + " policy: the tensor has no finite values");
}

void require_histograms(const TensorStats& stats, const char* policy) {
    require_values(stats, policy);
    if (!stats.histograms)
        throw std::invalid_argument(std::string(policy) + " policy: the statistics were collected without histograms");
}

ClipRange observed_range(const TensorStats& stats) {
    return {std::min(stats.min, 0.0), std::max(stats.max, 0.0)};
}

const Histogram& symmetric_histogram(const TensorStats& stats, const QuantGrid& grid) {
    return grid.is_signed() ? stats.abs_hist : stats.signed_hist;
}

double symmetric_limit(const TensorStats& stats, const QuantGrid& grid) {
    return grid.is_signed() ? stats.abs_max() : std::max(stats.max, 0.0);
}

ClipRange symmetric_range(double threshold, const QuantGrid& grid) {
    return grid.is_signed() ? ClipRange{-threshold, threshold} : ClipRange{0.0, threshold};
}

double quantile(const Histogram& h, double fraction) {
    if (h.total() == 0 || h.bin_width() == 0.0) return 0.0;
    const double target = std::clamp(fraction, 0.0, 1.0) * static_cast<double>(h.total());
    double cumulative = 0.0;
    const auto& c = h.counts();
    for (int i = 0; i < h.num_bins(); ++i) {
        const double n = static_cast<double>(c[static_cast<std::size_t>(i)]);
        if (n > 0.0 && cumulative + n >= target) {
            const double inside = std::clamp((target - cumulative) / n, 0.0, 1.0);
            return h.bin_lo(i) + inside * h.bin_width();
        }
        cumulative += n;
    }
    return h.bin_hi(h.num_bins() - 1);
}

double quantization_error(const BinMasses& bins, const ClipRange& range, const QuantGrid& grid, ScaleMode mode,
                          int power) {
    const AffineQuant q = derive_quant(range, grid, ScaleOptions{mode, false});
    const std::size_t n = bins.size();
    const double* center = bins.center.data();
    const double* count = bins.count.data();
    thread_local std::vector<double> errors;
    errors.resize(n);
    double* error = errors.data();
    if (grid.binary) {
        for (std::size_t k = 0; k < n; ++k) {
            const double e = std::fabs(center[k] - fake_quantize(center[k], q));
            error[k] = count[k] * (power == 1 ? e : e * e);
        }
    } else {
        // One branch-free loop over the bins (it vectorizes), then the sum in
        // bin order. The same fake quantization as fake_quantize(x, q).
        const float scale = q.scale;
        const double zero = static_cast<double>(q.zero_point);
        const double qmin = static_cast<double>(grid.qmin), qmax = static_cast<double>(grid.qmax);
        for (std::size_t k = 0; k < n; ++k) {
            const float x = static_cast<float>(center[k]);
            error[k] = center[k] - static_cast<double>(sim::fake_quantize(x, scale, zero, qmin, qmax));
        }
        if (power == 1) {
            for (std::size_t k = 0; k < n; ++k) error[k] = count[k] * std::fabs(error[k]);
        } else {
            for (std::size_t k = 0; k < n; ++k) error[k] = count[k] * (error[k] * error[k]);
        }
    }
    // The sum in kLanes interleaved partial sums (bin k into lane k mod
    // kLanes, lanes added in order at the end): fixed bits for given bins,
    // and no serial chain of adds, which bounded this loop's speed.
    constexpr std::size_t kLanes = 8;
    double lanes[kLanes] = {};
    std::size_t k = 0;
    for (; k + kLanes <= n; k += kLanes)
        for (std::size_t j = 0; j < kLanes; ++j) lanes[j] += error[k + j];
    for (std::size_t j = 0; k < n; ++k, ++j) lanes[j] += error[k];
    double total = 0.0;
    for (double lane : lanes) total += lane;
    return total;
}

}  // namespace bitnpu::calib::policy_detail
