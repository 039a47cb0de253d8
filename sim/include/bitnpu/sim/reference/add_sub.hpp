// The reference Add / Sub of a vector engine, from numerics.md "Add and Sub":
// per output element (ONNX multidirectional broadcasting)
//   acc = accumulate(accumulate(0, (a - z_a) M_a), +-(b - z_b) M_b)
//   out = clamp(round_shift(acc, sh, mode, accumulator.bits) + z_y, lo, hi).
// Shares no code with run_add_layer (add_sub.hpp), which is tested against it.
#pragma once

#include "bitnpu/sim/functional/add_sub.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// The output has the broadcast shape and per_tensor(output_type, 1, z_y).
QTensor add(const AddLayer& layer, const QTensor& a, const QTensor& b);

}  // namespace bitnpu::sim::reference
