// The reference Concat of a vector engine, from numerics.md "Concat": the
// inputs joined along the axis; an input whose scale is tied to the output's
// is copied, any other requantized: out = clamp(requantize(x - z_i) + z_y, lo, hi).
// Shares no code with run_concat_layer (concat.hpp), which is tested against it.
#pragma once

#include <vector>

#include "bitnpu/sim/functional/concat.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// The output carries per_tensor(output_type, 1, z_y). UserError when the
// inputs do not fit (count, rank, dimensions outside the axis, axis).
QTensor concat(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs);

}  // namespace bitnpu::sim::reference
