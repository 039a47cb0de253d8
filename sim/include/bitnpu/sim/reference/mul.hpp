// The reference Mul of a vector engine, from numerics.md "Mul": per output
// element (ONNX multidirectional broadcasting)
//   acc = accumulate(0, (a - z_a)(b - z_b)), out = clamp(requantize(acc) + z_y, lo, hi).
// Shares no code with run_mul_layer (mul.hpp), which is tested against it.
#pragma once

#include "bitnpu/sim/functional/mul.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// The output has the broadcast shape and per_tensor(output_type, 1, z_y).
QTensor mul(const MulLayer& layer, const QTensor& a, const QTensor& b);

}  // namespace bitnpu::sim::reference
