// Numpy-style (multidirectional) broadcasting for elementwise kernels.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

// The broadcast result shape of all shapes; fails naming the node and the
// offending shapes when two dimensions are neither equal nor 1.
Shape broadcast_shapes(const KernelContext& ctx, const std::vector<Shape>& shapes);

// Element strides of `in` laid over `out` (right-aligned), 0 on broadcast dims.
std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_offset, {offset in input 0, offset in input 1, ...}) for every
// output element in row-major order. The innermost dimension runs as a tight
// loop so the common no-broadcast and per-channel cases stay fast.
template <std::size_t N, class F>
void for_each_broadcast(const Shape& out, const std::array<const Shape*, N>& in_shapes, F&& f) {
    const std::int64_t total = num_elements(out);
    if (total == 0) return;
    const std::size_t rank = out.size();
    std::array<std::vector<std::int64_t>, N> strides;
    for (std::size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(*in_shapes[k], out);
    if (rank == 0) {
        std::array<std::int64_t, N> offs{};
        f(0, offs);
        return;
    }
    const std::int64_t inner = out[rank - 1];
    std::array<std::int64_t, N> inner_stride;
    for (std::size_t k = 0; k < N; ++k) inner_stride[k] = strides[k][rank - 1];
    std::vector<std::int64_t> index(rank, 0);
    std::array<std::int64_t, N> base{};
    for (std::int64_t o = 0; o < total; o += inner) {
        std::array<std::int64_t, N> offs = base;
        for (std::int64_t i = 0; i < inner; ++i) {
            f(o + i, offs);
            for (std::size_t k = 0; k < N; ++k) offs[k] += inner_stride[k];
        }
        // Advance the outer index (dimensions rank-2 .. 0) like an odometer.
        for (std::size_t d = rank - 1; d-- > 0;) {
            ++index[d];
            for (std::size_t k = 0; k < N; ++k) base[k] += strides[k][d];
            if (index[d] < out[d]) break;
            for (std::size_t k = 0; k < N; ++k) base[k] -= strides[k][d] * out[d];
            index[d] = 0;
        }
    }
}

}  // namespace bitnpu::calib::ops
