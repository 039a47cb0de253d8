#include "bitnpu/sim/functional/pool.hpp"

#include <algorithm>
#include <set>
#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

namespace {

struct Window2d {
    std::int64_t kh, kw;
};

Window2d kernel_of(const PoolGeometry& g, const Shape& in) {
    return g.global ? Window2d{in[2], in[3]} : Window2d{g.kernel_h, g.kernel_w};
}

// ONNX/PyTorch output size; with ceil_mode the last window must start inside
// the input or its leading padding.
std::int64_t pool_out_dim(std::int64_t in, std::int64_t k, int stride, int pad0, int pad1, int dil, bool ceil_mode) {
    const std::int64_t span = static_cast<std::int64_t>(dil) * (k - 1) + 1;
    const std::int64_t room = in + pad0 + pad1 - span;
    if (room < 0) return 0;
    std::int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad0) --out;
    return out;
}

void check_input(const Shape& in) {
    if (in.size() != 4) throw UserError("pooling needs an [N, C, H, W] input");
}

}  // namespace

Shape pool_output_shape(const PoolGeometry& g, const Shape& in) {
    check_input(in);
    if (g.global) return {in[0], in[1], 1, 1};
    if (g.kernel_h < 1 || g.kernel_w < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1)
        throw UserError("pooling kernel, strides and dilations must be >= 1");
    return {in[0], in[1],
            pool_out_dim(in[2], g.kernel_h, g.stride_h, g.pad_top, g.pad_bottom, g.dilation_h, g.ceil_mode),
            pool_out_dim(in[3], g.kernel_w, g.stride_w, g.pad_left, g.pad_right, g.dilation_w, g.ceil_mode)};
}

PoolWindow pool_window(const PoolGeometry& g, const Shape& in, std::int64_t out_y, std::int64_t out_x) {
    const Window2d k = kernel_of(g, in);
    const std::int64_t h = in[2], w = in[3];
    const int sh = g.global ? 1 : g.stride_h, sw = g.global ? 1 : g.stride_w;
    const int pt = g.global ? 0 : g.pad_top, pl = g.global ? 0 : g.pad_left;
    const int pb = g.global ? 0 : g.pad_bottom, pr = g.global ? 0 : g.pad_right;
    const int dh = g.global ? 1 : g.dilation_h, dw = g.global ? 1 : g.dilation_w;
    PoolWindow win;
    for (std::int64_t ky = 0; ky < k.kh; ++ky) {
        const std::int64_t iy = out_y * sh - pt + ky * dh;
        for (std::int64_t kx = 0; kx < k.kw; ++kx) {
            const std::int64_t ix = out_x * sw - pl + kx * dw;
            if (iy >= -pt && iy < h + pb && ix >= -pl && ix < w + pr) ++win.padded_count;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) win.offsets.push_back(iy * w + ix);
        }
    }
    return win;
}

std::vector<std::int64_t> window_counts(const AvgPoolLayer& layer, const Shape& in) {
    const Shape out = pool_output_shape(layer.geometry, in);
    std::set<std::int64_t> counts;
    for (std::int64_t oy = 0; oy < out[2]; ++oy)
        for (std::int64_t ox = 0; ox < out[3]; ++ox) {
            const PoolWindow win = pool_window(layer.geometry, in, oy, ox);
            counts.insert(layer.count_include_pad ? win.padded_count
                                                  : static_cast<std::int64_t>(win.offsets.size()));
        }
    return {counts.begin(), counts.end()};
}

std::int64_t avg_pool_output_element(const AvgPoolLayer& layer, const std::int32_t* values, std::int64_t valid,
                                     std::int64_t count) {
    // Padded positions read z_x and so add 0 to the sum of (x - z_x).
    std::int64_t acc = 0;
    for (std::int64_t i = 0; i < valid; ++i) acc = accumulate(acc, values[i] - layer.input_zero_point, layer.accumulator);
    const auto it = layer.registers_by_count.find(count);
    if (it == layer.registers_by_count.end())
        throw UserError("AveragePool has no requant registers for a window of " + std::to_string(count) +
                        " elements (see window_counts())");
    return add_zero_point_and_clamp(requantize(acc, it->second), layer.output_zero_point, layer.clamp_lo,
                                    layer.clamp_hi);
}

namespace {

// Calls fn(plane_values, window, output_index) for every output element.
template <class Fn>
void for_each_window(const PoolGeometry& g, const QTensor& x, const Shape& out, Fn&& fn) {
    const std::int64_t planes = out[0] * out[1], plane_in = x.shape[2] * x.shape[3];
    std::vector<PoolWindow> windows;
    for (std::int64_t oy = 0; oy < out[2]; ++oy)
        for (std::int64_t ox = 0; ox < out[3]; ++ox) windows.push_back(pool_window(g, x.shape, oy, ox));
    for (std::int64_t p = 0; p < planes; ++p)
        for (std::size_t o = 0; o < windows.size(); ++o)
            fn(x.values.data() + p * plane_in, windows[o], p * static_cast<std::int64_t>(windows.size()) + static_cast<std::int64_t>(o));
}

}  // namespace

QTensor run_max_pool_layer(const MaxPoolLayer& layer, const QTensor& x) {
    const Shape out_shape = pool_output_shape(layer.geometry, x.shape);
    QTensor y(out_shape, x.quant);
    for_each_window(layer.geometry, x, out_shape, [&](const std::int32_t* plane, const PoolWindow& win, std::int64_t o) {
        if (win.offsets.empty()) throw UserError("a MaxPool window lies entirely in the padding");
        std::int32_t m = plane[win.offsets[0]];
        for (std::int64_t off : win.offsets) m = std::max(m, plane[off]);
        y.values[static_cast<std::size_t>(o)] = m;
    });
    return y;
}

QTensor run_avg_pool_layer(const AvgPoolLayer& layer, const QTensor& x) {
    const Shape out_shape = pool_output_shape(layer.geometry, x.shape);
    QTensor y(out_shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    std::vector<std::int32_t> values;
    for_each_window(layer.geometry, x, out_shape, [&](const std::int32_t* plane, const PoolWindow& win, std::int64_t o) {
        values.clear();
        for (std::int64_t off : win.offsets) values.push_back(plane[off]);
        const auto valid = static_cast<std::int64_t>(values.size());
        const std::int64_t count = layer.count_include_pad ? win.padded_count : valid;
        y.values[static_cast<std::size_t>(o)] =
            static_cast<std::int32_t>(avg_pool_output_element(layer, values.data(), valid, count));
    });
    return y;
}

}  // namespace bitnpu::sim
