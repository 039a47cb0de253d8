// Human and machine-readable calibration reports.
#pragma once

#include <optional>
#include <string>

#include "bitnpu/calibrator/calibrator.hpp"
#include "bitnpu/calibrator/evaluate.hpp"

namespace bitnpu::calib {

// The per-layer table calib prints: layer, op, engine, precision, policy,
// output scale, ideal multiplier m, realized m', SQNR dB.
std::string format_layer_table(const CalibResult& result);
// One line per accuracy figure.
std::string format_top1(const Top1& top1);
// JSON report (--report): settings, timing, per-layer figures, evaluation.
std::string report_json(const CalibResult& result, const std::optional<Top1>& top1);

}  // namespace bitnpu::calib
