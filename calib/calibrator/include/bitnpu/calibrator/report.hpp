// Human and machine-readable calibration reports.
#pragma once

#include <optional>
#include <string>

#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/evaluate.hpp"

namespace bitnpu::calib {

// The per-layer table calib prints: layer, op, engine, precision, policy,
// output scale, ideal multiplier m, realized m', SQNR dB (every layer
// quantized: the accumulated error), alone dB (only this layer quantized:
// its own error); then the host summary.
std::string format_layer_table(const CalibResult& result);
// One line: how many nodes run on the host, their ops and their share of
// the model's MACs.
std::string format_host_summary(const CalibResult& result);
// Refining: one line per change the arch forced on the given quantization
// (CalibResult::forced_changes); "" when none.
std::string format_forced_changes(const CalibResult& result);
// One line: the share of the MACs at each precision.
std::string format_mac_fractions(const CalibResult& result);
// The mixed-precision search: the reference, the candidates of the budget
// sweep (measured SQNR, cycles, energy, low-bit MACs; * chosen, P Pareto).
std::string format_mixed_precision(const MixedPrecisionReport& report);
// One line per accuracy figure.
std::string format_top1(const Top1& top1);
// JSON report (--report): settings, timing, per-layer figures, host nodes
// ("host": nodes with op and MACs, total_macs), mac_fraction_by_precision,
// with --mixed-precision `budget`, `pareto` (every candidate) and
// `mixed_precision` (per layer options with sensitivity and cost), evaluation.
std::string report_json(const CalibResult& result, const std::optional<Top1>& top1);

}  // namespace bitnpu::calib
