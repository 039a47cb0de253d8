// Reshape / Flatten / Squeeze / Unsqueeze: the values and their quantization
// are unchanged, only the shape is.
#pragma once

#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

struct ReshapeLayer {
    Shape shape;   // ONNX Reshape semantics: one -1 infers a dimension, 0 copies the input's
};

Shape reshape_output_shape(const ReshapeLayer& layer, const Shape& input_shape);
QTensor run_reshape_layer(const ReshapeLayer& layer, const QTensor& x);

}  // namespace bitnpu::sim
