#include "bitnpu/sim/functional/lut_layer.hpp"

#include <algorithm>
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
    if (x.values.empty()) return y;
    const std::int64_t lowest = arch::value_range(layer.input_type).min;
    // Every input inside the table (the usual case): a plain gather that
    // vectorizes. Otherwise the element-wise lookup names the first input
    // outside it.
    const auto [lo, hi] = std::minmax_element(x.values.begin(), x.values.end());
    if (*lo < lowest || *hi - lowest >= static_cast<std::int64_t>(layer.table.size())) {
        for (std::size_t i = 0; i < y.values.size(); ++i)
            y.values[i] = static_cast<std::int32_t>(lookup(layer, lowest, x.values[i]));
        return y;
    }
    const std::vector<std::int32_t> table(layer.table.begin(), layer.table.end());
    const auto base = static_cast<std::int32_t>(lowest);
    const std::int32_t* in = x.values.data();
    std::int32_t* out = y.values.data();
    for (std::size_t i = 0; i < y.values.size(); ++i) out[i] = table[static_cast<std::size_t>(in[i] - base)];
    return y;
}

}  // namespace bitnpu::sim
