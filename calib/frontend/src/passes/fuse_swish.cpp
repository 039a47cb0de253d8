// fuse_swish: x * Sigmoid(x), the swish / SiLU of EfficientNet-, YOLOv5- and
// MobileNetV3-style networks as exporters below opset 24 spell it out (Mul
// either way round), becomes Swish(x) (ONNX opset 24, alpha = 1), one lookup-table op instead of
// a Sigmoid table, a vector Mul of two activations and the quantization of
// the sigmoid's output between them. The Sigmoid must be read only by the
// Mul; the fused node writes the Mul's output.
//
// Exactness: the same function; the kernel computes x * sigmoid(x) in double
// and rounds once, the pattern rounds twice (a few ulp apart).
#include "activation_match.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

using namespace activation_match;

namespace {

// Mul(x, Sigmoid(x)) or Mul(Sigmoid(x), x) with the Sigmoid read once.
bool swish_at(const Graph& graph, const Node& mul, Match& m) {
    if (mul.op_type != "Mul" || !mul.domain.empty() || mul.inputs.size() != 2) return false;
    for (int side = 0; side < 2; ++side) {
        const std::string& s = mul.inputs[side];
        const std::string& x = mul.inputs[1 - side];
        const Node* sig = graph.producer_of(s);
        if (!sig || sig->op_type != "Sigmoid" || !sig->domain.empty() || sig->inputs.size() != 1) continue;
        if (sig->inputs[0] != x || !single_reader(graph, s)) continue;
        m.x = x;
        m.nodes = {sig, &mul};
        m.root = &mul;
        return true;
    }
    return false;
}

}  // namespace

int fuse_swish(Graph& graph) {
    std::vector<Match> matches;
    for (const Node& node : graph.nodes) {
        Match m;
        if (swish_at(graph, node, m)) matches.push_back(m);
    }
    return apply(graph, matches, [&](const Match& m) {
        Node n;
        n.name = pass_utils::unique_name(graph, m.root->name + "_swish");
        n.op_type = "Swish";
        n.inputs = {m.x};
        n.outputs = {m.root->outputs[0]};
        return n;
    });
}

}  // namespace bitnpu::calib
