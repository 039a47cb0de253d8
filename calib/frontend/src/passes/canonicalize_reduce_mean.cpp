// canonicalize_reduce_mean: ReduceMean over the two spatial axes of a 4-D
// tensor (PyTorch's `x.mean([2, 3])`, MnasNet and many timm heads) becomes
// GlobalAveragePool, the op accelerators' vector units run; with keepdims=0
// a Flatten drops the two unit dimensions ([N, C, 1, 1] -> [N, C]).
#include <algorithm>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// The reduced axes (attribute before opset 18, constant input from 18 on);
// false when they are not known at import time.
bool reduce_axes(const Graph& graph, const Node& node, std::vector<std::int64_t>& axes) {
    if (node.inputs.size() >= 2 && !node.inputs[1].empty()) {
        const Tensor* t = graph.initializer(node.inputs[1]);
        if (!t) return false;
        axes = t->to_int64s();
        return true;
    }
    axes = node.attr_ints("axes");
    return true;
}

bool is_spatial_mean(const Graph& graph, const Node& node) {
    if (node.op_type != "ReduceMean" || !node.domain.empty() || node.inputs.empty()) return false;
    if (known_rank(graph, node.inputs[0]) != 4) return false;
    std::vector<std::int64_t> axes;
    if (!reduce_axes(graph, node, axes) || axes.size() != 2) return false;
    for (auto& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    return axes == std::vector<std::int64_t>{2, 3};
}

}  // namespace

int canonicalize_reduce_mean(Graph& graph) {
    // Names first, while graph.nodes still holds every name in use.
    std::vector<std::size_t> targets;
    std::vector<std::string> pooled_names, flatten_names;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        if (!is_spatial_mean(graph, node)) continue;
        targets.push_back(i);
        pooled_names.push_back(unique_name(graph, node.outputs.at(0) + "_pooled"));
        flatten_names.push_back(unique_name(graph, node.name + "_flatten"));
    }
    if (targets.empty()) return 0;
    std::vector<Node> rewritten;
    rewritten.reserve(graph.nodes.size() + targets.size());
    std::size_t t = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& node = graph.nodes[i];
        if (t == targets.size() || targets[t] != i) {
            rewritten.push_back(std::move(node));
            continue;
        }
        const bool keepdims = node.attr_int("keepdims", 1) != 0;
        Node pool;
        pool.name = node.name;
        pool.op_type = "GlobalAveragePool";
        pool.inputs = {node.inputs[0]};
        pool.outputs = {keepdims ? node.outputs.at(0) : pooled_names[t]};
        Node flatten;
        flatten.name = flatten_names[t];
        flatten.op_type = "Flatten";
        flatten.inputs = {pool.outputs[0]};
        flatten.outputs = {node.outputs.at(0)};
        flatten.attributes["axis"] = std::int64_t{1};
        rewritten.push_back(std::move(pool));
        if (!keepdims) rewritten.push_back(std::move(flatten));
        ++t;
    }
    graph.nodes = std::move(rewritten);
    return static_cast<int>(targets.size());
}

}  // namespace bitnpu::calib
