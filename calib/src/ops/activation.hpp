// Activation functions shared by the activation kernels and by the
// fused-activation attributes on Conv/Gemm/MatMul (graph.hpp `fused::`).
#pragma once

#include <cmath>

#include "kernel.hpp"

namespace bitnpu::calib::ops {

inline float relu(float v) { return v > 0.0f ? v : 0.0f; }
inline float leaky_relu(float v, float alpha) { return v >= 0.0f ? v : v * alpha; }
// std::min/max order chosen so a NaN input stays NaN (as numpy.clip does).
inline float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Applies the activation a fuse_activation pass attached to this node, if any.
void apply_fused_activation(const KernelContext& ctx, Tensor& y);

}  // namespace bitnpu::calib::ops
