// The policy name table and the factory.
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "policy_util.hpp"

namespace bitnpu::calib {

namespace {

struct PolicySpelling {
    const char* name;
    PolicyKind kind;
};
// The one name table. The first spelling of a kind is its canonical name.
constexpr PolicySpelling kSpellings[] = {
    {"max", PolicyKind::max}, {"percentile", PolicyKind::percentile}, {"kld", PolicyKind::kld},
    {"l1", PolicyKind::l1},   {"l2", PolicyKind::l2},                 {"mse", PolicyKind::l2},
};

}  // namespace

const char* policy_name(PolicyKind kind) {
    for (const PolicySpelling& s : kSpellings)
        if (s.kind == kind) return s.name;
    return "?";
}

std::vector<std::string> policy_names() {
    std::vector<std::string> names;
    for (const PolicySpelling& s : kSpellings) names.push_back(s.name);
    return names;
}

PolicyKind parse_policy(const std::string& name) {
    for (const PolicySpelling& s : kSpellings)
        if (name == s.name) return s.kind;
    throw UserError(fmt::format("unknown calibration policy '{}'; valid policies: {}", name,
                                fmt::join(policy_names(), ", ")));
}

std::unique_ptr<Policy> make_policy(PolicyKind kind, const PolicyOptions& options) {
    using namespace policy_detail;
    switch (kind) {
    case PolicyKind::max: return make_max_policy();
    case PolicyKind::percentile:
        if (!(options.percentile > 0.0 && options.percentile <= 100.0))
            throw UserError(fmt::format("percentile policy: percentile {} is outside (0, 100]", options.percentile));
        return make_percentile_policy(options.percentile);
    case PolicyKind::kld: return make_kld_policy();
    case PolicyKind::l1: return make_l1_policy();
    case PolicyKind::l2: return make_l2_policy();
    }
    throw std::logic_error("make_policy: unknown PolicyKind");
}

std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyOptions& options) {
    return make_policy(parse_policy(name), options);
}

}  // namespace bitnpu::calib
