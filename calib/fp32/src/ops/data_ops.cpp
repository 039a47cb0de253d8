// Ops that create or convert tensors: Constant, ConstantOfShape, Cast,
// CastLike, Range.
#include <cmath>
#include <variant>

#include <cstring>

#include "bitnpu/graph/float16.hpp"
#include "dispatch.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

std::vector<Tensor> constant(const KernelContext& ctx) {
    const auto& attrs = ctx.node.attributes;
    if (auto it = attrs.find("value"); it != attrs.end()) {
        if (const Tensor* t = std::get_if<Tensor>(&it->second)) return one(*t);
        ctx.fail("attribute 'value' is not a tensor");
    }
    if (ctx.node.has_attr("value_float")) return one(Tensor::scalar<float>(ctx.node.attr_float("value_float", 0)));
    if (ctx.node.has_attr("value_int")) return one(Tensor::scalar<std::int64_t>(ctx.node.attr_int("value_int", 0)));
    if (ctx.node.has_attr("value_floats")) {
        const auto v = ctx.node.attr_floats("value_floats");
        return one(Tensor::from_vector<float>({static_cast<std::int64_t>(v.size())}, v));
    }
    if (ctx.node.has_attr("value_ints")) {
        const auto v = ctx.node.attr_ints("value_ints");
        return one(Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(v.size())}, v));
    }
    ctx.fail("needs one of the attributes value, value_float(s), value_int(s) (strings and sparse tensors are not supported)");
}

std::vector<Tensor> constant_of_shape(const KernelContext& ctx) {
    const Shape shape = ctx.input(0).to_int64s();
    for (auto d : shape)
        if (d < 0) ctx.fail("shape " + shape_to_string(shape) + " has a negative dimension");
    Tensor fill = Tensor::scalar<float>(0.0f);
    if (auto it = ctx.node.attributes.find("value"); it != ctx.node.attributes.end()) {
        const Tensor* t = std::get_if<Tensor>(&it->second);
        if (!t || t->numel() != 1) ctx.fail("attribute 'value' must be a one-element tensor");
        fill = *t;
    }
    Tensor y(fill.dtype(), shape);
    const std::size_t es = element_size(fill.dtype());
    for (std::int64_t i = 0; i < y.numel(); ++i) std::copy(fill.raw(), fill.raw() + es, y.raw() + i * es);
    return one(std::move(y));
}

namespace {

// TensorProto.DataType codes -> DType.
DType dtype_from_onnx(const KernelContext& ctx, std::int64_t code) {
    switch (code) {
        case 1: return DType::f32;
        case 2: return DType::u8;
        case 3: return DType::i8;
        case 5: return DType::i16;
        case 6: return DType::i32;
        case 7: return DType::i64;
        case 9: return DType::boolean;
        case 11: return DType::f64;
        default: break;
    }
    ctx.fail("cast to ONNX data type " + std::to_string(code) +
             " is not supported (supported: float, double, float16, bfloat16, int8, uint8, int16, int32, int64, bool)");
}

// float -> IEEE binary16 bits, round to nearest even (overflow -> inf).
std::uint16_t float_to_half_bits(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN / inf
    if (abs >= 0x477ff000u) return sign | 0x7c00u;                                   // rounds past 65504
    if (abs < 0x38800000u) {
        // Subnormal half (or zero): value / 2^-24, rounded to nearest even.
        const float scaled = std::fabs(f) * 16777216.0f;  // exact: power-of-two scaling
        return sign | static_cast<std::uint16_t>(std::nearbyint(scaled));
    }
    const std::uint32_t mantissa_rounding = 0xfffu + ((abs >> 13) & 1u);
    return sign | static_cast<std::uint16_t>((abs + mantissa_rounding - 0x38000000u) >> 13);
}

// float -> bfloat16 bits, round to nearest even.
std::uint16_t float_to_bfloat16_bits(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// The IR holds fp16/bf16 data widened to float32, so a Cast to those types is
// a float32 result rounded to the narrow type's precision.
Tensor round_to_narrow_float(const Tensor& x, std::int64_t code) {
    Tensor y = x.cast(DType::f32);
    float* p = y.data<float>();
    for (std::int64_t i = 0; i < y.numel(); ++i)
        p[i] = code == 10 ? half_to_float(float_to_half_bits(p[i])) : bfloat16_to_float(float_to_bfloat16_bits(p[i]));
    return y;
}

}  // namespace

std::vector<Tensor> cast(const KernelContext& ctx) {
    if (!ctx.node.has_attr("to")) ctx.fail("attribute 'to' is required");
    const std::int64_t code = ctx.node.attr_int("to", 1);
    if (code == 10 || code == 16) return one(round_to_narrow_float(ctx.input(0), code));
    return one(ctx.input(0).cast(dtype_from_onnx(ctx, code)));
}

std::vector<Tensor> cast_like(const KernelContext& ctx) { return one(ctx.input(0).cast(ctx.input(1).dtype())); }

std::vector<Tensor> range(const KernelContext& ctx) {
    const Tensor& start = ctx.input(0);
    if (ctx.input(1).dtype() != start.dtype() || ctx.input(2).dtype() != start.dtype())
        ctx.fail("start, limit and delta must have the same type");
    return one(dispatch_numeric(ctx, start.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T s = start.data<T>()[0], limit = ctx.input(1).data<T>()[0], delta = ctx.input(2).data<T>()[0];
        if (delta == T(0)) ctx.fail("delta must not be zero");
        const double count = std::ceil((static_cast<double>(limit) - static_cast<double>(s)) / static_cast<double>(delta));
        // No real Range comes near 2^31 elements; beyond int64 the cast is undefined.
        if (count > double(std::int64_t(1) << 31))
            ctx.fail("the range has " + std::to_string(count) + " elements (more than 2^31)");
        const std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
        Tensor y(start.dtype(), {n});
        for (std::int64_t i = 0; i < n; ++i) y.data<T>()[i] = static_cast<T>(s + static_cast<T>(i) * delta);
        return y;
    }));
}

}  // namespace bitnpu::calib::ops
