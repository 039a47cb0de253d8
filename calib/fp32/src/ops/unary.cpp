// Elementwise math without attributes: Sqrt, Exp, Log, Erf, Neg, Abs, ...
#include <cmath>
#include <type_traits>

#include "elementwise.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

namespace {

// Applies f to every element of a float32/float64 input.
template <class F>
std::vector<Tensor> float_unary(const KernelContext& ctx, F&& f) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return map_unary<T>(x, [&](T v) { return static_cast<T>(f(v)); });
    }));
}

// Applies f to every element of any numeric input.
template <class F>
std::vector<Tensor> numeric_unary(const KernelContext& ctx, F&& f) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return map_unary<T>(x, [&](T v) { return static_cast<T>(f(v)); });
    }));
}

}  // namespace

std::vector<Tensor> sqrt(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::sqrt(v); }); }
std::vector<Tensor> exp(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::exp(v); }); }
std::vector<Tensor> log(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::log(v); }); }
std::vector<Tensor> erf(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::erf(v); }); }
std::vector<Tensor> floor(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::floor(v); }); }
std::vector<Tensor> ceil(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::ceil(v); }); }
// Round: half to even, as ONNX specifies (nearbyint in the default rounding mode).
std::vector<Tensor> round(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::nearbyint(v); }); }
std::vector<Tensor> reciprocal(const KernelContext& ctx) {
    return float_unary(ctx, [](auto v) { return decltype(v)(1) / v; });
}
std::vector<Tensor> sin(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::sin(v); }); }
std::vector<Tensor> cos(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::cos(v); }); }
std::vector<Tensor> tan(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::tan(v); }); }
std::vector<Tensor> asin(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::asin(v); }); }
std::vector<Tensor> acos(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::acos(v); }); }
std::vector<Tensor> atan(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::atan(v); }); }
std::vector<Tensor> sinh(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::sinh(v); }); }
std::vector<Tensor> cosh(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::cosh(v); }); }
std::vector<Tensor> asinh(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::asinh(v); }); }
std::vector<Tensor> acosh(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::acosh(v); }); }
std::vector<Tensor> atanh(const KernelContext& ctx) { return float_unary(ctx, [](auto v) { return std::atanh(v); }); }
std::vector<Tensor> softplus(const KernelContext& ctx) {
    return float_unary(ctx, [](auto v) { return std::log1p(std::exp(v)); });
}
std::vector<Tensor> softsign(const KernelContext& ctx) {
    return float_unary(ctx, [](auto v) { return v / (decltype(v)(1) + std::abs(v)); });
}

std::vector<Tensor> neg(const KernelContext& ctx) { return numeric_unary(ctx, [](auto v) { return -v; }); }
std::vector<Tensor> abs(const KernelContext& ctx) {
    return numeric_unary(ctx, [](auto v) {
        if constexpr (std::is_unsigned_v<decltype(v)>) return v;
        else return v < 0 ? -v : v;
    });
}
std::vector<Tensor> sign(const KernelContext& ctx) {
    return numeric_unary(ctx, [](auto v) {
        using T = decltype(v);
        return static_cast<T>((T(0) < v) - (v < T(0)));
    });
}

std::vector<Tensor> logical_not(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::boolean) ctx.fail("input must be a bool tensor");
    return one(map_unary<bool>(x, [](bool v) { return !v; }));
}

std::vector<Tensor> is_nan(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(DType::boolean, x.shape());
        for (std::int64_t i = 0; i < x.numel(); ++i) out.data<bool>()[i] = std::isnan(x.data<T>()[i]);
        return out;
    }));
}

std::vector<Tensor> is_inf(const KernelContext& ctx) {
    const Tensor& x = ctx.input(0);
    const bool positive = ctx.node.attr_int("detect_positive", 1) != 0;
    const bool negative = ctx.node.attr_int("detect_negative", 1) != 0;
    return one(dispatch_float(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(DType::boolean, x.shape());
        for (std::int64_t i = 0; i < x.numel(); ++i) {
            const T v = x.data<T>()[i];
            out.data<bool>()[i] = std::isinf(v) && ((v > 0 && positive) || (v < 0 && negative));
        }
        return out;
    }));
}

}  // namespace bitnpu::calib::ops
