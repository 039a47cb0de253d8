// Reference lookup-table layer (sim/reference/lut.hpp), from numerics.md "Lookup table".
#include "bitnpu/sim/reference/lut.hpp"

#include <string>

#include "bitnpu/sim/datapath/lut.hpp"
#include "check.hpp"

namespace bitnpu::sim::reference {

QTensor lut(const LutLayer& layer, const QTensor& input) {
    // Parameters: the table starts at the input type's smallest value.
    const std::int64_t input_min = arch::value_range(layer.input_type).min;
    const auto entries = static_cast<std::int64_t>(layer.table.size());

    QTensor output(input.shape, per_tensor(layer.output_type, 1.0f, 0));
    check(element_count(input.shape) == input.size(), "LUT input values do not match its shape");
    for (std::int64_t i = 0; i < input.size(); ++i) {
        const std::int64_t x = input.values[static_cast<std::size_t>(i)];
        check(x - input_min >= 0 && x - input_min < entries,
              "LUT input " + std::to_string(x) + " is outside the table of " + std::to_string(entries) + " entries");
        output.values[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(lut_lookup(layer.table, x, input_min));
    }
    return output;
}

}  // namespace bitnpu::sim::reference
