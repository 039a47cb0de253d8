// Accumulator overflow statistics for the search (accumulator_overflow.hpp).
#include "accumulator_overflow.hpp"

#include <algorithm>
#include <functional>
#include <numeric>

#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/parallel.hpp"

namespace bitnpu::calib {

bool can_overflow(const sim::MacLayer& layer) {
    if (layer.weight_type == arch::ValueType::int1 || layer.weight_type == arch::ValueType::uint1) return false;
    const std::vector<bool> channels = overflowable_channels(layer);
    return std::find(channels.begin(), channels.end(), true) != channels.end();
}

AccumulatorOverflows accumulator_overflows(const sim::MacLayer& layer, const sim::QTensor& x, int threads) {
    AccumulatorOverflows out;
    sim::reference::AccumulatorStats& total = out.stats;
    const sim::Shape shape = sim::mac_output_shape(layer, x.shape);
    const std::int64_t outputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    out.samples = x.shape.size() < 2 ? 1 : x.shape[0];
    if (!can_overflow(layer)) {
        total.outputs = outputs;
        return out;
    }
    if (x.shape.size() < 2) {
        total = sim::reference::accumulator_stats(layer, x);
        return out;
    }
    const std::int64_t steps_per_sample = std::max<std::int64_t>(1, outputs / std::max<std::int64_t>(1, out.samples)) *
                                          (sim::reduction_length(layer) + 1);
    const std::int64_t samples = std::clamp<std::int64_t>(kOverflowStepBudget / steps_per_sample, 1, out.samples);
    const std::int64_t per_sample = out.samples > 0 ? x.size() / out.samples : 0;
    out.samples = samples;
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
    return out;
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
