// Reference Add / Sub (sim/reference/add_sub.hpp), from numerics.md "Add and Sub".
#include "bitnpu/sim/reference/add_sub.hpp"

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"
#include "broadcast.hpp"

namespace bitnpu::sim::reference {

QTensor add(const AddLayer& layer, const QTensor& a, const QTensor& b) {
    // Parameters.
    const std::int64_t a_zero_point = layer.a_zero_point, b_zero_point = layer.b_zero_point;
    const std::int64_t a_multiplier = layer.a_multiplier, b_multiplier = layer.b_multiplier;
    const int shift = layer.shift;
    const arch::RoundingMode rounding = layer.rounding;
    const AccumulatorRule& accumulator = layer.accumulator;
    const std::int64_t output_zero_point = layer.output_zero_point;
    const std::int64_t clamp_lo = layer.clamp_lo, clamp_hi = layer.clamp_hi;

    // Shapes.
    check(element_count(a.shape) == a.size() && element_count(b.shape) == b.size(),
          "Add operand values do not match their shapes");
    const Broadcast bc = broadcast(a.shape, b.shape);
    QTensor output(bc.shape, per_tensor(layer.output_type, 1.0f, output_zero_point));

    for (std::int64_t i = 0; i < output.size(); ++i) {
        const std::int64_t a_value = a.values[static_cast<std::size_t>(bc.a[static_cast<std::size_t>(i)])];
        const std::int64_t b_value = b.values[static_cast<std::size_t>(bc.b[static_cast<std::size_t>(i)])];
        if (layer.fp32) {   // an fp32 vector unit: the zero points are in the unit's offset
            const std::int64_t y = layer.fp32_swapped ? fp32_vector::add(b_value, a_value, *layer.fp32)
                                                      : fp32_vector::add(a_value, b_value, *layer.fp32);
            output.values[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(clamp(y, clamp_lo, clamp_hi));
            continue;
        }
        // Each input scaled by its multiplier: M (x - z), exact.
        const std::int64_t term_a = product(a_multiplier, a_value, a_zero_point);
        const std::int64_t term_b = product(b_multiplier, b_value, b_zero_point);
        // Two accumulation steps at accumulator width (Sub adds the negated term).
        std::int64_t acc = accumulate(0, term_a, accumulator);
        acc = accumulate(acc, layer.subtract ? -term_b : term_b, accumulator);
        // One shared shift (a negative one is a left shift saturated to the accumulator width).
        const auto y = static_cast<std::int64_t>(round_shift(acc, shift, rounding, accumulator.bits));
        output.values[static_cast<std::size_t>(i)] =
            static_cast<std::int32_t>(add_zero_point_and_clamp(y, output_zero_point, clamp_lo, clamp_hi));
    }
    return output;
}

}  // namespace bitnpu::sim::reference
