// fuse_layer_norm: the nine-node LayerNorm that exporters write below
// opset 17 (torch.nn.LayerNorm, BERT/ViT/Whisper exports) becomes one
// LayerNormalization node:
//
//   m = ReduceMean(x, axes=trailing)      d = Sub(x, m)
//   v = ReduceMean(Pow(d, 2) | Mul(d, d)) s = Sqrt(Add(v, eps))
//   y = Add(Mul(Div(d, s), gamma), beta)  -> LayerNormalization(x, gamma, beta)
//
// Why: quantizing every piece separately (d, d^2, the variance, its square
// root) to 8 bits loses most of the signal (a ViT block's first LayerNorm
// came out at 8 dB SQNR); as one op it runs in FP32 on the host with only
// its output quantized, like the opset-17 export of the same model.
#include <algorithm>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

struct Match {
    std::vector<const Node*> nodes;  // the nine nodes, to remove
    std::string x, gamma, beta, y;
    std::int64_t axis = -1;
    float epsilon = 0;
};

const Node* sole_consumer(const Graph& graph, const std::string& value, const char* op) {
    if (is_graph_output(graph, value)) return nullptr;
    const auto users = graph.consumers_of(value);
    if (users.size() != 1 || users[0]->op_type != op || !users[0]->domain.empty()) return nullptr;
    return users[0];
}

// The operand of a binary node that is not `value`.
std::string other_operand(const Node& node, const std::string& value) {
    if (node.inputs.size() != 2) return "";
    if (node.inputs[0] == value) return node.inputs[1];
    if (node.inputs[1] == value) return node.inputs[0];
    return "";
}

bool scalar_constant(const Graph& graph, const std::string& name, float& value) {
    const Tensor* t = graph.initializer(name);
    if (!t || t->numel() != 1 || (t->dtype() != DType::f32 && t->dtype() != DType::f64)) return false;
    value = t->to_floats().at(0);
    return true;
}

// Trailing reduction axes -k..-1 (negative, or positive with a known rank):
// the LayerNormalization axis -k.
bool trailing_axes(const Graph& graph, const Node& mean, std::int64_t& axis) {
    if (mean.attr_int("keepdims", 1) != 1) return false;
    std::vector<std::int64_t> axes;
    if (mean.inputs.size() >= 2 && !mean.inputs[1].empty()) {
        const Tensor* t = graph.initializer(mean.inputs[1]);
        if (!t) return false;
        axes = t->to_int64s();
    } else {
        axes = mean.attr_ints("axes");
    }
    if (axes.empty()) return false;
    std::int64_t rank = -1;
    if (auto it = graph.value_info.find(mean.inputs[0]); it != graph.value_info.end() && it->second.has_shape)
        rank = static_cast<std::int64_t>(it->second.shape.size());
    for (auto& a : axes) {
        if (a >= 0 && rank < 0) return false;
        if (a >= 0) a -= rank;
    }
    std::sort(axes.begin(), axes.end());
    for (std::size_t i = 0; i < axes.size(); ++i)
        if (axes[i] != -static_cast<std::int64_t>(axes.size() - i)) return false;
    axis = axes.front();
    return true;
}

bool same_axes(const Node& a, const Node& b) {
    return a.attr_ints("axes") == b.attr_ints("axes") && (a.inputs.size() > 1 ? a.inputs[1] : "") ==
                                                             (b.inputs.size() > 1 ? b.inputs[1] : "");
}

// Matches the pattern starting at the first ReduceMean.
bool match_at(const Graph& graph, const Node& mean, Match& m) {
    if (mean.op_type != "ReduceMean" || !mean.domain.empty() || !trailing_axes(graph, mean, m.axis)) return false;
    m.x = mean.inputs[0];
    const Node* sub = sole_consumer(graph, mean.outputs[0], "Sub");
    if (!sub || sub->inputs[0] != m.x || sub->inputs[1] != mean.outputs[0]) return false;
    const std::string d = sub->outputs[0];
    if (is_graph_output(graph, d)) return false;
    const auto users = graph.consumers_of(d);
    const Node* square = nullptr;
    const Node* div = nullptr;
    for (const Node* u : users) {
        if (u->op_type == "Div" && u->inputs[0] == d && u->inputs[1] != d) div = u;
        float two = 0;
        if (u->op_type == "Pow" && u->inputs[0] == d && scalar_constant(graph, u->inputs[1], two) && two == 2.0f) square = u;
        if (u->op_type == "Mul" && u->inputs.size() == 2 && u->inputs[0] == d && u->inputs[1] == d) square = u;
    }
    if (users.size() != 2 || !square || !div) return false;
    const Node* var = sole_consumer(graph, square->outputs[0], "ReduceMean");
    if (!var || !same_axes(mean, *var) || var->attr_int("keepdims", 1) != 1) return false;
    const Node* add_eps = sole_consumer(graph, var->outputs[0], "Add");
    if (!add_eps || !scalar_constant(graph, other_operand(*add_eps, var->outputs[0]), m.epsilon)) return false;
    const Node* sqrt = sole_consumer(graph, add_eps->outputs[0], "Sqrt");
    if (!sqrt || div->inputs[1] != sqrt->outputs[0] || sole_consumer(graph, sqrt->outputs[0], "Div") != div) return false;
    const Node* mul = sole_consumer(graph, div->outputs[0], "Mul");
    if (!mul) return false;
    m.gamma = other_operand(*mul, div->outputs[0]);
    const Node* add = sole_consumer(graph, mul->outputs[0], "Add");
    if (!add) return false;
    m.beta = other_operand(*add, mul->outputs[0]);
    if (!graph.is_initializer(m.gamma) || !graph.is_initializer(m.beta)) return false;
    m.y = add->outputs[0];
    m.nodes = {&mean, sub, square, var, add_eps, sqrt, div, mul, add};
    return true;
}

}  // namespace

int fuse_layer_norm(Graph& graph) {
    std::vector<Match> matches;
    std::vector<bool> remove(graph.nodes.size(), false);
    for (const Node& node : graph.nodes) {
        Match m;
        if (!match_at(graph, node, m)) continue;
        bool overlaps = false;
        for (const Node* n : m.nodes) overlaps = overlaps || remove[static_cast<std::size_t>(n - graph.nodes.data())];
        if (overlaps) continue;
        for (const Node* n : m.nodes) remove[static_cast<std::size_t>(n - graph.nodes.data())] = true;
        matches.push_back(m);
    }
    if (matches.empty()) return 0;
    // The fused node takes the place of the last one (the final Add), which
    // comes after every producer the pattern reads.
    std::vector<Node> rewritten;
    rewritten.reserve(graph.nodes.size());
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (!remove[i]) {
            rewritten.push_back(std::move(graph.nodes[i]));
            continue;
        }
        for (const Match& m : matches) {
            if (m.nodes.back() != &graph.nodes[i]) continue;
            Node ln;
            ln.name = m.nodes.front()->name + "_layernorm";
            ln.op_type = "LayerNormalization";
            ln.inputs = {m.x, m.gamma, m.beta};
            ln.outputs = {m.y};
            ln.attributes["axis"] = m.axis;
            ln.attributes["epsilon"] = m.epsilon;
            rewritten.push_back(std::move(ln));
        }
    }
    graph.nodes = std::move(rewritten);
    return static_cast<int>(matches.size());
}

}  // namespace bitnpu::calib
