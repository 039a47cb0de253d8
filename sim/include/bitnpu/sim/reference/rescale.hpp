// The reference Requantize (rescale) layer, from
// numerics.md "Rescale between engines": out = clamp(requantize(x - z_x, registers[c]) + z_y, lo, hi), per
// tensor or per channel c along the axis. Shares no code with
// run_requantize_layer (requantize_layer.hpp), which is tested against it.
#pragma once

#include "bitnpu/sim/functional/qtensor.hpp"
#include "bitnpu/sim/functional/requantize_layer.hpp"

namespace bitnpu::sim::reference {

// The output carries per_tensor(output_type, 1, z_y). UserError when the
// register count is neither 1 nor the input's size along the axis.
QTensor rescale(const RequantizeLayer& layer, const QTensor& input);

}  // namespace bitnpu::sim::reference
