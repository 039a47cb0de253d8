// Folding a per-channel affine map into a Conv/ConvTranspose/Gemm/MatMul: see linear_fold.hpp.
#include "linear_fold.hpp"

#include <algorithm>

#include "pass_utils.hpp"

namespace bitnpu::calib::linear_fold {

namespace {

using namespace pass_utils;

// Multiplies weight slices by the affine scale. out_channel(i) gives the
// output channel of flat weight element i.
template <class ChannelOf>
Tensor scaled_weight(const Tensor& w, const Affine& a, ChannelOf out_channel) {
    Tensor out = w;
    float* d = out.data<float>();
    for (std::int64_t i = 0; i < out.numel(); ++i) d[i] = static_cast<float>(d[i] * a.scale[out_channel(i)]);
    return out;
}

bool unit_scale(const Affine& a) {
    return std::all_of(a.scale.begin(), a.scale.end(), [](double s) { return s == 1.0; });
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

const Tensor* float_weight(const Graph& graph, const Node& node, std::int64_t min_rank, std::int64_t max_rank) {
    if (node.inputs.size() < 2) return nullptr;
    const Tensor* w = graph.initializer(node.inputs[1]);
    if (!w || w->dtype() != DType::f32 || w->rank() < min_rank || w->rank() > max_rank) return nullptr;
    return w;
}

bool fold_into_conv(Graph& graph, Node& conv, const Affine& a, const std::string& suffix) {
    const Tensor* w = float_weight(graph, conv, 3, 8);
    const auto channels = static_cast<std::int64_t>(a.scale.size());
    if (!w || output_channels(graph, conv) != channels) return false;
    const Tensor* bias = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? graph.initializer(conv.inputs[2]) : nullptr;
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && (!bias || bias->dtype() != DType::f32)) return false;
    if (!unit_scale(a)) {
        const std::int64_t spatial = w->numel() / (w->dim(0) * w->dim(1));
        Tensor new_w;
        if (conv.op_type == "Conv") {
            new_w = scaled_weight(*w, a, [&](std::int64_t i) { return i / (w->numel() / channels); });
        } else {  // ConvTranspose: W is [C_in, C_out / group, kH, kW]
            const std::int64_t group = conv.attr_int("group", 1);
            const std::int64_t cout_g = w->dim(1), cin_g = w->dim(0) / group;
            new_w = scaled_weight(*w, a, [&](std::int64_t i) {
                const std::int64_t ci = i / (cout_g * spatial), j = (i / spatial) % cout_g;
                return (ci / cin_g) * cout_g + j;
            });
        }
        set_param(graph, conv, 1, suffix + "_weight", std::move(new_w));
    }
    set_param(graph, conv, 2, suffix + "_bias", folded_bias(bias, a));
    return true;
}

// Gemm: Y = alpha * A * B' + beta * C, channel = column n of Y.
bool fold_into_gemm(Graph& graph, Node& gemm, const Affine& a, const std::string& suffix) {
    const Tensor* b = float_weight(graph, gemm, 2, 2);
    const auto n = static_cast<std::int64_t>(a.scale.size());
    if (!b || output_channels(graph, gemm) != n) return false;
    const bool trans_b = gemm.attr_int("transB", 0) != 0;
    const bool has_c = gemm.inputs.size() > 2 && !gemm.inputs[2].empty();
    const Tensor* c = has_c ? graph.initializer(gemm.inputs[2]) : nullptr;
    if (has_c && (!c || c->dtype() != DType::f32 || (c->numel() != 1 && c->numel() != n) ||
                  (c->rank() == 2 && c->dim(0) != 1)))
        return false;
    double beta = gemm.attr_float("beta", 1.0f);
    if (beta == 0.0 || !has_c) {
        c = nullptr;
        beta = 1.0;
        gemm.attributes["beta"] = 1.0f;
    }
    if (!unit_scale(a)) {
        const std::int64_t cols = b->dim(1);
        Tensor new_b = scaled_weight(*b, a, [&](std::int64_t i) { return trans_b ? i / cols : i % cols; });
        set_param(graph, gemm, 1, suffix + "_weight", std::move(new_b));
    }
    // beta * C' must equal scale * beta * C + shift.
    set_param(graph, gemm, 2, suffix + "_bias", folded_bias(c, a, beta));
    return true;
}

// MatMul(X, W[K, N]): channel = column n; no bias to take a shift.
bool fold_into_matmul(Graph& graph, Node& mm, const Affine& a, const std::string& suffix) {
    const Tensor* w = float_weight(graph, mm, 2, 2);
    if (!w || output_channels(graph, mm) != static_cast<std::int64_t>(a.scale.size())) return false;
    if (std::any_of(a.shift.begin(), a.shift.end(), [](double s) { return s != 0.0; })) return false;
    const std::int64_t cols = w->dim(1);
    set_param(graph, mm, 1, suffix + "_weight", scaled_weight(*w, a, [&](std::int64_t i) { return i % cols; }));
    return true;
}

}  // namespace

std::int64_t output_channels(const Graph& graph, const Node& node) {
    if (!node.domain.empty()) return -1;
    if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
        const Tensor* w = float_weight(graph, node, 3, 8);
        if (!w) return -1;
        return node.op_type == "Conv" ? w->dim(0) : w->dim(1) * node.attr_int("group", 1);
    }
    if (node.op_type == "Gemm") {
        const Tensor* w = float_weight(graph, node, 2, 2);
        if (!w) return -1;
        return node.attr_int("transB", 0) != 0 ? w->dim(0) : w->dim(1);
    }
    if (node.op_type == "MatMul") {
        const Tensor* w = float_weight(graph, node, 2, 2);
        return w ? w->dim(1) : -1;
    }
    return -1;
}

bool fold(Graph& graph, Node& node, const Affine& a, const std::string& suffix) {
    if (node.op_type == "Conv" || node.op_type == "ConvTranspose") return fold_into_conv(graph, node, a, suffix);
    if (node.op_type == "Gemm") return fold_into_gemm(graph, node, a, suffix);
    if (node.op_type == "MatMul") return fold_into_matmul(graph, node, a, suffix);
    return false;
}

}  // namespace bitnpu::calib::linear_fold
