// The FP32 reference executor: runs a Graph on float tensors (and the
// integer/bool tensors shape arithmetic needs). One kernel per op lives in
// calib/fp32/src/ops/; this is the interface the rest of bitnpu uses.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/graph/op_set.hpp"

namespace bitnpu::calib {

// The ops the executor runs are the op table's (graph/op_set.hpp).

// Run one node on concrete inputs (nullptr for omitted optional inputs).
// opset is the default-domain opset the model was exported with.
// Throws UserError naming the node on bad attributes/shapes. Returns one
// tensor per output the node declares (kernels that can compute optional
// outputs, e.g. LayerNormalization's Mean/InvStdDev, drop the undeclared).
std::vector<Tensor> run_node(const Node& node, const std::vector<const Tensor*>& inputs, std::int64_t opset);

struct ExecutorOptions {
    int threads = 0;  // 0: std::thread::hardware_concurrency()
};

// Called for every value a run produces (graph inputs included), in
// topological order; used to collect calibration statistics.
using TensorObserver = std::function<void(const std::string& name, const Tensor& value)>;

// The executor's liveness rule: each value's index of the last node that
// reads it (graph outputs: nodes.size(), never freed). A value absent from
// the map is read by no node and dropped as soon as it is produced.
std::map<std::string, std::size_t> last_use_index(const Graph& graph);

// The largest total size of the values alive at once while the executor
// runs the graph (a node's inputs and outputs together, graph inputs
// included), given each value's size in bytes; values missing from `bytes`
// count 0. For memory planning: the activations of one run.
std::int64_t peak_live_bytes(const Graph& graph, const std::map<std::string, std::int64_t>& bytes);

class Executor {
public:
    explicit Executor(const Graph& graph, ExecutorOptions options = {});
    // inputs: graph input name -> tensor (first dimension is the batch).
    // Returns every graph output by name. Validates input names, dtypes and
    // shapes against the graph (UserError on mismatch).
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                      const TensorObserver& observer = nullptr) const;
    // Runs graph node `index` alone on the given inputs (one per node input,
    // nullptr for omitted ones), with this executor's threads: for callers
    // that walk the graph themselves and free values as they go.
    std::vector<Tensor> run_node(std::size_t index, const std::vector<const Tensor*>& inputs) const;

private:
    const Graph& graph_;
    ExecutorOptions options_;
};

}  // namespace bitnpu::calib
