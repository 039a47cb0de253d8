// fuse_hard_swish: x * relu6(x + 3) / 6, the hard swish of MobileNetV3-style
// networks as exporters spell it out, becomes HardSwish(x), one lookup-table
// op instead of three vector nodes and two intermediate quantizations.
//
// Matched (activation_match: arrangements of the arithmetic, constants
// within 1e-6 relative, every intermediate read only by the pattern):
//   - x * HardSigmoid(x) with alpha = 1/6, beta = 0.5 (torch.nn.Hardswish
//     below opset 14; also what fuse_hard_sigmoid leaves of
//     x * (relu6(x + 3) / 6));
//   - (x * relu6(x + 3)) / 6 and (x * relu6(x + 3)) * (1/6), relu6 as in
//     fuse_hard_sigmoid.
// The fused node writes the output of the pattern's last node.
//
// Exactness: the same function; the kernel's x * clamp(x / 6 + 0.5, 0, 1)
// and the pattern differ by float rounding only (a few ulp).
#include "activation_match.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

using namespace activation_match;

namespace {

bool hard_sigmoid_of_swish(const Graph& graph, const Node& node, Match& m) {
    if (node.op_type != "HardSigmoid" || !node.domain.empty() || node.inputs.size() != 1) return false;
    if (!near(node.attr_float("alpha", 0.2f), 1.0 / 6.0) || !near(node.attr_float("beta", 0.5f), 0.5)) return false;
    m.x = node.inputs[0];
    m.nodes.push_back(&node);
    const std::string h = node.outputs[0];
    m.root = find_root(graph, h, {m.x, h}, monomial(1.0, {1, 1}), max_const_rank(graph, m.x), m.nodes);
    return m.root != nullptr;
}

bool relu6_swish(const Graph& graph, const Node& node, Match& m) {
    std::string u;
    if (!relu6_input(graph, node, u, m.nodes) || !shifted_input(graph, u, 3.0, m.x, m.nodes)) return false;
    const std::string r = node.outputs[0];
    m.root = find_root(graph, r, {m.x, r}, monomial(1.0 / 6.0, {1, 1}), max_const_rank(graph, m.x), m.nodes);
    return m.root != nullptr;
}

}  // namespace

int fuse_hard_swish(Graph& graph) {
    std::vector<Match> matches;
    for (const Node& node : graph.nodes) {
        Match m;
        if (hard_sigmoid_of_swish(graph, node, m)) {
            matches.push_back(m);
            continue;
        }
        m = Match{};
        if (relu6_swish(graph, node, m)) matches.push_back(m);
    }
    return apply(graph, matches, [&](const Match& m) {
        Node n;
        n.name = pass_utils::unique_name(graph, m.root->name + "_hardswish");
        n.op_type = "HardSwish";
        n.inputs = {m.x};
        n.outputs = {m.root->outputs[0]};
        return n;
    });
}

}  // namespace bitnpu::calib
