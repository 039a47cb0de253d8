// conv_transpose_to_conv: a 2-D ConvTranspose with constant weights becomes
// the convolution it is, so that MAC arrays run it: its input with s - 1
// zeros inserted between neighbours (stride s), padded by k - 1 - pad on each
// side (output_padding more at the end), convolved at stride 1 with the
// kernel flipped in H and W and its in/out channel axes swapped per group:
//   x [N, C, H, W] -> Unsqueeze [N, C, H, 1, W, 1]
//     -> Pad zeros to [N, C, H, s, W, s] -> Reshape [N, C, H s, W s]
//     -> Pad (k - 1 - pad_begin, k - 1 - pad_end + output_padding - (s - 1);
//        negative: crop) -> Conv(W', stride 1).
// The first three only move values and insert zeros, which every activation
// grid holds exactly (the zero-point), so they run as layout nodes and the
// quantized result is that of a convolution on the MAC array
// (numerics.md "The MAC datapath"). The array does s^2 times the multiplications of a
// direct transposed convolution (the inserted zeros); the cycle model counts
// them, as hardware without a deconvolution mode would spend them.
// Left alone: dilations other than 1, auto_pad, output_shape, a non-constant
// weight or bias, pads larger than k - 1, non-4-D inputs without static shape.
//
// Exactness: the same function; the FP32 executor may sum in another order.
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

struct Geometry {
    std::int64_t stride[2], kernel[2], pad_begin[2], pad_end[2], out_pad[2], group;
};

bool geometry(const Node& n, const Tensor& w, Geometry& g) {
    if (n.attr_string("auto_pad", "NOTSET") != "NOTSET" || !n.attr_ints("output_shape").empty()) return false;
    for (std::int64_t d : n.attr_ints("dilations", {1, 1}))
        if (d != 1) return false;
    const auto strides = n.attr_ints("strides", {1, 1});
    const auto pads = n.attr_ints("pads", {0, 0, 0, 0});
    const auto out_pad = n.attr_ints("output_padding", {0, 0});
    if (strides.size() != 2 || pads.size() != 4 || out_pad.size() != 2) return false;
    g.group = n.attr_int("group", 1);
    if (g.group < 1 || w.dim(0) % g.group != 0) return false;
    for (int a = 0; a < 2; ++a) {
        g.stride[a] = strides[a];
        g.kernel[a] = w.dim(2 + a);
        g.pad_begin[a] = pads[a];
        g.pad_end[a] = pads[2 + a];
        g.out_pad[a] = out_pad[a];
        if (g.stride[a] < 1 || g.pad_begin[a] < 0 || g.pad_end[a] < 0 || g.out_pad[a] < 0 ||
            g.pad_begin[a] > g.kernel[a] - 1 || g.pad_end[a] > g.kernel[a] - 1)
            return false;
    }
    return true;
}

// W [C_in, C_out / g, kH, kW] -> W' [C_out, C_in / g, kH, kW], flipped in H and W.
Tensor conv_weight(const Tensor& w, std::int64_t group) {
    const std::int64_t cin = w.dim(0), cout_g = w.dim(1), kh = w.dim(2), kw = w.dim(3), cin_g = cin / group;
    Tensor out(DType::f32, {cout_g * group, cin_g, kh, kw});
    const float* src = w.data<float>();
    float* dst = out.data<float>();
    for (std::int64_t g = 0; g < group; ++g)
        for (std::int64_t j = 0; j < cout_g; ++j)
            for (std::int64_t i = 0; i < cin_g; ++i)
                for (std::int64_t a = 0; a < kh; ++a)
                    for (std::int64_t b = 0; b < kw; ++b)
                        dst[(((g * cout_g + j) * cin_g + i) * kh + a) * kw + b] =
                            src[(((g * cin_g + i) * cout_g + j) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)];
    return out;
}

// The C, H, W of a 4-D value whose batch dimension may be symbolic.
bool channels_and_plane(const Graph& graph, const std::string& value, Shape& x) {
    const ValueInfo* vi = nullptr;
    if (auto it = graph.value_info.find(value); it != graph.value_info.end()) vi = &it->second;
    for (const ValueInfo& in : graph.inputs)
        if (in.name == value) vi = &in;
    if (!vi || !vi->has_shape || vi->shape.size() != 4) return false;
    x = {-1, vi->shape[1].value, vi->shape[2].value, vi->shape[3].value};
    return vi->shape[1].known() && vi->shape[2].known() && vi->shape[3].known();
}

std::string ints(Graph& graph, const std::string& base, std::vector<std::int64_t> v) {
    const std::string name = unique_name(graph, base);
    const auto n = static_cast<std::int64_t>(v.size());
    graph.initializers[name] = Tensor::from_vector<std::int64_t>({n}, v);
    return name;
}

// Pad node (pads as an input from opset 11, an attribute before).
Node pad_node(Graph& graph, const std::string& name, const std::string& in, const std::string& out,
              const std::vector<std::int64_t>& pads) {
    Node p;
    p.name = unique_name(graph, name);
    p.op_type = "Pad";
    p.inputs = {in};
    p.outputs = {out};
    if (graph.opset >= 11) p.inputs.push_back(ints(graph, name + ".pads", pads));
    else p.attributes["pads"] = pads;
    return p;
}

bool rewrite(Graph& graph, const Node& ct, std::vector<Node>& out) {
    if (ct.op_type != "ConvTranspose" || !ct.domain.empty() || ct.inputs.size() < 2) return false;
    const Tensor* w = graph.initializer(ct.inputs[1]);
    if (!w || w->dtype() != DType::f32 || w->rank() != 4) return false;
    const bool has_bias = ct.inputs.size() > 2 && !ct.inputs[2].empty();
    if (has_bias && !graph.initializer(ct.inputs[2])) return false;
    Shape x;
    if (!channels_and_plane(graph, ct.inputs[0], x)) return false;
    Geometry g{};
    if (!geometry(ct, *w, g)) return false;

    const std::string base = ct.name.empty() ? ct.outputs[0] : ct.name;
    std::string value = ct.inputs[0];
    if (g.stride[0] > 1 || g.stride[1] > 1) {   // zero insertion
        Node u;
        u.name = unique_name(graph, base + ".spread");
        u.op_type = "Unsqueeze";
        u.inputs = {value};
        const std::string u_out = unique_name(graph, base + ".spread_out");
        u.outputs = {u_out};
        if (graph.opset >= 13) u.inputs.push_back(ints(graph, base + ".spread_axes", {3, 5}));
        else u.attributes["axes"] = std::vector<std::int64_t>{3, 5};
        out.push_back(u);
        const std::string z = unique_name(graph, base + ".zeros_out");
        out.push_back(pad_node(graph, base + ".zeros", u_out, z,
                               {0, 0, 0, 0, 0, 0, 0, 0, 0, g.stride[0] - 1, 0, g.stride[1] - 1}));
        Node r;
        r.name = unique_name(graph, base + ".upsampled");
        r.op_type = "Reshape";
        const std::string r_out = unique_name(graph, base + ".upsampled_out");
        r.inputs = {z, ints(graph, base + ".upsampled_shape", {0, x[1], x[2] * g.stride[0], x[3] * g.stride[1]})};
        r.outputs = {r_out};
        out.push_back(r);
        value = r_out;
    }
    // Border: k - 1 - pad before; after, the same plus output_padding, less
    // the s - 1 zeros the reshape left after the last row/column.
    std::vector<std::int64_t> border(8, 0);
    for (int a = 0; a < 2; ++a) {
        border[2 + a] = g.kernel[a] - 1 - g.pad_begin[a];
        border[6 + a] = g.kernel[a] - 1 - g.pad_end[a] + g.out_pad[a] - (g.stride[a] - 1);
    }
    const std::string padded = unique_name(graph, base + ".border_out");
    out.push_back(pad_node(graph, base + ".border", value, padded, border));

    Node conv;
    conv.name = unique_name(graph, base + ".conv");
    conv.op_type = "Conv";
    const std::string wname = unique_name(graph, ct.inputs[1] + ".as_conv");
    graph.initializers[wname] = conv_weight(*w, g.group);
    conv.inputs = {padded, wname};
    if (has_bias) conv.inputs.push_back(ct.inputs[2]);
    conv.outputs = ct.outputs;
    conv.attributes["group"] = g.group;
    conv.attributes["kernel_shape"] = std::vector<std::int64_t>{g.kernel[0], g.kernel[1]};
    out.push_back(conv);
    return true;
}

}  // namespace

int conv_transpose_to_conv(Graph& graph) { return rewrite_nodes(graph, rewrite); }

}  // namespace bitnpu::calib
