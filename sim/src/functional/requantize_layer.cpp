#include "bitnpu/sim/functional/requantize_layer.hpp"

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

std::int64_t requantize_output_element(const RequantizeLayer& layer, std::int64_t channel, std::int64_t x) {
    const RequantRegisters& r =
        layer.requant.size() == 1 ? layer.requant[0] : layer.requant.at(static_cast<std::size_t>(channel));
    return add_zero_point_and_clamp(requantize(x - layer.input_zero_point, r), layer.output_zero_point,
                                    layer.clamp_lo, layer.clamp_hi);
}

bool check_requantize_layer(const RequantizeLayer& layer, const Shape& input_shape) {
    if (layer.requant.empty()) throw UserError("Requantize layer has no registers");
    const bool per_channel = layer.requant.size() > 1;
    if (per_channel && (layer.axis < 0 || layer.axis >= static_cast<int>(input_shape.size()) ||
                        input_shape[static_cast<std::size_t>(layer.axis)] != static_cast<std::int64_t>(layer.requant.size())))
        throw UserError("Requantize layer has " + std::to_string(layer.requant.size()) +
                        " register sets, which does not match its input's axis " + std::to_string(layer.axis));
    return per_channel;
}

QTensor run_requantize_layer(const RequantizeLayer& layer, const QTensor& x) {
    const bool per_channel = check_requantize_layer(layer, x.shape);
    QTensor y(x.shape, per_tensor(layer.output_type, 1.0f, layer.output_zero_point));
    for_each_channel_run(x.shape, per_channel ? layer.axis : -1, [&](std::int64_t begin, std::int64_t end, std::int64_t c) {
        for (std::int64_t i = begin; i < end; ++i)
            y.values[static_cast<std::size_t>(i)] =
                static_cast<std::int32_t>(requantize_output_element(layer, c, x.values[static_cast<std::size_t>(i)]));
    });
    return y;
}

}  // namespace bitnpu::sim
