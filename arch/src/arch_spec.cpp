// Look-ups on a validated ArchSpec (arch_spec.hpp).
#include "bitnpu/arch/arch_spec.hpp"

#include <algorithm>

namespace bitnpu::arch {

bool EngineSpec::supports_op(const std::string& op) const {
    return std::find(ops.begin(), ops.end(), op) != ops.end();
}

bool EngineSpec::supports_precision(const Precision& p) const {
    return std::find(precisions.begin(), precisions.end(), p) != precisions.end();
}

bool HostSpec::runs(const std::string& op) const {
    return enabled && (ops.empty() || std::find(ops.begin(), ops.end(), op) != ops.end());
}

const EngineSpec* ArchSpec::find_engine(const std::string& engine_name) const {
    for (const EngineSpec& e : engines) {
        if (e.name == engine_name) return &e;
    }
    return nullptr;
}

const EngineSpec* ArchSpec::engine_for(const std::string& node_name, const std::string& op_type) const {
    // A node override wins even if that engine does not list the op: the
    // caller must check supports_op() and report the user's contradiction.
    if (auto node = node_mapping.find(node_name); node != node_mapping.end()) {
        return find_engine(node->second);
    }
    if (auto op = op_mapping.find(op_type); op != op_mapping.end()) {
        return find_engine(op->second);
    }
    for (const EngineSpec& e : engines) {
        if (e.supports_op(op_type)) return &e;
    }
    return nullptr;
}

}  // namespace bitnpu::arch
