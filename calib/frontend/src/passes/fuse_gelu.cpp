// fuse_gelu: GELU as exporters spell it out becomes Gelu(x), one
// lookup-table op (opset 20; bitnpu's executor has it at any opset):
//   - the exact form 0.5 * x * (1 + Erf(x / sqrt(2)))  -> approximate = "none"
//     (torch.nn.GELU below opset 20, BERT/ViT exports);
//   - the tanh approximation
//     0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))  -> "tanh"
//     (GELU(approximate='tanh'), GPT-2 "gelu_new", x * x * x or Pow(x, 3)).
// Any arrangement of the products and sums (0.5 first or last, x / sqrt(2)
// or x * (1/sqrt(2)), sqrt(2/pi) distributed over the sum, ...), constants
// within 1e-6 relative (activation_match); every intermediate read only by
// the pattern. The fused node writes the output of the pattern's last node.
//
// Exactness: the same function; the kernel evaluates it in double and rounds
// once, the pattern rounds at every node, so they differ by float rounding
// (a few ulp; the pattern's 1 + erf loses relative precision for x < -3,
// where both are within 1e-6 of 0).
#include <cmath>

#include "activation_match.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

using namespace activation_match;

namespace {

bool match_gelu(const Graph& graph, const Node& node, Match& m, bool& tanh_form) {
    if (!node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
    tanh_form = node.op_type == "Tanh";
    if (node.op_type != "Erf" && !tanh_form) return false;
    const std::string u = node.inputs[0];
    if (!single_reader(graph, u)) return false;
    m.x = single_source(graph, u);
    if (m.x.empty()) return false;
    const std::int64_t rank = max_const_rank(graph, m.x);
    // The argument of the nonlinearity, as a polynomial in x.
    const double k = tanh_form ? std::sqrt(2.0 / M_PI) : 1.0 / std::sqrt(2.0);
    Poly inner = monomial(k, {1});
    if (tanh_form) inner[{3}] = k * 0.044715;
    Poly p;
    if (!expand(graph, u, {m.x}, rank, p, m.nodes) || !same_poly(p, inner)) return false;
    m.nodes.push_back(&node);
    // 0.5 * x * (1 + f) = 0.5 x + 0.5 x f.
    const std::string f = node.outputs[0];
    Poly outer = monomial(0.5, {1, 0});
    outer[{1, 1}] = 0.5;
    m.root = find_root(graph, f, {m.x, f}, outer, rank, m.nodes);
    return m.root != nullptr;
}

}  // namespace

int fuse_gelu(Graph& graph) {
    std::vector<Match> matches;
    std::vector<bool> tanh_forms;
    for (const Node& node : graph.nodes) {
        Match m;
        bool tanh_form = false;
        if (!match_gelu(graph, node, m, tanh_form)) continue;
        matches.push_back(m);
        tanh_forms.push_back(tanh_form);
    }
    std::size_t k = 0;
    return apply(graph, matches, [&](const Match& m) {
        Node n;
        n.name = pass_utils::unique_name(graph, m.root->name + "_gelu");
        n.op_type = "Gelu";
        n.inputs = {m.x};
        n.outputs = {m.root->outputs[0]};
        if (tanh_forms[k++]) n.attributes["approximate"] = std::string("tanh");
        return n;
    });
}

}  // namespace bitnpu::calib
