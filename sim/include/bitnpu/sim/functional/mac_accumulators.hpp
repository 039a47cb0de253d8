// A MAC layer split at its accumulator, for a calibrator that scores many
// output quantizations of one layer: the accumulators (steps 1-4 of
// numerics.md "The MAC datapath") do not depend on the output quantization,
// so they are computed once (mac_accumulators), and each candidate's
// registers, zero-point and clamp finish them (AccumulatorFinisher, steps 5-6).
// finish(mac_accumulators(layer, x)) has the bits of run_mac_layer(layer, x).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bitnpu/sim/functional/mac_fast.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

// The accumulator of every output element, in the layout of the layer's
// output (run_mac_layer's): conv [N, C_out, OH, OW], gemm [..., N_out].
template <class T>
struct MacAccumulators {
    Shape shape;              // the layer's output shape
    std::vector<T> values;
};

// Steps 1-4 of every output element of layer on x: the products, the bias at
// its stage and the accumulator's overflow rule (wrap or ordered saturation),
// before requantization; the value mac_accumulate gives per element. Computed
// by the fast kernel (the same engines and safety rules as run_mac_layer;
// MacOptions::stats counts the elements, by_table stays 0). T is std::int64_t
// (any accumulator) or std::int32_t (accumulators of at most 32 bits;
// std::invalid_argument otherwise). UserError for a bad layer or input.
template <class T>
MacAccumulators<T> mac_accumulators(const MacLayer& layer, const QTensor& x, const MacOptions& options = {});
template <class T>
MacAccumulators<T> mac_accumulators(const PreparedMacLayer& prepared, const QTensor& x,
                                    const MacOptions& options = {});

// What the accumulator's overflow rule does on x: the counts that
// reference::accumulator_stats gives (every element accumulates K products
// and its bias, K + 1 steps; a step overflows when its result leaves
// [acc_min, acc_max] and is then wrapped or saturated), exactly, at the cost
// of one GEMM of |w - z_w| and |x - z_x|: an element whose bound
// sum_k |p_k| + |b_q| fits the accumulator cannot leave its range at any
// step (numerics.md "MAC step 4: accumulate"), so only the others are
// stepped through in the canonical k order. UserError for a bad layer or
// input.
struct OverflowCounts {
    std::int64_t outputs = 0;              // output elements accumulated
    std::int64_t steps = 0;                // accumulation steps (products and the bias)
    std::int64_t overflowed_steps = 0;     // steps whose result left the accumulator's range
    std::int64_t overflowed_outputs = 0;   // outputs with at least one such step
    std::int64_t stepped_outputs = 0;      // outputs whose bound did not fit (stepped through)
};
OverflowCounts count_overflows(const PreparedMacLayer& prepared, const QTensor& x, int threads = 1);
OverflowCounts count_overflows(const MacLayer& layer, const QTensor& x, int threads = 1);

// acc, the accumulators of layer `from`, becomes those of layer `to`, which
// differs from it only in its bias: acc += to.bias[c] - from.bias[c] in
// channel c. Exact only when neither layer's accumulator can wrap or
// saturate on any input (then acc = sum of products + bias, whatever the
// bias stage); the caller checks that (the calibrator with running-sum
// bounds). std::invalid_argument when the bias sizes do not match the
// layers' channels.
void add_bias_change(MacAccumulators<std::int32_t>& acc, const MacLayer& from, const MacLayer& to);

// Steps 5-6 of a MAC layer (requantize, add z_y, clamp, the int1 sign) for
// accumulators of the given output shape: out = mac_finish(layer, oc, acc),
// element by element, with the layer's registers, z_y, clamp and output type
// (its weights and input are not used). Built once per register set: a
// channel that finishes enough values for it to pay gets a step table built
// from the datapath rules (exact, see docs/functional.md), the others call
// mac_finish. The bits never depend on which.
//
// The accumulators are walked as runs of one channel: conv [N, C, H, W] has
// N * C runs of H * W values, run k of channel k % C; gemm [..., C] has one
// run per value, run k of channel k % C.
class AccumulatorFinisher {
public:
    // threads: for building the tables (one per channel).
    AccumulatorFinisher(const MacLayer& layer, const Shape& shape, int threads = 1);

    const Shape& shape() const;
    std::int64_t runs() const;
    std::int64_t run_length() const;
    std::int64_t channels() const;
    // How many channels are finished by a step table (for tests and reports).
    std::int64_t tabled_channels() const;

    // Finishes run k: acc and out point at its run_length() values; out may
    // be acc (finished in place).
    void finish_run(std::int64_t k, const std::int32_t* acc, std::int32_t* out) const;
    void finish_run(std::int64_t k, const std::int64_t* acc, std::int32_t* out) const;
    // Finishes `count` consecutive values of run k (count <= run_length()):
    // acc and out point at the first of them. The values of finish_run.
    void finish_part(std::int64_t k, const std::int32_t* acc, std::int32_t* out, std::int64_t count) const;
    // Every run, in parallel over runs: out[i] for acc[i], i < element_count(shape()).
    void finish(const std::int32_t* acc, std::int32_t* out, int threads = 1) const;
    void finish(const std::int64_t* acc, std::int32_t* out, int threads = 1) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

// The layer's output from its accumulators (the tensor run_mac_layer gives:
// quantization per_tensor(output_type, 1, z_y)), finished in place.
QTensor finish_accumulators(const MacLayer& layer, MacAccumulators<std::int32_t> acc, int threads = 1);

}  // namespace bitnpu::sim
