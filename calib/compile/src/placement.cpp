// Placement rules: see placement.hpp.
#include "bitnpu/compile/placement.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bitnpu/arch/lut_ops.hpp"
#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/quant/scale.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {
namespace {

bool is_mac_op(const std::string& op) { return op == "Conv" || op == "Gemm" || op == "MatMul"; }

bool is_vector_op(const std::string& op) {
    static const std::set<std::string> ops = {"Add", "Sub", "Mul", "MaxPool", "AveragePool", "GlobalAveragePool",
                                              "Concat", "Resize"};
    return ops.count(op) != 0 || is_lut_op(op);
}

// Resize runs on a vector engine (sim::ResizeLayer) in linear mode on a 4-D
// value, scaling H and W only, with a coordinate mode the layer defines and
// its roi/scales/sizes constant (numerics.md "Resize").
bool resize_on_vector(const Graph& graph, const Node& node) {
    static const std::set<std::string> modes = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"};
    if (node.attr_string("mode", "nearest") != "linear") return false;
    if (!modes.count(node.attr_string("coordinate_transformation_mode", "half_pixel"))) return false;
    if (node.attr_int("antialias", 0) != 0 || !node.attr_ints("axes").empty()) return false;
    for (std::size_t i = 1; i < node.inputs.size(); ++i)
        if (!node.inputs[i].empty() && !graph.is_initializer(node.inputs[i])) return false;
    Shape in, out;
    if (!static_shape(graph, node.inputs.at(0), in) || !static_shape(graph, node.outputs.at(0), out)) return false;
    return in.size() == 4 && out.size() == 4 && in[0] == out[0] && in[1] == out[1];
}

bool is_float_value(const Graph& graph, const std::string& name) {
    if (const Tensor* t = graph.initializer(name)) return t->dtype() == DType::f32;
    auto it = graph.value_info.find(name);
    if (it != graph.value_info.end()) return it->second.dtype == DType::f32;
    for (const ValueInfo& v : graph.inputs)
        if (v.name == name) return v.dtype == DType::f32;
    return true;  // unknown: the executor produces floats for every op we quantize
}

bool host_runs(const arch::ArchSpec& arch, const std::string& op) {
    if (!arch.host.enabled) return false;
    return arch.host.ops.empty() ||
           std::find(arch.host.ops.begin(), arch.host.ops.end(), op) != arch.host.ops.end();
}

// The ops whose constant inputs are operands the engine must hold
// (numerics.md "Constant operands"). A lookup-table op's extra inputs (Clip's
// bounds, ...) are parameters of its table instead, baked in when the table
// is built.
bool holds_constant_operands(const std::string& op) {
    return op == "Add" || op == "Sub" || op == "Mul" || op == "Concat";
}

bool is_constant_operand(const Graph& graph, const Node& node, std::size_t input) {
    const std::string& in = node.inputs[input];
    if (in.empty() || !graph.is_initializer(in)) return false;
    // A lookup-table op's extra inputs and Resize's roi/scales/sizes are
    // parameters the compiler reads, not operands.
    return !((is_lut_op(node.op_type) || node.op_type == "Resize") && input > 0);
}

// What a vector engine can read: at least one activation (the first input
// of a lookup-table op), and constant operands only when it holds them.
bool has_vector_operands(const Graph& graph, const Node& node, const arch::EngineSpec& engine) {
    bool activation = false;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        if (node.inputs[i].empty()) continue;
        // A table's parameters (Clip's bounds, Max's floor) must be known when
        // the table is built: constants of one element.
        if (is_lut_op(node.op_type) && i > 0) {
            const Tensor* t = graph.initializer(node.inputs[i]);
            if (!t || t->numel() != 1) return false;
            continue;
        }
        if (!is_constant_operand(graph, node, i)) {
            activation = activation || !graph.is_initializer(node.inputs[i]);
            continue;
        }
        if (!holds_constant_operands(node.op_type) || !engine.constant_operands) return false;
        if (graph.initializer(node.inputs[i])->dtype() != DType::f32) return false;
    }
    return activation;
}

std::string why_no_engine(const arch::ArchSpec& arch, const Graph& graph, const Node& node,
                          const arch::EngineSpec* engine, arch::EngineKind wanted) {
    if (engine == nullptr)
        return fmt::format("no engine lists {} (engines: {})", node.op_type, [&] {
            std::string names;
            for (const auto& e : arch.engines) names += (names.empty() ? "" : ", ") + e.name;
            return names;
        }());
    if (engine->kind != wanted)
        return fmt::format("engine '{}' is a {} engine, but {} needs a {} engine", engine->name,
                           arch::to_string(engine->kind), node.op_type, arch::to_string(wanted));
    if (!engine->supports_op(node.op_type))
        return fmt::format("engine '{}' does not list {} in its ops", engine->name, node.op_type);
    if (node.attr_string(fused::kActivation, "") == "LeakyRelu")
        return fmt::format("engine '{}' cannot apply the fused LeakyRelu (its output stage only clamps)",
                           engine->name);
    if (wanted == arch::EngineKind::mac_array) {
        const std::string weight = node.inputs.size() > 1 ? node.inputs[1] : std::string("?");
        if (const Tensor* w = graph.initializer(weight); w && w->rank() != (node.op_type == "Conv" ? 4 : 2))
            return fmt::format("engine '{}' runs {} with a {}-D weight, but '{}' is {}-D ({})", engine->name,
                               node.op_type, node.op_type == "Conv" ? 4 : 2, weight, w->rank(),
                               node.op_type == "Conv" ? "1-D and 2-D convolutions are supported; 3-D are not"
                                                      : "a batched weight");
        if (node.op_type == "Gemm" && node.attr_int("transA", 0) != 0)
            return fmt::format("engine '{}' cannot run a Gemm with transA = 1", engine->name);
        return fmt::format("engine '{}' needs constant weights (and a constant bias), but '{}' is computed at run time",
                           engine->name, weight);
    }
    if (is_lut_op(node.op_type))
        return fmt::format("engine '{}' runs {} as a lookup table, whose parameters (inputs after the first) must "
                           "be constants of one element, but the node's are not",
                           engine->name, node.op_type);
    if (node.op_type == "Resize")
        return fmt::format("engine '{}' runs Resize in linear mode on 4-D values scaling H and W, with half_pixel, "
                           "pytorch_half_pixel, align_corners or asymmetric coordinates and constant scales or sizes; "
                           "nearest mode runs as a layout node",
                           engine->name);
    if (!holds_constant_operands(node.op_type))
        return fmt::format("engine '{}' runs {} on activations only, but the node reads a constant input",
                           engine->name, node.op_type);
    return fmt::format("the node reads a constant operand, which engine '{}' cannot hold (its `constant_operands` "
                       "is false, or the constant is not float)",
                       engine->name);
}

// What a mac_array lowering needs: a constant weight of the right rank (2-D
// convolutions, 2-D Gemm/MatMul weights), a constant bias, no transposed A.
bool has_mac_operands(const Graph& graph, const Node& node) {
    if (node.inputs.size() < 2) return false;
    const Tensor* w = graph.initializer(node.inputs[1]);
    if (!w || w->rank() != (node.op_type == "Conv" ? 4 : 2)) return false;
    if (node.op_type == "Gemm" && node.attr_int("transA", 0) != 0) return false;
    const bool has_bias = node.op_type != "MatMul" && node.inputs.size() > 2 && !node.inputs[2].empty();
    return !has_bias || graph.is_initializer(node.inputs[2]);
}

// Ops that only select, repeat or rearrange values (no arithmetic): they run
// as layout nodes, their outputs tied to their input's quantization. Pad
// qualifies when it pads with values of the input (edge, reflect) or with 0,
// which every activation grid holds exactly (the zero-point). Resize and
// Upsample qualify in nearest mode, which copies input values whatever the
// coordinate mapping, except tf_crop_and_resize, whose out-of-range outputs
// take the extrapolation value instead.
bool moves_data_only(const Graph& graph, const Node& node) {
    static const std::set<std::string> ops = {"Slice", "Split", "Gather", "Expand", "Tile", "DepthToSpace",
                                              "SpaceToDepth"};
    if (ops.count(node.op_type)) return true;
    if (node.op_type == "Resize" || node.op_type == "Upsample")
        return node.attr_string("mode", "nearest") == "nearest" &&
               node.attr_string("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize";
    if (node.op_type != "Pad") return false;
    if (node.attr_string("mode", "constant") != "constant") return true;
    if (node.attr_float("value", 0.0f) != 0.0f) return false;   // opset < 11
    if (node.inputs.size() < 3 || node.inputs[2].empty()) return true;
    const Tensor* value = graph.initializer(node.inputs[2]);
    return value && value->numel() == 1 && value->to_floats().at(0) == 0.0f;
}

bool runs_on(const arch::EngineSpec* engine, arch::EngineKind kind, const Node& node) {
    return engine && engine->kind == kind && engine->supports_op(node.op_type);
}

std::string precision_name(const arch::Precision& p) {
    return p.weight ? fmt::format("{}x{}", arch::to_string(*p.weight), arch::to_string(p.activation))
                    : std::string(arch::to_string(p.activation));
}

// A MAC node at a chosen engine and precision (LayerChoice), checked against
// the arch: the engine exists, is not another than the node's pin, runs the
// node, and offers the precision.
NodePlacement chosen_mac_placement(const Graph& graph, const arch::ArchSpec& arch, const Node& node,
                                   const LayerChoice& choice) {
    auto fail = [&](const std::string& why) {
        throw UserError(fmt::format("layer '{}' ({}) at engine '{}', precision {}: {}", node.name, node.op_type,
                                    choice.engine, precision_name(choice.precision), why));
    };
    const arch::EngineSpec* engine = arch.find_engine(choice.engine);
    if (!engine) fail("the arch has no such engine");
    if (auto pin = arch.node_mapping.find(node.name); pin != arch.node_mapping.end() && pin->second != engine->name)
        fail(fmt::format("the arch's node_mapping pins the layer to engine '{}'", pin->second));
    const bool clamp_activation = node.attr_string(fused::kActivation, "") != "LeakyRelu";
    if (!runs_on(engine, arch::EngineKind::mac_array, node) || !has_mac_operands(graph, node) || !clamp_activation)
        fail(why_no_engine(arch, graph, node, engine, arch::EngineKind::mac_array));
    if (std::find(engine->precisions.begin(), engine->precisions.end(), choice.precision) == engine->precisions.end()) {
        std::string offered;
        for (const arch::Precision& p : engine->precisions) offered += (offered.empty() ? "" : ", ") + precision_name(p);
        fail(fmt::format("engine '{}' offers {}", engine->name, offered));
    }
    return {NodeRole::mac, engine, choice.precision};
}

NodePlacement place_node(const Graph& graph, const arch::ArchSpec& arch, const Node& node,
                         const LayerChoices& choices) {
    const bool float_outputs = std::all_of(node.outputs.begin(), node.outputs.end(), [&](const std::string& o) {
        return o.empty() || is_float_value(graph, o);
    });
    if (!float_outputs) return {NodeRole::shape, nullptr, {}};
    if (is_layout_op(node.op_type) || moves_data_only(graph, node)) return {NodeRole::layout, nullptr, {}};
    if (auto chosen = choices.find(node.name); chosen != choices.end() && is_mac_op(node.op_type))
        return chosen_mac_placement(graph, arch, node, chosen->second);

    const arch::EngineSpec* engine = arch.engine_for(node.name, node.op_type);
    arch::EngineKind wanted = arch::EngineKind::host;
    bool fits = false;
    if (is_mac_op(node.op_type)) {
        wanted = arch::EngineKind::mac_array;
        const bool constant_weight = has_mac_operands(graph, node);
        // The output stage can clamp (Relu, Clip) but not scale negatives (LeakyRelu).
        const bool clamp_activation = node.attr_string(fused::kActivation, "") != "LeakyRelu";
        fits = runs_on(engine, wanted, node) && constant_weight && clamp_activation;
    } else if (is_vector_op(node.op_type)) {
        wanted = arch::EngineKind::vector;
        fits = runs_on(engine, wanted, node) && has_vector_operands(graph, node, *engine) &&
               (node.op_type != "Resize" || resize_on_vector(graph, node));
    }
    if (fits && !engine->precisions.empty())
        return {is_mac_op(node.op_type) ? NodeRole::mac : NodeRole::vector, engine, engine->precisions.front()};
    if (host_runs(arch, node.op_type)) return {NodeRole::host, nullptr, {}};

    const std::string reason = wanted == arch::EngineKind::host
                                   ? fmt::format("no engine kind of bitnpu executes {}", node.op_type)
                                   : why_no_engine(arch, graph, node, engine, wanted);
    throw UserError(fmt::format(
        "node '{}' (op {}): {}; and the host fallback is {} (set `host: {{enabled: true}}` in {} to run it in FP32)",
        node.name, node.op_type, reason, arch.host.enabled ? "enabled but does not list this op" : "off",
        arch.source_path.empty() ? std::string("the arch YAML") : arch.source_path));
}

// The widest activation type an engine lists (the first of equal width):
// what its requant unit can write.
arch::ValueType widest_activation(const arch::EngineSpec& e) {
    arch::ValueType widest = e.precisions.empty() ? arch::ValueType::int8 : e.precisions.front().activation;
    for (const arch::Precision& p : e.precisions)
        if (arch::bit_width(p.activation) > arch::bit_width(widest)) widest = p.activation;
    return widest;
}

// An engine takes the unsigned counterpart of a type when it lists it, or
// when it reads a wider type: the unsigned value then fits that type's
// signed range (uint4 read as int8), as narrower values always do.
bool engine_allows_unsigned(const arch::EngineSpec& e, arch::ValueType declared) {
    const auto u = unsigned_counterpart(declared);
    if (!u) return false;
    if (arch::bit_width(widest_activation(e)) > arch::bit_width(*u)) return true;
    return std::any_of(e.precisions.begin(), e.precisions.end(),
                       [&](const arch::Precision& p) { return p.activation == *u; });
}

}  // namespace

std::string_view to_string(NodeRole r) {
    switch (r) {
        case NodeRole::mac: return "mac";
        case NodeRole::vector: return "vector";
        case NodeRole::layout: return "layout";
        case NodeRole::host: return "host";
        case NodeRole::shape: return "shape";
    }
    return "?";
}

// The lookup-table ops' table (bitnpu/arch/lut_ops.hpp), `lowered` column.
bool is_lut_op(const std::string& op) {
    const arch::LutOp* row = arch::find_lut_op(op);
    return row != nullptr && row->lowered;
}

bool is_layout_op(const std::string& op) {
    static const std::set<std::string> ops = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity"};
    return ops.count(op) != 0;
}

std::string NodePlacement::engine_name() const {
    if (engine) return engine->name;
    return std::string(to_string(role));
}

std::vector<NodePlacement> place_nodes(const Graph& graph, const arch::ArchSpec& arch, const LayerChoices& choices) {
    std::vector<NodePlacement> out;
    out.reserve(graph.nodes.size());
    for (const Node& node : graph.nodes) out.push_back(place_node(graph, arch, node, choices));
    return out;
}

std::vector<LayerChoice> mac_layer_options(const Graph& graph, const arch::ArchSpec& arch, const Node& node) {
    std::vector<LayerChoice> options;
    if (!is_mac_op(node.op_type) || !has_mac_operands(graph, node)) return options;
    if (node.attr_string(fused::kActivation, "") == "LeakyRelu") return options;
    const auto pin = arch.node_mapping.find(node.name);
    for (const arch::EngineSpec& engine : arch.engines) {
        if (pin != arch.node_mapping.end() && pin->second != engine.name) continue;
        if (!runs_on(&engine, arch::EngineKind::mac_array, node)) continue;
        // Precisions that differ only in the activation's signedness are one
        // option: the data decides signedness (TensorConstraints::unsigned_ok).
        std::vector<std::pair<arch::ValueType, int>> seen;
        for (const arch::Precision& p : engine.precisions) {
            if (!p.weight) continue;
            const std::pair<arch::ValueType, int> key{*p.weight, arch::bit_width(p.activation)};
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
            seen.push_back(key);
            options.push_back({engine.name, p});
        }
    }
    return options;
}

QuantizationPlan plan_quantization(const Graph& graph, const arch::ArchSpec& arch, const LayerChoices& choices) {
    QuantizationPlan plan;
    plan.placement = place_nodes(graph, arch, choices);

    auto add_root = [&](const std::string& name) {
        plan.order.push_back(name);
        plan.tied_to[name] = name;
    };
    for (const ValueInfo& in : graph.inputs)
        if (in.dtype == DType::f32) add_root(in.name);

    // Which engines read or write each root's values.
    std::map<std::string, std::vector<const arch::EngineSpec*>> touching;
    std::map<std::string, const arch::EngineSpec*> producer_engine;
    std::map<std::string, arch::ValueType> narrowest_reader;   // MAC layers' activation precision
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        const NodePlacement& place = plan.placement[i];
        if (place.role == NodeRole::shape) continue;
        if (place.role == NodeRole::vector)
            for (std::size_t k = 0; k < node.inputs.size(); ++k)
                if (is_constant_operand(graph, node, k) && !plan.tied_to.count(node.inputs[k])) {
                    add_root(node.inputs[k]);
                    plan.constants.insert(node.inputs[k]);
                }
        // MaxPool selects input values and a linear Resize averages them:
        // their outputs stay on the input's grid (numerics.md "Resize").
        const bool passes_through = place.role == NodeRole::layout || node.op_type == "MaxPool" ||
                                    (place.role == NodeRole::vector && node.op_type == "Resize");
        for (const std::string& out : node.outputs) {
            if (out.empty()) continue;
            plan.order.push_back(out);
            const std::string& in0 = node.inputs.empty() ? out : node.inputs[0];
            plan.tied_to[out] = passes_through && plan.tied_to.count(in0) ? plan.tied_to.at(in0) : out;
        }
        if (!place.engine) continue;
        for (const std::string& in : node.inputs)
            if (plan.tied_to.count(in)) touching[plan.root(in)].push_back(place.engine);
        if (place.role == NodeRole::mac && plan.tied_to.count(node.inputs.at(0))) {
            const std::string& root = plan.root(node.inputs[0]);
            auto [it, fresh] = narrowest_reader.emplace(root, place.precision.activation);
            if (!fresh && arch::bit_width(place.precision.activation) < arch::bit_width(it->second))
                it->second = place.precision.activation;
        }
        for (const std::string& out : node.outputs)
            if (!out.empty()) {
                touching[plan.root(out)].push_back(place.engine);
                producer_engine.emplace(plan.root(out), place.engine);
            }
    }

    for (const auto& [tensor, root] : plan.tied_to) {
        if (tensor != root) continue;
        TensorConstraints c;
        const auto& engines = touching[root];
        const arch::EngineSpec* owner =
            producer_engine.count(root) ? producer_engine.at(root) : (engines.empty() ? nullptr : engines.front());
        if (owner) c.type = widest_activation(*owner);
        if (auto reader = narrowest_reader.find(root);
            reader != narrowest_reader.end() && arch::bit_width(reader->second) < arch::bit_width(c.type))
            c.type = reader->second;
        c.zero_point = !engines.empty();
        c.unsigned_ok = !engines.empty();
        for (const arch::EngineSpec* e : engines) {
            c.zero_point = c.zero_point && e->zero_point.activation;
            c.unsigned_ok = c.unsigned_ok && engine_allows_unsigned(*e, c.type);
            c.power_of_two = c.power_of_two || needs_power_of_two_scales(*e);
            c.restricted = c.restricted || e->restricted_range;
        }
        if (engines.empty()) c.zero_point = true;  // host-only tensors: FP32 either side
        plan.constraints[root] = c;
    }
    return plan;
}

}  // namespace bitnpu::calib
