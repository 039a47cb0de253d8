// A layer of a mac_array engine (Conv incl. grouped/depthwise, Gemm, MatMul)
// and the per-output-element steps of NUMERICS.md "The MAC datapath".
//
// The struct is plain data the calibrator fills in; every model that executes
// it (this functional model, the SystemC cycle model) calls the same
// per-element helpers below, so they agree bit for bit by construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

// ---- The finish as a step function (used by the whole-layer kernel) ----
//
// With a saturating accumulator, steps 3-6 of one channel map the exact sum
// s of its products to the output: y = h(s) = mac_finish_with(ch,
// mac_accumulate_exact(ch, s)). With a wrapping one the table takes the
// accumulator value instead (wrap is not monotone): h(acc) = mac_finish_with(acc).
// Where every rule of the chain is non-decreasing (finish_is_monotone) h is a
// non-decreasing step function, described exactly by its thresholds
// T[i] = min{ x : h(x) >= base + i }: h(x) = base + i for the i with
// T[i] <= x < T[i+1]. The thresholds are found by evaluating h itself, i.e.
// by the datapath functions (no rule is restated), so a lookup gives the
// datapath's bits without its 128-bit arithmetic per output element.
struct MacStepTable {
    bool sum_domain = true;                // x = exact sum (saturate) or accumulator value (wrap)
    std::int64_t domain_min = 0, domain_max = 0;
    std::int64_t base = 0;                 // h(domain_min)
    std::int64_t levels = 0;               // h(domain_max) - base + 1
    // T[0] = domain_min, T[i] for level base + i (i < levels), T[levels] =
    // INT64_MAX (a sentinel above the domain, so T[i + 1] always exists).
    std::vector<std::int64_t> thresholds;
    double origin = 0.0, levels_per_unit = 0.0;   // first guess: i ~ (x - origin) * levels_per_unit
};
// True when h is non-decreasing on its domain: every rounding mode, saturation,
// clamp and the int1 sign are; the multiplier needs M >= 0, float32 a finite
// scale >= 0, gemmlowp M >= 0 and no int32 wrap in its left shift.
bool finish_is_monotone(const MacChannel& ch);
// Builds the table for channel ch; false when h is not monotone (or not
// shown to be), has more than max_levels levels, or the domain is too wide.
// Exact sums must lie in [-2^61, 2^61] (the caller checks K * max|p|).
bool build_step_table(const MacChannel& ch, std::int64_t max_levels, MacStepTable& table);
// Whether a table for channel ch is worth building to finish `outputs`
// elements (the rule the MAC kernel's table cache follows).
bool step_table_pays(const MacChannel& ch, std::int64_t outputs);
constexpr std::int64_t kStepTableSumLimit = std::int64_t{1} << 61;
// The first guess of the level index of x, in [0, levels - 1] (any guess is
// correct after step_lookup's search; a good one needs no search step).
inline std::int64_t step_guess(const MacStepTable& t, std::int64_t x) {
    double g = (static_cast<double>(x) - t.origin) * t.levels_per_unit;
    const double last = static_cast<double>(t.levels - 1);
    g = g < 0.0 ? 0.0 : g;
    g = g > last ? last : g;
    return static_cast<std::int64_t>(g);
}
// True when level index i is the one of x: T[i] <= x < T[i + 1].
inline bool step_matches(const MacStepTable& t, std::int64_t i, std::int64_t x) {
    const std::int64_t* T = t.thresholds.data();
    return T[i] <= x && x < T[i + 1];
}
// h(x) for x in the table's domain.
inline std::int64_t step_lookup(const MacStepTable& t, std::int64_t x) {
    const std::int64_t* T = t.thresholds.data();
    std::int64_t i = step_guess(t, x);
    while (x < T[i]) --i;          // stops at 0: T[0] = domain_min <= x
    while (x >= T[i + 1]) ++i;     // stops at levels - 1: T[levels] = INT64_MAX > x
    return t.base + i;
}

// step_lookup of x[0..n) into out[0..n) (out must not alias x). A first,
// branch-free pass takes every element's guess (it vectorizes, with gathers
// of T[i], T[i + 1]); only elements whose guess missed their interval are
// then searched.
template <class S>
void step_lookup_all(const MacStepTable& t, const S* x, std::int64_t n, std::int32_t* out) {
    std::int64_t missed = 0;
    for (std::int64_t p = 0; p < n; ++p) {
        const auto v = static_cast<std::int64_t>(x[p]);
        const std::int64_t i = step_guess(t, v);
        out[p] = static_cast<std::int32_t>(t.base + i);
        missed += !step_matches(t, i, v);
    }
    if (missed == 0) return;
    for (std::int64_t p = 0; p < n; ++p) {
        const auto v = static_cast<std::int64_t>(x[p]);
        if (!step_matches(t, out[p] - t.base, v)) out[p] = static_cast<std::int32_t>(step_lookup(t, v));
    }
}

// All steps for one output element.
std::int64_t mac_output_element(const MacLayer& layer, std::int64_t oc, const std::int32_t* x_row);

// ---- Whole-layer execution ----

// int1 x int1 with zero-points 0: the layers the XNOR/popcount engine runs.
inline bool is_binary_layer(const MacLayer& layer) {
    return layer.input_type == arch::ValueType::int1 && layer.weight_type == arch::ValueType::int1 &&
           layer.input_zero_point == 0 && layer.weight_zero_point == 0;
}

enum class MacPath : std::uint8_t {
    automatic,      // fastest exact engine (float GEMM, or double where a product exceeds 2^24)
    ordered,        // the per-element ordered loop for every element
    exact_float,    // exact sums by float GEMM (elements that cannot overflow)
    exact_double,   // exact sums by double GEMM (elements that cannot overflow)
    xnor_popcount,  // exact sums by XNOR/popcount (int1 x int1 only; channel bound only)
};

// Where the output elements of one run went (filled when MacOptions::stats
// is set; the counts do not depend on the thread count).
struct MacStats {
    std::int64_t exact_channel = 0;   // exact sum, proven for the whole channel (or wrap)
    std::int64_t exact_element = 0;   // exact sum, proven for this element alone
    std::int64_t ordered = 0;         // the ordered per-element loop
    std::int64_t by_table = 0;        // of the exact ones: finished by a MacStepTable lookup
};

struct MacOptions {
    int threads = 1;
    MacPath path = MacPath::automatic;
    MacStats* stats = nullptr;        // optional: where the elements went
};

// Step tables of a prepared layer, one slot per output channel. A slot is
// built once (call_once) and then only read; `channel` is what it was built
// for, so a layer whose registers changed after preparing is finished
// directly instead of by a stale table.
struct MacStepTableCache {
    struct Slot {
        std::once_flag once;
        std::atomic<int> state{0};   // 0 not built, 1 table ready, 2 no table (not monotone, too many levels)
        std::atomic<std::int64_t> direct{0};   // outputs finished without a table so far
        MacChannel channel;
        MacStepTable table;
    };
    std::unique_ptr<Slot[]> slots;
    explicit MacStepTableCache(std::int64_t channels) : slots(new Slot[static_cast<std::size_t>(channels)]) {}
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
    // Per-channel MacStepTables, built once a channel has finished enough
    // outputs (cached_step_table) and kept for later runs (thread-safe;
    // copies share it).
    std::shared_ptr<MacStepTableCache> step_tables;
};
PreparedMacLayer prepare_mac_layer(const MacLayer& layer);
// Channel oc's step table (ch = mac_channel(layer, oc)), or nullptr for the
// direct finish. The table is built once the channel has finished enough
// outputs (`outputs` now, plus earlier runs of this prepared layer) to pay for
// it, about two evaluations of the finish per level; which path runs never
// changes the bits, only the time. The caller checks that its exact sums lie
// within +-kStepTableSumLimit.
const MacStepTable* cached_step_table(const PreparedMacLayer& prepared, std::int64_t oc, const MacChannel& ch,
                                      std::int64_t outputs);

// How a layer will run on a given input: which channels may use an exact sum
// and how the K dimension is split so float/double partial sums stay exact.
struct MacPlan {
    MacPath engine = MacPath::ordered;    // engine for the exact channels
    std::vector<bool> exact_ok;           // per output channel: every element may use the exact sum
    // Per output channel: the channel bound failed (saturating accumulator),
    // so each element's own bound sum_k |p_k| + |b_q| decides (exact sum, or
    // the ordered loop for the few elements that could saturate).
    std::vector<bool> element_bound;
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
