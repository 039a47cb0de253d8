// QuantizeLinear and DequantizeLinear (ONNX opsets 10-19 for int8/uint8/
// int32; per-tensor or per-axis), so the executor runs QDQ models as their
// float semantics define and the importer (calib/importer) can read them.
// The arithmetic is sim/datapath's, the one definition (numerics.md "Float
// and integer at the graph edges"): q = clamp(round_half_even(fp32(x / s)) + z),
// x = fp32(q - z) * s.
#include <cmath>

#include <fmt/format.h>

#include "bitnpu/sim/datapath/quantize.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {
namespace {

// Scale and zero-point per element of x along the op's axis (one value when
// per tensor).
struct AxisParams {
    std::vector<float> scales;
    std::vector<std::int64_t> zero_points;
    std::int64_t axis = 0;
    std::int64_t inner = 1;   // elements after the axis
};

AxisParams axis_params(const KernelContext& ctx, const Tensor& x) {
    AxisParams p;
    const Tensor& scale = ctx.input(1);
    p.scales = scale.to_floats();
    if (p.scales.empty()) ctx.fail("the scale is empty");
    for (float s : p.scales)
        if (!(s > 0.0f) || !std::isfinite(s)) ctx.fail(fmt::format("scale {} is not a positive finite number", s));
    if (const Tensor* zp = ctx.optional_input(2)) {
        if (zp->numel() != static_cast<std::int64_t>(p.scales.size()))
            ctx.fail("the zero-point and the scale have different sizes");
        const Tensor z = zp->cast(DType::i64);
        p.zero_points.assign(z.data<std::int64_t>(), z.data<std::int64_t>() + z.numel());
    } else {
        p.zero_points.assign(p.scales.size(), 0);
    }
    if (p.scales.size() > 1 || scale.rank() == 1) {
        p.axis = normalize_axis(ctx, ctx.node.attr_int("axis", 1), x.rank());
        if (x.dim(p.axis) != static_cast<std::int64_t>(p.scales.size()) && p.scales.size() > 1)
            ctx.fail(fmt::format("{} scales for axis {} of size {}", p.scales.size(), p.axis, x.dim(p.axis)));
        for (std::int64_t d = p.axis + 1; d < x.rank(); ++d) p.inner *= x.dim(d);
    }
    return p;
}

std::size_t param_index(const AxisParams& p, std::int64_t i, std::int64_t axis_size) {
    if (p.scales.size() == 1) return 0;
    return static_cast<std::size_t>((i / p.inner) % axis_size);
}

}  // namespace

std::vector<Tensor> quantize_linear(const KernelContext& ctx) {
    ctx.require_float(0);
    const Tensor x = ctx.input(0).cast(DType::f32);
    const AxisParams p = axis_params(ctx, x);
    const DType out_type = ctx.has_input(2) ? ctx.input(2).dtype() : DType::u8;
    std::int64_t qmin = 0, qmax = 255;
    if (out_type == DType::i8) { qmin = -128; qmax = 127; }
    else if (out_type == DType::i16) { qmin = -32768; qmax = 32767; }
    else if (out_type == DType::i32) { qmin = INT32_MIN; qmax = INT32_MAX; }
    else if (out_type != DType::u8) ctx.fail("the zero-point must be uint8, int8, int16 or int32");
    Tensor q(DType::i64, x.shape());
    const std::int64_t axis_size = x.rank() > 0 ? x.dim(p.axis) : 1;
    const float* in = x.data<float>();
    std::int64_t* out = q.data<std::int64_t>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
        const std::size_t c = param_index(p, i, axis_size);
        out[i] = sim::quantize(in[i], p.scales[c], p.zero_points[c], qmin, qmax);
    }
    return one(q.cast(out_type));
}

std::vector<Tensor> dequantize_linear(const KernelContext& ctx) {
    const DType in_type = ctx.input(0).dtype();
    if (in_type != DType::i8 && in_type != DType::u8 && in_type != DType::i16 && in_type != DType::i32)
        ctx.fail(fmt::format("the quantized input is {}; DequantizeLinear takes int8, uint8, int16 or int32",
                             to_string(in_type)));
    if (ctx.has_input(2) && ctx.input(2).dtype() != in_type)
        ctx.fail("the zero-point's type differs from the input's");
    const Tensor q = ctx.input(0).cast(DType::i64);
    const AxisParams p = axis_params(ctx, q);
    Tensor x(DType::f32, q.shape());
    const std::int64_t axis_size = q.rank() > 0 ? q.dim(p.axis) : 1;
    const std::int64_t* in = q.data<std::int64_t>();
    float* out = x.data<float>();
    for (std::int64_t i = 0; i < q.numel(); ++i) {
        const std::size_t c = param_index(p, i, axis_size);
        out[i] = sim::dequantize(in[i], p.scales[c], p.zero_points[c]);
    }
    return one(x);
}

}  // namespace bitnpu::calib::ops
