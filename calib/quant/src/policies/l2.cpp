// The l2 (mse) policy: the range minimizing the expected (x - Q(x))^2.
#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

class L2Policy final : public Policy {
public:
    std::string name() const override { return "l2"; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_histograms(stats, "l2");
        return minimize_error(stats, grid, mode, 2);
    }
};

}  // namespace

std::unique_ptr<Policy> make_l2_policy() { return std::make_unique<L2Policy>(); }

}  // namespace bitnpu::calib::policy_detail
