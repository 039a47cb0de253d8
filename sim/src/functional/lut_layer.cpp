#include "bitnpu/sim/functional/lut_layer.hpp"

#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

LutLayer make_lut_layer(const std::function<double(double)>& f, const LutQuant& in, const LutQuant& out) {
    return LutLayer{in.type, out.type, build_lut(f, in, out)};
}

namespace {

// The table entry of input x, where table[0] belongs to the input type's
// smallest value `lowest`.
std::int64_t lookup(const LutLayer& layer, std::int64_t lowest, std::int64_t x) {
    const std::int64_t index = x - lowest;
    if (index < 0 || index >= static_cast<std::int64_t>(layer.table.size()))
        throw UserError("LUT input " + std::to_string(x) + " is outside the table of " +
                        std::to_string(layer.table.size()) + " entries");
    return layer.table[static_cast<std::size_t>(index)];
}

}  // namespace

std::int64_t lut_output_element(const LutLayer& layer, std::int64_t x) {
    return lookup(layer, arch::value_range(layer.input_type).min, x);
}

QTensor run_lut_layer(const LutLayer& layer, const QTensor& x) {
    QTensor y(x.shape, per_tensor(layer.output_type, 1.0f, 0));
    const std::int64_t lowest = arch::value_range(layer.input_type).min;
    for (std::size_t i = 0; i < y.values.size(); ++i)
        y.values[i] = static_cast<std::int32_t>(lookup(layer, lowest, x.values[i]));
    return y;
}

}  // namespace bitnpu::sim
