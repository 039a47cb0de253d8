#include "bitnpu/graph/op_set.hpp"

#include <set>
#include <utility>

namespace bitnpu::calib {

namespace {

using Key = std::pair<std::string, std::string>;  // (domain, op_type)

const std::set<Key>& op_set() {
    static const std::set<Key> kOps = {
#define BITNPU_OP(domain, op_type, kernel) {domain, op_type},
#include "bitnpu/graph/ops.def"
#undef BITNPU_OP
    };
    return kOps;
}

}  // namespace

std::vector<std::string> supported_ops() {
    std::vector<std::string> names;
    for (const auto& [domain, op] : op_set()) names.push_back(domain.empty() ? op : domain + "." + op);
    return names;
}

bool is_supported_op(const std::string& op_type, const std::string& domain) {
    return op_set().count({domain == "ai.onnx" ? "" : domain, op_type}) != 0;
}

}  // namespace bitnpu::calib
