// Quantization parameters as a tensor's constraints allow them (search.hpp):
// the scale options they imply, a policy's candidate, and given parameters
// (a CTable being refined, a QDQ model's) conformed to them.
#include <algorithm>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "search.hpp"

namespace bitnpu::calib {

ScaleOptions scale_options(const TensorConstraints& c) {
    ScaleOptions options;
    options.mode = c.zero_point ? ScaleMode::asymmetric : ScaleMode::symmetric;
    options.power_of_two = c.power_of_two;
    return options;
}

namespace {

// The activation type a tensor with these statistics takes (unsigned where
// allowed and nothing observed is negative).
arch::ValueType observed_type(const TensorStats& stats, const TensorConstraints& c) {
    const ClipRange observed{std::min(stats.min, 0.0), std::max(stats.max, 0.0)};
    return activation_type_for(observed, c.type, c.unsigned_ok);
}

}  // namespace

QuantParams candidate_params(const TensorStats& stats, const Policy& policy, const TensorConstraints& c) {
    const arch::ValueType type = observed_type(stats, c);
    const ScaleOptions options = scale_options(c);
    const ClipRange range = policy.choose(stats, grid_for(type, c.restricted), options.mode);
    return activation_params(range, type, c.restricted, options);
}

QuantParams range_params(const TensorStats& stats, const ClipRange& range, const TensorConstraints& c) {
    return activation_params(range, observed_type(stats, c), c.restricted, scale_options(c));
}

QuantParams constant_params(const Graph& graph, const std::string& name, const TensorConstraints& c) {
    StatsOptions options;
    options.histograms = false;
    TensorStats stats(options);
    stats.observe(graph.initializer(name)->cast(DType::f32));
    if (stats.count == 0 || stats.has_non_finite())
        throw UserError(fmt::format("constant operand '{}' holds no finite values", name));
    return candidate_params(stats, *make_policy(PolicyKind::max), c);
}

QuantParams conform_to_constraints(const QuantParams& given, const TensorConstraints& c, std::vector<std::string>* why) {
    std::vector<std::string> reasons;
    const bool type_ok = given.type == c.type || (c.unsigned_ok && unsigned_counterpart(c.type) == given.type);
    if (!type_ok)
        reasons.push_back(fmt::format("type {} is not offered ({})", arch::to_string(given.type), arch::to_string(c.type)));
    if (given.per_channel()) reasons.push_back("per-channel activation -> per tensor");
    const bool zero = std::all_of(given.zero_points.begin(), given.zero_points.end(), [](std::int64_t z) { return z == 0; });
    if (!c.zero_point && !zero) reasons.push_back("zero-point not supported");
    if (c.power_of_two && !power_of_two_exponent(given.scales.at(0))) reasons.push_back("power-of-two scale");
    if (c.restricted != given.restricted) reasons.push_back(c.restricted ? "restricted range" : "full range");
    if (why) *why = reasons;
    if (reasons.empty()) {
        QuantParams same = given;
        if (c.power_of_two) same.exponents = {*power_of_two_exponent(given.scales.at(0))};
        return same;
    }
    double lo = 0.0, hi = 0.0;
    for (std::size_t ch = 0; ch < given.scales.size(); ++ch) {
        const AffineQuant q = channel_quant(given, ch);
        lo = std::min(lo, double(q.scale) * double(q.grid.qmin - q.zero_point));
        hi = std::max(hi, double(q.scale) * double(q.grid.qmax - q.zero_point));
    }
    const ClipRange range{lo, hi};
    const arch::ValueType type = activation_type_for(range, c.type, c.unsigned_ok);
    return activation_params(range, type, c.restricted, scale_options(c));
}

}  // namespace bitnpu::calib
