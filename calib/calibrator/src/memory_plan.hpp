// How much of the calibration data the calibrator holds at once
// (docs/calibrator.md "Memory"): the statistics batch and the search slice,
// bounded so that the activations they keep fit a memory budget. A
// high-resolution segmenter (IS-Net at 1024x1024: 0.29 GB of live FP32
// activations per sample) would otherwise need tens of GB for a 16-sample
// slice, and a dynamic-batch model at the default statistics batch of 64 more.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

// Bytes the statistics phase holds per byte of one run's live activations
// (the executor's values, its kernels' scratch, the observer's reads), and
// the search per byte of the slice's (FP32 reference and its chunks, the
// quantized int32 values, a MAC layer's accumulators and candidate outputs,
// the kernels' column buffers, and the freed blocks jemalloc keeps for
// reuse). Measured as calib's peak resident set over slice x
// activation_bytes_per_sample: IS-Net (4 samples of 286.5 MB) 9.4, M-LSD
// 320 tiny (16 of 11.7 MB) 6.7 (docs/calibrator.md "Memory"); 10 leaves
// room for models whose copies weigh more.
inline constexpr double kStatisticsBytesPerLiveByte = 2.0;
inline constexpr double kSearchBytesPerLiveByte = 10.0;

// The budget when CalibOptions::memory_mb is 0: two thirds of the machine's physical
// memory, at most 16 GiB.
std::int64_t default_memory_budget_bytes();

// The activations alive at once in one FP32 run of the graph, per sample:
// peak_live_bytes over the shapes shape inference recorded (graph.value_info,
// for inputs of `batch` samples), divided by that batch.
std::int64_t activation_bytes_per_sample(const Graph& graph, std::int64_t batch);

struct MemoryPlan {
    std::int64_t bytes_per_sample = 0;    // activation_bytes_per_sample
    std::int64_t budget_bytes = 0;        // CalibOptions::memory_mb, or the default
    std::int64_t statistics_batch = 0;    // executor batch while collecting statistics
    std::int64_t search_samples = 0;      // the search slice
    std::vector<std::string> notes;       // what the budget reduced, in words a user can act on
};

// The largest statistics batch (at most options.batch, per worker) and
// search slice (at most options.search_samples and samples_used) whose
// activations fit the budget, in whole batches of a fixed-batch model
// (fixed_batch > 0: never below one batch).
MemoryPlan plan_memory(std::int64_t bytes_per_sample, const CalibOptions& options, int workers,
                       std::int64_t fixed_batch, std::int64_t samples_used);

}  // namespace bitnpu::calib
