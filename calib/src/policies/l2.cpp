// The l2 (mse) policy: the range minimizing the expected (x - Q(x))^2.
#include "policy_util.hpp"

namespace bitnpu::calib::policy_detail {

namespace {

class L2Policy final : public Policy {
public:
    explicit L2Policy(std::string name) : name_(std::move(name)) {}
    std::string name() const override { return name_; }
    ClipRange choose(const TensorStats& stats, const QuantGrid& grid, ScaleMode mode) const override {
        require_histograms(stats, name_.c_str());
        return minimize_error(stats, grid, mode, 2);
    }

private:
    std::string name_;
};

}  // namespace

std::unique_ptr<Policy> make_l2_policy(const std::string& name) { return std::make_unique<L2Policy>(name); }

}  // namespace bitnpu::calib::policy_detail
