// Task accuracy of the FP32 model and of its bit-accurate simulation on a
// labelled set: top-1 of the first graph output, in batches.
#pragma once

#include <cstdint>
#include <functional>

#include "bitnpu/graph/graph.hpp"
#include "bitnpu/calibrator/samples.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::calib {

struct Top1 {
    std::int64_t samples = 0;
    std::int64_t fp32_correct = 0;
    std::int64_t sim_correct = 0;
    double fp32() const { return samples ? 100.0 * fp32_correct / samples : 0.0; }
    double sim() const { return samples ? 100.0 * sim_correct / samples : 0.0; }
    double drop_pp() const { return fp32() - sim(); }  // percentage points lost
    double seconds_fp32 = 0.0, seconds_sim = 0.0;
};

// labels: integer class per sample (any integer dtype, shape [N] or [N, 1]).
// The first graph output must be [N, classes]. UserError when the labels and
// samples disagree in count or a label is out of range.
Top1 evaluate_top1(const Graph& graph, const sim::QuantGraph& qgraph, const SampleSource& samples,
                   const Tensor& labels, int threads, std::int64_t batch,
                   const std::function<void(std::int64_t done, std::int64_t total)>& progress = {});

}  // namespace bitnpu::calib
