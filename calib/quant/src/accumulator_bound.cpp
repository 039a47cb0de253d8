// Accumulator-aware weight scales (accumulator_bound.hpp):
// numerics.md "Accumulator-aware weight bound".
#include "bitnpu/quant/accumulator_bound.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::calib {
namespace {

// Past the first step a scale grows by at least this factor, so the search
// ends after a few steps even when rounding keeps the integers a few LSBs
// over (the result is then at most 0.1 % coarser than the smallest that fits).
constexpr double kMinGrowth = 1.0 + 1.0 / 1024.0;
constexpr int kMaxSteps = 100000;

// By how much channel c's extremes overshoot the accumulator: max(hi / max,
// lo / min); <= 1 when they fit.
double overshoot(const RunningSumRange& r, int bits) {
    return std::max(double(r.hi) / double(sim::signed_max(bits)), double(r.lo) / double(sim::signed_min(bits)));
}

void check_bound_inputs(const Tensor& weight, const QuantParams& clipped, const AccumulatorBudget& budget) {
    if (weight.rank() < 1 || weight.dim(0) == 0) throw UserError("accumulator bound: the weight has no output channels");
    if (clipped.type == arch::ValueType::int1 || clipped.type == arch::ValueType::uint1)
        throw UserError("accumulator bound: binary weights have no zero level, so no weight scale bounds their sum");
    if (std::any_of(clipped.zero_points.begin(), clipped.zero_points.end(), [](std::int64_t z) { return z != 0; }))
        throw UserError("accumulator bound: the weights must be symmetric (zero-point 0)");
    const auto channels = static_cast<std::size_t>(weight.dim(0));
    if (clipped.scales.size() != 1 && clipped.scales.size() != channels)
        throw UserError(fmt::format("accumulator bound: {} weight scales for {} output channels", clipped.scales.size(),
                                    channels));
    if (!budget.bias.empty() && budget.bias.size() != channels)
        throw UserError(fmt::format("accumulator bound: {} bias values for {} output channels", budget.bias.size(),
                                    channels));
    if (budget.accumulator_bits < 2 || budget.accumulator_bits > 64)
        throw UserError(fmt::format("accumulator bound: accumulator.bits must be 2..64, got {}", budget.accumulator_bits));
    if (budget.input.lo > budget.input.hi)
        throw UserError("accumulator bound: the input operand range is empty");
    if (!(budget.input_scale > 0.0)) throw UserError("accumulator bound: the input scale must be positive");
}

// The next scale to try after one whose integers overshoot by `factor`:
// doubled on a power-of-two grid (exponent - 1), else grown by the factor.
void grow_scale(QuantParams& p, std::size_t index, double factor) {
    float& s = p.scales[index];
    if (!p.exponents.empty()) {
        s *= 2.0f;
        --p.exponents[index];
    } else {
        s = std::max(static_cast<float>(double(s) * factor), std::nextafter(s, std::numeric_limits<float>::infinity()));
    }
    if (!std::isfinite(s)) throw std::logic_error("accumulator bound: the weight scale grew without bound");
}

}  // namespace

OperandRange input_operand_range(arch::ValueType input_type, std::int64_t input_zero_point) {
    const arch::ValueRange codes = arch::value_range(input_type);
    return {codes.min - input_zero_point, codes.max - input_zero_point};
}

RunningSumRange running_sum_range(const std::int32_t* w, std::int64_t k, std::int64_t weight_zero_point,
                                  OperandRange x, std::int64_t bias, arch::BiasStage stage) {
    const bool preload = stage == arch::BiasStage::preload;
    std::int64_t hi = preload ? bias : 0, lo = hi;   // the adversarial inputs' running sums
    RunningSumRange r{lo, hi};
    for (std::int64_t i = 0; i < k; ++i) {
        const std::int64_t v = std::int64_t{w[i]} - weight_zero_point;
        hi += std::max(v * x.lo, v * x.hi);
        lo += std::min(v * x.lo, v * x.hi);
        r.hi = std::max(r.hi, hi);
        r.lo = std::min(r.lo, lo);
    }
    if (!preload) {
        r.hi = std::max(r.hi, hi + bias);
        r.lo = std::min(r.lo, lo + bias);
    }
    return r;
}

bool fits_accumulator(const RunningSumRange& r, int bits) {
    return r.lo >= sim::signed_min(bits) && r.hi <= sim::signed_max(bits);
}

std::vector<bool> overflowable_channels(const sim::MacLayer& layer) {
    const std::int64_t channels = sim::output_channels(layer);
    const std::int64_t k = sim::reduction_length(layer);
    const OperandRange x = input_operand_range(layer.input_type, layer.input_zero_point);
    std::vector<bool> out(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c) {
        const std::int64_t b = layer.bias.empty() ? 0 : layer.bias[static_cast<std::size_t>(c)];
        const RunningSumRange r =
            running_sum_range(layer.weights.data() + c * k, k, layer.weight_zero_point, x, b, layer.bias_stage);
        out[static_cast<std::size_t>(c)] = !fits_accumulator(r, layer.accumulator.bits);
    }
    return out;
}

QuantParams accumulator_bounded_weights(const Tensor& weight, const QuantParams& clipped,
                                        const AccumulatorBudget& budget) {
    check_bound_inputs(weight, clipped, budget);
    const Tensor w = weight.cast(DType::f32);
    const std::int64_t channels = w.dim(0), k = w.numel() / channels;
    QuantParams out = clipped;
    std::vector<std::int32_t> row(static_cast<std::size_t>(k));
    // Channel c's extremes with its weights rounded on scale s and its bias
    // quantized at s * s_x, exactly as the lowering quantizes them.
    auto extremes = [&](std::int64_t c, float s) {
        AffineQuant q = channel_quant(out, static_cast<std::size_t>(c));
        q.scale = s;
        const float* src = w.data<float>() + c * k;
        for (std::int64_t i = 0; i < k; ++i) row[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(quantize_value(src[i], q));
        const std::int64_t b = budget.bias.empty()
                                   ? 0
                                   : sim::quantize_bias(budget.bias[static_cast<std::size_t>(c)], s, budget.input_scale,
                                                        budget.bias_bits);
        return running_sum_range(row.data(), k, 0, budget.input, b, budget.bias_stage);
    };
    // One scale per channel, or one for all (per tensor): a scale is settled
    // once every channel it quantizes fits.
    const std::size_t scales = out.scales.size();
    std::vector<char> settled(scales, 0);
    for (int step = 0;; ++step) {
        if (step == kMaxSteps) throw std::logic_error("accumulator bound: no weight scale found");
        std::vector<double> worst(scales, 0.0);
        std::vector<char> fits(scales, 1);
        for (std::int64_t c = 0; c < channels; ++c) {
            const std::size_t s = scales == 1 ? 0 : static_cast<std::size_t>(c);
            if (settled[s]) continue;
            const RunningSumRange r = extremes(c, out.scales[s]);
            if (fits_accumulator(r, budget.accumulator_bits)) continue;
            fits[s] = 0;
            worst[s] = std::max(worst[s], overshoot(r, budget.accumulator_bits));
        }
        bool done = true;
        for (std::size_t s = 0; s < scales; ++s) {
            if (settled[s]) continue;
            if (fits[s]) {
                settled[s] = 1;
                continue;
            }
            done = false;
            grow_scale(out, s, step == 0 ? worst[s] : std::max(worst[s], kMinGrowth));
        }
        if (done) return out;
    }
}

QuantParams scales_between(const QuantParams& clipped, const QuantParams& bounded, const std::vector<double>& ts) {
    if (clipped.scales.size() != bounded.scales.size() || clipped.exponents.size() != bounded.exponents.size() ||
        (ts.size() != 1 && ts.size() != clipped.scales.size()))
        throw std::logic_error("scales_between: the quantizations and fractions differ in shape");
    QuantParams out = bounded;
    for (std::size_t s = 0; s < out.scales.size(); ++s) {
        const double t = ts.size() == 1 ? ts[0] : ts[s];
        if (t <= 0.0 || t >= 1.0) {
            const QuantParams& end = t <= 0.0 ? clipped : bounded;
            out.scales[s] = end.scales[s];
            if (!out.exponents.empty()) out.exponents[s] = end.exponents[s];
            continue;
        }
        if (!out.exponents.empty()) {
            const double e = clipped.exponents[s] + t * (bounded.exponents[s] - clipped.exponents[s]);
            out.exponents[s] = static_cast<int>(std::floor(e + 0.5));
            out.scales[s] = std::ldexp(1.0f, -out.exponents[s]);
        } else {
            const double ratio = double(bounded.scales[s]) / double(clipped.scales[s]);
            out.scales[s] = static_cast<float>(double(clipped.scales[s]) * std::pow(ratio, t));
        }
    }
    return out;
}

}  // namespace bitnpu::calib
