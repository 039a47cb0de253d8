// The percentile policy: clip the fraction (100 - p)% of the mass that lies
// furthest out. Symmetric: the p-th percentile of |x| (or of x for unsigned
// grids); asymmetric: the (100 - p)-th and p-th percentiles of x.
#include <algorithm>

#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

class PercentilePolicy final : public Policy {
public:
    explicit PercentilePolicy(double p) : p_(p / 100.0) {}
    std::string name() const override { return "percentile"; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_histograms(stats, "percentile");
        const ClipRange seen = observed_range(stats);
        if (mode == ScaleMode::symmetric || grid.binary) {
            const double limit = symmetric_limit(stats, grid);
            const double t = std::clamp(quantile(symmetric_histogram(stats, grid), p_), 0.0, limit);
            return symmetric_range(t, grid);
        }
        const double lo = std::clamp(quantile(stats.signed_hist, 1.0 - p_), seen.lo, 0.0);
        const double hi = std::clamp(quantile(stats.signed_hist, p_), 0.0, seen.hi);
        return {lo, hi};
    }

private:
    double p_;  // as a fraction
};

}  // namespace

std::unique_ptr<Policy> make_percentile_policy(double percentile) {
    return std::make_unique<PercentilePolicy>(percentile);
}

}  // namespace bitnpu::calib::policy_detail
