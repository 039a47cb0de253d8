// The reference pooling layers of a vector engine, from numerics.md "MaxPool"
// and numerics.md "AveragePool and GlobalAveragePool": ONNX windows (kernel,
// strides, pads, dilations, ceil_mode; global = the whole plane) walked row by
// row, kw fastest. Share no code with run_max_pool_layer / run_avg_pool_layer
// (pool.hpp), which are tested against them.
#pragma once

#include "bitnpu/sim/functional/pool.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// [N, C, OH, OW] for an [N, C, H, W] input (UserError otherwise).
Shape output_shape(const PoolGeometry& geometry, const Shape& input_shape);

// The largest code of each window's positions inside the input (padding is
// ignored; a window entirely in the padding is a UserError). The output keeps
// the input's quantization.
QTensor max_pool(const MaxPoolLayer& layer, const QTensor& input);

// acc = the sum of (x - z_x) over the window's positions inside the input,
// one accumulation step each (a padded position adds 0); N = the positions
// inside the input, or inside the padded input with count_include_pad;
// out = clamp(requantize(acc, registers_by_count[N]) + z_y, lo, hi) (a
// missing N is a UserError). The output carries per_tensor(output_type, 1, z_y).
QTensor average_pool(const AvgPoolLayer& layer, const QTensor& input);

}  // namespace bitnpu::sim::reference
