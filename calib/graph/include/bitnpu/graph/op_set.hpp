// The ops bitnpu's graph IR accepts: the op table (ops.def) by name. The
// ONNX importer rejects any other op; the FP32 executor has a kernel for
// each (a test checks both directions).
#pragma once

#include <string>
#include <vector>

namespace bitnpu::calib {

// Every op as "Op" (default domain) or "domain.Op", sorted by (domain, op).
std::vector<std::string> supported_ops();
// domain "" and "ai.onnx" are ONNX's default domain.
bool is_supported_op(const std::string& op_type, const std::string& domain = "");

}  // namespace bitnpu::calib
