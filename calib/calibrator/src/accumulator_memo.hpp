// The accumulators of the MAC layer being chosen, kept between the search's
// requests (private to the calibrator). Choosing a layer asks for them up to
// three times (bias correction judged before and after, then the output
// candidates), most often for the same weights and bias, and each costs the
// layer's convolution on the slice.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "bitnpu/sim/functional/mac_accumulators.hpp"
#include "bitnpu/sim/functional/mac_fast.hpp"

namespace bitnpu::calib {

class AccumulatorMemo {
public:
    using Accumulators = sim::MacAccumulators<std::int32_t>;

    // layer's accumulators on input (node `node` of the graph): the kept ones
    // when they are the same (same_accumulation), the kept ones shifted by
    // the bias change when that is exact (bias_shift_is_exact), else computed
    // (sim::mac_accumulators) and kept. Shared, not copied (IS-Net's are a
    // gigabyte): the caller reads them, and moves from them only after
    // clear(), when it holds the last reference.
    std::shared_ptr<Accumulators> get(std::size_t node, const sim::QTensor& input, const sim::MacLayer& layer,
                                      const sim::MacOptions& options);
    // Drops the kept accumulators (the layer is chosen, or the caller is
    // about to consume them).
    void clear() { kept_.reset(); }

private:
    struct Kept {
        std::size_t node;
        const sim::QTensor* input;
        sim::MacLayer layer;
        std::shared_ptr<Accumulators> acc;
    };
    std::optional<Kept> kept_;
};

// Whether two lowerings of one layer give the same accumulators: steps 1-4
// read the input and weight types and zero-points, the weights, the bias and
// its stage, the geometry and the accumulator rule; the requantization
// registers and the output clamp come after.
bool same_accumulation(const sim::MacLayer& a, const sim::MacLayer& b);

// Whether b's accumulators are a's plus the change of bias, channel by
// channel (sim::add_bias_change): the layers differ only in their bias and no
// input can make either accumulator wrap or saturate (running_sum_range with
// the bias at its stage), so both accumulate exactly: acc = sum of products
// + b. Binary weights are left out (can_overflow's "never" for them is a
// policy, not a bound).
bool bias_shift_is_exact(const sim::MacLayer& a, const sim::MacLayer& b);

}  // namespace bitnpu::calib
