// Small rewrite helpers shared by the graph passes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib::pass_utils {

bool is_graph_output(const Graph& graph, const std::string& value);
// Every node input reading `from` reads `to` instead.
void replace_uses(Graph& graph, const std::string& from, const std::string& to);
// Number of node inputs (counting repeats) plus graph outputs that read value.
int use_count(const Graph& graph, const std::string& value);
// A name not used by any value, initializer or node: base, base_1, base_2, ...
std::string unique_name(const Graph& graph, const std::string& base);
// The dtype of a value if known (initializer, graph input or value_info).
bool known_dtype(const Graph& graph, const std::string& value, DType& dtype);
// The rank of a value if known (graph input or value_info), else -1.
std::int64_t known_rank(const Graph& graph, const std::string& value);
// Puts graph.nodes[i] (one activation input, one output) between two
// Reshapes: its input to `inner` before it, its output back to `outer` after
// it (ONNX shapes: 0 copies the input's dimension, -1 is inferred). The
// output keeps its name, so its readers are unchanged. The new nodes and
// values are named after the node and value plus "." + tag. Returns the
// node's new index (i + 1).
std::size_t wrap_in_reshapes(Graph& graph, std::size_t i, const std::string& tag,
                             const std::vector<std::int64_t>& inner, const std::vector<std::int64_t>& outer);
// Removes the nodes whose flag is set, keeping the order of the others.
void erase_marked(Graph& graph, const std::vector<bool>& remove);
// Every `from` node (default domain, two inputs) whose second input is a
// float constant and first is not becomes a `to` node reading
// transform(constant) instead: transform(c, out) returns false to leave the
// node alone. The transformed constant is a new initializer, named
// c + suffix, shared by every node reading the same c. Returns the number of
// nodes changed.
template <class Transform>
int swap_constant_operand(Graph& graph, const std::string& from, const std::string& to, const std::string& suffix,
                          Transform transform) {
    std::map<std::string, std::string> done;   // constant -> its transform's initializer
    int changed = 0;
    for (Node& node : graph.nodes) {
        if (node.op_type != from || !node.domain.empty() || node.inputs.size() != 2) continue;
        const std::string& c = node.inputs[1];
        const Tensor* constant = graph.initializer(c);
        if (!constant || constant->dtype() != DType::f32 || graph.is_initializer(node.inputs[0])) continue;
        auto it = done.find(c);
        if (it == done.end()) {
            Tensor out;
            if (!transform(*constant, out)) continue;
            const std::string name = unique_name(graph, c + suffix);
            graph.initializers[name] = std::move(out);
            it = done.emplace(c, name).first;
        }
        node.op_type = to;
        node.inputs[1] = it->second;
        ++changed;
    }
    return changed;
}
// Replaces each graph.nodes[i] named in `replacements` by its nodes, in
// place, keeping the order of the others. Returns replacements.size().
int replace_nodes(Graph& graph, std::map<std::size_t, std::vector<Node>> replacements);
// The rewrite pattern of the node-for-nodes passes: rewrite(graph, node,
// out) is tried on every node of the unchanged graph (so every match sees
// the original), and the matches are spliced in with replace_nodes.
template <class Rewrite>
int rewrite_nodes(Graph& graph, Rewrite rewrite) {
    std::map<std::size_t, std::vector<Node>> replacements;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        std::vector<Node> replacement;
        if (rewrite(graph, graph.nodes[i], replacement)) replacements[i] = std::move(replacement);
    }
    return replace_nodes(graph, std::move(replacements));
}

}  // namespace bitnpu::calib::pass_utils
