// The calibrator: FP32 statistics over the calibration set, candidate scales
// from every policy, a per-layer search judged by the bit-accurate
// simulator (in topological order, with the already-quantized upstream in
// place), and the resulting CTable. docs/calibrator.md walks through it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/graph.hpp"
#include "bitnpu/compile/lowering.hpp"
#include "bitnpu/compile/program.hpp"
#include "bitnpu/compile/placement.hpp"
#include "bitnpu/quant/policies.hpp"
#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/calibrator/mixed_precision.hpp"
#include "bitnpu/calibrator/samples.hpp"

namespace bitnpu::calib {

// Accumulator-aware weights for MAC layers whose accumulator some input can
// overflow with the weights as normally quantized (docs/calibrator.md
// "Accumulator-aware calibration"): `bound` gives every such layer the
// weight scales no input can overflow (numerics.md "Accumulator-aware weight
// bound"); `auto` tries both for each such layer and keeps the one with the
// higher output SQNR on the search slice, simulated with the arch's wrap or
// saturate; `off` leaves the weights alone. Layers that cannot overflow are
// the same in every mode.
enum class AccumulatorAware : std::uint8_t { automatic, bound, off };
// "auto" | "bound" | "off" (UserError otherwise), and back.
AccumulatorAware parse_accumulator_aware(const std::string& name);
std::string accumulator_aware_name(AccumulatorAware mode);

struct CalibOptions {
    // The policy for every tensor; empty ("auto"): each layer tries every
    // policy (kAllPolicies) and the bit-accurate simulator picks.
    std::optional<PolicyKind> policy;
    PolicyOptions policy_options;
    std::int64_t samples = 500;          // calibration samples to use
    bool samples_required = false;       // true: fewer available samples is an error
    std::int64_t batch = 64;             // executor batch while collecting statistics
    std::int64_t search_samples = 16;    // the slice the search and SQNR figures use (on M-LSD 16 and 32 samples gave output SQNRs within 0.2 dB; the search time is linear in it)
    int threads = 0;                     // 0: all cores
    // Memory budget for the activations the statistics batch and the search
    // slice hold (docs/calibrator.md "Memory"); 0: two thirds of the physical memory,
    // at most 16 GiB. Where they would not fit, the batch and slice shrink.
    std::int64_t memory_mb = 0;
    bool bias_correction = true;         // empirical bias correction of MAC layers (docs/calibrator.md)
    bool adaround = false;               // learned weight rounding of MAC layers (docs/calibrator.md "AdaRound")
    AccumulatorAware accumulator_aware = AccumulatorAware::automatic;
    const CTable* start_from = nullptr;  // refine: keep its tensors, calibrate the rest
    // FP32 statistics kept across calls (archsweep: every point calibrates the
    // same model on the same data with the same policy): tensors already in
    // the map are not observed again; new ones are added. The caller keys it
    // by model, data, sample count and policy. The FP32 values do not depend
    // on the arch, so the statistics of a tensor are the same at every point.
    std::map<std::string, TensorStats>* statistics_cache = nullptr;
    // Mixed precision (mixed_precision.hpp): each MAC layer's engine and
    // precision chosen under this budget before the scale search; unset: the
    // YAML's mapping and each engine's first precision.
    std::optional<Budget> mixed_precision;
    std::function<void(const std::string& stage, std::int64_t done, std::int64_t total)> progress;
};

// "auto" -> empty, otherwise parse_policy(name) (UserError for an unknown name).
std::optional<PolicyKind> parse_calib_policy(const std::string& name);
// "auto" or the policy's canonical name.
std::string calib_policy_name(const std::optional<PolicyKind>& policy);

struct LayerSummary {
    std::string node, op, engine, precision, policy;
    double scale = 0.0;                  // output scale
    double ideal = 0.0, realized = 0.0;  // m and m' of the first channel (0 when none)
    double max_rel_error = 0.0;          // max |m' - m| / m over channels
    std::optional<double> sqnr_db;       // output vs FP32 on the search slice, every layer quantized
    std::optional<double> isolated_sqnr_db;   // the same with only this layer quantized
    // MAC layers: the accumulations (output elements) on the search slice,
    // with every upstream layer quantized, and how many of them wrapped or
    // saturated at some step (sim::count_overflows, every slice sample; 0
    // without running it where no input can overflow the layer).
    std::optional<std::int64_t> accumulations, overflowed_accumulations, overflowed_steps;
    // Accumulator-aware weight scales, the mean over the layer's scales of
    // the fraction of the way to the bound: 1 bounded (no input can
    // overflow), 0 as clipped (Lowering::set_accumulator_bound).
    double accumulator_bound = 0.0;
};

// A node the host runs in FP32, with its multiply-accumulates per sample
// (Conv, ConvTranspose, Gemm, MatMul; 0 for the others).
struct HostNode {
    std::string node, op;
    std::int64_t macs = 0;
};

// Refining given quantization (CalibOptions::start_from: a CTable, or a QDQ
// model's scales): a place where the arch could not take a value as given.
struct ForcedChange {
    std::string item;                       // tensor name, or "node 'n' weights"
    std::string why;                        // "zero-point not supported; power-of-two scale", ...
    std::string before, after;              // the parameters, as text
    // Quantization SQNR (dB) of the tensor on the calibration data (every
    // value the statistics saw; weights: all their values), before and after.
    std::optional<double> sqnr_before_db, sqnr_after_db;
};

struct CalibResult {
    CTable table;
    std::vector<LayerSummary> layers;
    std::vector<HostNode> host_nodes;     // what ran on the host, in graph order
    std::int64_t total_macs = 0;          // of the whole graph, per sample
    QuantizationPlan plan;
    std::int64_t samples_used = 0;
    std::int64_t search_samples_used = 0;   // the slice the search and the per-layer figures use
    std::int64_t statistics_batch = 0;      // the executor batch of the statistics phase
    std::int64_t activation_bytes_per_sample = 0;   // live FP32 activations of one run, per sample
    std::int64_t memory_budget_bytes = 0;
    // What the hardware cannot represent as asked (e.g. saturated bias
    // registers), in words a user can act on; also in the JSON report.
    std::vector<std::string> warnings;
    std::vector<ForcedChange> forced_changes;   // refining only
    // The share of the model's MACs (MAC layers and host Conv/Gemm/MatMul)
    // per precision: "int8xint8", "int4xint8", ..., "host" (FP32).
    std::map<std::string, double> mac_fraction_by_precision;
    std::optional<MixedPrecisionReport> mixed_precision;   // with CalibOptions::mixed_precision
    double seconds_statistics = 0.0, seconds_search = 0.0, seconds_total = 0.0;
};

// Multiply-accumulates of one sample of a Conv, ConvTranspose, Gemm or
// MatMul (from the inferred shapes; 0 for other ops or unknown shapes).
std::int64_t node_macs(const Graph& graph, const Node& node);

// graph: after run_standard_passes. Shapes are inferred here from the first
// sample. Throws UserError for bad data (empty, NaN/Inf, wrong shapes,
// too few samples) and for graphs the arch cannot run.
CalibResult calibrate(Graph& graph, const arch::ArchSpec& arch, const SampleSource& samples,
                      const CalibOptions& options);

}  // namespace bitnpu::calib
