// Small rewrite helpers shared by the graph passes.
#pragma once

#include <cstdint>
#include <string>

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

}  // namespace bitnpu::calib::pass_utils
