// Reading ONNX files (protobuf classes from Debian's libonnx-dev) into the
// graph IR. Nothing here writes the model file.
#pragma once

#include <string>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::calib {

// Loads, converts to the IR (Constant nodes become initializers, fp16 is
// widened to f32), checks the graph is a DAG and sorts it topologically.
// Throws UserError (file missing, not protobuf, truncated, cycle, ...).
Graph load_onnx(const std::string& path);
// A serialized TensorProto file (ONNX test data input_N.pb / output_N.pb).
Tensor load_tensor_proto(const std::string& path);

}  // namespace bitnpu::calib
