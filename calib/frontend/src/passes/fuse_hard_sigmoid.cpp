// fuse_hard_sigmoid: relu6(x + 3) / 6, the hard sigmoid as exporters spell
// it out (torch.nn.Hardsigmoid written by hand, Keras, tf2onnx), becomes
// HardSigmoid(x, alpha = 1/6, beta = 0.5), one lookup-table op.
//
// Matched: relu6 as Clip(., 0, 6) (attributes or constant inputs),
// Min(Max(., 0), 6), Max(Min(., 6), 0) or Min(Relu(.), 6); the scale 1/6 as
// Div by 6 or Mul by 1/6 in any arrangement (activation_match: constants
// within 1e-6 relative); every intermediate read only by the pattern. The
// fused node writes the output of the pattern's last node.
//
// Exactness: the same function; the kernel computes clamp(x / 6 + 0.5, 0, 1)
// where the pattern computes clamp(x + 3, 0, 6) / 6, which differ by float
// rounding only (a few ulp).
#include "activation_match.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

using namespace activation_match;

int fuse_hard_sigmoid(Graph& graph) {
    std::vector<Match> matches;
    for (const Node& node : graph.nodes) {
        Match m;
        std::string u;
        if (!relu6_input(graph, node, u, m.nodes) || !shifted_input(graph, u, 3.0, m.x, m.nodes)) continue;
        const std::string r = node.outputs[0];
        m.root = find_root(graph, r, {r}, monomial(1.0 / 6.0, {1}), max_const_rank(graph, m.x), m.nodes);
        if (m.root) matches.push_back(m);
    }
    return apply(graph, matches, [&](const Match& m) {
        Node n;
        n.name = pass_utils::unique_name(graph, m.root->name + "_hardsigmoid");
        n.op_type = "HardSigmoid";
        n.inputs = {m.x};
        n.outputs = {m.root->outputs[0]};
        n.attributes["alpha"] = 1.0f / 6.0f;
        n.attributes["beta"] = 0.5f;
        return n;
    });
}

}  // namespace bitnpu::calib
