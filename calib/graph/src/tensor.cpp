// Tensor storage, dtype names and ONNX Cast conversion.
#include "bitnpu/graph/tensor.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

std::size_t element_size(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::f64: return 8;
        case DType::i8: return 1;
        case DType::u8: return 1;
        case DType::i16: return 2;
        case DType::i32: return 4;
        case DType::i64: return 8;
        case DType::boolean: return 1;
    }
    return 1;
}

std::string_view to_string(DType t) {
    switch (t) {
        case DType::f32: return "float32";
        case DType::f64: return "float64";
        case DType::i8: return "int8";
        case DType::u8: return "uint8";
        case DType::i16: return "int16";
        case DType::i32: return "int32";
        case DType::i64: return "int64";
        case DType::boolean: return "bool";
    }
    return "?";
}

std::int64_t num_elements(const Shape& s) {
    std::int64_t n = 1;
    for (auto d : s) {
        if (d < 0) throw std::invalid_argument("num_elements: negative dimension " + std::to_string(d));
        // A model can declare any shape: a product beyond int64 is bad input.
        if (__builtin_mul_overflow(n, d, &n))
            throw UserError("a tensor of shape " + shape_to_string(s) + " has more elements than fit in 64 bits");
    }
    return n;
}

std::string shape_to_string(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(s[i]);
    }
    return out + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)), numel_(num_elements(shape_)) {
    bytes_.assign(static_cast<std::size_t>(numel_) * element_size(dtype_), std::byte{0});
}

Tensor Tensor::reshaped(Shape new_shape) const {
    if (num_elements(new_shape) != numel())
        throw std::invalid_argument("Tensor::reshaped: cannot reshape " + shape_to_string(shape_) + " to " +
                                    shape_to_string(new_shape));
    Tensor t = *this;
    t.shape_ = std::move(new_shape);
    t.numel_ = num_elements(t.shape_);
    return t;
}

namespace {

// Float -> integer conversion. ONNX leaves out-of-range results undefined;
// we truncate toward zero (as C++ and numpy do) and clamp to the target range
// so the conversion is never undefined behaviour. NaN becomes 0.
template <class To>
To float_to_int(double v) {
    if (std::isnan(v)) return 0;
    v = std::trunc(v);
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<To>::max());
    if (v <= lo) return std::numeric_limits<To>::lowest();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
}

template <class From, class To>
To convert(From v) {
    if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
        return float_to_int<To>(static_cast<double>(v));
    } else {
        // Integer -> integer wraps (two's complement), as numpy and ONNX
        // runtime do; anything -> float is an ordinary conversion.
        return static_cast<To>(v);
    }
}

template <class From, class To>
void convert_all(const From* in, To* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = convert<From, To>(in[i]);
}

template <class From>
void convert_from(const From* in, Tensor& out, std::int64_t n) {
    switch (out.dtype()) {
        case DType::f32: return convert_all(in, out.data<float>(), n);
        case DType::f64: return convert_all(in, out.data<double>(), n);
        case DType::i8: return convert_all(in, out.data<std::int8_t>(), n);
        case DType::u8: return convert_all(in, out.data<std::uint8_t>(), n);
        case DType::i16: return convert_all(in, out.data<std::int16_t>(), n);
        case DType::i32: return convert_all(in, out.data<std::int32_t>(), n);
        case DType::i64: return convert_all(in, out.data<std::int64_t>(), n);
        case DType::boolean: return convert_all(in, out.data<bool>(), n);
    }
}

// Calls f(const T*) with the tensor's data pointer typed by its dtype.
template <class F>
void visit_data(const Tensor& t, F&& f) {
    switch (t.dtype()) {
        case DType::f32: return f(t.data<float>());
        case DType::f64: return f(t.data<double>());
        case DType::i8: return f(t.data<std::int8_t>());
        case DType::u8: return f(t.data<std::uint8_t>());
        case DType::i16: return f(t.data<std::int16_t>());
        case DType::i32: return f(t.data<std::int32_t>());
        case DType::i64: return f(t.data<std::int64_t>());
        case DType::boolean: return f(t.data<bool>());
    }
}

}  // namespace

Tensor Tensor::cast(DType to) const {
    if (to == dtype_) return *this;
    Tensor out(to, shape_);
    const std::int64_t n = numel();
    visit_data(*this, [&](const auto* in) { convert_from(in, out, n); });
    return out;
}

std::vector<float> Tensor::to_floats() const {
    Tensor f = cast(DType::f32);
    const float* p = f.data<float>();
    return std::vector<float>(p, p + f.numel());
}

std::vector<std::int64_t> Tensor::to_int64s() const {
    Tensor i = cast(DType::i64);
    const std::int64_t* p = i.data<std::int64_t>();
    return std::vector<std::int64_t>(p, p + i.numel());
}

}  // namespace bitnpu::calib
