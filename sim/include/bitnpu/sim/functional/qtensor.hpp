// Integer tensors of the quantized graph and their quantization parameters.
// Values are stored decoded (int1 as -1/+1, int2 as -1/0/+1), one int32 per
// element, NCHW (or [rows, K] for Gemm inputs), row-major.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

using Shape = std::vector<std::int64_t>;

std::int64_t element_count(const Shape& shape);

// How a tensor's integers encode reals: scale[c] * (q - zero_point[c])
// (numerics.md "Quantization of real values"). One entry per tensor
// (axis < 0), or one per index along `axis` (per channel, e.g. weights).
// The one quantization-parameter type of bitnpu: the calibrator chooses
// them (calib/quant), the lowering hands them to the simulator, and the
// CTable stores them (CTableTensor, its file form, adds policy and SQNR).
struct QuantParams {
    arch::ValueType type = arch::ValueType::int8;
    bool restricted = false;      // symmetric signed range, e.g. int8 in [-127, 127]
    std::vector<float> scales{1.0f};
    std::vector<std::int64_t> zero_points{0};
    std::vector<int> exponents;   // power-of-two scales (scale = 2^-exponent): the shifter's; else empty
    int axis = -1;                // channel axis when per channel; -1: per tensor

    bool per_channel() const { return axis >= 0; }
    float scale(std::int64_t channel) const;
    std::int64_t zero_point(std::int64_t channel) const;
    // [qmin, qmax] of the type (restricted range applied).
    arch::ValueRange range() const;
};
bool operator==(const QuantParams& a, const QuantParams& b);
inline bool operator!=(const QuantParams& a, const QuantParams& b) { return !(a == b); }

// Quantization parameters with one scale and zero-point.
QuantParams per_tensor(arch::ValueType type, float scale, std::int64_t zero_point);

struct QTensor {
    Shape shape;
    QuantParams quant;
    std::vector<std::int32_t> values;

    QTensor() = default;
    QTensor(Shape s, QuantParams q);   // zero-filled with the right element count
    std::int64_t size() const { return static_cast<std::int64_t>(values.size()); }
};

struct FloatTensor {
    Shape shape;
    std::vector<float> data;
};

// Per-element float <-> integer at the graph edges, via datapath quantize /
// dequantize with the element's channel parameters.
QTensor quantize_tensor(const FloatTensor& x, const QuantParams& quant);
FloatTensor dequantize_tensor(const QTensor& q);

// Calls f(begin, end, channel) for each run of consecutive elements that
// share a channel along `axis` (one run of the whole tensor when axis is
// outside the shape, i.e. per tensor), so per-element loops need no index
// arithmetic.
template <typename F>
void for_each_channel_run(const Shape& shape, int axis, F&& f) {
    const std::int64_t n = element_count(shape);
    if (axis < 0 || axis >= static_cast<int>(shape.size())) {
        f(std::int64_t{0}, n, std::int64_t{0});
        return;
    }
    std::int64_t inner = 1;
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    const std::int64_t channels = shape[static_cast<std::size_t>(axis)];
    for (std::int64_t begin = 0, c = 0; begin < n; begin += inner, c = (c + 1) % channels)
        f(begin, begin + inner, c);
}
// The same with a tensor's quantization: its axis when per channel.
template <typename F>
void for_each_channel_run(const Shape& shape, const QuantParams& quant, F&& f) {
    for_each_channel_run(shape, quant.per_channel() ? quant.axis : -1, std::forward<F>(f));
}

// Channel index of flat element i along axis (used for per-channel params).
std::int64_t channel_of(const Shape& shape, int axis, std::int64_t flat_index);

}  // namespace bitnpu::sim
