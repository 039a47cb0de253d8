// Numpy/ONNX multidirectional broadcasting for elementwise vector ops.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

// The broadcast result shape of a and b; throws UserError if incompatible.
Shape broadcast_shape(const Shape& a, const Shape& b);

// For each flat index of `out`, the flat index into an operand of shape `in`
// that broadcasts to it.
std::vector<std::int64_t> broadcast_indices(const Shape& in, const Shape& out);

// y[i] = f(a[ia], b[ib]) over the broadcast of a and b, f being a binary
// layer's per-element rule (add_output_element, mul_output_element). When the
// two operand ranges hold fewer value pairs than the output has elements
// (8-bit operands of a large tensor), f is evaluated once per pair into a
// table and looked up: the same bits, f being a pure function of the pair.
template <class F>
QTensor map_broadcast_pairs(const QTensor& a, const QTensor& b, const QuantParams& out, F&& f) {
    const Shape shape = broadcast_shape(a.shape, b.shape);
    const std::vector<std::int64_t> ia = broadcast_indices(a.shape, shape), ib = broadcast_indices(b.shape, shape);
    QTensor y(shape, out);
    const std::size_t n = y.values.size();
    const arch::ValueRange ra = a.quant.range(), rb = b.quant.range();
    const std::int64_t span_a = ra.max - ra.min + 1, span_b = rb.max - rb.min + 1;
    if (span_a <= 256 && span_b <= 256 && static_cast<std::int64_t>(n) > span_a * span_b) {
        std::vector<std::int32_t> table(static_cast<std::size_t>(span_a * span_b));
        for (std::int64_t x = 0; x < span_a; ++x)
            for (std::int64_t z = 0; z < span_b; ++z)
                table[static_cast<std::size_t>(x * span_b + z)] = static_cast<std::int32_t>(f(ra.min + x, rb.min + z));
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t va = a.values[static_cast<std::size_t>(ia[i])];
            const std::int64_t vb = b.values[static_cast<std::size_t>(ib[i])];
            const std::int64_t x = va - ra.min, z = vb - rb.min;
            const bool inside = x >= 0 && x < span_a && z >= 0 && z < span_b;   // a value off its type's range
            y.values[i] = inside ? table[static_cast<std::size_t>(x * span_b + z)] : static_cast<std::int32_t>(f(va, vb));
        }
        return y;
    }
    for (std::size_t i = 0; i < n; ++i)
        y.values[i] =
            static_cast<std::int32_t>(f(a.values[static_cast<std::size_t>(ia[i])], b.values[static_cast<std::size_t>(ib[i])]));
    return y;
}

}  // namespace bitnpu::sim
