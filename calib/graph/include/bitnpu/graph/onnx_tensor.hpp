// Conversion between ONNX TensorProto / TypeProto and the IR's Tensor / DType.
// Private to calib: the rest of bitnpu never sees protobuf types.
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib::onnx_io {

// The IR dtype an ONNX element type is read as (fp16/bf16 -> f32, uint16 ->
// i32, uint32/uint64 -> i64); nullopt for types bitnpu cannot hold (string,
// complex).
std::optional<DType> dtype_from_onnx(int onnx_type);
int onnx_type_of(DType t);
std::string onnx_type_name(int onnx_type);

// Reads typed fields or raw_data; `what` names the tensor in error messages.
// External data and unsupported element types are UserErrors.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& what);
// Writes raw_data (little-endian), for shape inference and tests.
onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name);

}  // namespace bitnpu::calib::onnx_io
