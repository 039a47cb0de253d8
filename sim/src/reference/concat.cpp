// Reference Concat (sim/reference/concat.hpp), from numerics.md "Concat".
#include "bitnpu/sim/reference/concat.hpp"

#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

QTensor concat(const ConcatLayer& layer, const std::vector<const QTensor*>& inputs) {
    // Parameters.
    const std::int64_t output_zero_point = layer.output_zero_point;
    const std::int64_t clamp_lo = layer.clamp_lo, clamp_hi = layer.clamp_hi;

    // Shapes: every input of the first one's rank, equal outside the axis.
    check(!inputs.empty() && inputs.size() == layer.inputs.size(), "Concat: one ConcatInput per input");
    const Shape& first = inputs[0]->shape;
    const auto rank = static_cast<int>(first.size());
    const int axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
    check(axis >= 0 && axis < rank, "Concat axis is out of range");
    Shape output_shape = first;
    output_shape[static_cast<std::size_t>(axis)] = 0;
    for (const QTensor* t : inputs) {
        check(t->shape.size() == first.size(), "Concat inputs differ in rank");
        for (int d = 0; d < rank; ++d)
            check(d == axis || t->shape[static_cast<std::size_t>(d)] == first[static_cast<std::size_t>(d)],
                  "Concat inputs differ outside the concat axis");
        check(element_count(t->shape) == t->size(), "Concat input values do not match its shape");
        output_shape[static_cast<std::size_t>(axis)] += t->shape[static_cast<std::size_t>(axis)];
    }
    std::int64_t outer = 1, inner = 1;   // the dimensions before and after the axis
    for (int d = 0; d < axis; ++d) outer *= first[static_cast<std::size_t>(d)];
    for (int d = axis + 1; d < rank; ++d) inner *= first[static_cast<std::size_t>(d)];
    QTensor output(output_shape, per_tensor(layer.output_type, 1.0f, output_zero_point));

    const std::int64_t output_axis = output_shape[static_cast<std::size_t>(axis)];
    std::int64_t offset = 0;   // where input i starts along the axis
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const QTensor& input = *inputs[i];
        const ConcatInput& quant = layer.inputs[i];
        const std::int64_t input_axis = input.shape[static_cast<std::size_t>(axis)];
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t a = 0; a < input_axis; ++a)
                for (std::int64_t e = 0; e < inner; ++e) {
                    const std::int64_t x = input.values[static_cast<std::size_t>((o * input_axis + a) * inner + e)];
                    // Tied scales: a copy. Otherwise requantized to the output's scale.
                    const std::int64_t y =
                        quant.fp32 ? fp32_vector::rescale(x, quant.fp32->input_scale, quant.zero_point,
                                                          quant.fp32->output_scale, output_zero_point, clamp_lo,
                                                          clamp_hi)
                        : quant.requant ? add_zero_point_and_clamp(sim::requantize(x - quant.zero_point, *quant.requant),
                                                                 output_zero_point, clamp_lo, clamp_hi)
                                      : x;
                    output.values[static_cast<std::size_t>((o * output_axis + offset + a) * inner + e)] =
                        static_cast<std::int32_t>(y);
                }
        offset += input_axis;
    }
    return output;
}

}  // namespace bitnpu::sim::reference
