// The calibrator: FP32 statistics over the calibration set, candidate scales
// from every policy, a per-layer search judged by the bit-accurate
// simulator (in topological order, with the already-quantized upstream in
// place), and the resulting CTable. docs/calibrator.md walks through it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/calib/ctable.hpp"
#include "bitnpu/calib/graph.hpp"
#include "bitnpu/calib/lowering.hpp"
#include "bitnpu/calib/placement.hpp"
#include "bitnpu/calib/policies.hpp"
#include "bitnpu/calib/samples.hpp"

namespace bitnpu::calib {

struct CalibOptions {
    std::string policy = "auto";         // "auto" or one of policy_names()
    PolicyOptions policy_options;
    std::int64_t samples = 500;          // calibration samples to use
    bool samples_required = false;       // true: fewer available samples is an error
    std::int64_t batch = 64;             // executor batch while collecting statistics
    std::int64_t search_samples = 64;    // the slice the search and SQNR figures use
    int threads = 0;                     // 0: all cores
    bool bias_correction = true;         // empirical bias correction of MAC layers (docs/calibrator.md)
    const CTable* start_from = nullptr;  // refine: keep its tensors, calibrate the rest
    std::function<void(const std::string& stage, std::int64_t done, std::int64_t total)> progress;
};

struct LayerSummary {
    std::string node, op, engine, precision, policy;
    double scale = 0.0;                  // output scale
    double ideal = 0.0, realized = 0.0;  // m and m' of the first channel (0 when none)
    double max_rel_error = 0.0;          // max |m' - m| / m over channels
    std::optional<double> sqnr_db;       // output vs FP32 on the search slice
};

struct CalibResult {
    CTable table;
    std::vector<LayerSummary> layers;
    QuantizationPlan plan;
    std::int64_t samples_used = 0;
    // What the hardware cannot represent as asked (e.g. saturated bias
    // registers), in words a user can act on; also in the JSON report.
    std::vector<std::string> warnings;
    double seconds_statistics = 0.0, seconds_search = 0.0, seconds_total = 0.0;
};

// graph: after run_standard_passes. Shapes are inferred here from the first
// sample. Throws UserError for bad data (empty, NaN/Inf, wrong shapes,
// too few samples) and for graphs the arch cannot run.
CalibResult calibrate(Graph& graph, const arch::ArchSpec& arch, const SampleSource& samples,
                      const CalibOptions& options);

// Rebuilds the activation quantization a CTable records for this graph.
ActivationQuant activation_quant_from(const CTable& table, const QuantizationPlan& plan);

// The bit-accurate program for a graph and a CTable (npusim, evaluation).
// Checks the CTable's model and arch hashes (UserError on mismatch).
struct Program {
    QuantizationPlan plan;
    sim::QuantGraph qgraph;
};
Program build_program(Graph& graph, const arch::ArchSpec& arch, const CTable& table, const Shape& input_shape);

}  // namespace bitnpu::calib
