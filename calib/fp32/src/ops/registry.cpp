// The executor's kernel registry: the op table (graph/ops.def) with each
// op mapped to its kernel.
#include <map>
#include <utility>

#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

using Key = std::pair<std::string, std::string>;  // (domain, op_type)

const std::map<Key, Kernel>& table() {
    static const std::map<Key, Kernel> kTable = {
#define BITNPU_OP(domain, op_type, kernel) {{domain, op_type}, kernel},
#include "bitnpu/graph/ops.def"
#undef BITNPU_OP
    };
    return kTable;
}

}  // namespace

Kernel find_kernel(const std::string& op_type, const std::string& domain) {
    // "ai.onnx" is another spelling of the default domain.
    const std::string d = domain == "ai.onnx" ? "" : domain;
    auto it = table().find({d, op_type});
    return it == table().end() ? nullptr : it->second;
}

}  // namespace bitnpu::calib::ops
