// Policy names and the factory.
#include <cmath>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "policy_util.hpp"

namespace bitnpu::calib {

std::vector<std::string> policy_names() { return {"max", "percentile", "kld", "l1", "l2", "mse"}; }

std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyOptions& options) {
    using namespace policy_detail;
    if (name == "max") return make_max_policy();
    if (name == "percentile") {
        if (!(options.percentile > 0.0 && options.percentile <= 100.0))
            throw UserError(fmt::format("percentile policy: percentile {} is outside (0, 100]", options.percentile));
        return make_percentile_policy(options.percentile);
    }
    if (name == "kld") return make_kld_policy();
    if (name == "l1") return make_l1_policy();
    if (name == "l2" || name == "mse") return make_l2_policy(name);
    throw UserError(fmt::format("unknown calibration policy '{}'; valid policies: {}", name,
                                fmt::join(policy_names(), ", ")));
}

}  // namespace bitnpu::calib
