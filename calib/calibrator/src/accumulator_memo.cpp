// The search's memo of a MAC layer's accumulators (accumulator_memo.hpp).
#include "accumulator_memo.hpp"

#include <algorithm>

#include "bitnpu/quant/accumulator_bound.hpp"

namespace bitnpu::calib {

std::shared_ptr<AccumulatorMemo::Accumulators> AccumulatorMemo::get(std::size_t node, const sim::QTensor& input,
                                                                    const sim::MacLayer& layer,
                                                                    const sim::MacOptions& options) {
    if (kept_ && kept_->node == node && kept_->input == &input) {
        if (same_accumulation(kept_->layer, layer)) return kept_->acc;
        if (bias_shift_is_exact(kept_->layer, layer)) {
            // Shifted in place unless a caller still reads the old values.
            if (kept_->acc.use_count() > 1) kept_->acc = std::make_shared<Accumulators>(*kept_->acc);
            sim::add_bias_change(*kept_->acc, kept_->layer, layer);
            kept_->layer = layer;
            return kept_->acc;
        }
    }
    kept_.reset();   // before computing: never two layers' accumulators at once
    auto acc = std::make_shared<Accumulators>(sim::mac_accumulators<std::int32_t>(layer, input, options));
    kept_ = Kept{node, &input, layer, acc};
    return acc;
}

bool same_accumulation(const sim::MacLayer& a, const sim::MacLayer& b) {
    const sim::ConvGeometry& ga = a.geometry;
    const sim::ConvGeometry& gb = b.geometry;
    return a.kind == b.kind && a.input_type == b.input_type && a.weight_type == b.weight_type &&
           a.input_zero_point == b.input_zero_point && a.weight_zero_point == b.weight_zero_point &&
           a.weight_shape == b.weight_shape && a.bias_stage == b.bias_stage && a.bias == b.bias &&
           a.accumulator.bits == b.accumulator.bits && a.accumulator.overflow == b.accumulator.overflow &&
           ga.stride_h == gb.stride_h && ga.stride_w == gb.stride_w && ga.pad_top == gb.pad_top &&
           ga.pad_left == gb.pad_left && ga.pad_bottom == gb.pad_bottom && ga.pad_right == gb.pad_right &&
           ga.dilation_h == gb.dilation_h && ga.dilation_w == gb.dilation_w && ga.groups == gb.groups &&
           a.weights == b.weights;
}

bool bias_shift_is_exact(const sim::MacLayer& a, const sim::MacLayer& b) {
    sim::MacLayer a_with_b_bias = a;
    a_with_b_bias.bias = b.bias;
    if (a.bias.size() != b.bias.size() || !same_accumulation(a_with_b_bias, b)) return false;
    if (a.weight_type == arch::ValueType::int1 || a.weight_type == arch::ValueType::uint1) return false;
    auto none = [](const std::vector<bool>& v) { return std::find(v.begin(), v.end(), true) == v.end(); };
    return none(overflowable_channels(a)) && none(overflowable_channels(b));
}

}  // namespace bitnpu::calib
