// Shared machinery of the broadcasting elementwise kernels.
#pragma once

#include "broadcast.hpp"
#include "dispatch.hpp"

namespace bitnpu::calib::ops {

// out[i] = f(a[ia], b[ib]) under numpy broadcasting; out has type TO.
template <class TA, class TB, class TO, class F>
Tensor broadcast_binary(const KernelContext& ctx, const Tensor& a, const Tensor& b, F&& f) {
    const Shape out_shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(ctx, {a.shape(), b.shape()});
    Tensor out(dtype_of<TO>(), out_shape);
    const TA* pa = a.data<TA>();
    const TB* pb = b.data<TB>();
    TO* po = out.data<TO>();
    const std::int64_t n = out.numel();
    if (a.shape() == b.shape()) {
        for (std::int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (b.numel() == 1 && a.shape() == out_shape) {
        const TB s = pb[0];
        for (std::int64_t i = 0; i < n; ++i) po[i] = f(pa[i], s);
    } else {
        for_each_broadcast<2>(out_shape, {&a.shape(), &b.shape()},
                              [&](std::int64_t o, const std::array<std::int64_t, 2>& off) {
                                  po[o] = f(pa[off[0]], pb[off[1]]);
                              });
    }
    return out;
}

// Same element type in and out, same type for both inputs.
template <class F>
Tensor binary_same_type(const KernelContext& ctx, const Tensor& a, const Tensor& b, F&& f) {
    if (a.dtype() != b.dtype())
        ctx.fail("inputs have different types (" + std::string(to_string(a.dtype())) + " and " +
                 std::string(to_string(b.dtype())) + ")");
    return dispatch_numeric(ctx, a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return broadcast_binary<T, T, T>(ctx, a, b, [&](T x, T y) { return static_cast<T>(f(x, y)); });
    });
}

// out[i] = f(x[i]) with the same type.
template <class T, class F>
Tensor map_unary(const Tensor& x, F&& f) {
    Tensor out(x.dtype(), x.shape());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const std::int64_t n = x.numel();
    for (std::int64_t i = 0; i < n; ++i) po[i] = static_cast<T>(f(px[i]));
    return out;
}

}  // namespace bitnpu::calib::ops
