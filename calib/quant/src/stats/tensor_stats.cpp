// Per-activation statistics: running min/max, NaN/Inf counts and the two
// histograms (|x| and signed), updated one batch at a time.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Core>

#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

TensorStats::TensorStats(const StatsOptions& options)
    : abs_hist(options.histogram_bins), signed_hist(options.histogram_bins), histograms(options.histograms) {}

namespace {

// The range of n > 0 floats when all are finite (the common case: two
// vectorized passes, Eigen's min/max reductions after a finiteness count);
// false when there is a NaN or an Inf.
bool all_finite_range(const float* values, std::size_t n, float& lo, float& hi) {
    std::uint32_t non_finite = 0;   // x - x is NaN exactly for NaN and +-Inf
    for (std::size_t i = 0; i < n; ++i) non_finite += static_cast<std::uint32_t>(values[i] - values[i] != 0.0f);
    if (non_finite != 0) return false;
    const Eigen::Map<const Eigen::ArrayXf> v(values, static_cast<Eigen::Index>(n));
    lo = v.minCoeff();
    hi = v.maxCoeff();
    return true;
}

}  // namespace

void TensorStats::observe(const float* values, std::size_t n) {
    // Pass 1 over the batch: the range, so each histogram grows at most once.
    double lo = 0.0, hi = 0.0;
    std::uint64_t finite = 0;
    if (float flo = 0.0f, fhi = 0.0f; n > 0 && all_finite_range(values, n, flo, fhi)) {
        lo = flo;
        hi = fhi;
        finite = n;
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const float v = values[i];
            if (std::isnan(v)) { ++nan_count; continue; }
            if (std::isinf(v)) { ++inf_count; continue; }
            if (finite == 0) lo = hi = v;
            lo = std::min(lo, static_cast<double>(v));
            hi = std::max(hi, static_cast<double>(v));
            ++finite;
        }
    }
    if (finite == 0) return;
    min = count == 0 ? lo : std::min(min, lo);
    max = count == 0 ? hi : std::max(max, hi);
    count += finite;
    if (!histograms) return;
    // Pass 2: bin.
    signed_hist.add(values, n, lo, hi, false);
    // While no value seen is negative (every post-ReLU tensor), |x| = x:
    // both histograms grow to the same grid and hold the same counts, so
    // the |x| one is a copy instead of a second binning pass.
    if (min >= 0.0) abs_hist = signed_hist;
    else abs_hist.add(values, n, 0.0, std::max(std::fabs(lo), std::fabs(hi)), true);
}

void TensorStats::observe(const Tensor& t) {
    if (t.dtype() == DType::f32) {
        observe(t.data<float>(), static_cast<std::size_t>(t.numel()));
    } else if (t.dtype() == DType::f64) {
        const auto v = t.to_floats();
        observe(v.data(), v.size());
    } else {
        throw std::invalid_argument("TensorStats::observe: " + std::string(to_string(t.dtype())) +
                                    " tensor is not a float tensor");
    }
}

void TensorStats::merge(const TensorStats& other) {
    if (other.count != 0) {
        min = count == 0 ? other.min : std::min(min, other.min);
        max = count == 0 ? other.max : std::max(max, other.max);
    }
    count += other.count;
    nan_count += other.nan_count;
    inf_count += other.inf_count;
    abs_hist.merge(other.abs_hist);
    signed_hist.merge(other.signed_hist);
}

double TensorStats::abs_max() const {
    if (count == 0) return 0.0;
    return std::max(std::fabs(min), std::fabs(max));
}

}  // namespace bitnpu::calib
