#include "bitnpu/sim/functional/concat.hpp"

#include <string>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/fp32_vector.hpp"

namespace bitnpu::sim {

std::int64_t concat_output_element(const ConcatLayer& layer, std::size_t input, std::int64_t x) {
    const ConcatInput& in = layer.inputs[input];
    if (in.fp32)
        return fp32_vector::rescale(x, in.fp32->input_scale, in.zero_point, in.fp32->output_scale,
                                    layer.output_zero_point, layer.clamp_lo, layer.clamp_hi);
    if (!in.requant) return x;
    return add_zero_point_and_clamp(requantize(x - in.zero_point, *in.requant), layer.output_zero_point,
                                    layer.clamp_lo, layer.clamp_hi);
}

ConcatGeometry concat_geometry(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs) {
    if (inputs.empty() || inputs.size() != layer.inputs.size())
        throw UserError("Concat has " + std::to_string(inputs.size()) + " inputs but parameters for " +
                        std::to_string(layer.inputs.size()));
    const Shape& first = inputs[0]->shape;
    const int rank = static_cast<int>(first.size());
    ConcatGeometry g;
    g.axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
    if (g.axis < 0 || g.axis >= rank) throw UserError("Concat axis " + std::to_string(layer.axis) + " is out of range");
    const auto axis = static_cast<std::size_t>(g.axis);
    g.out_shape = first;
    g.out_shape[axis] = 0;
    for (const QTensor* t : inputs) {
        for (std::size_t d = 0; d < first.size(); ++d)
            if (t->shape.size() != first.size() || (d != axis && t->shape[d] != first[d]))
                throw UserError("Concat inputs differ outside the concat axis");
        g.out_shape[axis] += t->shape[axis];
    }
    for (std::size_t d = 0; d < axis; ++d) g.outer *= first[d];
    for (std::size_t d = axis + 1; d < first.size(); ++d) g.inner *= first[d];
    return g;
}

QTensor run_concat_layer(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs) {
    const ConcatGeometry g = concat_geometry(layer, inputs);
    const auto axis = static_cast<std::size_t>(g.axis);
    const std::int64_t outer = g.outer, inner = g.inner;
    const Shape& out_shape = g.out_shape;
    QTensor y(out_shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    std::size_t dst = 0;
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const std::int64_t block = inputs[i]->shape[axis] * inner;
            const std::int32_t* src = inputs[i]->values.data() + o * block;
            for (std::int64_t e = 0; e < block; ++e)
                y.values[dst++] = static_cast<std::int32_t>(concat_output_element(layer, i, src[e]));
        }
    return y;
}

}  // namespace bitnpu::sim
