// A dense, row-major tensor with a runtime element type: the currency of the
// graph IR, the FP32 executor and tensor I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace bitnpu::calib {

using Shape = std::vector<std::int64_t>;

// Element types the executor handles. fp16 data is widened to f32 on import.
enum class DType : std::uint8_t { f32, f64, i8, u8, i16, i32, i64, boolean };

std::size_t element_size(DType t);
std::string_view to_string(DType t);

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<std::int16_t>() { return DType::i16; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }
// booleans are stored one byte each; use data<bool>() (sizeof(bool) == 1).
template <> constexpr DType dtype_of<bool>() { return DType::boolean; }

std::int64_t num_elements(const Shape& s);
std::string shape_to_string(const Shape& s);

class Tensor {
public:
    Tensor() = default;
    Tensor(DType dtype, Shape shape);  // zero-filled

    template <class T>
    static Tensor from_vector(Shape shape, const std::vector<T>& values) {
        Tensor t(dtype_of<T>(), std::move(shape));
        if (static_cast<std::int64_t>(values.size()) != t.numel())
            throw std::invalid_argument("Tensor::from_vector: value count does not match shape");
        std::copy(values.begin(), values.end(), t.data<T>());
        return t;
    }
    template <class T>
    static Tensor scalar(T v) { return from_vector<T>({}, {v}); }

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    std::int64_t rank() const { return static_cast<std::int64_t>(shape_.size()); }
    std::int64_t dim(std::int64_t i) const { return shape_.at(static_cast<std::size_t>(i < 0 ? i + rank() : i)); }
    std::int64_t numel() const { return numel_; }
    bool empty() const { return bytes_.empty() && numel() != 0; }

    template <class T> T* data() { check<T>(); return reinterpret_cast<T*>(bytes_.data()); }
    template <class T> const T* data() const { check<T>(); return reinterpret_cast<const T*>(bytes_.data()); }
    std::byte* raw() { return bytes_.data(); }
    const std::byte* raw() const { return bytes_.data(); }
    std::size_t byte_size() const { return bytes_.size(); }

    // Same data, new shape with the same element count.
    Tensor reshaped(Shape new_shape) const;
    // Element-wise conversion to another type (ONNX Cast semantics).
    Tensor cast(DType to) const;
    // Any numeric tensor as a float vector / int64 vector (for shape inputs).
    std::vector<float> to_floats() const;
    std::vector<std::int64_t> to_int64s() const;

private:
    template <class T> void check() const {
        if (dtype_of<std::remove_cv_t<T>>() != dtype_)
            throw std::logic_error(std::string("Tensor: accessed ") + std::string(to_string(dtype_)) +
                                   " data as " + std::string(to_string(dtype_of<std::remove_cv_t<T>>())));
    }
    DType dtype_ = DType::f32;
    Shape shape_;
    std::int64_t numel_ = 1;   // num_elements(shape_), kept: loops test numel() per element
    std::vector<std::byte> bytes_;
};

}  // namespace bitnpu::calib
