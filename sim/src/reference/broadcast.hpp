// ONNX multidirectional broadcasting for the reference binary layers, by
// per-element index arithmetic (no runs, no tables): the shapes aligned at
// the right, a dimension of 1 repeated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bitnpu/sim/functional/qtensor.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

struct Broadcast {
    Shape shape;                          // the output shape
    std::vector<std::int64_t> a, b;       // per output element: the flat index into a and into b
};

inline Broadcast broadcast(const Shape& a_shape, const Shape& b_shape) {
    const std::size_t rank = std::max(a_shape.size(), b_shape.size());
    // Both shapes padded with leading 1s to the output's rank.
    Shape a(rank, 1), b(rank, 1);
    std::copy(a_shape.begin(), a_shape.end(), a.begin() + static_cast<std::ptrdiff_t>(rank - a_shape.size()));
    std::copy(b_shape.begin(), b_shape.end(), b.begin() + static_cast<std::ptrdiff_t>(rank - b_shape.size()));
    Broadcast out;
    out.shape.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) {
        check(a[d] == b[d] || a[d] == 1 || b[d] == 1, "operand shapes do not broadcast");
        out.shape[d] = a[d] == 1 ? b[d] : a[d];
    }
    const std::int64_t count = element_count(out.shape);
    out.a.resize(static_cast<std::size_t>(count));
    out.b.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
        // The output's multi-index, last dimension fastest; each operand reads
        // index 0 along a dimension it broadcasts.
        std::int64_t rest = i, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
        for (std::size_t d = rank; d-- > 0;) {
            const std::int64_t index = rest % out.shape[d];
            rest /= out.shape[d];
            ia += (a[d] == 1 ? 0 : index) * stride_a;
            ib += (b[d] == 1 ? 0 : index) * stride_b;
            stride_a *= a[d];
            stride_b *= b[d];
        }
        out.a[static_cast<std::size_t>(i)] = ia;
        out.b[static_cast<std::size_t>(i)] = ib;
    }
    return out;
}

}  // namespace bitnpu::sim::reference
