// A layer of a mac_array engine (Conv incl. grouped/depthwise, Gemm, MatMul)
// and the per-output-element steps of NUMERICS.md "The MAC datapath".
//
// The struct is plain data the calibrator fills in; every model that executes
// it (this functional model, the SystemC cycle model) calls the same
// per-element helpers below, so they agree bit for bit by construction.
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

// b_q = saturate(round_half_even(b / (s_w * s_x)), bias_bits) (NUMERICS.md step 3).
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
// NUMERICS.md steps 2-4 for output channel oc: the ordered accumulation of
// p_k = (w_k - z_w) * (x_k - z_x) with the bias at its stage.
std::int64_t mac_accumulate(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row);
// Steps 3-4 when the sum of products is known exactly and cannot overflow in
// any order (or the accumulator wraps): bias at its stage, then the rule.
// Wrap is modular, so one reduction of the exact total equals the ordered loop.
inline std::int64_t mac_accumulate_exact(const MacLayer& layer, std::int64_t oc, std::int64_t exact_sum) {
    const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(oc)];
    if (layer.bias_stage == arch::BiasStage::preload)
        return accumulate(accumulate(0, b, layer.accumulator), exact_sum, layer.accumulator);
    return accumulate(accumulate(0, exact_sum, layer.accumulator), b, layer.accumulator);
}
// The requant registers of output channel oc.
inline const RequantRegisters& mac_registers(const MacLayer& layer, std::int64_t oc) {
    return layer.requant.size() == 1 ? layer.requant[0] : layer.requant[static_cast<std::size_t>(oc)];
}
// Steps 5-6 with the channel's registers r: requantize, add z_y, clamp.
// Binary (int1) outputs have no zero: the sign, with sign(0) = +1.
inline std::int64_t mac_finish_with(const MacLayer& layer, const RequantRegisters& r, std::int64_t acc) {
    const std::int64_t y =
        add_zero_point_and_clamp(requantize(acc, r), layer.output_zero_point, layer.clamp_lo, layer.clamp_hi);
    return layer.output_type == arch::ValueType::int1 ? (y >= 0 ? 1 : -1) : y;
}
inline std::int64_t mac_finish(const MacLayer& layer, std::int64_t oc, std::int64_t acc) {
    return mac_finish_with(layer, mac_registers(layer, oc), acc);
}
// All steps for one output element.
std::int64_t mac_output_element(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row);

// ---- Whole-layer execution ----

enum class MacPath : std::uint8_t {
    automatic,      // fastest exact path per output channel
    ordered,        // the per-element ordered loop for every channel
    exact_float,    // exact sums by float GEMM (channels that cannot overflow)
    exact_double,   // exact sums by double GEMM (channels that cannot overflow)
    xnor_popcount,  // exact sums by XNOR/popcount (int1 x int1 only)
};

struct MacOptions {
    int threads = 1;
    MacPath path = MacPath::automatic;
};

// Weight-side data derived once per layer (weights are constants): float and
// double copies of w - z_w for the GEMM paths, packed int1 bits, and the
// per-channel sum of |w - z_w| that bounds every partial sum. It points at
// the layer, which must outlive it.
struct PreparedMacLayer {
    const MacLayer* layer = nullptr;
    std::vector<float> weights_f;             // [C_out, K]
    std::vector<double> weights_d;
    std::vector<std::uint64_t> weight_bits;   // int1 x int1 layers: per channel, `words` each
    std::int64_t words = 0;
    std::vector<std::int64_t> tap_weight_sums;  // int1 conv: per channel and (kh, kw), the sum over c_in of w
    std::vector<std::uint64_t> abs_weight_sum;  // per output channel
    std::int64_t max_abs_weight = 0;          // max |w - z_w|
};
PreparedMacLayer prepare_mac_layer(const MacLayer& layer);

// How a layer will run on a given input: which channels may use an exact sum
// and how the K dimension is split so float/double partial sums stay exact.
struct MacPlan {
    MacPath engine = MacPath::ordered;    // engine for the exact channels
    std::vector<bool> exact_ok;           // per output channel
    std::int64_t max_abs_weight = 0;      // max |w - z_w|
    std::int64_t max_abs_input = 0;       // max |x - z_x| over the input (padding: 0)
    std::int64_t chunk = 0;               // K per float/double GEMM chunk
};
MacPlan plan_mac(const PreparedMacLayer& prepared, const QTensor& x, MacPath requested = MacPath::automatic);
MacPlan plan_mac(const MacLayer& layer, const QTensor& x, MacPath requested = MacPath::automatic);

QTensor run_mac_layer(const PreparedMacLayer& prepared, const QTensor& x, const MacOptions& options = {});
// Prepares the layer, then runs it (prepare once to run a layer many times).
QTensor run_mac_layer(const MacLayer& layer, const QTensor& x, const MacOptions& options = {});

}  // namespace bitnpu::sim
