// Shape and dtype inference for every value of a graph, for concrete input
// shapes (e.g. batch 1).
//
// How: the IR is written back to an ONNX ModelProto (large float
// initializers as typed inputs without data, small ones with data, bitnpu
// ops as Identity, fused:: attributes dropped) and ONNX's own
// onnx::shape_inference::InferShapes runs on it with data propagation, so
// Shape->Gather->Concat->Reshape chains resolve. Values it leaves without a
// concrete shape are filled by evaluating their node with run_node on zero
// tensors (exact contents for shape-computing values that depend only on
// constants and shapes), in topological order.
#pragma once

#include <map>
#include <string>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

// input_shapes: concrete shapes for graph inputs (inputs not listed use the
// shape the model declares). Fills graph.value_info with the dtype and
// shape of every value whose shape could be determined.
void infer_shapes(Graph& graph, const std::map<std::string, Shape>& input_shapes);

// What shape inference finds for concrete input shapes, without touching
// the graph: the dtype and shape of the graph inputs and of every node
// output it could determine,
// and the exact contents of those computed only from constants and shapes
// (Shape -> Gather -> Concat chains).
struct ShapeProbe {
    std::map<std::string, std::pair<DType, Shape>> shapes;
    std::map<std::string, Tensor> values;
};
ShapeProbe probe_shapes(const Graph& graph, const std::map<std::string, Shape>& input_shapes);

// The concrete shape recorded for a value (initializer, graph input with a
// static shape, or value_info), if every dimension is known.
bool static_shape(const Graph& graph, const std::string& value, Shape& shape);

}  // namespace bitnpu::calib
