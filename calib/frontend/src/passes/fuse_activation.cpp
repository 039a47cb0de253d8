// fuse_activation: moves Relu / Clip into the fused:: attributes of a
// preceding Conv/Gemm/MatMul that feeds only it, removing the activation.
// LeakyRelu stays a node of its own: a MAC array's output stage only clamps
// (numerics.md "MAC step 6: clamp"), so a fused LeakyRelu would send the
// whole Conv to the host, where as a node it is one vector-engine table.
#include <limits>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

bool is_fusable_producer(const Node& n) {
    return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") &&
           !n.has_attr(fused::kActivation) && n.outputs.size() == 1;
}

// Clip bounds: attributes before opset 11, optional constant inputs after.
// Returns false when a bound is computed at run time (cannot fuse).
bool clip_bounds(const Graph& graph, const Node& clip, float& lo, float& hi) {
    lo = std::numeric_limits<float>::lowest();
    hi = std::numeric_limits<float>::max();
    if (clip.has_attr("min") || clip.has_attr("max")) {
        lo = clip.attr_float("min", lo);
        hi = clip.attr_float("max", hi);
        return true;
    }
    for (std::size_t i = 1; i < clip.inputs.size() && i < 3; ++i) {
        if (clip.inputs[i].empty()) continue;
        const Tensor* t = graph.initializer(clip.inputs[i]);
        if (!t || t->numel() != 1) return false;
        (i == 1 ? lo : hi) = t->to_floats()[0];
    }
    return true;
}

// The fused attributes describing act, or false if it cannot be fused.
bool activation_attributes(const Graph& graph, const Node& act, std::map<std::string, AttributeValue>& attrs) {
    if (!act.domain.empty()) return false;
    if (act.op_type == "Relu") {
        attrs[fused::kActivation] = std::string("Relu");
        return true;
    }
    float lo, hi;
    if (act.op_type == "Clip" && clip_bounds(graph, act, lo, hi)) {
        attrs[fused::kActivation] = std::string("Clip");
        attrs[fused::kClipMin] = lo;
        attrs[fused::kClipMax] = hi;
        return true;
    }
    return false;
}

Node* producer_of_value(Graph& graph, const std::string& value) {
    for (Node& n : graph.nodes)
        for (const std::string& out : n.outputs)
            if (out == value) return &n;
    return nullptr;
}

}  // namespace

int fuse_activation(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int fused_count = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& act = graph.nodes[i];
        if (act.inputs.empty() || act.outputs.size() != 1) continue;
        Node* producer = producer_of_value(graph, act.inputs[0]);
        if (!producer || !is_fusable_producer(*producer) || use_count(graph, act.inputs[0]) != 1) continue;
        std::map<std::string, AttributeValue> attrs;
        if (!activation_attributes(graph, act, attrs)) continue;
        for (auto& [key, value] : attrs) producer->attributes[key] = value;
        producer->outputs[0] = act.outputs[0];
        remove[i] = true;
        ++fused_count;
    }
    pass_utils::erase_marked(graph, remove);
    return fused_count;
}

}  // namespace bitnpu::calib
