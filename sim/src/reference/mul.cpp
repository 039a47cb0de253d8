// Reference Mul (sim/reference/mul.hpp), from numerics.md "Mul".
#include "bitnpu/sim/reference/mul.hpp"

#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "broadcast.hpp"

namespace bitnpu::sim::reference {

QTensor mul(const MulLayer& layer, const QTensor& a, const QTensor& b) {
    // Parameters.
    const std::int64_t a_zero_point = layer.a_zero_point, b_zero_point = layer.b_zero_point;
    const AccumulatorRule& accumulator = layer.accumulator;
    const RequantRegisters& registers = layer.requant;
    const std::int64_t output_zero_point = layer.output_zero_point;
    const std::int64_t clamp_lo = layer.clamp_lo, clamp_hi = layer.clamp_hi;

    // Shapes.
    check(element_count(a.shape) == a.size() && element_count(b.shape) == b.size(),
          "Mul operand values do not match their shapes");
    const Broadcast bc = broadcast(a.shape, b.shape);
    QTensor output(bc.shape, per_tensor(layer.output_type, 1.0f, output_zero_point));

    for (std::int64_t i = 0; i < output.size(); ++i) {
        const std::int64_t a_value = a.values[static_cast<std::size_t>(bc.a[static_cast<std::size_t>(i)])];
        const std::int64_t b_value = b.values[static_cast<std::size_t>(bc.b[static_cast<std::size_t>(i)])];
        const std::int64_t p = product(a_value - a_zero_point, b_value, b_zero_point);   // (a - z_a)(b - z_b), exact
        const std::int64_t acc = accumulate(0, p, accumulator);                           // one accumulation step
        if (registers.kind == arch::RequantKind::float32) {   // an fp32 vector unit: z_y added in fp32, then rounded
            const std::int64_t y = fp32_vector::mul(acc, registers.float_scale, output_zero_point);
            output.values[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(clamp(y, clamp_lo, clamp_hi));
            continue;
        }
        const std::int64_t y = sim::requantize(acc, registers);                           // the engine's unit
        output.values[static_cast<std::size_t>(i)] =
            static_cast<std::int32_t>(add_zero_point_and_clamp(y, output_zero_point, clamp_lo, clamp_hi));
    }
    return output;
}

}  // namespace bitnpu::sim::reference
