// The max policy: the observed range, no clipping.
#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

class MaxPolicy final : public Policy {
public:
    std::string name() const override { return "max"; }
    bool needs_histograms() const override { return false; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_values(stats, "max");
        if (mode == ScaleMode::symmetric || grid.binary) return symmetric_range(symmetric_limit(stats, grid), grid);
        return observed_range(stats);
    }
};

}  // namespace

std::unique_ptr<Policy> make_max_policy() { return std::make_unique<MaxPolicy>(); }

}  // namespace bitnpu::calib::policy_detail
