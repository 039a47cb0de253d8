// A tensor whose only reader is a lookup-table op (private to the
// calibrator). Its quantization matters only through that op's function f:
// where f is flat (a Sigmoid below -6 or above +6, a Relu below 0) the grid
// may clip at no cost, and a grid is judged by the error it causes after f,
// not by the tensor's own SQNR. IS-Net's side outputs are Sigmoid(Resize(
// Conv(...))) with logits down to -700: judged by their own SQNR the logit
// grids were 1.3-4.5 wide, and the masks behind the Sigmoid 1.8 dB below
// ONNX Runtime's percentile flow.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/compile/placement.hpp"
#include "bitnpu/graph/graph.hpp"
#include "bitnpu/quant/scale.hpp"
#include "bitnpu/quant/statistics.hpp"

namespace bitnpu::calib {

// How root reaches its lone lookup-table reader: a path of nodes that pass
// root's quantization on (layout ops, Resize), each reading the previous
// tensor as its input 0, then the reader.
struct TableRead {
    std::vector<std::size_t> chain;   // node indices, in order (often none)
    std::size_t reader = 0;
};

// root's lone lookup-table reader: following every tensor tied to root, the
// tied tensors form one path (each read by one node at most) through the
// nodes that pass the quantization on, and exactly one node reads the end
// of it without passing it on: a lookup-table op placed on a vector engine,
// reading it as input 0 only, its other inputs initializers. No tensor tied
// to root may be a model output. nullopt otherwise.
// Built once per graph: which nodes read each tensor, which tensors each root
// ties.
struct ReaderIndex {
    std::map<std::string, std::vector<std::size_t>> readers;   // tensor -> reading nodes (each once)
    std::map<std::string, std::vector<std::string>> tied;      // root -> tensors tied to it
};
ReaderIndex reader_index(const Graph& graph, const QuantizationPlan& plan);
std::optional<TableRead> lone_table_reader(const Graph& graph, const QuantizationPlan& plan, const std::string& root,
                                           const ReaderIndex& index);
std::optional<TableRead> lone_table_reader(const Graph& graph, const QuantizationPlan& plan, const std::string& root);

// f of a lookup-table node over a list of values: the op's own FP32 kernel
// (its other inputs, such as Clip's bounds, from the initializers).
ValueMap table_function(const Graph& graph, const Node& node);

// The part of [lo, hi] where f is not flat: [a, b] with |f(x) - f(lo)| <= tol
// for every x in [lo, a] and |f(x) - f(hi)| <= tol for every x in [b, hi],
// found on a grid of kTableGrid points refined once around a and b (so a is
// within (hi - lo) / kTableGrid^2 of the exact point), widened to hold 0.
// nullopt when f is flat over all of it, returns a non-finite value on it, or
// the range is empty.
std::optional<ClipRange> table_domain(const ValueMap& f, double lo, double hi, double tol);
constexpr int kTableGrid = 4096;

// Half a step of the reader's output grid, the tolerance of table_domain: its
// output range over the calibration data on its output type's codes.
double table_tolerance(const TensorStats& output_stats, arch::ValueType output_type);

}  // namespace bitnpu::calib
