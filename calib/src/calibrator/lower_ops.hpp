// Per-role lowering of one node (private to the calibrator). Each function
// fills the sim layer parameters and the node's CTable record.
#pragma once

#include <string>

#include "bitnpu/calib/lowering.hpp"

namespace bitnpu::calib::lowering {

struct NodeContext {
    const Graph& graph;
    const arch::ArchSpec& arch;
    const QuantizationPlan& plan;
    const Node& node;
    const NodePlacement& place;
    const ActivationQuant& quant;

    // The parameters of a quantized tensor (its root's).
    const QuantParams& params(const std::string& tensor) const;
    // A statically inferred shape (value_info); empty when unknown.
    Shape shape(const std::string& tensor) const;
};

// [lo, hi] of the output type narrowed by a fused activation (NUMERICS.md step 6).
struct Clamp {
    std::int64_t lo;
    std::int64_t hi;
};
Clamp output_clamp(const QuantParams& y, const std::string& activation, double act_min, double act_max);

CTableRequant to_ctable_requant(const sim::RequantRegisters& r, double ideal, double realized);

sim::LayerParams lower_mac(const NodeContext& ctx, CTableLayer& record);
sim::LayerParams lower_vector(const NodeContext& ctx, CTableLayer& record);
sim::LayerParams lower_layout(const NodeContext& ctx, CTableLayer& record);
sim::LayerParams lower_host(const NodeContext& ctx, CTableLayer& record);

}  // namespace bitnpu::calib::lowering
