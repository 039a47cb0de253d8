// Broadcasting binary and variadic elementwise ops: arithmetic, Pow,
// comparisons, logic, Where.
#include <cmath>
#include <limits>
#include <type_traits>

#include "elementwise.hpp"
#include "kernels.hpp"

namespace bitnpu::calib::ops {

std::vector<Tensor> add(const KernelContext& ctx) {
    return one(binary_same_type(ctx, ctx.input(0), ctx.input(1), [](auto x, auto y) { return x + y; }));
}

std::vector<Tensor> sub(const KernelContext& ctx) {
    return one(binary_same_type(ctx, ctx.input(0), ctx.input(1), [](auto x, auto y) { return x - y; }));
}

std::vector<Tensor> mul(const KernelContext& ctx) {
    return one(binary_same_type(ctx, ctx.input(0), ctx.input(1), [](auto x, auto y) { return x * y; }));
}

std::vector<Tensor> div(const KernelContext& ctx) {
    return one(binary_same_type(ctx, ctx.input(0), ctx.input(1), [&](auto x, auto y) {
        using T = decltype(x);
        // Integer division truncates toward zero (as ONNX Runtime does); a
        // zero divisor would be undefined behaviour, so it is an error.
        if constexpr (std::is_integral_v<T>)
            if (y == 0) ctx.fail("integer division by zero");
        return x / y;
    }));
}

std::vector<Tensor> pow(const KernelContext& ctx) {
    // The exponent may have another type than the base; the result has the
    // base's type (computed in double, then converted).
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    return one(dispatch_numeric(ctx, a.dtype(), [&](auto ta) {
        using TA = decltype(ta);
        return dispatch_numeric(ctx, b.dtype(), [&](auto tb) {
            using TB = decltype(tb);
            return broadcast_binary<TA, TB, TA>(ctx, a, b, [](TA x, TB y) {
                if constexpr (std::is_same_v<TA, float> && std::is_same_v<TB, float>)
                    return std::pow(x, y);
                else
                    return static_cast<TA>(std::pow(static_cast<double>(x), static_cast<double>(y)));
            });
        });
    }));
}

namespace {

// Folds a variadic op (Max, Min, Sum, Mean) over all inputs with broadcasting.
template <class F>
Tensor fold_inputs(const KernelContext& ctx, F&& f) {
    if (ctx.num_inputs() == 0) ctx.fail("needs at least one input");
    Tensor acc = ctx.input(0);
    for (std::size_t i = 1; i < ctx.num_inputs(); ++i) acc = binary_same_type(ctx, acc, ctx.input(i), f);
    return acc;
}

}  // namespace

std::vector<Tensor> max(const KernelContext& ctx) {
    return one(fold_inputs(ctx, [](auto x, auto y) {
        if constexpr (std::is_floating_point_v<decltype(x)>)
            if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<decltype(x)>::quiet_NaN();
        return x < y ? y : x;
    }));
}

std::vector<Tensor> min(const KernelContext& ctx) {
    return one(fold_inputs(ctx, [](auto x, auto y) {
        if constexpr (std::is_floating_point_v<decltype(x)>)
            if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<decltype(x)>::quiet_NaN();
        return y < x ? y : x;
    }));
}

std::vector<Tensor> sum(const KernelContext& ctx) {
    return one(fold_inputs(ctx, [](auto x, auto y) { return x + y; }));
}

std::vector<Tensor> mean(const KernelContext& ctx) {
    ctx.require_float(0);
    Tensor total = fold_inputs(ctx, [](auto x, auto y) { return x + y; });
    const double n = static_cast<double>(ctx.num_inputs());
    return one(dispatch_float(ctx, total.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return map_unary<T>(total, [n](T v) { return v / static_cast<T>(n); });
    }));
}

namespace {

template <class F>
Tensor compare(const KernelContext& ctx, F&& f) {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype()) ctx.fail("inputs have different types");
    return dispatch_all(ctx, a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return broadcast_binary<T, T, bool>(ctx, a, b, [&](T x, T y) { return static_cast<bool>(f(x, y)); });
    });
}

template <class F>
Tensor logic(const KernelContext& ctx, F&& f) {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DType::boolean || b.dtype() != DType::boolean) ctx.fail("inputs must be bool tensors");
    return broadcast_binary<bool, bool, bool>(ctx, a, b, f);
}

}  // namespace

std::vector<Tensor> equal(const KernelContext& ctx) {
    return one(compare(ctx, [](auto x, auto y) { return x == y; }));
}
std::vector<Tensor> greater(const KernelContext& ctx) {
    return one(compare(ctx, [](auto x, auto y) { return x > y; }));
}
std::vector<Tensor> greater_or_equal(const KernelContext& ctx) {
    return one(compare(ctx, [](auto x, auto y) { return x >= y; }));
}
std::vector<Tensor> less(const KernelContext& ctx) {
    return one(compare(ctx, [](auto x, auto y) { return x < y; }));
}
std::vector<Tensor> less_or_equal(const KernelContext& ctx) {
    return one(compare(ctx, [](auto x, auto y) { return x <= y; }));
}
std::vector<Tensor> logical_and(const KernelContext& ctx) {
    return one(logic(ctx, [](bool x, bool y) { return x && y; }));
}
std::vector<Tensor> logical_or(const KernelContext& ctx) {
    return one(logic(ctx, [](bool x, bool y) { return x || y; }));
}
std::vector<Tensor> logical_xor(const KernelContext& ctx) {
    return one(logic(ctx, [](bool x, bool y) { return x != y; }));
}

std::vector<Tensor> where(const KernelContext& ctx) {
    const Tensor& cond = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& y = ctx.input(2);
    if (cond.dtype() != DType::boolean) ctx.fail("condition must be a bool tensor");
    if (x.dtype() != y.dtype()) ctx.fail("X and Y have different types");
    const Shape out_shape = broadcast_shapes(ctx, {cond.shape(), x.shape(), y.shape()});
    return one(dispatch_all(ctx, x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor out(x.dtype(), out_shape);
        const bool* pc = cond.data<bool>();
        const T* px = x.data<T>();
        const T* py = y.data<T>();
        T* po = out.data<T>();
        for_each_broadcast<3>(out_shape, {&cond.shape(), &x.shape(), &y.shape()},
                              [&](std::int64_t o, const std::array<std::int64_t, 3>& off) {
                                  po[o] = pc[off[0]] ? px[off[1]] : py[off[2]];
                              });
        return out;
    }));
}

}  // namespace bitnpu::calib::ops
