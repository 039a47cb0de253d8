// Models whose inputs fix the batch dimension (most exports use batch 1)
// take data only in chunks of that size. Everything that feeds sample
// batches (statistics, the search, evaluation, npusim) goes through these
// helpers, which split the data into model-sized chunks and join the
// results along the batch axis.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/graph/graph.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::calib {

// The batch size the graph's inputs fix (their leading dimension), or 0 when
// it is symbolic.
std::int64_t fixed_batch(const Graph& graph);
// n rounded down to whole chunks of a fixed batch (at least one chunk; n for
// a dynamic batch).
std::int64_t whole_batches(std::int64_t n, std::int64_t fixed);

// Rows [begin, begin + count) of t along axis 0.
Tensor slice_batch(const Tensor& t, std::int64_t begin, std::int64_t count);
// The parts joined along axis 0 (same dtype and trailing dimensions).
Tensor concat_batch(const std::vector<Tensor>& parts);

// Executor::run in chunks of `batch` rows (one run when batch <= 0 or the
// inputs hold at most one chunk); the observer sees every chunk's tensors.
// The row count must be a multiple of batch (UserError otherwise).
std::map<std::string, Tensor> run_batched(const Executor& executor, const std::map<std::string, Tensor>& inputs,
                                          std::int64_t batch, const TensorObserver& observer = nullptr);

// The bit-accurate simulator the same way, from quantized inputs.
sim::GraphResult run_quantized_batched(const sim::QuantGraph& graph, const std::vector<sim::QTensor>& inputs,
                                       std::int64_t batch, const sim::RunOptions& options = {});
// Its integer outputs only, reading the inputs in place (GraphRunner::run_raw).
std::vector<sim::QTensor> run_raw_batched(const sim::QuantGraph& graph, const std::vector<const sim::QTensor*>& inputs,
                                          std::int64_t batch, const sim::RunOptions& options = {});

}  // namespace bitnpu::calib
