// Scale, zero-point and multiplier derivation (scale.hpp).
#include "bitnpu/quant/scale.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "policies/policy_util.hpp"

namespace bitnpu::calib {

namespace {

using arch::ValueType;

// Scales that carry no information (0, denormal, NaN) become kDegenerateScale.
bool usable_scale(double s) { return s >= static_cast<double>(std::numeric_limits<float>::min()) && std::isfinite(s); }

// s -> (2^ceil(log2 s), exponent f with 2^ceil(log2 s) = 2^-f), exactly (frexp, no log2 rounding).
std::pair<double, int> power_of_two_above(double s) {
    int e = 0;
    const double m = std::frexp(s, &e);  // s = m * 2^e, m in [0.5, 1)
    const int p = (m == 0.5) ? e - 1 : e;
    return {std::ldexp(1.0, p), -p};
}

}  // namespace

std::optional<int> power_of_two_exponent(double s) {
    if (!(s > 0.0) || !std::isfinite(s)) return std::nullopt;
    const auto [pow, f] = power_of_two_above(s);
    if (pow != s) return std::nullopt;
    return f;
}

namespace {

// The raw (double) scale of a range before fp32 rounding.
double raw_scale(double lo, double hi, const QuantGrid& g, ScaleMode mode) {
    if (g.binary) return std::max(-lo, hi);                    // levels are +-s
    if (mode == ScaleMode::symmetric) {
        if (!g.is_signed()) return hi / static_cast<double>(g.qmax);
        return std::max(-lo, hi) / static_cast<double>(g.qmax);
    }
    return (hi - lo) / static_cast<double>(g.qmax - g.qmin);
}

}  // namespace

QuantGrid grid_for(ValueType type, bool restricted) {
    const arch::ValueRange r = arch::value_range(type, restricted);
    QuantGrid g;
    g.qmin = r.min;
    g.qmax = r.max;
    g.binary = type == ValueType::int1;
    return g;
}

std::optional<ValueType> unsigned_counterpart(ValueType type) {
    switch (type) {
        case ValueType::int8: return ValueType::uint8;
        case ValueType::int4: return ValueType::uint4;
        case ValueType::int1: return ValueType::uint1;
        case ValueType::uint8:
        case ValueType::uint4:
        case ValueType::uint1: return type;
        case ValueType::int2:
        case ValueType::int16: return std::nullopt;
    }
    return std::nullopt;
}

ValueType activation_type_for(const ClipRange& range, ValueType declared, bool unsigned_allowed) {
    if (!unsigned_allowed || range.lo < 0.0) return declared;
    return unsigned_counterpart(declared).value_or(declared);
}

double AffineQuant::lo() const {
    if (grid.binary) return -static_cast<double>(scale);
    return static_cast<double>(scale) * static_cast<double>(grid.qmin - zero_point);
}

double AffineQuant::hi() const {
    if (grid.binary) return static_cast<double>(scale);
    return static_cast<double>(scale) * static_cast<double>(grid.qmax - zero_point);
}

AffineQuant derive_quant(const ClipRange& range, const QuantGrid& grid, const ScaleOptions& options) {
    if (std::isnan(range.lo) || std::isnan(range.hi)) throw std::invalid_argument("derive_quant: NaN clip range");
    // Widen to include 0 so that 0 is exactly representable (TFLite nudging).
    const double lo = std::min(range.lo, 0.0);
    const double hi = std::max(range.hi, 0.0);
    const ScaleMode mode = grid.binary ? ScaleMode::symmetric : options.mode;

    AffineQuant q;
    q.grid = grid;
    double s = raw_scale(lo, hi, grid, mode);
    if (!usable_scale(s)) s = kDegenerateScale;
    if (options.power_of_two) {
        const auto [p, f] = power_of_two_above(s);
        s = p;
        q.exponent = f;
    }
    q.scale = static_cast<float>(s);  // exact for powers of two
    if (!usable_scale(q.scale)) q.scale = kDegenerateScale;  // s rounded to fp32 below FLT_MIN

    if (mode == ScaleMode::asymmetric) {
        const double z = static_cast<double>(grid.qmin) - lo / static_cast<double>(q.scale);
        q.zero_point = std::clamp(sim::round_half_even(z), grid.qmin, grid.qmax);
    }
    return q;
}

AffineQuant derive_quant(const ClipRange& range, ValueType type, bool restricted, const ScaleOptions& options) {
    return derive_quant(range, grid_for(type, restricted), options);
}

AffineQuant channel_quant(const QuantParams& params, std::size_t c) {
    const std::size_t i = params.per_channel() ? c : 0;
    AffineQuant q;
    q.grid = grid_for(params.type, params.restricted);
    q.scale = params.scales.at(i);
    q.zero_point = params.zero_points.empty() ? 0 : params.zero_points.at(i);
    if (!params.exponents.empty()) q.exponent = params.exponents.at(i);
    return q;
}

namespace {

// Parameters of a type with no channels yet (append adds them).
QuantParams no_channels(ValueType type, bool restricted) {
    QuantParams p;
    p.type = type;
    p.restricted = restricted;
    p.scales.clear();
    p.zero_points.clear();
    return p;
}

void append(QuantParams& p, const AffineQuant& q) {
    p.scales.push_back(q.scale);
    p.zero_points.push_back(q.zero_point);
    if (q.exponent) p.exponents.push_back(*q.exponent);
}

}  // namespace

QuantParams activation_params(const ClipRange& range, ValueType type, bool restricted, const ScaleOptions& options) {
    QuantParams p = no_channels(type, restricted);
    append(p, derive_quant(range, type, restricted, options));
    return p;
}

QuantParams weight_params(const ChannelRanges& ranges, ValueType type, bool restricted, bool per_channel,
                          const ScaleOptions& options) {
    if (ranges.channels() == 0) throw std::invalid_argument("weight_params: no channels");
    QuantParams p = no_channels(type, restricted);
    if (per_channel) {
        p.axis = ranges.axis;
        for (std::size_t c = 0; c < ranges.channels(); ++c)
            append(p, derive_quant({ranges.min[c], ranges.max[c]}, type, restricted, options));
    } else {
        const double lo = *std::min_element(ranges.min.begin(), ranges.min.end());
        const double hi = *std::max_element(ranges.max.begin(), ranges.max.end());
        append(p, derive_quant({lo, hi}, type, restricted, options));
    }
    return p;
}

std::vector<float> bias_scales(const QuantParams& weight, float input_scale) {
    std::vector<float> out;
    out.reserve(weight.scales.size());
    for (float s_w : weight.scales) out.push_back(s_w * input_scale);
    return out;
}

bool needs_power_of_two_scales(const arch::EngineSpec& engine) {
    return engine.requant.kind == arch::RequantKind::shifter;
}

std::vector<ChannelRequant> derive_layer_requant(const QuantParams& weight, float input_scale, float output_scale,
                                                 const arch::EngineSpec& engine, const std::string& layer) {
    const std::string who = layer.empty() ? std::string("layer") : "layer '" + layer + "'";
    if (weight.scales.size() > 1 && !engine.requant.per_channel)
        throw UserError(fmt::format("{}: weights have {} per-channel scales but engine '{}' has a per-tensor requant "
                                    "unit; quantize the weights per tensor",
                                    who, weight.scales.size(), engine.name));
    std::vector<ChannelRequant> out;
    out.reserve(weight.scales.size());
    for (std::size_t c = 0; c < weight.scales.size(); ++c) {
        const float s_w = weight.scales[c];
        ChannelRequant r;
        if (engine.requant.kind == arch::RequantKind::float32)
            r.ideal = static_cast<double>((input_scale * s_w) / output_scale);  // fp32, ONNX Runtime's order
        else
            r.ideal = static_cast<double>(s_w) * static_cast<double>(input_scale) / static_cast<double>(output_scale);
        try {
            r.derived = sim::derive_requant(r.ideal, engine.requant, engine.accumulator.bits);
        } catch (const std::domain_error& e) {
            throw UserError(fmt::format("{}: channel {}: multiplier m = s_w * s_x / s_y = {} cannot be realized by "
                                        "the {} requant unit of engine '{}': {}",
                                        who, c, r.ideal, arch::to_string(engine.requant.kind), engine.name, e.what()));
        }
        out.push_back(r);
    }
    return out;
}

namespace {

// Every non-empty bin of the signed histogram: its center x, Q(x) on the
// per-tensor grid of params, and its count.
struct GridPoints {
    std::vector<double> x, q, count;
};
GridPoints grid_points(const TensorStats& stats, const QuantParams& params) {
    const policy_detail::BinMasses bins = policy_detail::nonempty_bins(stats.signed_hist);
    const arch::ValueRange r = params.range();
    const float scale = params.scales.at(0);
    const double zero_point = static_cast<double>(params.zero_points.at(0));
    GridPoints g;
    for (std::size_t i = 0; i < bins.size(); ++i) {
        g.x.push_back(bins.center[i]);
        g.q.push_back(sim::fake_quantize(static_cast<float>(bins.center[i]), scale, zero_point, double(r.min), double(r.max)));
        g.count.push_back(bins.count[i]);
    }
    return g;
}

// 10 log10(sum n y^2 / sum n (y - y_q)^2); +inf without noise.
double weighted_sqnr_db(const std::vector<double>& count, const std::vector<double>& y, const std::vector<double>& y_q) {
    double signal = 0.0, noise = 0.0;
    for (std::size_t i = 0; i < count.size(); ++i) {
        const double e = y[i] - y_q[i];
        signal += count[i] * y[i] * y[i];
        noise += count[i] * e * e;
    }
    if (noise == 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

}  // namespace

double calibration_sqnr_db(const TensorStats& stats, const QuantParams& params) {
    const GridPoints g = grid_points(stats, params);
    return weighted_sqnr_db(g.count, g.x, g.q);
}

double calibration_sqnr_db(const TensorStats& stats, const QuantParams& params, const ValueMap& f) {
    const GridPoints g = grid_points(stats, params);
    const std::vector<float> fx = f(std::vector<float>(g.x.begin(), g.x.end()));
    const std::vector<float> fq = f(std::vector<float>(g.q.begin(), g.q.end()));
    return weighted_sqnr_db(g.count, std::vector<double>(fx.begin(), fx.end()), std::vector<double>(fq.begin(), fq.end()));
}

double calibration_mean_square(const TensorStats& stats) {
    const policy_detail::BinMasses bins = policy_detail::nonempty_bins(stats.signed_hist);
    double sum = 0.0, n = 0.0;
    for (std::size_t i = 0; i < bins.size(); ++i) {
        sum += bins.count[i] * bins.center[i] * bins.center[i];
        n += bins.count[i];
    }
    return n > 0 ? sum / n : 0.0;
}

}  // namespace bitnpu::calib
