// Pattern matching shared by the activation-fusion passes (fuse_hard_sigmoid,
// fuse_hard_swish, fuse_gelu, fuse_mish): exporters write one activation as
// a handful of elementwise nodes in many arrangements (x * c, x / (1 / c),
// c * x; 0.5 * x first or last; Pow(x, 3) or x * x * x). Rather than listing
// every arrangement, a matcher expands the arithmetic part of a candidate
// into a polynomial in a few "atom" values (x, and the output of the one
// nonlinear node: Erf, Tanh, Clip, ...) and compares its coefficients with
// the activation's, each within 1e-6 relative.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib::activation_match {

// Relative tolerance on every coefficient (exporters round constants such as
// 1/sqrt(2) or sqrt(2/pi) to float, about 6e-8 relative).
inline constexpr double kTolerance = 1e-6;

// value == expected within kTolerance relative (exactly, for 0).
bool near(double value, double expected);

// A polynomial in the atoms: monomial (one exponent per atom) -> coefficient.
using Poly = std::map<std::vector<int>, double>;

// c * atom0^e0 * atom1^e1 ... (exponents given per atom).
Poly monomial(double c, std::vector<int> exponents);
// Coefficient-wise equality within kTolerance relative (terms of 0 are ignored).
bool same_poly(const Poly& a, const Poly& b);

// The nodes a match removes and the one it replaces by the fused node.
struct Match {
    std::vector<const Node*> nodes;  // every node of the pattern (root included)
    const Node* root = nullptr;      // the last node; the fused node takes its place and output
    std::string x;                   // the activation's input
};

// Expands `value` into a polynomial in `atoms` through Add, Sub, Mul, Neg,
// Div by a scalar constant and Pow by an integer constant 0..4, with scalar
// float constants (rank at most max_const_rank). The node producing `value`
// may have any number of readers; every other expanded value must have
// exactly one (so that the whole expansion can be removed). Appends the
// expanded nodes to `nodes`. False when the value reaches anything else.
bool expand(const Graph& graph, const std::string& value, const std::vector<std::string>& atoms,
            std::int64_t max_const_rank, Poly& poly, std::vector<const Node*>& nodes);

// The one non-constant value the arithmetic feeding `value` starts from (the
// x of `x / sqrt(2)` or `(x + 0.044715 x^3) * c`), through the same nodes
// expand() accepts; empty when there are several or none.
std::string single_source(const Graph& graph, const std::string& value);

// The largest constant rank a pattern on x may use without changing the
// output shape: x's rank if known, else 0 (true scalars only).
std::int64_t max_const_rank(const Graph& graph, const std::string& x);

// Follows the single-reader chain of arithmetic nodes above `start` (whose
// one reader must be the first of them) and returns the first node whose
// output, expanded in `atoms`, equals `target`; nullptr if none does within
// a few steps. `nodes` receives that expansion.
const Node* find_root(const Graph& graph, const std::string& start, const std::vector<std::string>& atoms,
                      const Poly& target, std::int64_t const_rank, std::vector<const Node*>& nodes);

// Whether value is read exactly once, by a node (not a graph output).
bool single_reader(const Graph& graph, const std::string& value);

// relu6(u) as exporters write it: Clip(u, 0, 6) (attributes or constant
// inputs), Min(Max(u, 0), 6), Max(Min(u, 6), 0) or Min(Relu(u), 6), with
// `node` the last of them. Sets u and appends the nodes.
bool relu6_input(const Graph& graph, const Node& node, std::string& u, std::vector<const Node*>& nodes);

// u = x + shift as one node (Add either way round, Sub(x, -shift)) whose
// output u is read once: sets x and appends the node.
bool shifted_input(const Graph& graph, const std::string& u, double shift, std::string& x,
                   std::vector<const Node*>& nodes);

// The scalar float value of a constant (initializer of one element).
bool scalar_value(const Graph& graph, const std::string& name, double& value);

// Replaces every match by the node make(match) (which should read match.x
// and write match.root's output), at the root's position; matches sharing a
// node with an earlier one are skipped. Returns the number applied.
template <class Make>
int apply(Graph& graph, const std::vector<Match>& matches, Make make);

// Non-template core of apply().
int apply_nodes(Graph& graph, const std::vector<Match>& matches, const std::vector<Node>& fused);

template <class Make>
int apply(Graph& graph, const std::vector<Match>& matches, Make make) {
    std::vector<Node> fused;
    fused.reserve(matches.size());
    for (const Match& m : matches) fused.push_back(make(m));
    return apply_nodes(graph, matches, fused);
}

}  // namespace bitnpu::calib::activation_match
