// Reading a QDQ model (QuantizeLinear/DequantizeLinear pairs around float
// ops: a QAT or third-party PTQ export, or npuexport --format qdq) as a float
// graph plus the partial CTable of its scales and zero-points, which the
// calibrator then refines for an arch (calib --arch A.yaml model.qdq.onnx)
// and npusim runs (with the program npuexport embedded, when there is one).
// docs/export.md "Importing QDQ models".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

// True when the graph holds QuantizeLinear or DequantizeLinear nodes.
bool has_qdq(const Graph& graph);

struct QdqImport {
    // tensors: each quantized activation (the float tensor a QuantizeLinear
    // reads) with the pair's type, scale and zero-point; layers: each MAC
    // node whose weight was quantized (weight.scale, per output channel or
    // per tensor). No registers: they are the arch's (calib derives them).
    CTable table;
    std::size_t activation_pairs = 0;   // Q -> DQ pairs removed
    std::size_t constants = 0;          // quantized constants (weights, biases) made float
    std::vector<std::string> notes;     // what was imported as is, or not (e.g. asymmetric weights)
    // The program an npuexport file carries in its metadata (bitnpu.ctable),
    // when the model has one.
    std::optional<CTable> embedded;
};

// Removes every Q/DQ node, in place: a Q -> DQ pair on a float tensor
// becomes that tensor (its consumers read it; a graph output keeps its
// name), a DQ of an integer constant (or a Q -> DQ of a float constant)
// becomes the float constant it denotes (fp32((q - z) * s), exactly what the
// runtime computes). Throws UserError naming the node for what it cannot
// read: a scale or zero-point computed at run time, a QuantizeLinear whose
// output feeds anything but DequantizeLinear, a pair whose two nodes
// disagree, one tensor quantized two different ways, a DequantizeLinear of
// a graph input (bitnpu takes float inputs).
QdqImport strip_qdq(Graph& graph);

}  // namespace bitnpu::calib
