// Activation functions shared by the activation kernels and by the
// fused-activation attributes on Conv/Gemm/MatMul (graph.hpp `fused::`).
#pragma once

#include <cmath>
#include <cstdint>

#include "bitnpu/fp32/kernel.hpp"

namespace bitnpu::calib::ops {

inline float relu_value(float v) { return v > 0.0f ? v : 0.0f; }
inline float leaky_relu_value(float v, float alpha) { return v >= 0.0f ? v : v * alpha; }
// std::min/max order chosen so a NaN input stays NaN (as numpy.clip does).
inline float clip_value(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The activation a fuse_activation pass attached to a node (graph.hpp
// `fused::`), read from its attributes once so kernels can apply it while the
// output is still in cache instead of in a separate pass.
struct FusedActivation {
    enum class Kind { none, relu, clip, leaky_relu };
    Kind kind = Kind::none;
    float lo = 0.0f, hi = 0.0f;  // Clip
    float alpha = 0.0f;          // LeakyRelu
};

// Fails (naming the node) on an unknown activation.
FusedActivation fused_activation(const KernelContext& ctx);

// y[i] = act(y[i] + bias) for 0 <= i < n; bias == nullptr adds nothing (not
// even 0.0f, which would turn -0.0f into +0.0f).
void add_bias_and_activate(float* y, std::int64_t n, const float* bias, const FusedActivation& act);

// Applies the activation a fuse_activation pass attached to this node, if any.
void apply_fused_activation(const KernelContext& ctx, Tensor& y);

}  // namespace bitnpu::calib::ops
