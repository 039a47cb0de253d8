// Runtime dtype -> C++ type dispatch for kernels that work on several
// element types. f(T{}) is called with a value of the element type, so the
// kernel body can write `using T = decltype(tag);`.
#pragma once

#include <cstdint>

#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

template <class F>
decltype(auto) dispatch_all(const KernelContext& ctx, DType t, F&& f) {
    switch (t) {
        case DType::f32: return f(float{});
        case DType::f64: return f(double{});
        case DType::i8: return f(std::int8_t{});
        case DType::u8: return f(std::uint8_t{});
        case DType::i16: return f(std::int16_t{});
        case DType::i32: return f(std::int32_t{});
        case DType::i64: return f(std::int64_t{});
        case DType::boolean: return f(bool{});
    }
    ctx.fail("unknown element type");
}

// Numeric types only (bool rejected with a clear error).
template <class F>
decltype(auto) dispatch_numeric(const KernelContext& ctx, DType t, F&& f) {
    switch (t) {
        case DType::f32: return f(float{});
        case DType::f64: return f(double{});
        case DType::i8: return f(std::int8_t{});
        case DType::u8: return f(std::uint8_t{});
        case DType::i16: return f(std::int16_t{});
        case DType::i32: return f(std::int32_t{});
        case DType::i64: return f(std::int64_t{});
        case DType::boolean: break;
    }
    ctx.fail("bool tensors are not supported by this op");
}

template <class F>
decltype(auto) dispatch_float(const KernelContext& ctx, DType t, F&& f) {
    switch (t) {
        case DType::f32: return f(float{});
        case DType::f64: return f(double{});
        default: break;
    }
    ctx.fail(std::string("element type ") + std::string(to_string(t)) +
             " is not supported by this op (float32/float64 only)");
}

}  // namespace bitnpu::calib::ops
