// Every op kernel of the FP32 executor, one function per ONNX op, declared
// from the op table (graph/ops.def, which also maps op names to them).
// Names follow the op names in snake_case; they live in namespace ops, so
// std::abs and friends are always called qualified.
#pragma once

#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

// One declaration per op table entry (graph/ops.def).
#define BITNPU_OP(domain, op_type, kernel) std::vector<Tensor> kernel(const KernelContext& ctx);
#include "bitnpu/graph/ops.def"
#undef BITNPU_OP

// Looks up the kernel for an op; nullptr when unsupported.
Kernel find_kernel(const std::string& op_type, const std::string& domain);

}  // namespace bitnpu::calib::ops
