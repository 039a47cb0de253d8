// Resize (linear) on a vector engine: see resize.hpp and numerics.md "Resize".
#include "bitnpu/sim/functional/resize.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"

namespace bitnpu::sim {

namespace {

// ONNX Resize: x_original as a function of x_resized.
double source_coordinate(ResizeCoordinates mode, double out, std::int64_t in_size, std::int64_t out_size,
                         double scale) {
    switch (mode) {
        case ResizeCoordinates::half_pixel: return (out + 0.5) / scale - 0.5;
        case ResizeCoordinates::pytorch_half_pixel: return out_size > 1 ? (out + 0.5) / scale - 0.5 : 0.0;
        case ResizeCoordinates::align_corners:
            return out_size > 1 ? out * double(in_size - 1) / double(out_size - 1) : 0.0;
        case ResizeCoordinates::asymmetric: return out / scale;
    }
    return 0.0;
}

// The bilinear value of one output element from its plane and two taps.
std::int64_t bilinear(const std::int32_t* plane, std::int64_t w, const ResizeTap& ty, const ResizeTap& tx,
                      arch::RoundingMode rounding) {
    const std::int64_t one = std::int64_t{1} << kResizeFractionBits;
    const std::int64_t wy[2] = {one - ty.frac, ty.frac}, wx[2] = {one - tx.frac, tx.frac};
    const std::int64_t rows[2] = {ty.lo, ty.hi}, cols[2] = {tx.lo, tx.hi};
    std::int64_t acc = 0;   // |x| < 2^31, weights' product <= 2^20: fits in 64 bits
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) acc += wy[a] * wx[b] * plane[rows[a] * w + cols[b]];
    return static_cast<std::int64_t>(round_shift(acc, 2 * kResizeFractionBits, rounding));
}

}  // namespace

ResizeTap resize_source(ResizeCoordinates mode, std::int64_t out, std::int64_t in_size, std::int64_t out_size,
                        double scale) {
    const double x = std::clamp(source_coordinate(mode, double(out), in_size, out_size, scale), 0.0,
                                double(in_size - 1));
    const auto fixed = static_cast<std::int64_t>(std::floor(std::ldexp(x, kResizeFractionBits) + 0.5));
    ResizeTap t;
    t.lo = fixed >> kResizeFractionBits;
    t.frac = fixed - (t.lo << kResizeFractionBits);
    t.hi = std::min(t.lo + 1, in_size - 1);
    return t;
}

ResizeTap resize_source_fp32(ResizeCoordinates mode, std::int64_t out, std::int64_t in_size, std::int64_t out_size,
                             float scale) {
    const float x = static_cast<float>(out);
    float c = x;
    if (scale != 1.0f) {
        switch (mode) {
            case ResizeCoordinates::half_pixel: c = (x + 0.5f) / scale - 0.5f; break;
            case ResizeCoordinates::pytorch_half_pixel: c = out_size > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f; break;
            case ResizeCoordinates::align_corners:
                c = out_size == 1 ? 0.0f
                                  : (x * (static_cast<float>(in_size) - 1.0f)) / (static_cast<float>(out_size) - 1.0f);
                break;
            case ResizeCoordinates::asymmetric: c = x / scale; break;
        }
    }
    c = std::max(0.0f, std::min(c, static_cast<float>(in_size - 1)));
    const auto fixed = static_cast<std::int64_t>(c * static_cast<float>(std::int64_t{1} << kResizeFractionBits));
    ResizeTap t;
    t.lo = std::min(static_cast<std::int64_t>(c), in_size - 1);
    t.hi = std::min(t.lo + 1, in_size - 1);
    t.frac = t.lo == t.hi ? 0 : fixed - (t.lo << kResizeFractionBits);   // one pixel: all weight on it
    return t;
}

namespace {

ResizeTap layer_source(const ResizeLayer& layer, std::int64_t out, std::int64_t in_size, std::int64_t out_size,
                       double scale) {
    return layer.fp32_coordinates
               ? resize_source_fp32(layer.coordinates, out, in_size, out_size, static_cast<float>(scale))
               : resize_source(layer.coordinates, out, in_size, out_size, scale);
}

}  // namespace

Shape resize_output_shape(const ResizeLayer& layer, const Shape& in) {
    if (in.size() != 4) throw UserError("Resize on a vector engine needs a 4-D [N, C, H, W] input");
    if (in[2] < 1 || in[3] < 1 || layer.out_h < 1 || layer.out_w < 1)
        throw UserError("Resize on a vector engine needs non-empty input and output planes");
    return {in[0], in[1], layer.out_h, layer.out_w};
}

std::int64_t resize_output_element(const ResizeLayer& layer, const QTensor& x, std::int64_t e) {
    const std::int64_t h = x.shape[2], w = x.shape[3];
    const std::int64_t ox = e % layer.out_w, oy = (e / layer.out_w) % layer.out_h;
    const std::int64_t plane = e / (layer.out_w * layer.out_h);
    const ResizeTap ty = layer_source(layer, oy, h, layer.out_h, layer.scale_h);
    const ResizeTap tx = layer_source(layer, ox, w, layer.out_w, layer.scale_w);
    return bilinear(x.values.data() + plane * h * w, w, ty, tx, layer.rounding);
}

QTensor run_resize_layer(const ResizeLayer& layer, const QTensor& x) {
    QTensor y;
    y.shape = resize_output_shape(layer, x.shape);
    y.quant = x.quant;
    y.values.resize(static_cast<std::size_t>(element_count(y.shape)));
    // resize_output_element with the taps computed once per row and column.
    const std::int64_t h = x.shape[2], w = x.shape[3], planes = x.shape[0] * x.shape[1];
    std::vector<ResizeTap> ty(static_cast<std::size_t>(layer.out_h)), tx(static_cast<std::size_t>(layer.out_w));
    for (std::int64_t i = 0; i < layer.out_h; ++i)
        ty[static_cast<std::size_t>(i)] = layer_source(layer, i, h, layer.out_h, layer.scale_h);
    for (std::int64_t j = 0; j < layer.out_w; ++j)
        tx[static_cast<std::size_t>(j)] = layer_source(layer, j, w, layer.out_w, layer.scale_w);
    std::int32_t* out = y.values.data();
    for (std::int64_t p = 0; p < planes; ++p) {
        const std::int32_t* plane = x.values.data() + p * h * w;
        for (const ResizeTap& a : ty)
            for (const ResizeTap& b : tx) *out++ = static_cast<std::int32_t>(bilinear(plane, w, a, b, layer.rounding));
    }
    return y;
}

}  // namespace bitnpu::sim
