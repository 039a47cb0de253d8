// Shared rewrite helpers of the graph passes.
#include "pass_utils.hpp"

#include <set>

namespace bitnpu::calib::pass_utils {

std::int64_t known_rank(const Graph& graph, const std::string& value) {
    auto it = graph.value_info.find(value);
    if (it != graph.value_info.end() && it->second.has_shape) return static_cast<std::int64_t>(it->second.shape.size());
    for (const ValueInfo& in : graph.inputs)
        if (in.name == value && in.has_shape) return static_cast<std::int64_t>(in.shape.size());
    return -1;
}

bool is_graph_output(const Graph& graph, const std::string& value) {
    for (const ValueInfo& out : graph.outputs)
        if (out.name == value) return true;
    return false;
}

void replace_uses(Graph& graph, const std::string& from, const std::string& to) {
    for (Node& node : graph.nodes)
        for (std::string& in : node.inputs)
            if (in == from) in = to;
}

int use_count(const Graph& graph, const std::string& value) {
    int n = 0;
    for (const Node& node : graph.nodes)
        for (const std::string& in : node.inputs) n += in == value;
    return n + (is_graph_output(graph, value) ? 1 : 0);
}

std::string unique_name(const Graph& graph, const std::string& base) {
    std::set<std::string> used;
    for (const auto& [name, t] : graph.initializers) used.insert(name);
    for (const ValueInfo& v : graph.inputs) used.insert(v.name);
    for (const ValueInfo& v : graph.outputs) used.insert(v.name);
    for (const Node& node : graph.nodes) {
        used.insert(node.name);
        used.insert(node.outputs.begin(), node.outputs.end());
        used.insert(node.inputs.begin(), node.inputs.end());
    }
    if (!used.count(base)) return base;
    for (int i = 1;; ++i) {
        std::string candidate = base + "_" + std::to_string(i);
        if (!used.count(candidate)) return candidate;
    }
}

bool known_dtype(const Graph& graph, const std::string& value, DType& dtype) {
    if (const Tensor* t = graph.initializer(value)) {
        dtype = t->dtype();
        return true;
    }
    for (const ValueInfo& v : graph.inputs) {
        if (v.name == value) {
            dtype = v.dtype;
            return true;
        }
    }
    auto it = graph.value_info.find(value);
    if (it == graph.value_info.end()) return false;
    dtype = it->second.dtype;
    return true;
}

void erase_marked(Graph& graph, const std::vector<bool>& remove) {
    std::vector<Node> kept;
    kept.reserve(graph.nodes.size());
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        if (!remove[i]) kept.push_back(std::move(graph.nodes[i]));
    graph.nodes = std::move(kept);
}

int replace_nodes(Graph& graph, std::map<std::size_t, std::vector<Node>> replacements) {
    if (replacements.empty()) return 0;
    std::vector<Node> rebuilt;
    rebuilt.reserve(graph.nodes.size() + replacements.size());
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        auto it = replacements.find(i);
        if (it == replacements.end()) rebuilt.push_back(std::move(graph.nodes[i]));
        else
            for (Node& n : it->second) rebuilt.push_back(std::move(n));
    }
    graph.nodes = std::move(rebuilt);
    return static_cast<int>(replacements.size());
}

namespace {

Node reshape_node(Graph& graph, const std::string& name, const std::string& input, const std::string& output,
                  const std::vector<std::int64_t>& shape) {
    const std::string shape_name = unique_name(graph, name + ".shape");
    graph.initializers[shape_name] = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(shape.size())}, shape);
    Node r;
    r.name = unique_name(graph, name);
    r.op_type = "Reshape";
    r.inputs = {input, shape_name};
    r.outputs = {output};
    return r;
}

}  // namespace

std::size_t wrap_in_reshapes(Graph& graph, std::size_t i, const std::string& tag,
                             const std::vector<std::int64_t>& inner, const std::vector<std::int64_t>& outer) {
    Node& node = graph.nodes[i];
    const std::string name = node.name, input = node.inputs[0], output = node.outputs[0];
    const std::string inner_in = unique_name(graph, input + ".as_" + tag);
    const std::string inner_out = unique_name(graph, output + ".as_" + tag);
    node.inputs[0] = inner_in;
    node.outputs[0] = inner_out;
    Node before = reshape_node(graph, name + ".to_" + tag, input, inner_in, inner);
    Node after = reshape_node(graph, name + ".from_" + tag, inner_out, output, outer);
    graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(after));
    graph.nodes.insert(graph.nodes.begin() + static_cast<std::ptrdiff_t>(i), std::move(before));
    return i + 1;
}

}  // namespace bitnpu::calib::pass_utils
