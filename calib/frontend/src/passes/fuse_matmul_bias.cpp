// fuse_matmul_bias: MatMul(X, W) followed by Add(B), with W a 2-D constant
// and B a constant of N values, becomes a Gemm (ONNX Runtime's
// MatMulAddFusion). torch exports every nn.Linear applied to a 3-D tensor
// (all transformer blocks) this way.
//
// Why: the Add of a constant could only run on the host (vector units hold
// no constant operands), in FP32 with an extra requantization, or failed
// outright on configs without a host fallback. As Gemm, the bias lands in
// the MAC accumulator, as for every Conv. X of rank r > 2 is flattened to
// [-1, K] around the Gemm and reshaped back to [-1, d1 .. d(r-2), N]; that
// needs X's dimensions after the first to be static.
#include <map>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// X's shape with only dimension 0 allowed to be symbolic (-1 there).
bool leading_symbolic_shape(const Graph& graph, const std::string& value, Shape& shape) {
    const ValueInfo* vi = nullptr;
    if (auto it = graph.value_info.find(value); it != graph.value_info.end()) vi = &it->second;
    for (const ValueInfo& in : graph.inputs)
        if (in.name == value) vi = &in;
    if (!vi || !vi->has_shape || vi->shape.size() < 2) return false;
    shape.clear();
    for (std::size_t i = 0; i < vi->shape.size(); ++i) {
        if (!vi->shape[i].known() && i > 0) return false;
        shape.push_back(vi->shape[i].known() ? vi->shape[i].value : -1);
    }
    return true;
}

struct Match {
    std::size_t matmul = 0, add = 0;
    std::string x, w, b, y;
    Shape x_shape;
};

bool match(const Graph& graph, std::size_t index, Match& m) {
    const Node& mm = graph.nodes[index];
    if (mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2 || mm.attributes.size() != 0) return false;
    const Tensor* w = graph.initializer(mm.inputs[1]);
    if (!w || w->rank() != 2 || w->dtype() != DType::f32) return false;
    if (is_graph_output(graph, mm.outputs[0])) return false;
    const auto users = graph.consumers_of(mm.outputs[0]);
    if (users.size() != 1 || users[0]->op_type != "Add" || !users[0]->domain.empty()) return false;
    const Node& add = *users[0];
    const std::string b = add.inputs.at(0) == mm.outputs[0] ? add.inputs.at(1) : add.inputs.at(0);
    const Tensor* bias = graph.initializer(b);
    if (!bias || bias->dtype() != DType::f32 || bias->numel() != w->dim(1)) return false;
    for (std::int64_t d = 0; d + 1 < bias->rank(); ++d)
        if (bias->dim(d) != 1) return false;  // a row vector, broadcast along the last axis only
    if (!leading_symbolic_shape(graph, mm.inputs[0], m.x_shape) || m.x_shape.back() != w->dim(0)) return false;
    m.matmul = index;
    m.add = static_cast<std::size_t>(&add - graph.nodes.data());
    m.x = mm.inputs[0];
    m.w = mm.inputs[1];
    m.b = b;
    m.y = add.outputs.at(0);
    return true;
}

// The Gemm (with Reshapes around it for rank > 2) replacing a match.
std::vector<Node> replacement(Graph& graph, const Match& m) {
    const Node& mm = graph.nodes[m.matmul];
    const std::int64_t k = m.x_shape.back(), n = graph.initializer(m.w)->dim(1);
    std::string bias = m.b;
    if (graph.initializer(m.b)->rank() != 1) {
        bias = unique_name(graph, m.b + "_row");
        graph.initializers[bias] = graph.initializer(m.b)->reshaped({n});
    }
    Node gemm;
    gemm.name = mm.name + "_gemm";
    gemm.op_type = "Gemm";
    gemm.inputs = {m.x, m.w, bias};
    gemm.outputs = {m.y};
    if (m.x_shape.size() == 2) return {gemm};

    Node flatten, unflatten;
    flatten.name = unique_name(graph, mm.name + "_rows");
    flatten.op_type = "Reshape";
    const std::string rows_shape = unique_name(graph, flatten.name + "_shape");
    graph.initializers[rows_shape] = Tensor::from_vector<std::int64_t>({2}, {-1, k});
    flatten.inputs = {m.x, rows_shape};
    flatten.outputs = {unique_name(graph, m.y + "_input_rows")};  // m.y is unique; X may feed several MatMuls
    gemm.inputs[0] = flatten.outputs[0];
    gemm.outputs = {unique_name(graph, m.y + "_rows")};
    std::vector<std::int64_t> target{-1};
    for (std::size_t i = 1; i + 1 < m.x_shape.size(); ++i) target.push_back(m.x_shape[i]);
    target.push_back(n);
    const std::string out_shape = unique_name(graph, mm.name + "_out_shape");
    graph.initializers[out_shape] = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(target.size())}, target);
    unflatten.name = unique_name(graph, mm.name + "_unrows");
    unflatten.op_type = "Reshape";
    unflatten.inputs = {gemm.outputs[0], out_shape};
    unflatten.outputs = {m.y};
    return {flatten, gemm, unflatten};
}

}  // namespace

int fuse_matmul_bias(Graph& graph) {
    std::vector<Match> matches;
    std::vector<bool> taken(graph.nodes.size(), false);
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Match m;
        if (taken[i] || !match(graph, i, m) || taken[m.add]) continue;
        taken[m.matmul] = taken[m.add] = true;
        matches.push_back(m);
    }
    if (matches.empty()) return 0;
    // Replacements go where the Add was: after X's producer and before
    // every reader of the sum.
    std::map<std::size_t, std::vector<Node>> at_add;
    for (const Match& m : matches) at_add[m.add] = replacement(graph, m);
    std::vector<Node> rewritten;
    rewritten.reserve(graph.nodes.size() + 2 * matches.size());
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (auto it = at_add.find(i); it != at_add.end()) {
            for (Node& n : it->second) rewritten.push_back(std::move(n));
        } else if (!taken[i]) {
            rewritten.push_back(std::move(graph.nodes[i]));
        }
    }
    graph.nodes = std::move(rewritten);
    return static_cast<int>(matches.size());
}

}  // namespace bitnpu::calib
