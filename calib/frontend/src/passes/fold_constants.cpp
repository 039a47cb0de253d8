// fold_constants: evaluates nodes whose inputs are all initializers (and
// Shape of statically shaped values) and stores their results as initializers.
#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

// Ops whose result is not a function of their inputs: never fold them.
bool is_nondeterministic(const Node& node) {
    return node.op_type.rfind("Random", 0) == 0 || node.op_type == "Multinomial";
}

bool has_symbolic_input(const Graph& graph) {
    for (const ValueInfo& in : graph.inputs) {
        if (!in.has_shape) return true;
        for (const Dim& d : in.shape)
            if (!d.known()) return true;
    }
    return false;
}

// Shape(X) with X's full static shape known: the shape tensor, sliced by the
// opset-15 start/end attributes. Only trusted when no graph input has a
// symbolic dimension, otherwise value_info may hold one run's sizes.
bool static_shape_of(const Graph& graph, const Node& node, Tensor& result) {
    if (node.op_type != "Shape" || !node.domain.empty() || has_symbolic_input(graph)) return false;
    auto it = graph.value_info.find(node.inputs.at(0));
    if (it == graph.value_info.end() || !it->second.has_shape) return false;
    std::vector<std::int64_t> dims;
    for (const Dim& d : it->second.shape) {
        if (!d.known()) return false;
        dims.push_back(d.value);
    }
    const auto rank = static_cast<std::int64_t>(dims.size());
    auto clamp_axis = [rank](std::int64_t a) {
        if (a < 0) a += rank;
        return std::min(std::max<std::int64_t>(a, 0), rank);
    };
    const std::int64_t start = clamp_axis(node.attr_int("start", 0));
    const std::int64_t end = clamp_axis(node.attr_int("end", rank));
    std::vector<std::int64_t> slice;
    for (std::int64_t i = start; i < end; ++i) slice.push_back(dims[static_cast<std::size_t>(i)]);
    result = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(slice.size())}, slice);
    return true;
}

bool all_inputs_constant(const Graph& graph, const Node& node) {
    bool any = false;
    for (const std::string& in : node.inputs) {
        if (in.empty()) continue;
        if (!graph.is_initializer(in)) return false;
        any = true;
    }
    return any;
}

// Evaluates the node if it is foldable; false leaves it in the graph.
bool try_fold(Graph& graph, const Node& node) {
    for (const std::string& out : node.outputs)
        if (pass_utils::is_graph_output(graph, out)) return false;  // keep the interface a computed value
    Tensor shape;
    if (static_shape_of(graph, node, shape)) {
        graph.initializers[node.outputs.at(0)] = std::move(shape);
        return true;
    }
    if (is_nondeterministic(node) || !all_inputs_constant(graph, node)) return false;
    std::vector<const Tensor*> inputs;
    for (const std::string& in : node.inputs) inputs.push_back(in.empty() ? nullptr : graph.initializer(in));
    std::vector<Tensor> results = run_node(node, inputs, graph.opset);
    for (std::size_t i = 0; i < node.outputs.size() && i < results.size(); ++i)
        if (!node.outputs[i].empty()) graph.initializers[node.outputs[i]] = std::move(results[i]);
    return true;
}

}  // namespace

int fold_constants(Graph& graph) {
    // Topological order: a folded node's results are initializers by the time
    // its consumers are visited, so whole chains fold in one sweep.
    std::vector<bool> remove(graph.nodes.size(), false);
    int folded = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (try_fold(graph, graph.nodes[i])) {
            remove[i] = true;
            ++folded;
        }
    }
    pass_utils::erase_marked(graph, remove);
    return folded;
}

}  // namespace bitnpu::calib
