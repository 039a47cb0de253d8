// A layer of a mac_array engine (Conv incl. grouped/depthwise, Gemm, MatMul)
// and the per-output-element steps of numerics.md "The MAC datapath".
//
// The struct is plain data the calibrator fills in; every model that executes
// it (this functional model, the SystemC cycle model) calls the same
// per-element helpers below, so they agree bit for bit by construction.
// Whole-layer execution is in mac_fast.hpp (the fast kernel) and
// sim/reference/mac.hpp (the plain reference); the raw accumulators and their
// finish, for a calibrator, in mac_accumulators.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

enum class MacKind : std::uint8_t {
    conv,   // input [N, C_in, H, W], weights [C_out, C_in/groups, kH, kW]
    gemm,   // input [..., K] (rows = all leading dims), weights [N_out, K] (transB applied)
};

// Conv geometry (ONNX attributes). The kernel size comes from the weights.
struct ConvGeometry {
    int stride_h = 1, stride_w = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int dilation_h = 1, dilation_w = 1;
    int groups = 1;
};

struct MacLayer {
    MacKind kind = MacKind::conv;
    arch::ValueType input_type = arch::ValueType::int8;
    arch::ValueType weight_type = arch::ValueType::int8;
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t input_zero_point = 0;    // z_x (padding reads this value: its product is 0)
    std::int64_t weight_zero_point = 0;   // z_w, only on engines with weight zero-points
    Shape weight_shape;                   // conv: [C_out, C_in/groups, kH, kW]; gemm: [N_out, K]
    std::vector<std::int32_t> weights;    // decoded values, ONNX layout, row-major
    std::vector<std::int64_t> bias;       // b_q per output channel, empty = no bias
    ConvGeometry geometry;                // conv only
    AccumulatorRule accumulator;
    arch::BiasStage bias_stage = arch::BiasStage::preload;
    std::vector<RequantRegisters> requant;  // one (per tensor) or one per output channel
    std::int64_t output_zero_point = 0;   // z_y
    std::int64_t clamp_lo = -128;         // output range narrowed by a fused ReLU/Clip
    std::int64_t clamp_hi = 127;
};

// b_q = saturate(round_half_even(b / (s_w * s_x)), bias_bits) (numerics.md "MAC step 3: bias").
std::int64_t quantize_bias(double b, double s_w, double s_x, int bias_bits);

std::int64_t output_channels(const MacLayer& layer);
// K: the length of one dot product (C_in/groups * kH * kW, or Gemm's K).
std::int64_t reduction_length(const MacLayer& layer);
// Output shape for an input shape; throws UserError if they do not fit.
Shape mac_output_shape(const MacLayer& layer, const Shape& input_shape);
// Checks the parameters are consistent (sizes, register count, groups).
void validate(const MacLayer& layer);

// ---- Per-output-element steps (shared with the cycle model) ----

// The K input values one output element reads, in the canonical k order
// ((c_in, kh, kw) with kw fastest, within the group), raw x_q values; padded
// positions read z_x. Conv: batch n, group g, output pixel (out_y, out_x).
// Gemm: n is the input row; g, out_y, out_x are unused.
void im2col_row(const MacLayer& layer, const QTensor& x, std::int64_t n, std::int64_t g,
                std::int64_t out_y, std::int64_t out_x, std::int32_t* row);
// The group output channel oc belongs to.
std::int64_t group_of(const MacLayer& layer, std::int64_t oc);
// Steps 2-4 of numerics.md "The MAC datapath" for output channel oc: the
// ordered accumulation of p_k = (w_k - z_w) * (x_k - z_x) with the bias at its
// stage.
std::int64_t mac_accumulate(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row);
// The per-channel constants of steps 3-6, read once per channel (the
// whole-layer kernel hoists them out of its pixel loop; the layer-based
// helpers below read them per call). Every value is a copy of the layer's.
struct MacChannel {
    std::int64_t bias = 0;                // b_q (0 without bias)
    AccumulatorRule accumulator;
    arch::BiasStage bias_stage = arch::BiasStage::preload;
    RequantRegisters registers;
    std::int64_t output_zero_point = 0, clamp_lo = 0, clamp_hi = 0;
    bool binary_output = false;           // int1 output: the sign, sign(0) = +1
};
// The requant registers of output channel oc.
inline const RequantRegisters& mac_registers(const MacLayer& layer, std::int64_t oc) {
    return layer.requant.size() == 1 ? layer.requant[0] : layer.requant[static_cast<std::size_t>(oc)];
}
inline MacChannel mac_channel(const MacLayer& layer, std::int64_t oc) {
    MacChannel ch;
    ch.bias = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(oc)];
    ch.accumulator = layer.accumulator;
    ch.bias_stage = layer.bias_stage;
    ch.registers = mac_registers(layer, oc);
    ch.output_zero_point = layer.output_zero_point;
    ch.clamp_lo = layer.clamp_lo;
    ch.clamp_hi = layer.clamp_hi;
    ch.binary_output = layer.output_type == arch::ValueType::int1;
    return ch;
}
// Steps 3-4 when the sum of products is known exactly and cannot overflow in
// any order (or the accumulator wraps): bias at its stage, then the rule.
// Wrap is modular, so one reduction of the exact total equals the ordered loop.
inline std::int64_t mac_accumulate_exact(const MacChannel& ch, std::int64_t exact_sum) {
    if (ch.bias_stage == arch::BiasStage::preload)
        return accumulate(accumulate(0, ch.bias, ch.accumulator), exact_sum, ch.accumulator);
    return accumulate(accumulate(0, exact_sum, ch.accumulator), ch.bias, ch.accumulator);
}
inline std::int64_t mac_accumulate_exact(const MacLayer& layer, std::int64_t oc, std::int64_t exact_sum) {
    return mac_accumulate_exact(mac_channel(layer, oc), exact_sum);
}
// Steps 5-6 with registers r: requantize, add z_y, clamp. Binary (int1)
// outputs have no zero: the sign, with sign(0) = +1.
inline std::int64_t mac_finish_with(const MacChannel& ch, const RequantRegisters& r, std::int64_t acc) {
    const std::int64_t y = add_zero_point_and_clamp(requantize(acc, r), ch.output_zero_point, ch.clamp_lo, ch.clamp_hi);
    return ch.binary_output ? (y >= 0 ? 1 : -1) : y;
}
inline std::int64_t mac_finish_with(const MacLayer& layer, const RequantRegisters& r, std::int64_t acc) {
    MacChannel ch;
    ch.output_zero_point = layer.output_zero_point;
    ch.clamp_lo = layer.clamp_lo;
    ch.clamp_hi = layer.clamp_hi;
    ch.binary_output = layer.output_type == arch::ValueType::int1;
    return mac_finish_with(ch, r, acc);
}
inline std::int64_t mac_finish(const MacLayer& layer, std::int64_t oc, std::int64_t acc) {
    return mac_finish_with(layer, mac_registers(layer, oc), acc);
}

// All steps for one output element.
std::int64_t mac_output_element(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row);

}  // namespace bitnpu::sim
