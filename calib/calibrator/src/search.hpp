// The per-layer scale search (private to the calibrator).
#pragma once

#include <map>
#include <string>

#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/sim/functional/mac_accumulators.hpp"

namespace bitnpu::calib {

struct SearchResult {
    ActivationQuant quant;                        // per root tensor
    std::map<std::string, std::string> policy;    // per root tensor: the policy that won
    std::map<std::string, double> tensor_sqnr;    // per quantized tensor, on the slice
    // Per output of an engine layer: its SQNR with only that layer quantized
    // (its FP32 inputs quantized with their chosen parameters), beside
    // tensor_sqnr's "accumulated" figure (every upstream layer quantized).
    std::map<std::string, double> isolated_sqnr;
    // Per MAC node: what its accumulator did on the slice with the chosen
    // quantization (accumulator_overflows: every slice sample, stepped
    // through only where an element's bound does not clear the accumulator).
    std::map<std::string, sim::OverflowCounts> accumulator;
};

// For every root tensor in topological order: candidate parameters from each
// policy (or the one asked for), each judged by running the producing node
// bit-accurately on the slice with the already-chosen upstream in place;
// the candidate with the highest output SQNR against FP32 wins (ties: the
// earlier policy in kAllPolicies order).
// lowering: the graph, arch and plan to search over; the search sets its
// bias corrections (CalibOptions::bias_correction), and its weight cache and
// corrections are reused by the caller's final lowering.
// slice: the graph inputs on the samples the search judges on.
SearchResult search_activation_quant(Lowering& lowering, const std::map<std::string, TensorStats>& stats,
                                     const Feed& slice, const CalibOptions& options);

// Candidate parameters of one tensor from one policy, within the constraints.
// How a tensor with constraints c derives its scale (mode, power of two).
ScaleOptions scale_options(const TensorConstraints& c);
QuantParams candidate_params(const TensorStats& stats, const Policy& policy, const TensorConstraints& c);
// The parameters of a given clipping range, of the type candidate_params
// would choose for these statistics.
QuantParams range_params(const TensorStats& stats, const ClipRange& range, const TensorConstraints& c);

// A constant operand is quantized like a weight: from its own values, over
// their whole range (max policy), so a scalar such as the 3 of x + 3 is held
// exactly (numerics.md "Constant operands"). UserError when it holds no
// finite value.
QuantParams constant_params(const Graph& graph, const std::string& name, const TensorConstraints& c);

// Given parameters (a CTable being refined, a QDQ model's) as the tensor's
// engines allow them: unchanged when they do; else the same real range
// [s (qmin - z), s (qmax - z)] re-derived with activation_params under the
// constraints (type offered, zero-point support, power-of-two scales,
// restricted range, per tensor). `why` (when given) receives what forced a
// change.
QuantParams conform_to_constraints(const QuantParams& given, const TensorConstraints& c,
                                   std::vector<std::string>* why = nullptr);

}  // namespace bitnpu::calib
