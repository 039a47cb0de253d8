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

}  // namespace bitnpu::sim
