// The quantized graph: plain data a calibrator lowers an ONNX model into, and
// its bit-accurate execution. sim/ knows nothing of ONNX: every node already
// carries its integer parameters (registers, zero-points, clamps).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/functional/add_sub.hpp"
#include "bitnpu/sim/functional/concat.hpp"
#include "bitnpu/sim/functional/host_layer.hpp"
#include "bitnpu/sim/functional/lut_layer.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/mul.hpp"
#include "bitnpu/sim/functional/pool.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"
#include "bitnpu/sim/functional/requantize_layer.hpp"
#include "bitnpu/sim/functional/reshape.hpp"
#include "bitnpu/sim/functional/resize.hpp"

namespace bitnpu::sim {

using LayerParams = std::variant<MacLayer, AddLayer, MulLayer, MaxPoolLayer, AvgPoolLayer, ConcatLayer, LutLayer,
                                 RequantizeLayer, ReshapeLayer, ResizeLayer, HostLayer>;

// A tensor of the graph: its name and the quantization its values carry.
struct QuantTensorInfo {
    std::string name;
    QuantParams quant;
    Shape shape;                       // may be empty (known at run time); a constant's is its own
    // A constant operand the engine holds in its SRAM (numerics.md "Constant
    // operands"): its integers, quantized once by the compiler with `quant`
    // (row-major, `shape`). Empty for activations. Nodes read it like any
    // tensor; no node writes it.
    std::optional<std::vector<std::int32_t>> constant;
};

// The QTensor of a constant tensor (its shape, quantization and integers).
QTensor constant_value(const QuantTensorInfo& tensor);

struct QuantNode {
    std::string name;                  // the ONNX node it came from
    std::string op_type;               // e.g. "Conv", "Add", "Sigmoid"
    std::string engine;                // engine that runs it ("host" for the fallback)
    arch::Precision precision;
    LayerParams params;
    std::vector<int> inputs;           // tensor ids (index into QuantGraph::tensors)
    std::vector<int> outputs;
};

// Nodes are in topological order: each reads only graph inputs or outputs of
// earlier nodes.
struct QuantGraph {
    std::string name;
    std::vector<QuantTensorInfo> tensors;
    std::vector<QuantNode> nodes;
    std::vector<int> inputs;
    std::vector<int> outputs;
};

struct RunOptions {
    int threads = 1;                   // MAC layers; results never depend on it
    MacPath mac_path = MacPath::automatic;
};

// Called for every tensor as it is produced (graph inputs after quantization
// first, with node == nullptr), for debug dumps and per-tensor SQNR.
using TensorObserver = std::function<void(const QuantNode* node, int tensor_id, const QTensor& value)>;

struct GraphResult {
    std::vector<FloatTensor> outputs;  // dequantized graph outputs
    std::vector<QTensor> raw_outputs;  // the integers behind them
};

// For each tensor id, the index of the last node reading it (graph outputs:
// nodes.size(), never freed; unread tensors: -1), so runners free
// intermediates as early as possible.
std::vector<int> last_uses(const QuantGraph& graph);
// The value table of a graph walk with the graph inputs in place (each
// given the quantization its tensor declares) and the constants. UserError
// on a wrong count.
std::vector<std::optional<QTensor>> graph_input_values(const QuantGraph& graph, const std::vector<QTensor>& inputs);

// Stores what node n produced (checking the count, stamping each tensor's
// quantization from the graph) into values, then frees the inputs whose last
// reader was node n. Shared by every runner of a QuantGraph.
void store_node_outputs(const QuantGraph& graph, std::size_t n, std::vector<QTensor>& produced,
                        const std::vector<int>& last_use, std::vector<std::optional<QTensor>>& values);

// Checks tensor ids, topological order and that every node's params fit its
// input/output counts; throws UserError.
void validate(const QuantGraph& graph);

// Runs one graph many times (calibration sets, evaluation): validates it and
// prepares every MAC layer's weight-side data once. The graph must outlive it.
class GraphRunner {
public:
    explicit GraphRunner(const QuantGraph& graph);
    GraphResult run(const std::vector<FloatTensor>& inputs, const RunOptions& options = {},
                    const TensorObserver& observer = {}) const;
    GraphResult run_quantized(const std::vector<QTensor>& inputs, const RunOptions& options = {},
                              const TensorObserver& observer = {}) const;
    // The integer graph outputs only (no dequantized copies), from inputs that
    // stay where they are: an input is copied only when its quantization is
    // not the one its graph tensor declares. For callers that run small graphs
    // many times (the calibrator's per-layer search).
    std::vector<QTensor> run_raw(const std::vector<const QTensor*>& inputs, const RunOptions& options = {},
                                 const TensorObserver& observer = {}) const;

private:
    const QuantGraph* graph_;
    std::vector<std::optional<PreparedMacLayer>> prepared_;   // per node, MAC layers only
    std::vector<std::optional<QTensor>> constants_;           // per tensor id, constants only
};

// Quantize the float inputs with their tensors' params, run every node, dequantize the outputs.
GraphResult run(const QuantGraph& graph, const std::vector<FloatTensor>& inputs, const RunOptions& options = {},
                const TensorObserver& observer = {});
// Same from already-quantized inputs.
GraphResult run_quantized(const QuantGraph& graph, const std::vector<QTensor>& inputs,
                          const RunOptions& options = {}, const TensorObserver& observer = {});

// Signal-to-quantization-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - test)^2);
// +inf when the two are identical, -inf when ref is all zeros and test not.
// The sums are kept in double in kLanes interleaved partial sums (element i
// of the sequence added goes to lane i mod kLanes) and the lanes are added in
// lane order at the end. So the bits depend only on the element sequence,
// not on how it is split into blocks, and no single chain of dependent adds
// bounds the speed (one serial chain was the search's bottleneck).
struct SqnrSums {
    static constexpr std::size_t kLanes = 8;
    double signal[kLanes] = {}, noise[kLanes] = {};
    std::size_t count = 0;   // elements added so far
    void add(const float* ref, const float* test, std::size_t n);
    // The same with test = dequantize(q[i], scale, zero_point).
    void add_quantized(const float* ref, const std::int32_t* q, std::size_t n, float scale, std::int64_t zero_point);
    double db() const;
};
double sqnr_db(const float* ref, const float* test, std::size_t n);
// The same against a quantized tensor's dequantized values (dequantize_tensor),
// without materializing them; ref holds test.size() values.
double sqnr_db(const float* ref, const QTensor& test);

}  // namespace bitnpu::sim
