// Polynomial matching of exported activation patterns: see activation_match.hpp.
#include "activation_match.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "pass_utils.hpp"

namespace bitnpu::calib::activation_match {

namespace {

using namespace pass_utils;

constexpr int kMaxDegree = 8;
constexpr std::size_t kMaxNodes = 24;   // arithmetic nodes in one expansion
constexpr int kMaxChain = 8;            // nodes find_root walks up

bool is_arithmetic(const std::string& op) {
    return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Neg" || op == "Pow";
}

bool scalar_constant(const Graph& graph, const std::string& name, std::int64_t max_rank, double& value) {
    const Tensor* t = graph.initializer(name);
    if (!t || t->numel() != 1 || t->rank() > max_rank) return false;
    if (t->dtype() == DType::f32)
        value = t->data<float>()[0];
    else if (t->dtype() == DType::f64)
        value = t->data<double>()[0];
    else
        return false;
    return std::isfinite(value);
}

// The integer exponent of Pow (any numeric scalar constant), 0..4.
bool small_exponent(const Graph& graph, const std::string& name, int& n) {
    const Tensor* t = graph.initializer(name);
    if (!t || t->numel() != 1) return false;
    const double v = t->to_floats().at(0);
    if (v != std::floor(v) || v < 0 || v > 4) return false;
    n = static_cast<int>(v);
    return true;
}

Poly sum(const Poly& a, const Poly& b, double sign) {
    Poly p = a;
    for (const auto& [m, c] : b) p[m] += sign * c;
    return p;
}

Poly scaled(const Poly& a, double k) {
    Poly p;
    for (const auto& [m, c] : a) p[m] = c * k;
    return p;
}

bool product(const Poly& a, const Poly& b, Poly& out) {
    Poly p;
    for (const auto& [ma, ca] : a)
        for (const auto& [mb, cb] : b) {
            std::vector<int> m(ma.size());
            int degree = 0;
            for (std::size_t i = 0; i < m.size(); ++i) degree += m[i] = ma[i] + mb[i];
            if (degree > kMaxDegree) return false;
            p[m] += ca * cb;
        }
    out = std::move(p);
    return true;
}

struct Expander {
    const Graph& graph;
    const std::vector<std::string>& atoms;
    std::int64_t max_rank;
    std::vector<const Node*>& nodes;

    bool run(const std::string& value, bool root, Poly& p) {
        const std::vector<int> zero(atoms.size(), 0);
        for (std::size_t i = 0; i < atoms.size(); ++i) {
            if (value != atoms[i]) continue;
            std::vector<int> e = zero;
            e[i] = 1;
            p = {{e, 1.0}};
            return true;
        }
        double c = 0;
        if (scalar_constant(graph, value, max_rank, c)) {
            p = {{zero, c}};
            return true;
        }
        const Node* n = graph.producer_of(value);
        if (!n || !n->domain.empty() || n->outputs.size() != 1 || !is_arithmetic(n->op_type)) return false;
        if (!root && !single_reader(graph, value)) return false;
        if (nodes.size() >= kMaxNodes) return false;
        const std::string& op = n->op_type;
        Poly a, b;
        if (op == "Neg") {
            if (n->inputs.size() != 1 || !run(n->inputs[0], false, a)) return false;
            p = scaled(a, -1.0);
        } else if (n->inputs.size() != 2) {
            return false;
        } else if (op == "Div") {
            if (!scalar_constant(graph, n->inputs[1], max_rank, c) || c == 0.0 || !run(n->inputs[0], false, a))
                return false;
            p = scaled(a, 1.0 / c);
        } else if (op == "Pow") {
            int e = 0;
            if (!small_exponent(graph, n->inputs[1], e) || !run(n->inputs[0], false, a)) return false;
            p = {{zero, 1.0}};
            for (int i = 0; i < e; ++i)
                if (!product(p, a, p)) return false;
        } else {
            if (!run(n->inputs[0], false, a) || !run(n->inputs[1], false, b)) return false;
            if (op == "Mul") {
                if (!product(a, b, p)) return false;
            } else {
                p = sum(a, b, op == "Add" ? 1.0 : -1.0);
            }
        }
        nodes.push_back(n);
        return true;
    }
};

void collect_sources(const Graph& graph, const std::string& value, bool root, std::set<std::string>& out, int& budget) {
    double c = 0;
    if (scalar_constant(graph, value, std::numeric_limits<std::int64_t>::max(), c)) return;
    const Node* n = graph.producer_of(value);
    const bool expandable = n && n->domain.empty() && n->outputs.size() == 1 && is_arithmetic(n->op_type) &&
                            (root || single_reader(graph, value)) && --budget > 0;
    if (!expandable) {
        out.insert(value);
        return;
    }
    const bool first_only = n->op_type == "Div" || n->op_type == "Pow";
    for (std::size_t i = 0; i < n->inputs.size() && (!first_only || i == 0); ++i)
        collect_sources(graph, n->inputs[i], false, out, budget);
}

}  // namespace

Poly monomial(double c, std::vector<int> exponents) { return {{std::move(exponents), c}}; }

bool same_poly(const Poly& a, const Poly& b) {
    std::set<std::vector<int>> keys;
    for (const auto& [m, c] : a) keys.insert(m);
    for (const auto& [m, c] : b) keys.insert(m);
    for (const auto& m : keys) {
        const double x = a.count(m) ? a.at(m) : 0.0, y = b.count(m) ? b.at(m) : 0.0;
        if (x == 0.0 && y == 0.0) continue;
        if (std::abs(x - y) > kTolerance * std::max(std::abs(x), std::abs(y))) return false;
    }
    return true;
}

bool single_reader(const Graph& graph, const std::string& value) {
    return !is_graph_output(graph, value) && use_count(graph, value) == 1;
}

bool expand(const Graph& graph, const std::string& value, const std::vector<std::string>& atoms,
            std::int64_t max_const_rank, Poly& poly, std::vector<const Node*>& nodes) {
    std::vector<const Node*> found;
    Expander e{graph, atoms, max_const_rank, found};
    Poly p;
    if (!e.run(value, true, p)) return false;
    poly = std::move(p);
    nodes.insert(nodes.end(), found.begin(), found.end());
    return true;
}

std::string single_source(const Graph& graph, const std::string& value) {
    std::set<std::string> sources;
    int budget = static_cast<int>(kMaxNodes);
    collect_sources(graph, value, true, sources, budget);
    return sources.size() == 1 ? *sources.begin() : std::string();
}

std::int64_t max_const_rank(const Graph& graph, const std::string& x) {
    return std::max<std::int64_t>(known_rank(graph, x), 0);
}

const Node* find_root(const Graph& graph, const std::string& start, const std::vector<std::string>& atoms,
                      const Poly& target, std::int64_t const_rank, std::vector<const Node*>& nodes) {
    std::string v = start;
    for (int step = 0; step < kMaxChain; ++step) {
        if (!single_reader(graph, v)) return nullptr;
        const Node* f = graph.consumers_of(v).at(0);
        if (!f->domain.empty() || f->outputs.size() != 1 || !is_arithmetic(f->op_type)) return nullptr;
        Poly p;
        std::vector<const Node*> found;
        if (expand(graph, f->outputs[0], atoms, const_rank, p, found) && same_poly(p, target)) {
            nodes.insert(nodes.end(), found.begin(), found.end());
            return f;
        }
        v = f->outputs[0];
    }
    return nullptr;
}

bool scalar_value(const Graph& graph, const std::string& name, double& value) {
    return scalar_constant(graph, name, std::numeric_limits<std::int64_t>::max(), value);
}

bool near(double value, double expected) {
    return expected == 0.0 ? value == 0.0 : std::abs(value - expected) <= kTolerance * std::abs(expected);
}

namespace {

// Clip's bounds: attributes before opset 11, optional constant inputs after.
bool clip_bounds(const Graph& graph, const Node& clip, double& lo, double& hi) {
    lo = -std::numeric_limits<double>::infinity();
    hi = std::numeric_limits<double>::infinity();
    if (graph.opset < 11) {
        if (clip.has_attr("min")) lo = clip.attr_float("min", 0.0f);
        if (clip.has_attr("max")) hi = clip.attr_float("max", 0.0f);
        return true;
    }
    for (std::size_t i = 1; i < clip.inputs.size() && i < 3; ++i) {
        if (clip.inputs[i].empty()) continue;
        if (!scalar_value(graph, clip.inputs[i], i == 1 ? lo : hi)) return false;
    }
    return true;
}

// Min(a, c) / Max(a, c) with c a scalar constant near `bound`: the other operand.
bool bound_operand(const Graph& graph, const Node& n, const char* op, double bound, std::string& other) {
    if (n.op_type != op || !n.domain.empty() || n.inputs.size() != 2) return false;
    for (int i = 0; i < 2; ++i) {
        double c = 0;
        if (scalar_constant(graph, n.inputs[static_cast<std::size_t>(i)], max_const_rank(graph, n.outputs[0]), c) &&
            near(c, bound)) {
            other = n.inputs[static_cast<std::size_t>(1 - i)];
            return !graph.is_initializer(other);
        }
    }
    return false;
}

}  // namespace

bool relu6_input(const Graph& graph, const Node& node, std::string& u, std::vector<const Node*>& nodes) {
    if (!node.domain.empty() || node.outputs.size() != 1) return false;
    if (node.op_type == "Clip") {
        double lo = 0, hi = 0;
        if (node.inputs.empty() || !clip_bounds(graph, node, lo, hi) || !near(lo, 0.0) || !near(hi, 6.0)) return false;
        u = node.inputs[0];
        nodes.push_back(&node);
        return true;
    }
    std::string inner;
    const bool min_outside = bound_operand(graph, node, "Min", 6.0, inner);
    if (!min_outside && !bound_operand(graph, node, "Max", 0.0, inner)) return false;
    const Node* in = graph.producer_of(inner);
    if (!in || !single_reader(graph, inner)) return false;
    if (min_outside && in->op_type == "Relu" && in->domain.empty() && in->inputs.size() == 1) {
        u = in->inputs[0];
    } else if (!bound_operand(graph, *in, min_outside ? "Max" : "Min", min_outside ? 0.0 : 6.0, u)) {
        return false;
    }
    nodes.push_back(in);
    nodes.push_back(&node);
    return true;
}

bool shifted_input(const Graph& graph, const std::string& u, double shift, std::string& x,
                   std::vector<const Node*>& nodes) {
    const Node* p = graph.producer_of(u);
    if (!p || !p->domain.empty() || (p->op_type != "Add" && p->op_type != "Sub") || p->inputs.size() != 2 ||
        !single_reader(graph, u))
        return false;
    x = graph.is_initializer(p->inputs[0]) ? p->inputs[1] : p->inputs[0];
    if (graph.is_initializer(x)) return false;
    Poly poly;
    std::vector<const Node*> found;
    if (!expand(graph, u, {x}, max_const_rank(graph, x), poly, found) ||
        !same_poly(poly, {{{0}, shift}, {{1}, 1.0}}))
        return false;
    nodes.insert(nodes.end(), found.begin(), found.end());
    return true;
}

int apply_nodes(Graph& graph, const std::vector<Match>& matches, const std::vector<Node>& fused) {
    const auto index = [&](const Node* n) { return static_cast<std::size_t>(n - graph.nodes.data()); };
    std::vector<bool> remove(graph.nodes.size(), false);
    std::vector<int> replaced_by(graph.nodes.size(), -1);
    int applied = 0;
    for (std::size_t k = 0; k < matches.size(); ++k) {
        const Match& m = matches[k];
        const bool overlaps = std::any_of(m.nodes.begin(), m.nodes.end(), [&](const Node* n) { return remove[index(n)]; });
        if (overlaps) continue;
        for (const Node* n : m.nodes) remove[index(n)] = true;
        replaced_by[index(m.root)] = static_cast<int>(k);
        ++applied;
    }
    if (applied == 0) return 0;
    std::vector<Node> rewritten;
    rewritten.reserve(graph.nodes.size());
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (replaced_by[i] >= 0)
            rewritten.push_back(fused[static_cast<std::size_t>(replaced_by[i])]);
        else if (!remove[i])
            rewritten.push_back(std::move(graph.nodes[i]));
    }
    graph.nodes = std::move(rewritten);
    return applied;
}

}  // namespace bitnpu::calib::activation_match
