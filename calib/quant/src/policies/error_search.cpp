// The coarse-to-fine search behind the l1 and l2 policies: find the clipping
// range whose quantizer (built by derive_quant, the same rule the final scales
// use) minimizes the histogram's expected |x - Q(x)|^p.
#include <algorithm>
#include <limits>

#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

constexpr int kCoarsePoints = 64;   // 1-D: candidates per round
constexpr int kGridPoints = 16;     // 2-D: candidates per axis per round
constexpr int kRounds = 4;          // each round zooms in around the best candidate

// Candidate k of n evenly spaced over [a, b] (k = 0 .. n).
double point(double a, double b, int k, int n) { return a + (b - a) * static_cast<double>(k) / n; }

// Symmetric: one threshold T in (0, limit].
ClipRange search_threshold(const BinMasses& bins, double limit, const QuantGrid& grid, int power) {
    double best = limit;
    double best_err = quantization_error(bins, symmetric_range(limit, grid), grid, ScaleMode::symmetric, power);
    double a = 0.0, b = limit;
    for (int round = 0; round < kRounds; ++round) {
        for (int k = 1; k <= kCoarsePoints; ++k) {
            const double t = point(a, b, k, kCoarsePoints);
            const double e = quantization_error(bins, symmetric_range(t, grid), grid, ScaleMode::symmetric, power);
            if (e < best_err) { best_err = e; best = t; }
        }
        const double step = (b - a) / kCoarsePoints;
        a = std::max(best - step, 0.0);
        b = std::min(best + step, limit);
    }
    return symmetric_range(best, grid);
}

// Asymmetric: lo in [min, 0] and hi in [0, max] together; a side with no data
// (min == 0 or max == 0) stays at 0.
ClipRange search_range(const BinMasses& bins, const ClipRange& observed, const QuantGrid& grid, int power) {
    ClipRange best = observed;
    double best_err = quantization_error(bins, best, grid, ScaleMode::asymmetric, power);
    double lo_a = observed.lo, lo_b = 0.0;  // lo candidates: [lo_a, lo_b)
    double hi_a = 0.0, hi_b = observed.hi;  // hi candidates: (hi_a, hi_b]
    for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i <= kGridPoints; ++i) {
            const double lo = point(lo_a, lo_b, i, kGridPoints);
            if (lo == 0.0 && observed.lo < 0.0) continue;  // clipping all negatives is never useful
            for (int j = 1; j <= kGridPoints; ++j) {
                const double hi = point(hi_a, hi_b, j, kGridPoints);
                const double e = quantization_error(bins, {lo, hi}, grid, ScaleMode::asymmetric, power);
                if (e < best_err) { best_err = e; best = {lo, hi}; }
            }
            if (observed.lo == 0.0) break;  // no negative side to search
        }
        const double lo_step = (lo_b - lo_a) / kGridPoints;
        const double hi_step = (hi_b - hi_a) / kGridPoints;
        lo_a = std::max(best.lo - lo_step, observed.lo);
        lo_b = std::min(best.lo + lo_step, 0.0);
        hi_a = std::max(best.hi - hi_step, 0.0);
        hi_b = std::min(best.hi + hi_step, observed.hi);
    }
    return best;
}

// Binary (int1) grids have one level pair +-s and a closed-form optimum:
// E|x - s sign(x)|^2 is minimal at s = E|x| (XNOR-Net's mean-absolute
// scaling), E|x - s sign(x)| at s = median |x|. Read off the |x| histogram
// (bin centres: within half a bin of the exact value).
ClipRange binary_optimum(const TensorStats& stats, const QuantGrid& grid, int power) {
    const Histogram& h = stats.abs_hist;
    if (h.total() == 0 || h.bin_width() == 0.0) return {0.0, 0.0};
    if (power == 1) return symmetric_range(quantile(h, 0.5), grid);
    double sum = 0.0;
    for (int i = 0; i < h.num_bins(); ++i) sum += static_cast<double>(h.counts()[static_cast<std::size_t>(i)]) * h.bin_center(i);
    return symmetric_range(sum / static_cast<double>(h.total()), grid);
}

}  // namespace

ClipRange minimize_error(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode, int power) {
    if (grid.binary) return binary_optimum(stats, grid, power);
    if (mode == ScaleMode::symmetric) {
        const double limit = symmetric_limit(stats, grid);
        if (limit == 0.0) return {0.0, 0.0};
        return search_threshold(nonempty_bins(symmetric_histogram(stats, grid)), limit, grid, power);
    }
    const ClipRange observed = observed_range(stats);
    if (observed.hi == 0.0 && observed.lo == 0.0) return observed;
    if (observed.hi == 0.0) {
        // Only non-positive data: lo is the one free side.
        ClipRange best = observed;
        const auto bins = nonempty_bins(stats.signed_hist);
        double best_err = quantization_error(bins, best, grid, ScaleMode::asymmetric, power);
        double a = observed.lo, b = 0.0;
        for (int round = 0; round < kRounds; ++round) {
            for (int k = 0; k < kCoarsePoints; ++k) {
                const double lo = point(a, b, k, kCoarsePoints);
                const double e = quantization_error(bins, {lo, 0.0}, grid, ScaleMode::asymmetric, power);
                if (e < best_err) { best_err = e; best = {lo, 0.0}; }
            }
            const double step = (b - a) / kCoarsePoints;
            a = std::max(best.lo - step, observed.lo);
            b = std::min(best.lo + step, 0.0);
        }
        return best;
    }
    return search_range(nonempty_bins(stats.signed_hist), observed, grid, power);
}

}  // namespace bitnpu::calib::policy_detail
