// Numpy/ONNX multidirectional broadcasting for elementwise vector ops.
#pragma once

#include <algorithm>
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
// values the two operands actually hold span fewer pairs than the output has
// elements (8-bit operands of a large tensor), f is evaluated once per pair
// of that span into a table and looked up: the same bits, f being a pure
// function of the pair.
template <class F>
QTensor map_broadcast_pairs(const QTensor& a, const QTensor& b, const QuantParams& out, F&& f) {
    const Shape shape = broadcast_shape(a.shape, b.shape);
    const BroadcastRuns runs = broadcast_runs(a.shape, b.shape, shape);
    QTensor y(shape, out);
    const std::int64_t n = y.size();
    if (n == 0) return y;
    const std::int32_t* av = a.values.data();
    const std::int32_t* bv = b.values.data();
    std::int32_t* yv = y.values.data();
    constexpr std::int64_t kMaxTable = std::int64_t{1} << 16;
    const auto [a_min, a_max] = std::minmax_element(a.values.begin(), a.values.end());
    const auto [b_min, b_max] = std::minmax_element(b.values.begin(), b.values.end());
    const std::int64_t lo_a = *a_min, lo_b = *b_min;
    const std::int64_t span_a = std::int64_t{*a_max} - lo_a + 1, span_b = std::int64_t{*b_max} - lo_b + 1;
    if (span_a <= kMaxTable && span_b <= kMaxTable && span_a * span_b <= kMaxTable && n > span_a * span_b) {
        // The table row is the operand that stays fixed along a run (an SE
        // gate broadcast over H x W), so each run reads one contiguous row;
        // otherwise rows are a's values. Indices fit int32 (<= kMaxTable).
        const bool rows_of_b = runs.step_b == 0 && runs.step_a != 0;
        const std::int64_t span_row = rows_of_b ? span_a : span_b;
        std::vector<std::int32_t> table(static_cast<std::size_t>(span_a * span_b));
        for (std::int64_t x = 0; x < span_a; ++x)
            for (std::int64_t z = 0; z < span_b; ++z)
                table[static_cast<std::size_t>(rows_of_b ? z * span_a + x : x * span_b + z)] =
                    static_cast<std::int32_t>(f(lo_a + x, lo_b + z));
        const std::int32_t* t = table.data();
        const auto base_a = static_cast<std::int32_t>(lo_a), base_b = static_cast<std::int32_t>(lo_b);
        const auto row = static_cast<std::int32_t>(span_row);
        for_each_broadcast_run(runs, [&](std::int64_t out_at, std::int64_t a_at, std::int64_t b_at) {
            const std::int32_t* pa = av + a_at;
            const std::int32_t* pb = bv + b_at;
            std::int32_t* py = yv + out_at;
            if (rows_of_b) {
                const std::int32_t* lut = t + (pb[0] - base_b) * row;
                if (runs.step_a == 1) {
                    for (std::int64_t k = 0; k < runs.length; ++k) py[k] = lut[pa[k] - base_a];
                } else {
                    for (std::int64_t k = 0; k < runs.length; ++k) py[k] = lut[pa[k * runs.step_a] - base_a];
                }
            } else if (runs.step_a == 0) {
                const std::int32_t* lut = t + (pa[0] - base_a) * row;
                for (std::int64_t k = 0; k < runs.length; ++k) py[k] = lut[pb[k * runs.step_b] - base_b];
            } else if (runs.step_a == 1 && runs.step_b == 1) {   // same-shape operands (vectorizes)
                for (std::int64_t k = 0; k < runs.length; ++k) py[k] = t[(pa[k] - base_a) * row + (pb[k] - base_b)];
            } else {
                for (std::int64_t k = 0; k < runs.length; ++k)
                    py[k] = t[(pa[k * runs.step_a] - base_a) * row + (pb[k * runs.step_b] - base_b)];
            }
        });
        return y;
    }
    for_each_broadcast_run(runs, [&](std::int64_t out_at, std::int64_t a_at, std::int64_t b_at) {
        for (std::int64_t k = 0; k < runs.length; ++k)
            yv[out_at + k] = static_cast<std::int32_t>(f(av[a_at + k * runs.step_a], bv[b_at + k * runs.step_b]));
    });
    return y;
}

}  // namespace bitnpu::sim
