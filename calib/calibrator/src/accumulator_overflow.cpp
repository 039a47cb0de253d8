// Accumulator overflow statistics for the search (accumulator_overflow.hpp).
#include "accumulator_overflow.hpp"

#include <algorithm>
#include <functional>
#include <numeric>

#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {

bool can_overflow(const sim::MacLayer& layer) {
    if (layer.weight_type == arch::ValueType::int1 || layer.weight_type == arch::ValueType::uint1) return false;
    const std::vector<bool> channels = overflowable_channels(layer);
    return std::find(channels.begin(), channels.end(), true) != channels.end();
}

sim::reference::AccumulatorStats accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads) {
    sim::reference::AccumulatorStats total;
    if (!can_overflow(layer)) {
        const sim::Shape out = sim::mac_output_shape(layer, x.shape);
        total.outputs = std::accumulate(out.begin(), out.end(), std::int64_t{1}, std::multiplies<>());
        return total;
    }
    if (x.shape.size() < 2) return sim::reference::accumulator_stats(layer, x);
    const std::int64_t samples = x.shape[0], per_sample = samples > 0 ? x.size() / samples : 0;
    std::vector<sim::reference::AccumulatorStats> parts(static_cast<std::size_t>(samples));
    sim::parallel_for(samples, threads, [&](std::int64_t n) {
        sim::Shape shape = x.shape;
        shape[0] = 1;
        sim::QTensor one(shape, x.quant);
        std::copy_n(x.values.begin() + n * per_sample, per_sample, one.values.begin());
        parts[static_cast<std::size_t>(n)] = sim::reference::accumulator_stats(layer, one);
    }, sim::Schedule::dynamic);
    for (const sim::reference::AccumulatorStats& p : parts) {
        total.outputs += p.outputs;
        total.steps += p.steps;
        total.overflowed_steps += p.overflowed_steps;
        total.overflowed_outputs += p.overflowed_outputs;
        total.max_abs_partial = std::max(total.max_abs_partial, p.max_abs_partial);
        total.accumulator_max = p.accumulator_max;
    }
    return total;
}

}  // namespace bitnpu::calib
