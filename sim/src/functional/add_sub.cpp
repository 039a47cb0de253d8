#include "bitnpu/sim/functional/add_sub.hpp"

#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"
#include "bitnpu/sim/functional/broadcast.hpp"

namespace bitnpu::sim {

std::int64_t add_output_element(const AddLayer& layer, std::int64_t a, std::int64_t b) {
    if (layer.fp32) {
        const std::int64_t y = layer.fp32_swapped ? fp32_vector::add(b, a, *layer.fp32) : fp32_vector::add(a, b, *layer.fp32);
        return clamp(y, layer.clamp_lo, layer.clamp_hi);
    }
    const std::int64_t term_a = (a - layer.a_zero_point) * layer.a_multiplier;
    const std::int64_t term_b = (b - layer.b_zero_point) * layer.b_multiplier;
    std::int64_t acc = accumulate(0, term_a, layer.accumulator);
    acc = accumulate(acc, layer.subtract ? -term_b : term_b, layer.accumulator);
    const auto y = static_cast<std::int64_t>(
        round_shift(acc, layer.shift, layer.rounding, layer.accumulator.bits));
    return add_zero_point_and_clamp(y, layer.output_zero_point, layer.clamp_lo, layer.clamp_hi);
}

QTensor run_add_layer(const AddLayer& layer, const QTensor& a, const QTensor& b) {
    return map_broadcast_pairs(a, b, per_tensor(layer.output_type, 1.0f, layer.output_zero_point),
                               [&](std::int64_t x, std::int64_t z) { return add_output_element(layer, x, z); });
}

}  // namespace bitnpu::sim
