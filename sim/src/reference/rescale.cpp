// Reference Requantize layer (sim/reference/rescale.hpp), from
// numerics.md "Rescale between engines".
#include "bitnpu/sim/reference/rescale.hpp"

#include "bitnpu/sim/datapath/requant.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

QTensor rescale(const RequantizeLayer& layer, const QTensor& input) {
    // Parameters.
    const std::int64_t input_zero_point = layer.input_zero_point;
    const std::int64_t output_zero_point = layer.output_zero_point;
    const std::int64_t clamp_lo = layer.clamp_lo, clamp_hi = layer.clamp_hi;

    // Shapes: one register set, or one per index along the axis.
    check(!layer.requant.empty(), "Requantize layer has no registers");
    check(element_count(input.shape) == input.size(), "Requantize input values do not match its shape");
    const bool per_channel = layer.requant.size() > 1;
    const auto rank = static_cast<int>(input.shape.size());
    std::int64_t channels = 1, inner = 1;   // the axis, and the dimensions after it
    if (per_channel) {
        check(layer.axis >= 0 && layer.axis < rank, "Requantize axis is out of range");
        channels = input.shape[static_cast<std::size_t>(layer.axis)];
        check(channels == static_cast<std::int64_t>(layer.requant.size()),
              "Requantize register sets do not match the input's axis");
        for (int d = layer.axis + 1; d < rank; ++d) inner *= input.shape[static_cast<std::size_t>(d)];
    }
    QTensor output(input.shape, per_tensor(layer.output_type, 1.0f, output_zero_point));

    for (std::int64_t i = 0; i < input.size(); ++i) {
        const std::int64_t channel = per_channel ? (i / inner) % channels : 0;
        const RequantRegisters& registers = layer.requant[static_cast<std::size_t>(channel)];
        const std::int64_t x = input.values[static_cast<std::size_t>(i)];
        const std::int64_t y = sim::requantize(x - input_zero_point, registers);
        output.values[static_cast<std::size_t>(i)] =
            static_cast<std::int32_t>(add_zero_point_and_clamp(y, output_zero_point, clamp_lo, clamp_hi));
    }
    return output;
}

}  // namespace bitnpu::sim::reference
