// The fast whole-layer MAC kernel: im2col + exact GEMM (float, double) or
// XNOR/popcount where numerics.md "MAC step 4: accumulate" allows an exact
// sum, the ordered per-element loop elsewhere, and a step-table finish. It
// computes, for every output element, exactly what the per-element rule of
// mac_layer.hpp computes (docs/functional.md explains why), and is tested
// against the plain reference of sim/reference/mac.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

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
    std::int64_t by_table = 0;        // of the exact ones: finished by a step table lookup
    std::int64_t by_patch = 0;        // of exact_element: cleared by the patch sums (no bound GEMM)
};

struct MacOptions {
    int threads = 1;
    MacPath path = MacPath::automatic;
    MacStats* stats = nullptr;        // optional: where the elements went
};

// Per-channel step tables of a prepared layer (detail/mac_step_table.hpp).
struct MacStepTableCache;

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
    std::vector<std::int64_t> channel_max_abs_weight;   // per output channel: max_k |w - z_w|
    std::vector<std::uint64_t> sq_weight_sum;           // per output channel: sum_k (w - z_w)^2
    std::int64_t max_abs_weight = 0;          // max |w - z_w|
    // Per-channel step tables, built once a channel has finished enough
    // outputs and kept for later runs (thread-safe; copies share it).
    std::shared_ptr<MacStepTableCache> step_tables;
};
PreparedMacLayer prepare_mac_layer(const MacLayer& layer);

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
    // Per output channel, for element_bound channels: an element whose
    // patch sums S1 = sum_k |x_k - z_x| and S2 = sum_k (x_k - z_x)^2 satisfy
    // S1 <= abs_limit or S2 <= sq_limit cannot leave the accumulator's range
    // (max|w| S1 and, by Cauchy-Schwarz, sqrt(sum w^2 S2) bound
    // sum_k |p_k|; the limits are (A - |b_q|) / max|w| and
    // (A - |b_q|)^2 / sum w^2, rounded down; -1 where nothing clears).
    std::vector<std::int64_t> abs_limit, sq_limit;
};
MacPlan plan_mac(const PreparedMacLayer& prepared, const QTensor& x, MacPath requested = MacPath::automatic);
MacPlan plan_mac(const MacLayer& layer, const QTensor& x, MacPath requested = MacPath::automatic);

QTensor run_mac_layer(const PreparedMacLayer& prepared, const QTensor& x, const MacOptions& options = {});
// Prepares the layer, then runs it (prepare once to run a layer many times).
QTensor run_mac_layer(const MacLayer& layer, const QTensor& x, const MacOptions& options = {});

}  // namespace bitnpu::sim
