// fuse_mish: x * Tanh(Softplus(x)), Mish as exporters below opset 18 spell
// it out (torch.nn.Mish, YOLOv4-style backbones; Softplus also as
// Log(1 + Exp(x))), becomes Mish(x), one op. The product may be written
// either way round and scaled by constants that cancel (activation_match);
// every intermediate is read only by the pattern. The fused node writes the
// output of the pattern's last node.
//
// Exactness: the same function; the kernel evaluates it in double and rounds
// once, the pattern rounds at every node (a few ulp apart).
#include "activation_match.hpp"
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

using namespace activation_match;

namespace {

const Node* unary_producer(const Graph& graph, const std::string& value, const char* op) {
    const Node* n = graph.producer_of(value);
    if (!n || n->op_type != op || !n->domain.empty() || n->inputs.size() != 1 || !single_reader(graph, value))
        return nullptr;
    return n;
}

// softplus(x) = Softplus(x) or Log(1 + Exp(x)): sets x, appends the nodes.
bool softplus_of(const Graph& graph, const std::string& s, Match& m) {
    if (const Node* sp = unary_producer(graph, s, "Softplus")) {
        m.x = sp->inputs[0];
        m.nodes.push_back(sp);
        return true;
    }
    const Node* log = unary_producer(graph, s, "Log");
    if (!log) return false;
    const Node* add = graph.producer_of(log->inputs[0]);
    if (!add || add->inputs.size() != 2) return false;
    for (const std::string& in : add->inputs) {
        const Node* exp = graph.producer_of(in);
        if (!exp || exp->op_type != "Exp" || !exp->domain.empty() || !single_reader(graph, in)) continue;
        Poly p;
        std::vector<const Node*> found;
        if (!expand(graph, log->inputs[0], {in}, max_const_rank(graph, exp->inputs[0]), p, found) ||
            !same_poly(p, {{{0}, 1.0}, {{1}, 1.0}}) || !single_reader(graph, log->inputs[0]))
            return false;
        m.x = exp->inputs[0];
        m.nodes.insert(m.nodes.end(), found.begin(), found.end());
        m.nodes.push_back(exp);
        m.nodes.push_back(log);
        return true;
    }
    return false;
}

bool match_mish(const Graph& graph, const Node& node, Match& m) {
    if (node.op_type != "Tanh" || !node.domain.empty() || node.inputs.size() != 1) return false;
    if (!softplus_of(graph, node.inputs[0], m)) return false;
    m.nodes.push_back(&node);
    const std::string t = node.outputs[0];
    m.root = find_root(graph, t, {m.x, t}, monomial(1.0, {1, 1}), max_const_rank(graph, m.x), m.nodes);
    return m.root != nullptr;
}

}  // namespace

int fuse_mish(Graph& graph) {
    std::vector<Match> matches;
    for (const Node& node : graph.nodes) {
        Match m;
        if (match_mish(graph, node, m)) matches.push_back(m);
    }
    return apply(graph, matches, [&](const Match& m) {
        Node n;
        n.name = pass_utils::unique_name(graph, m.root->name + "_mish");
        n.op_type = "Mish";
        n.inputs = {m.x};
        n.outputs = {m.root->outputs[0]};
        return n;
    });
}

}  // namespace bitnpu::calib
