// fold_batchnorm: folds inference BatchNormalization into the weights and
// bias of a preceding Conv/ConvTranspose/Gemm that feeds only it; any other
// BN with constant parameters becomes bitnpu ChannelAffine(X, scale, bias).
#include <cmath>

#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

// y = x * scale[c] + shift[c], the per-channel affine map BN computes.
struct Affine {
    std::vector<double> scale, shift;
};

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

// Multiplies weight slices by the affine scale. out_channel(i) gives the
// output channel of flat weight element i.
template <class ChannelOf>
Tensor scaled_weight(const Tensor& w, const Affine& a, ChannelOf out_channel) {
    Tensor out = w;
    float* d = out.data<float>();
    for (std::int64_t i = 0; i < out.numel(); ++i) d[i] = static_cast<float>(d[i] * a.scale[out_channel(i)]);
    return out;
}

// New bias = old_bias * scale + shift (old bias zero if absent).
Tensor folded_bias(const Tensor* old_bias, const Affine& a, double shift_divisor = 1.0) {
    const auto n = static_cast<std::int64_t>(a.scale.size());
    Tensor b(DType::f32, {n});
    std::vector<float> old = old_bias ? old_bias->to_floats() : std::vector<float>{};
    for (std::int64_t c = 0; c < n; ++c) {
        const double prev = old.empty() ? 0.0 : old.size() == 1 ? old[0] : old[static_cast<std::size_t>(c)];
        b.data<float>()[c] = static_cast<float>(prev * a.scale[c] + a.shift[c] / shift_divisor);
    }
    return b;
}

// Sets input `slot` of node to a new initializer holding value.
void set_param(Graph& graph, Node& node, std::size_t slot, const std::string& suffix, Tensor value) {
    const std::string name = unique_name(graph, node.name + suffix);
    graph.initializers[name] = std::move(value);
    if (node.inputs.size() <= slot) node.inputs.resize(slot + 1);
    node.inputs[slot] = name;
}

bool fold_into_conv(Graph& graph, Node& conv, const Affine& a) {
    const Tensor* w = graph.initializer(conv.inputs.at(1));
    const auto channels = static_cast<std::int64_t>(a.scale.size());
    if (!w || w->dtype() != DType::f32 || w->rank() < 3) return false;
    const Tensor* bias = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? graph.initializer(conv.inputs[2]) : nullptr;
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && !bias) return false;
    const std::int64_t spatial = w->numel() / (w->dim(0) * w->dim(1));
    Tensor new_w;
    if (conv.op_type == "Conv") {
        if (w->dim(0) != channels) return false;
        new_w = scaled_weight(*w, a, [&](std::int64_t i) { return i / (w->numel() / channels); });
    } else {  // ConvTranspose: W is [C_in, C_out / group, kH, kW]
        const std::int64_t group = conv.attr_int("group", 1);
        const std::int64_t cout_g = w->dim(1), cin_g = w->dim(0) / group;
        if (cout_g * group != channels) return false;
        new_w = scaled_weight(*w, a, [&](std::int64_t i) {
            const std::int64_t ci = i / (cout_g * spatial), j = (i / spatial) % cout_g;
            return (ci / cin_g) * cout_g + j;
        });
    }
    set_param(graph, conv, 1, ".bn_folded_weight", std::move(new_w));
    set_param(graph, conv, 2, ".bn_folded_bias", folded_bias(bias, a));
    return true;
}

// Gemm: Y = alpha * A * B' + beta * C, channel = column n of Y.
bool fold_into_gemm(Graph& graph, Node& gemm, const Affine& a) {
    const Tensor* b = graph.initializer(gemm.inputs.at(1));
    const auto n = static_cast<std::int64_t>(a.scale.size());
    if (!b || b->dtype() != DType::f32 || b->rank() != 2) return false;
    const bool trans_b = gemm.attr_int("transB", 0) != 0;
    if ((trans_b ? b->dim(0) : b->dim(1)) != n) return false;
    const bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty();
    const Tensor* c = has_c ? graph.initializer(gemm.inputs[2]) : nullptr;
    if (has_c && (!c || (c->numel() != 1 && c->numel() != n) || (c->rank() == 2 && c->dim(0) != 1))) return false;
    double beta = gemm.attr_float("beta", 1.0f);
    if (beta == 0.0 || !has_c) {
        c = nullptr;
        beta = 1.0;
        gemm.attributes["beta"] = 1.0f;
    }
    const std::int64_t cols = b->dim(1);
    Tensor new_b = scaled_weight(*b, a, [&](std::int64_t i) { return trans_b ? i / cols : i % cols; });
    set_param(graph, gemm, 1, ".bn_folded_weight", std::move(new_b));
    // beta * C' must equal scale * beta * C + shift.
    set_param(graph, gemm, 2, ".bn_folded_bias", folded_bias(c, a, beta));
    return true;
}

bool fold_into_producer(Graph& graph, const Node& bn, const Affine& a) {
    const std::string& x = bn.inputs[0];
    Node* producer = nullptr;
    for (Node& n : graph.nodes)
        if (!n.outputs.empty() && n.outputs[0] == x) producer = &n;
    if (!producer || !producer->domain.empty() || use_count(graph, x) != 1) return false;
    if (producer->op_type == "Conv" || producer->op_type == "ConvTranspose") {
        if (!fold_into_conv(graph, *producer, a)) return false;
    } else if (producer->op_type == "Gemm") {
        if (!fold_into_gemm(graph, *producer, a)) return false;
    } else {
        return false;
    }
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
