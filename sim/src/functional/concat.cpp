#include "bitnpu/sim/functional/concat.hpp"

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

std::int64_t concat_output_element(const ConcatLayer& layer, std::size_t input, std::int64_t x) {
    const ConcatInput& in = layer.inputs[input];
    if (!in.requant) return x;
    return add_zero_point_and_clamp(requantize(x - in.zero_point, *in.requant), layer.output_zero_point,
                                    layer.clamp_lo, layer.clamp_hi);
}

QTensor run_concat_layer(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs) {
    if (inputs.empty() || inputs.size() != layer.inputs.size())
        throw UserError("Concat has " + std::to_string(inputs.size()) + " inputs but parameters for " +
                        std::to_string(layer.inputs.size()));
    const Shape& first = inputs[0]->shape;
    const int rank = static_cast<int>(first.size());
    const int axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
    if (axis < 0 || axis >= rank) throw UserError("Concat axis " + std::to_string(layer.axis) + " is out of range");
    Shape out_shape = first;
    out_shape[static_cast<std::size_t>(axis)] = 0;
    for (const QTensor* t : inputs) {
        for (int d = 0; d < rank; ++d)
            if (t->shape.size() != first.size() || (d != axis && t->shape[static_cast<std::size_t>(d)] != first[static_cast<std::size_t>(d)]))
                throw UserError("Concat inputs differ outside the concat axis");
        out_shape[static_cast<std::size_t>(axis)] += t->shape[static_cast<std::size_t>(axis)];
    }
    std::int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= first[static_cast<std::size_t>(d)];
    for (int d = axis + 1; d < rank; ++d) inner *= first[static_cast<std::size_t>(d)];
    QTensor y(out_shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    std::size_t dst = 0;
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const std::int64_t block = inputs[i]->shape[static_cast<std::size_t>(axis)] * inner;
            const std::int32_t* src = inputs[i]->values.data() + o * block;
            for (std::int64_t e = 0; e < block; ++e)
                y.values[dst++] = static_cast<std::int32_t>(concat_output_element(layer, i, src[e]));
        }
    return y;
}

}  // namespace bitnpu::sim
