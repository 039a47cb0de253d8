// MSE-optimal weight clipping (weight_clipping.hpp).
#include "bitnpu/quant/weight_clipping.hpp"

#include "bitnpu/sim/parallel.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include <Eigen/Core>

namespace bitnpu::calib {
namespace {

// Shrink factors: a coarse pass over 1.00, 0.96, ..., 0.20, then the
// hundredths around the best coarse factor.
constexpr int kCoarseSteps = 21;
constexpr double kCoarse = 0.04;
constexpr double kFine = 0.01;

// sum of v^2 in 8 interleaved lanes, added in a fixed order: one serial
// chain of double adds was this search's bottleneck (Gemm rows of 1536).
double sum_of_squares(const std::vector<double>& v) {
    constexpr std::size_t kLanes = 8;
    double lane[kLanes] = {};
    std::size_t i = 0;
    for (; i + kLanes <= v.size(); i += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) lane[l] += v[i + l] * v[i + l];
    for (; i < v.size(); ++i) lane[i % kLanes] += v[i] * v[i];
    double total = 0.0;
    for (double x : lane) total += x;
    return total;
}

// The error a quantization q of the weight rows w (rows x n) costs:
// sum (w - Q(w))^2, or with the input moments h (n x n) the layer-output
// error sum d^T h d, d = w - Q(w) per row.
double quantization_error(const float* w, std::int64_t rows, std::int64_t n, const AffineQuant& q, const double* h) {
    double e = 0;
    std::vector<double> d(static_cast<std::size_t>(n));
    const Eigen::Map<const Eigen::VectorXd> dv(d.data(), n);
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = w + r * n;
        for (std::int64_t i = 0; i < n; ++i) d[static_cast<std::size_t>(i)] = row[i] - fake_quantize(row[i], q);
        if (!h) {
            e += sum_of_squares(d);
            continue;
        }
        // h is symmetric (a second moment), row-major n x n.
        const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> hm(h, n, n);
        e += dv.dot(hm * dv);
    }
    return e;
}

// The best shrink of [lo, hi] for the weight rows w (rows x n), judged with
// the input moments h when given.
ClipRange best_range(const float* w, std::int64_t rows, std::int64_t n, ClipRange observed, arch::ValueType type,
                     bool restricted, const ScaleOptions& options, const double* h) {
    ClipRange best = observed;
    double best_error = std::numeric_limits<double>::infinity();
    double best_factor = 1.0;
    auto consider = [&](double f) {
        if (f <= 0.0 || f > 1.0) return;
        const ClipRange r{observed.lo * f, observed.hi * f};
        const double e = quantization_error(w, rows, n, derive_quant(r, type, restricted, options), h);
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
                                bool restricted, bool per_channel, const ScaleOptions& options,
                                const InputMoments* moments, int threads) {
    ChannelRanges out = observed;
    const float* w = weight.data<float>();
    const std::int64_t channels = static_cast<std::int64_t>(observed.channels());
    const std::int64_t per_row = weight.numel() / std::max<std::int64_t>(1, channels);
    const bool weighted = moments && moments->k == per_row && moments->groups > 0 && channels % moments->groups == 0;
    // Output channel c reads group c / (channels / groups)'s patches.
    auto moments_of = [&](std::int64_t c) {
        return weighted ? moments->group(c / (channels / moments->groups)) : nullptr;
    };
    if (per_channel) {
        // Channels are independent: the result does not depend on threads.
        sim::parallel_for(channels, threads, [&](std::int64_t c) {
            const ClipRange r = best_range(w + c * per_row, 1, per_row, {observed.min[c], observed.max[c]}, type,
                                           restricted, options, moments_of(c));
            out.min[c] = r.lo;
            out.max[c] = r.hi;
        }, sim::Schedule::dynamic);
        return out;
    }
    const double lo = *std::min_element(observed.min.begin(), observed.min.end());
    const double hi = *std::max_element(observed.max.begin(), observed.max.end());
    // One range for all channels: grouped layers with moments are judged
    // on the raw weight error (a per-tensor grid over groups is rare).
    const bool shared_moments = weighted && moments->groups == 1;
    const ClipRange r = shared_moments
                            ? best_range(w, channels, per_row, {lo, hi}, type, restricted, options, moments->group(0))
                            : best_range(w, 1, weight.numel(), {lo, hi}, type, restricted, options, nullptr);
    std::fill(out.min.begin(), out.min.end(), r.lo);
    std::fill(out.max.begin(), out.max.end(), r.hi);
    return out;
}

}  // namespace bitnpu::calib
