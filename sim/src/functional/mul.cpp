#include "bitnpu/sim/functional/mul.hpp"

#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"
#include "bitnpu/sim/functional/broadcast.hpp"

namespace bitnpu::sim {

std::int64_t mul_output_element(const MulLayer& layer, std::int64_t a, std::int64_t b) {
    const std::int64_t acc = accumulate(0, product(a - layer.a_zero_point, b, layer.b_zero_point), layer.accumulator);
    if (layer.requant.kind == arch::RequantKind::float32)   // an fp32 vector unit: z_y added before rounding
        return clamp(fp32_vector::mul(acc, layer.requant.float_scale, layer.output_zero_point), layer.clamp_lo,
                     layer.clamp_hi);
    return add_zero_point_and_clamp(requantize(acc, layer.requant), layer.output_zero_point, layer.clamp_lo,
                                    layer.clamp_hi);
}

QTensor run_mul_layer(const MulLayer& layer, const QTensor& a, const QTensor& b) {
    return map_broadcast_pairs(a, b, per_tensor(layer.output_type, 1.0f, layer.output_zero_point),
                               [&](std::int64_t x, std::int64_t z) { return mul_output_element(layer, x, z); });
}

}  // namespace bitnpu::sim
