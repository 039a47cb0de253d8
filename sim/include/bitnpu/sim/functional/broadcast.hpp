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

// The broadcast of a and b to `out` as runs: the output in order is
// prod(outer) runs of `length` elements; within a run the operands advance by
// step_a and step_b (1, or 0 where they broadcast), between runs by the
// odometer over `outer` with the operands' outer strides. Adjacent dimensions
// are merged where both operands walk them as one.
struct BroadcastRuns {
    Shape outer;
    std::vector<std::int64_t> outer_stride_a, outer_stride_b;
    std::int64_t length = 1, step_a = 0, step_b = 0;
};
BroadcastRuns broadcast_runs(const Shape& a, const Shape& b, const Shape& out);

// Calls f(out_offset, a_offset, b_offset, runs) for each run, in output order.
template <class F>
void for_each_broadcast_run(const BroadcastRuns& r, F&& f) {
    std::int64_t count = 1;
    for (std::int64_t d : r.outer) count *= d;
    std::vector<std::int64_t> pos(r.outer.size(), 0);
    std::int64_t ia = 0, ib = 0;
    for (std::int64_t k = 0; k < count; ++k) {
        f(k * r.length, ia, ib);
        for (std::size_t d = r.outer.size(); d-- > 0;) {   // odometer increment
            ia += r.outer_stride_a[d];
            ib += r.outer_stride_b[d];
            if (++pos[d] < r.outer[d]) break;
            ia -= r.outer_stride_a[d] * r.outer[d];
            ib -= r.outer_stride_b[d] * r.outer[d];
            pos[d] = 0;
        }
    }
}

// y[i] = f(a[ia], b[ib]) over the broadcast of a and b, f being a binary
// layer's per-element rule (add_output_element, mul_output_element). When the
// two operand ranges hold fewer value pairs than the output has elements
// (8-bit operands of a large tensor), f is evaluated once per pair into a
// table and looked up: the same bits, f being a pure function of the pair.
template <class F>
QTensor map_broadcast_pairs(const QTensor& a, const QTensor& b, const QuantParams& out, F&& f) {
    const Shape shape = broadcast_shape(a.shape, b.shape);
    const BroadcastRuns runs = broadcast_runs(a.shape, b.shape, shape);
    QTensor y(shape, out);
    const std::int64_t n = y.size();
    const arch::ValueRange ra = a.quant.range(), rb = b.quant.range();
    const std::int64_t span_a = ra.max - ra.min + 1, span_b = rb.max - rb.min + 1;
    std::vector<std::int32_t> table;
    if (span_a <= 256 && span_b <= 256 && n > span_a * span_b) {
        table.resize(static_cast<std::size_t>(span_a * span_b));
        for (std::int64_t x = 0; x < span_a; ++x)
            for (std::int64_t z = 0; z < span_b; ++z)
                table[static_cast<std::size_t>(x * span_b + z)] = static_cast<std::int32_t>(f(ra.min + x, rb.min + z));
    }
    const std::int32_t* av = a.values.data();
    const std::int32_t* bv = b.values.data();
    std::int32_t* yv = y.values.data();
    if (n == 0) return y;
    for_each_broadcast_run(runs, [&](std::int64_t out_at, std::int64_t a_at, std::int64_t b_at) {
        for (std::int64_t k = 0; k < runs.length; ++k) {
            const std::int64_t va = av[a_at + k * runs.step_a], vb = bv[b_at + k * runs.step_b];
            const std::int64_t x = va - ra.min, z = vb - rb.min;
            const bool tabled = !table.empty() && x >= 0 && x < span_a && z >= 0 && z < span_b;   // in range
            yv[out_at + k] = tabled ? table[static_cast<std::size_t>(x * span_b + z)] : static_cast<std::int32_t>(f(va, vb));
        }
    });
    return y;
}

}  // namespace bitnpu::sim
