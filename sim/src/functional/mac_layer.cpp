// Parameters, geometry and the per-output-element steps of a MAC layer.
#include "bitnpu/sim/functional/mac_layer.hpp"

#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

namespace {

std::string dims(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

std::int64_t conv_out_dim(std::int64_t in, std::int64_t k, int stride, int pad0, int pad1, int dil) {
    const std::int64_t span = static_cast<std::int64_t>(dil) * (k - 1) + 1;
    const std::int64_t padded = in + pad0 + pad1;
    if (padded < span) return 0;
    return (padded - span) / stride + 1;
}

}  // namespace

std::int64_t quantize_bias(double b, double s_w, double s_x, int bias_bits) {
    return saturate_signed(round_half_even(b / (s_w * s_x)), bias_bits);
}

std::int64_t output_channels(const MacLayer& layer) {
    return layer.weight_shape.empty() ? 0 : layer.weight_shape[0];
}

std::int64_t reduction_length(const MacLayer& layer) {
    std::int64_t k = 1;
    for (std::size_t i = 1; i < layer.weight_shape.size(); ++i) k *= layer.weight_shape[i];
    return k;
}

std::int64_t group_of(const MacLayer& layer, std::int64_t oc) {
    if (layer.kind == MacKind::gemm) return 0;
    return oc / (output_channels(layer) / layer.geometry.groups);
}

void validate(const MacLayer& layer) {
    const std::size_t rank = layer.kind == MacKind::conv ? 4 : 2;
    if (layer.weight_shape.size() != rank)
        throw UserError("MAC layer weights must have rank " + std::to_string(rank) + ", got " +
                        dims(layer.weight_shape));
    for (std::int64_t d : layer.weight_shape)
        if (d < 1) throw UserError("MAC layer weight shape " + dims(layer.weight_shape) + " has an empty dimension");
    if (element_count(layer.weight_shape) != static_cast<std::int64_t>(layer.weights.size()))
        throw UserError("MAC layer has " + std::to_string(layer.weights.size()) +
                        " weight values for shape " + dims(layer.weight_shape));
    const std::int64_t c_out = output_channels(layer);
    if (!layer.bias.empty() && static_cast<std::int64_t>(layer.bias.size()) != c_out)
        throw UserError("MAC layer bias has " + std::to_string(layer.bias.size()) + " values for " +
                        std::to_string(c_out) + " output channels");
    if (layer.requant.size() != 1 && static_cast<std::int64_t>(layer.requant.size()) != c_out)
        throw UserError("MAC layer needs 1 or " + std::to_string(c_out) +
                        " requant register sets, got " + std::to_string(layer.requant.size()));
    if (layer.clamp_lo > layer.clamp_hi) throw UserError("MAC layer clamp range is empty");
    if (layer.kind == MacKind::conv) {
        const ConvGeometry& g = layer.geometry;
        if (g.groups < 1 || c_out % g.groups != 0)
            throw UserError("Conv groups (" + std::to_string(g.groups) + ") must divide C_out (" +
                            std::to_string(c_out) + ")");
        if (g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1 || g.pad_top < 0 ||
            g.pad_left < 0 || g.pad_bottom < 0 || g.pad_right < 0)
            throw UserError("Conv strides and dilations must be >= 1 and pads >= 0");
    }
}

Shape mac_output_shape(const MacLayer& layer, const Shape& in) {
    const std::int64_t c_out = output_channels(layer);
    if (layer.kind == MacKind::gemm) {
        if (in.empty() || in.back() != layer.weight_shape[1])
            throw UserError("Gemm input " + dims(in) + " must end in K = " +
                            std::to_string(layer.weight_shape[1]));
        Shape out = in;
        out.back() = c_out;
        return out;
    }
    const ConvGeometry& g = layer.geometry;
    if (in.size() != 4 || in[1] != layer.weight_shape[1] * g.groups)
        throw UserError("Conv input " + dims(in) + " must be [N, " +
                        std::to_string(layer.weight_shape[1] * g.groups) + ", H, W]");
    return {in[0], c_out,
            conv_out_dim(in[2], layer.weight_shape[2], g.stride_h, g.pad_top, g.pad_bottom, g.dilation_h),
            conv_out_dim(in[3], layer.weight_shape[3], g.stride_w, g.pad_left, g.pad_right, g.dilation_w)};
}

void im2col_row(const MacLayer& layer, const QTensor& x, std::int64_t n, std::int64_t g, std::int64_t out_y,
                std::int64_t out_x, std::int32_t* row) {
    if (layer.kind == MacKind::gemm) {
        const std::int64_t k = layer.weight_shape[1];
        const std::int32_t* src = x.values.data() + n * k;
        for (std::int64_t i = 0; i < k; ++i) row[i] = src[i];
        return;
    }
    const ConvGeometry& geo = layer.geometry;
    const std::int64_t cg = layer.weight_shape[1], kh = layer.weight_shape[2], kw = layer.weight_shape[3];
    const std::int64_t c_in = x.shape[1], h = x.shape[2], w = x.shape[3];
    const auto pad = static_cast<std::int32_t>(layer.input_zero_point);
    std::int64_t k = 0;
    for (std::int64_t ci = 0; ci < cg; ++ci) {
        const std::int32_t* plane = x.values.data() + ((n * c_in) + g * cg + ci) * h * w;
        for (std::int64_t ky = 0; ky < kh; ++ky) {
            const std::int64_t iy = out_y * geo.stride_h - geo.pad_top + ky * geo.dilation_h;
            for (std::int64_t kx = 0; kx < kw; ++kx, ++k) {
                const std::int64_t ix = out_x * geo.stride_w - geo.pad_left + kx * geo.dilation_w;
                const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                row[k] = inside ? plane[iy * w + ix] : pad;
            }
        }
    }
}

std::int64_t mac_accumulate(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row) {
    const std::int64_t k_len = reduction_length(layer);
    const std::int32_t* w = layer.weights.data() + oc * k_len;
    const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(oc)];
    const bool preload = layer.bias_stage == arch::BiasStage::preload;
    // Loading b_q into the accumulator register is itself an accumulate step
    // (it saturates or wraps a bias wider than the accumulator, as accumulate_all does).
    std::int64_t acc = preload ? accumulate(0, b, layer.accumulator) : 0;
    // The products in k order, then numerics.md "MAC step 4: accumulate" on
    // them (accumulate_all: ordered saturation, or wrap).
    thread_local std::vector<std::int64_t> products;
    products.resize(static_cast<std::size_t>(k_len));
    for (std::int64_t k = 0; k < k_len; ++k)
        products[static_cast<std::size_t>(k)] =
            product(w[k] - layer.weight_zero_point, x_row[k], layer.input_zero_point);
    acc = accumulate_all(acc, products.data(), products.size(), layer.accumulator);
    if (!preload) acc = accumulate(acc, b, layer.accumulator);
    return acc;
}

std::int64_t mac_output_element(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row) {
    return mac_finish(layer, oc, mac_accumulate(layer, oc, x_row));
}

}  // namespace bitnpu::sim
