// remove_identity: drops Identity, inference-mode Dropout and Cast to the
// value's own dtype, rewiring their consumers to the original value.
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// Whether node copies its first input to its first output unchanged (and has
// no other output anybody reads).
bool is_identity_like(const Graph& graph, const Node& node) {
    if (!node.domain.empty() || node.inputs.empty() || node.outputs.empty()) return false;
    if (node.op_type == "Identity") return true;
    if (node.op_type == "Dropout") {
        // Inference mode: training_mode (opset 12+, an input) absent or a false constant.
        if (node.inputs.size() >= 3 && !node.inputs[2].empty()) {
            const Tensor* mode = graph.initializer(node.inputs[2]);
            if (!mode || mode->to_int64s().at(0) != 0) return false;
        }
        return node.outputs.size() < 2 || node.outputs[1].empty() || use_count(graph, node.outputs[1]) == 0;
    }
    if (node.op_type == "Cast") {
        DType from;
        if (!known_dtype(graph, node.inputs[0], from)) return false;
        const std::int64_t to = node.attr_int("to", 0);
        // ONNX element type codes of the IR dtypes (fp16/bf16 never reach the IR).
        static const std::pair<DType, int> codes[] = {{DType::f32, 1}, {DType::u8, 2}, {DType::i8, 3},
                                                       {DType::i16, 5}, {DType::i32, 6}, {DType::i64, 7},
                                                       {DType::boolean, 9}, {DType::f64, 11}};
        for (const auto& [dtype, code] : codes)
            if (dtype == from) return code == to;
    }
    return false;
}

// Bypasses node: consumers of its output read its input instead. Returns
// false when both ends are graph boundary values and the copy must stay.
bool bypass(Graph& graph, std::size_t index) {
    const std::string in = graph.nodes[index].inputs[0];
    const std::string out = graph.nodes[index].outputs[0];
    if (!is_graph_output(graph, out)) {
        replace_uses(graph, out, in);
        return true;
    }
    // The output name is part of the model's interface: rename the input's
    // producer instead, if the input is an ordinary intermediate value.
    Node* producer = nullptr;
    for (Node& n : graph.nodes)
        for (const std::string& o : n.outputs)
            if (o == in) producer = &n;
    if (!producer || is_graph_output(graph, in)) return false;
    for (std::string& o : producer->outputs)
        if (o == in) o = out;
    replace_uses(graph, in, out);
    return true;
}

}  // namespace

int remove_identity(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int removed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (!is_identity_like(graph, graph.nodes[i])) continue;
        if (bypass(graph, i)) {
            remove[i] = true;
            ++removed;
        }
    }
    erase_marked(graph, remove);
    return removed;
}

}  // namespace bitnpu::calib
