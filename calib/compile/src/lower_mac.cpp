// Lowering of Conv / Gemm / MatMul onto a mac_array engine
// (numerics.md "The MAC datapath"): weights quantized per channel or per tensor, bias
// quantized at s_w * s_x, requant registers from m = s_w s_x / s_y, the
// fused activation as the output clamp.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "bitnpu/arch/derived.hpp"
#include "bitnpu/quant/accumulator_bound.hpp"
#include "bitnpu/quant/statistics.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/functional/mac_layer.hpp"
#include "lower_ops.hpp"
#include "bitnpu/quant/weight_clipping.hpp"

namespace bitnpu::calib::lowering {

// The weight as [N_out, K] (Gemm/MatMul) or [C_out, C_in/g, kH, kW] (Conv),
// with Gemm's alpha folded in.
Tensor normalized_weight(const NodeContext& ctx) {
    const Tensor& w = *ctx.graph.initializer(ctx.node.inputs[1]);
    const std::string& op = ctx.node.op_type;
    if (op == "Conv") {
        if (w.rank() != 4)
            throw UserError(fmt::format("node '{}' (Conv): only 2-D convolutions run on a mac_array (weight rank {})",
                                        ctx.node.name, w.rank()));
        return w.cast(DType::f32);
    }
    if (w.rank() != 2)
        throw UserError(fmt::format("node '{}' ({}): weight must be 2-D, got {}", ctx.node.name, op,
                                    shape_to_string(w.shape())));
    const bool transposed = op == "Gemm" && ctx.node.attr_int("transB", 0) != 0;
    const float alpha = op == "Gemm" ? ctx.node.attr_float("alpha", 1.0f) : 1.0f;
    const Tensor wf = w.cast(DType::f32);
    const std::int64_t rows = wf.dim(0), cols = wf.dim(1);
    const std::int64_t n_out = transposed ? rows : cols, k = transposed ? cols : rows;
    Tensor out(DType::f32, {n_out, k});
    const float* src = wf.data<float>();
    float* dst = out.data<float>();
    for (std::int64_t n = 0; n < n_out; ++n)
        for (std::int64_t i = 0; i < k; ++i)
            dst[n * k + i] = alpha * (transposed ? src[n * k + i] : src[i * n_out + n]);
    return out;
}

namespace {

// The float bias per output channel (Gemm: beta * C), empty when none.
std::vector<double> float_bias(const NodeContext& ctx, std::int64_t channels) {
    const std::size_t bias_input = 2;
    if (ctx.node.op_type == "MatMul" || ctx.node.inputs.size() <= bias_input || ctx.node.inputs[bias_input].empty())
        return {};
    const Tensor* b = ctx.graph.initializer(ctx.node.inputs[bias_input]);
    if (!b)
        throw UserError(fmt::format("node '{}' ({}): the bias '{}' must be a constant to run on a mac_array",
                                    ctx.node.name, ctx.node.op_type, ctx.node.inputs[bias_input]));
    const std::vector<float> values = b->to_floats();
    const double beta = ctx.node.op_type == "Gemm" ? ctx.node.attr_float("beta", 1.0f) : 1.0;
    std::vector<double> out(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c) {
        if (values.size() == 1) out[c] = beta * values[0];
        else if (static_cast<std::int64_t>(values.size()) == channels) out[c] = beta * values[c];
        else
            throw UserError(fmt::format("node '{}' ({}): bias has {} values for {} output channels", ctx.node.name,
                                        ctx.node.op_type, values.size(), channels));
    }
    return out;
}

// The float bias plus the bias correction, when the calibrator set one.
std::vector<double> float_bias_corrected(const NodeContext& ctx, std::int64_t channels) {
    std::vector<double> bias = float_bias(ctx, channels);
    if (auto delta = ctx.bias_delta.find(ctx.node.name); delta != ctx.bias_delta.end()) {
        const auto n = static_cast<std::size_t>(channels);
        if (delta->second.size() != n) throw std::logic_error("bias correction: wrong channel count");
        bias.resize(n, 0.0);
        for (std::size_t c = 0; c < n; ++c) bias[c] += delta->second[c];
    }
    return bias;
}

sim::ConvGeometry conv_geometry(const NodeContext& ctx, const Shape& kernel) {
    const Node& n = ctx.node;
    sim::ConvGeometry g;
    const auto strides = n.attr_ints("strides", {1, 1});
    const auto dilations = n.attr_ints("dilations", {1, 1});
    g.stride_h = static_cast<int>(strides.at(0));
    g.stride_w = static_cast<int>(strides.at(1));
    g.dilation_h = static_cast<int>(dilations.at(0));
    g.dilation_w = static_cast<int>(dilations.at(1));
    g.groups = static_cast<int>(n.attr_int("group", 1));
    std::vector<std::int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
    const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const Shape in = ctx.shape(n.inputs[0]);
        if (in.size() != 4)
            throw UserError(fmt::format("node '{}' (Conv): auto_pad {} needs the input shape", n.name, auto_pad));
        for (int axis = 0; axis < 2; ++axis) {
            const std::int64_t size = in[2 + axis], stride = strides.at(axis);
            const std::int64_t effective = (kernel[2 + axis] - 1) * dilations.at(axis) + 1;
            const std::int64_t out = (size + stride - 1) / stride;
            const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride + effective - size);
            const std::int64_t small = total / 2, large = total - small;
            pads[axis] = auto_pad == "SAME_UPPER" ? small : large;
            pads[axis + 2] = auto_pad == "SAME_UPPER" ? large : small;
        }
    }
    g.pad_top = static_cast<int>(pads.at(0));
    g.pad_left = static_cast<int>(pads.at(1));
    g.pad_bottom = static_cast<int>(pads.at(2));
    g.pad_right = static_cast<int>(pads.at(3));
    return g;
}

// The weight quantization a CTable records: its scales, zero-points 0
// (CTables record symmetric weights only; see derived_weight_quant).
QuantParams recorded_weight_quant(const NodeContext& ctx, const std::vector<float>& scales, arch::ValueType type,
                                  std::int64_t channels) {
    const arch::EngineSpec& engine = *ctx.place.engine;
    const bool per_channel = engine.requant.per_channel;
    if (static_cast<std::int64_t>(scales.size()) != (per_channel ? channels : 1))
        throw UserError(fmt::format("the CTable records {} weight scales for node '{}'; engine '{}' needs {}",
                                    scales.size(), ctx.node.name, engine.name, per_channel ? channels : 1));
    CTableTensor t;
    t.type = type;
    t.restricted = engine.restricted_range;
    t.scale = scales;
    t.zero_point.assign(scales.size(), 0);
    if (per_channel) t.axis = 0;
    if (needs_power_of_two_scales(engine))
        for (float s : scales) {
            const std::optional<int> f = power_of_two_exponent(s);
            if (!f)
                throw UserError(fmt::format("the CTable's weight scale {} for node '{}' is not a power of two, which "
                                            "engine '{}' needs",
                                            s, ctx.node.name, engine.name));
            t.exponent.push_back(*f);
        }
    return quant_params(t);
}

// A channel whose bias would saturate the engine's bias register at
// s_w * s_x gets the weight range that just holds it: |b| <= b_max s_w s_x.
// Batch-norm-folded networks (MobileNets) have channels with tiny weights
// and a large bias; quantizing their weights a little coarser costs far less
// than a clipped bias, or than a multiplier s_w s_x / s_y so small that the
// requant unit realizes it as 0 (numerics.md "Deriving registers": the
// channel would output the zero-point instead of its bias).
void widen_for_bias(const NodeContext& ctx, arch::ValueType type, ChannelRanges& ranges) {
    const std::string& input = ctx.node.inputs.at(0);
    if (!ctx.plan.tied_to.count(input) || !ctx.quant.count(ctx.plan.root(input))) return;   // s_x not chosen yet
    const double s_x = ctx.params(input).scales.at(0);
    const std::int64_t channels = static_cast<std::int64_t>(ranges.channels());
    const std::vector<double> bias = float_bias_corrected(ctx, channels);
    const double b_max = double(arch::signed_range(ctx.place.engine->bias.bits).max) - 1.0;   // 1 LSB of rounding room
    const double q_max = double(arch::value_range(type).max);
    for (std::size_t c = 0; c < bias.size() && c < ranges.channels(); ++c) {
        const double needed = std::abs(bias[c]) / (s_x * b_max) * q_max;
        ranges.max[c] = std::max(ranges.max[c], needed);
        ranges.min[c] = std::min(ranges.min[c], -needed);
    }
}

// The weight scales grown until no input can overflow the accumulator
// (numerics.md "Accumulator-aware weight bound"), or the given fraction of
// the way there, for a node the calibrator asked it for
// (Lowering::set_accumulator_bound). It needs the input's quantization: its
// type and zero-point give the operand range, s_x the integer bias.
QuantParams accumulator_bounded(const NodeContext& ctx, const Tensor& weight, QuantParams clipped) {
    const std::string& input = ctx.node.inputs.at(0);
    auto fraction = ctx.accumulator_bound.find(ctx.node.name);
    if (fraction == ctx.accumulator_bound.end() || !ctx.plan.tied_to.count(input) ||
        !ctx.quant.count(ctx.plan.root(input)))
        return clipped;
    const arch::EngineSpec& engine = *ctx.place.engine;
    const QuantParams& x = ctx.params(input);
    AccumulatorBudget budget;
    budget.input = input_operand_range(x.type, x.zero_points.at(0));
    budget.input_scale = x.scales.at(0);
    budget.bias = float_bias_corrected(ctx, weight.dim(0));
    budget.bias_bits = engine.bias.bits;
    budget.accumulator_bits = engine.accumulator.bits;
    budget.bias_stage = engine.bias.stage;
    return scales_between(clipped, accumulator_bounded_weights(weight, clipped, budget), fraction->second);
}

// Symmetric (or, per tensor on engines with weight zero-points, asymmetric)
// weights, per channel when the requant unit is, clipped where that lowers
// the quantization error (the layer-output error when the search set the
// node's input moments; symmetric weights only, so that a CTable, which
// records scales without zero-points, reproduces them), then bounded for the
// accumulator where the calibrator asks for it.
QuantParams derived_weight_quant(const NodeContext& ctx, const Tensor& weight, arch::ValueType type) {
    const arch::EngineSpec& engine = *ctx.place.engine;
    const bool per_channel = engine.requant.per_channel;
    ScaleOptions options;
    options.mode = engine.zero_point.weight && !per_channel ? ScaleMode::asymmetric : ScaleMode::symmetric;
    options.power_of_two = needs_power_of_two_scales(engine);
    const ChannelRanges observed = channel_ranges(weight, 0, ctx.node.inputs[1]);
    auto moments = ctx.input_moments.find(ctx.node.name);
    const bool weighted = moments != ctx.input_moments.end() && options.mode == ScaleMode::symmetric;
    const std::string clip_key = ctx.node.name + "|" + engine.name + "|" + std::string(arch::to_string(type));
    auto cached = ctx.clip_cache.find(clip_key);
    if (cached == ctx.clip_cache.end())
        cached = ctx.clip_cache
                     .emplace(clip_key, mse_weight_ranges(weight, observed, type, engine.restricted_range, per_channel,
                                                          options, weighted ? &moments->second : nullptr, ctx.threads))
                     .first;
    ChannelRanges clipped = cached->second;
    if (options.mode != ScaleMode::symmetric)
        return weight_params(clipped, type, engine.restricted_range, per_channel, options);
    widen_for_bias(ctx, type, clipped);
    return accumulator_bounded(ctx, weight, weight_params(clipped, type, engine.restricted_range, per_channel, options));
}

QuantParams weight_quant(const NodeContext& ctx, const Tensor& weight, arch::ValueType type) {
    const CTableLayer* recorded = ctx.recorded_layer();
    const bool symmetric = !(ctx.place.engine->zero_point.weight && !ctx.place.engine->requant.per_channel);
    if (recorded && !recorded->weight_scale.empty() && symmetric)
        return recorded_weight_quant(ctx, recorded->weight_scale, type, weight.dim(0));
    return derived_weight_quant(ctx, weight, type);
}

// b_q per output channel: the CTable's recorded values when given, else the
// float bias (plus the bias correction, when set) quantized at s_w * s_x.
std::vector<std::int64_t> quantized_bias(const NodeContext& ctx, const QuantParams& wq, float s_x, std::int64_t channels) {
    const arch::EngineSpec& engine = *ctx.place.engine;
    const std::size_t n = static_cast<std::size_t>(channels);
    if (const CTableLayer* recorded = ctx.recorded_layer(); recorded && !recorded->bias.empty()) {
        if (recorded->bias.size() != n)
            throw UserError(fmt::format("the CTable records {} bias values for node '{}', which has {} output channels",
                                        recorded->bias.size(), ctx.node.name, channels));
        const arch::ValueRange range = arch::signed_range(engine.bias.bits);
        for (std::int64_t b : recorded->bias)
            if (b < range.min || b > range.max)
                throw UserError(fmt::format("the CTable's bias {} for node '{}' does not fit the engine's {}-bit bias", b,
                                            ctx.node.name, engine.bias.bits));
        return recorded->bias;
    }
    const std::vector<double> bias = float_bias_corrected(ctx, channels);
    std::vector<std::int64_t> out;
    for (std::size_t c = 0; c < bias.size(); ++c)
        out.push_back(sim::quantize_bias(bias[c], channel_quant(wq, c).scale, s_x, engine.bias.bits));
    return out;
}

// The flags of weights rounded the other way than nearest: the
// calibrator's (Lowering::set_weight_rounding), else the CTable's; null when
// every weight is rounded to nearest.
const std::vector<bool>* rounding_flags(const NodeContext& ctx, std::int64_t weights) {
    if (auto it = ctx.weight_rounding.find(ctx.node.name); it != ctx.weight_rounding.end()) {
        if (static_cast<std::int64_t>(it->second.size()) != weights)
            throw std::logic_error("set_weight_rounding: wrong number of flags for node '" + ctx.node.name + "'");
        return &it->second;
    }
    const CTableLayer* recorded = ctx.recorded_layer();
    if (!recorded || recorded->weight_rounding.empty()) return nullptr;
    if (static_cast<std::int64_t>(recorded->weight_rounding.size()) != weights)
        throw UserError(fmt::format("{}: weight.rounding covers {} weights; the layer has {}", recorded_where(ctx),
                                    recorded->weight_rounding.size(), weights));
    return &recorded->weight_rounding;
}

// The weights in the MAC layout, their quantization and their integers:
// rounded to nearest, or to the other neighbour where a rounding flag is
// set (AdaRound); out.rounding keeps the flags that changed a weight.
LoweredWeights lower_weights(const NodeContext& ctx, arch::ValueType type) {
    const Tensor weight = normalized_weight(ctx);
    LoweredWeights out;
    out.params = weight_quant(ctx, weight, type);
    out.shape = weight.shape();
    const std::int64_t channels = weight.dim(0);
    const std::int64_t per_row = weight.numel() / channels;
    const std::vector<bool>* flags = rounding_flags(ctx, weight.numel());
    out.quantized.resize(static_cast<std::size_t>(weight.numel()));
    if (flags) out.rounding.assign(static_cast<std::size_t>(weight.numel()), false);
    const float* w = weight.data<float>();
    for (std::int64_t c = 0; c < channels; ++c) {
        const AffineQuant q = channel_quant(out.params, static_cast<std::size_t>(c));
        for (std::int64_t i = 0; i < per_row; ++i) {
            const auto at = static_cast<std::size_t>(c * per_row + i);
            const std::int64_t nearest = quantize_value(w[at], q);
            const std::int64_t value = flags && (*flags)[at] ? other_rounding(w[at], q) : nearest;
            out.quantized[at] = static_cast<std::int32_t>(value);
            if (value != nearest) out.rounding[at] = true;
        }
    }
    if (std::find(out.rounding.begin(), out.rounding.end(), true) == out.rounding.end()) out.rounding.clear();
    return out;
}

}  // namespace

sim::LayerParams lower_mac(const NodeContext& ctx, CTableLayer& record) {
    const arch::EngineSpec& engine = *ctx.place.engine;
    const QuantParams& x = ctx.params(ctx.node.inputs[0]);
    const QuantParams& y = ctx.params(ctx.node.outputs[0]);
    if (x.per_channel() || y.per_channel())
        throw UserError(fmt::format("node '{}': activations must be quantized per tensor", ctx.node.name));

    const bool per_channel = engine.requant.per_channel;
    const arch::ValueType weight_type = ctx.place.precision.weight.value_or(arch::ValueType::int8);
    auto cached = ctx.weight_cache.find(ctx.node.name);
    if (cached == ctx.weight_cache.end()) cached = ctx.weight_cache.emplace(ctx.node.name, lower_weights(ctx, weight_type)).first;
    const LoweredWeights& lowered = cached->second;
    const QuantParams& wq = lowered.params;

    sim::MacLayer layer;
    layer.kind = ctx.node.op_type == "Conv" ? sim::MacKind::conv : sim::MacKind::gemm;
    layer.input_type = x.type;
    layer.weight_type = weight_type;
    layer.output_type = y.type;
    layer.input_zero_point = x.zero_points.at(0);
    layer.weight_zero_point = wq.per_channel() ? 0 : wq.zero_points.at(0);
    layer.weight_shape = lowered.shape;
    layer.weights = lowered.quantized;
    const std::int64_t channels = lowered.shape.at(0);

    const float s_x = x.scales.at(0);
    layer.bias = quantized_bias(ctx, wq, s_x, channels);
    if (layer.kind == sim::MacKind::conv) layer.geometry = conv_geometry(ctx, lowered.shape);
    layer.accumulator = {engine.accumulator.bits, engine.accumulator.overflow};
    layer.bias_stage = engine.bias.stage;

    if (auto programmed = recorded_requant(ctx, engine.requant, engine.accumulator.bits, wq.scales.size())) {
        layer.requant = std::move(*programmed);
        record.requant = ctx.recorded_layer()->requant;
    } else {
        for (const ChannelRequant& r : derive_layer_requant(wq, s_x, y.scales.at(0), engine, ctx.node.name)) {
            layer.requant.push_back(r.derived.registers);
            record.requant.push_back(ctable_requant(r));
        }
    }

    const Node& n = ctx.node;
    check_output_zero_point(ctx, y);
    const Clamp clamp =
        program_clamp(ctx, y,
                      output_clamp(y, n.attr_string(fused::kActivation, ""), n.attr_float(fused::kClipMin, -INFINITY),
                                   n.attr_float(fused::kClipMax, INFINITY)));
    layer.output_zero_point = y.zero_points.at(0);
    layer.clamp_lo = clamp.lo;
    layer.clamp_hi = clamp.hi;
    sim::validate(layer);

    record.weight_granularity = per_channel ? "per_channel" : "per_tensor";
    record.weight_scale = wq.scales;
    record.weight_rounding = lowered.rounding;
    record.bias_bits = engine.bias.bits;
    record.bias = layer.bias;
    record.clamp_lo = clamp.lo;
    record.clamp_hi = clamp.hi;
    record.output_zero_point = layer.output_zero_point;
    return layer;
}

}  // namespace bitnpu::calib::lowering
