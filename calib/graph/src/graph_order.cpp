// Topological sorting, cycle detection and dataflow checks of the graph IR.
#include <algorithm>
#include <set>
#include <unordered_map>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

namespace {

// value name -> index of the node producing it.
std::unordered_map<std::string, std::size_t> producer_index(const Graph& graph) {
    std::unordered_map<std::string, std::size_t> producer;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        for (const std::string& out : graph.nodes[i].outputs)
            if (!out.empty()) producer[out] = i;
    return producer;
}

// Among the unsorted nodes, every node has an unsorted predecessor; walking
// predecessors must revisit a node, and that node lies on a cycle.
std::string cycle_description(const Graph& graph, const std::vector<int>& pending,
                              const std::unordered_map<std::string, std::size_t>& producer) {
    std::size_t start = 0;
    while (pending[start] == 0) ++start;
    std::vector<std::size_t> path;
    std::vector<bool> seen(graph.nodes.size(), false);
    std::size_t cur = start;
    while (!seen[cur]) {
        seen[cur] = true;
        path.push_back(cur);
        for (const std::string& in : graph.nodes[cur].inputs) {
            auto it = producer.find(in);
            if (it != producer.end() && pending[it->second] > 0) {
                cur = it->second;
                break;
            }
        }
    }
    std::string text;
    auto first = std::find(path.begin(), path.end(), cur);
    for (auto it = first; it != path.end(); ++it) text += "'" + graph.nodes[*it].name + "' <- ";
    return text + "'" + graph.nodes[cur].name + "'";
}

}  // namespace

void sort_topologically(Graph& graph) {
    const auto producer = producer_index(graph);
    const std::size_t n = graph.nodes.size();
    // pending[i]: inputs of node i produced by nodes not yet emitted.
    std::vector<int> pending(n, 0);
    std::vector<std::vector<std::size_t>> users(n);
    for (std::size_t i = 0; i < n; ++i) {
        for (const std::string& in : graph.nodes[i].inputs) {
            auto it = producer.find(in);
            if (it == producer.end()) continue;
            ++pending[i];
            users[it->second].push_back(i);
        }
    }
    // Smallest original index first keeps the order stable and deterministic.
    std::set<std::size_t> ready;
    for (std::size_t i = 0; i < n; ++i)
        if (pending[i] == 0) ready.insert(i);
    std::vector<Node> sorted;
    sorted.reserve(n);
    while (!ready.empty()) {
        const std::size_t i = *ready.begin();
        ready.erase(ready.begin());
        sorted.push_back(graph.nodes[i]);
        for (std::size_t u : users[i])
            if (--pending[u] == 0) ready.insert(u);
    }
    if (sorted.size() != n)
        throw UserError("the graph has a cycle: " + cycle_description(graph, pending, producer) +
                        " (each node uses the output of the one after it)");
    graph.nodes = std::move(sorted);
}

void check_dataflow(const Graph& graph) {
    std::set<std::string> available;
    for (const ValueInfo& in : graph.inputs) available.insert(in.name);
    for (const auto& [name, tensor] : graph.initializers) available.insert(name);
    for (const Node& node : graph.nodes) {
        for (const std::string& out : node.outputs) {
            if (out.empty()) continue;
            if (!available.insert(out).second)
                throw UserError("value '" + out + "' is produced twice (second time by node '" + node.name + "' (" +
                                node.op_type + ")); ONNX values must have exactly one producer");
        }
    }
    for (const Node& node : graph.nodes)
        for (const std::string& in : node.inputs)
            if (!in.empty() && available.count(in) == 0)
                throw UserError("node '" + node.name + "' (" + node.op_type + ") reads '" + in +
                                "', which no node, graph input or initializer provides");
    for (const ValueInfo& out : graph.outputs)
        if (available.count(out.name) == 0)
            throw UserError("graph output '" + out.name + "' is not produced by any node");
}

}  // namespace bitnpu::calib
