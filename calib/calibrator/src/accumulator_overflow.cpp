// Accumulator overflow statistics for the search (accumulator_overflow.hpp).
#include "accumulator_overflow.hpp"

#include <algorithm>
#include <functional>
#include <numeric>

#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"

namespace bitnpu::calib {

bool can_overflow(const sim::MacLayer& layer) {
    if (layer.weight_type == arch::ValueType::int1 || layer.weight_type == arch::ValueType::uint1) return false;
    const std::vector<bool> channels = overflowable_channels(layer);
    return std::find(channels.begin(), channels.end(), true) != channels.end();
}

sim::OverflowCounts accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads) {
    if (can_overflow(layer)) return sim::count_overflows(layer, x, threads);
    sim::OverflowCounts counts;
    const sim::Shape shape = sim::mac_output_shape(layer, x.shape);
    counts.outputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    counts.steps = counts.outputs * (sim::reduction_length(layer) + 1);
    return counts;
}

double output_squared_error(const sim::QTensor& out, const float* ref) {
    const float scale = out.quant.scale(0);
    const std::int64_t zero_point = out.quant.zero_point(0);
    double sum = 0.0;
    for (std::int64_t i = 0; i < out.size(); ++i) {
        const double e = double(sim::dequantize(out.values[static_cast<std::size_t>(i)], scale, zero_point)) - double(ref[i]);
        sum += e * e;
    }
    return sum;
}

}  // namespace bitnpu::calib
