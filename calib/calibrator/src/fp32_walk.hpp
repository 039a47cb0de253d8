// The FP32 model on the search slice, one node at a time, in step with the
// per-layer search: the search reads each tensor's FP32 value when it
// quantizes the producer and the consumers, and frees it after its last
// reader. Memory holds the live values only, as an inference does, not
// every tensor of the slice (resnet-50 at 224x224 has ~100 MB of
// activations per sample).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

class Fp32Walk {
public:
    // slice: graph input name -> rows of the search slice. batch: the model's
    // fixed batch (0: any); the slice then runs in chunks of it.
    Fp32Walk(const Graph& graph, const std::map<std::string, Tensor>& slice, std::int64_t batch, int threads);

    // Runs node i on every chunk; the nodes before it must have run.
    void run_node(std::size_t i);
    // The value of `name` on the whole slice (chunks joined along axis 0, the
    // chunks then dropped: a later node's chunk is sliced from it), or
    // nullptr when no live value has that name (initializers, freed values).
    const Tensor* find(const std::string& name);
    void release(const std::string& name);

private:
    // Chunk `chunk` of an input of node `node`; a joined value's chunk is
    // sliced into `held` (reserved by the caller, so references stay valid).
    const Tensor& chunk_input(std::size_t node, const std::string& name, std::size_t chunk,
                              std::vector<Tensor>& held) const;

    const Graph& graph_;
    Executor executor_;
    std::size_t chunks_ = 1;
    std::map<std::string, std::vector<Tensor>> values_;   // per value: one tensor per chunk
    std::map<std::string, Tensor> joined_;                // fixed-batch models: chunks joined on request (then dropped)
};

}  // namespace bitnpu::calib
