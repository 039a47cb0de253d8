// Placement: which engine runs each node of the (pass-processed) graph, at
// which precision, and what that means for the tensors between nodes. The
// calibrator, the lowering to sim::QuantGraph and the reports all read it, so
// the rules live here once.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

// What kind of work a node is on the accelerator.
enum class NodeRole : std::uint8_t {
    mac,        // Conv / Gemm / MatMul with constant weights on a mac_array engine
    vector,     // elementwise, pooling, Concat, lookup tables on a vector engine
    layout,     // Reshape / Flatten / Squeeze / Unsqueeze / Transpose / Identity:
                // data movement, values and quantization unchanged
    host,       // FP32 fallback on the host (arch `host:` section)
    shape,      // integer shape arithmetic (Shape, Gather on shapes, ...): no
                // quantized data flows through it, the lowering skips it
};
std::string_view to_string(NodeRole r);

// Ops a vector engine computes through its lookup table (the `lowered` column
// of the table in bitnpu/arch/lut_ops.hpp).
bool is_lut_op(const std::string& op_type);
// Ops that only move data (quantization passes through unchanged).
bool is_layout_op(const std::string& op_type);

struct NodePlacement {
    NodeRole role = NodeRole::host;
    const arch::EngineSpec* engine = nullptr;  // nullptr for layout and host
    arch::Precision precision;                 // the engine's first precision, or the layer's choice
    std::string engine_name() const;           // engine name, "layout" or "host"
};

// A MAC layer's engine and precision chosen per layer (the calibrator's
// mixed-precision search, or a CTable's record of it), overriding the YAML's
// `mapping:` and the engine's first precision. A node pinned by
// `node_mapping:` keeps its engine; only its precision may be chosen.
struct LayerChoice {
    std::string engine;
    arch::Precision precision;
    bool operator==(const LayerChoice& o) const { return engine == o.engine && precision == o.precision; }
};
using LayerChoices = std::map<std::string, LayerChoice>;   // by node name

// One entry per graph node (same index). Throws UserError naming the node,
// the op and what is missing when no engine runs a node and the host
// fallback is off (or does not list the op), and when a choice names an
// engine or precision that cannot run the node.
std::vector<NodePlacement> place_nodes(const Graph& graph, const arch::ArchSpec& arch,
                                       const LayerChoices& choices = {});

// Every (engine, precision) a MAC-role node may run at: each mac_array
// engine that lists its op (only the pinned one under `node_mapping:`),
// times that engine's precisions with a weight type, in YAML order.
std::vector<LayerChoice> mac_layer_options(const Graph& graph, const arch::ArchSpec& arch, const Node& node);

// What the engines that touch a tensor allow for its quantization.
struct TensorConstraints {
    arch::ValueType type = arch::ValueType::int8;  // declared activation type
    bool restricted = false;       // symmetric signed range
    bool zero_point = true;        // asymmetric quantization allowed
    bool unsigned_ok = false;      // may be stored as the unsigned counterpart
    bool power_of_two = false;     // a shifter engine reads or writes it
};

// The float activation tensors that get quantized, with their constraints,
// and which tensors share one quantization (layout ops and MaxPool pass
// their input's quantization through: `tied_to[t]` names the tensor whose
// parameters t uses; roots map to themselves).
struct QuantizationPlan {
    std::vector<NodePlacement> placement;                 // per node
    std::vector<std::string> order;                       // quantized tensors, topological
    std::map<std::string, TensorConstraints> constraints;  // per root tensor
    std::map<std::string, std::string> tied_to;           // every quantized tensor -> its root
    // Roots that are constant operands (initializers) a vector engine reads:
    // quantized from their own values, held in the engine's SRAM
    // (numerics.md "Constant operands").
    std::set<std::string> constants;
    const std::string& root(const std::string& tensor) const { return tied_to.at(tensor); }
};

// A root tensor's value type: the widest activation type its producer's
// engine writes (the first touching engine's for graph inputs and
// constants), narrowed to the narrowest activation precision of the MAC
// layers that read it. An engine reads narrower values than its precision
// (sign- or zero-extended) but not wider ones, so the narrowest reader sets
// the type and the producer's requant clamps to it (numerics.md "Mixed
// precision between layers").
QuantizationPlan plan_quantization(const Graph& graph, const arch::ArchSpec& arch, const LayerChoices& choices = {});

}  // namespace bitnpu::calib
