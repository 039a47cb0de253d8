// The l1 policy: the range minimizing the expected |x - Q(x)|.
#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

class L1Policy final : public Policy {
public:
    std::string name() const override { return "l1"; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_histograms(stats, "l1");
        return minimize_error(stats, grid, mode, 1);
    }
};

}  // namespace

std::unique_ptr<Policy> make_l1_policy() { return std::make_unique<L1Policy>(); }

}  // namespace bitnpu::calib::policy_detail
