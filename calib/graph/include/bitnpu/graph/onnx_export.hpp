// IR -> ONNX ModelProto, for ONNX's shape inference (and tests). Private to calib.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib::onnx_io {

struct ExportOptions {
    // Float initializers with more elements than this are declared as typed
    // graph inputs without data (shape inference only needs their type).
    std::int64_t max_initializer_elements = -1;  // -1: always write data
    // Ops outside the default domain are written as Identity of their first
    // input (true for bitnpu ChannelAffine, whose output has X's shape).
    bool custom_ops_as_identity = false;
    std::map<std::string, Shape> input_shapes;  // overrides for graph inputs
};

onnx::ModelProto model_to_proto(const Graph& graph, const ExportOptions& options = {});
onnx::AttributeProto attribute_to_proto(const std::string& name, const AttributeValue& value);

}  // namespace bitnpu::calib::onnx_io
