// fold_batchnorm: folds inference BatchNormalization into the weights and
// bias of a preceding Conv/ConvTranspose/Gemm that feeds only it; any other
// BN with constant parameters becomes bitnpu ChannelAffine(X, scale, bias).
#include <cmath>

#include "bitnpu/frontend/passes.hpp"
#include "linear_fold.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// y = x * scale[c] + shift[c], the per-channel affine map BN computes.
using linear_fold::Affine;

// The BN's affine map, if its parameters are f32 initializers of one size.
bool bn_affine(const Graph& graph, const Node& bn, Affine& a) {
    if (bn.inputs.size() < 5) return false;
    if (bn.outputs.size() > 1) {
        for (std::size_t i = 1; i < bn.outputs.size(); ++i)
            if (!bn.outputs[i].empty()) return false;  // training mode: running stats are outputs
    }
    // training_mode (opset 14+) and spatial = 0 (opset <= 8, per-element
    // statistics) are not a per-channel affine map.
    if (bn.attr_int("training_mode", 0) != 0 || bn.attr_int("spatial", 1) == 0) return false;
    const Tensor* p[4];
    for (int i = 0; i < 4; ++i) {
        p[i] = graph.initializer(bn.inputs[static_cast<std::size_t>(i) + 1]);
        if (!p[i] || p[i]->dtype() != DType::f32 || p[i]->rank() != 1 || p[i]->numel() != p[0]->numel()) return false;
    }
    const double eps = bn.attr_float("epsilon", 1e-5f);
    const float *gamma = p[0]->data<float>(), *beta = p[1]->data<float>(), *mean = p[2]->data<float>(),
                *var = p[3]->data<float>();
    for (std::int64_t c = 0; c < p[0]->numel(); ++c) {
        const double s = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
        a.scale.push_back(s);
        a.shift.push_back(beta[c] - mean[c] * s);
    }
    return true;
}

bool fold_into_producer(Graph& graph, const Node& bn, const Affine& a) {
    const std::string& x = bn.inputs[0];
    Node* producer = nullptr;
    for (Node& n : graph.nodes)
        if (!n.outputs.empty() && n.outputs[0] == x) producer = &n;
    if (!producer || !producer->domain.empty() || use_count(graph, x) != 1) return false;
    if (producer->op_type == "MatMul" || !linear_fold::fold(graph, *producer, a, ".bn_folded")) return false;
    producer->outputs[0] = bn.outputs[0];
    return true;
}

Node channel_affine(Graph& graph, const Node& bn, const Affine& a) {
    Node node;
    node.name = bn.name;
    node.op_type = kChannelAffine;
    node.domain = kDomain;
    node.outputs = {bn.outputs[0]};
    std::vector<float> scale(a.scale.begin(), a.scale.end()), shift(a.shift.begin(), a.shift.end());
    const auto n = static_cast<std::int64_t>(scale.size());
    const std::string s = unique_name(graph, bn.name + ".affine_scale");
    graph.initializers[s] = Tensor::from_vector<float>({n}, scale);
    const std::string b = unique_name(graph, bn.name + ".affine_bias");
    graph.initializers[b] = Tensor::from_vector<float>({n}, shift);
    node.inputs = {bn.inputs[0], s, b};
    return node;
}

}  // namespace

int fold_batchnorm(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int changed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node bn = graph.nodes[i];
        Affine a;
        if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || !bn_affine(graph, bn, a)) continue;
        ++changed;
        if (fold_into_producer(graph, bn, a))
            remove[i] = true;
        else
            graph.nodes[i] = channel_affine(graph, bn, a);
    }
    pass_utils::erase_marked(graph, remove);
    return changed;
}

}  // namespace bitnpu::calib
