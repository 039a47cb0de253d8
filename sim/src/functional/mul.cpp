#include "bitnpu/sim/functional/mul.hpp"

#include "bitnpu/sim/datapath/product.hpp"
#include "bitnpu/sim/functional/broadcast.hpp"

namespace bitnpu::sim {

std::int64_t mul_output_element(const MulLayer& layer, std::int64_t a, std::int64_t b) {
    const std::int64_t acc = accumulate(0, product(a - layer.a_zero_point, b, layer.b_zero_point), layer.accumulator);
    return add_zero_point_and_clamp(requantize(acc, layer.requant), layer.output_zero_point, layer.clamp_lo,
                                    layer.clamp_hi);
}

QTensor run_mul_layer(const MulLayer& layer, const QTensor& a, const QTensor& b) {
    const Shape shape = broadcast_shape(a.shape, b.shape);
    const std::vector<std::int64_t> ia = broadcast_indices(a.shape, shape), ib = broadcast_indices(b.shape, shape);
    QTensor y(shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    for (std::size_t i = 0; i < y.values.size(); ++i)
        y.values[i] = static_cast<std::int32_t>(mul_output_element(
            layer, a.values[static_cast<std::size_t>(ia[i])], b.values[static_cast<std::size_t>(ib[i])]));
    return y;
}

}  // namespace bitnpu::sim
