// QOperator form (docs/export.md "QOperator"): each layer as the ONNX /
// com.microsoft quantized op whose arithmetic is the layer's on an arch
// ONNX Runtime implements (configs/ort_cpu.yaml), so ONNX Runtime's CPU
// kernels compute npusim's integers. Layers with no such op run as
// DQ -> float op -> Q and are reported as not exact.
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/fp32_vector.hpp"
#include "emit.hpp"

namespace bitnpu::calib::exporting {
namespace {

// ONNX Runtime's QLinearConv / QGemm scale one int32 accumulator (bias
// added) by fp32(fp32(x_scale * w_scale[c]) / y_scale) and round half to even
// (numerics.md "Requantization units", float32): a MAC engine is exported
// only when its datapath is that.
void require_ort_mac_datapath(const Node& node, const arch::EngineSpec& e, const sim::MacLayer& layer) {
    std::string problem;
    if (e.requant.kind != arch::RequantKind::float32)
        problem = fmt::format("its requant unit is a {} (ONNX Runtime scales in fp32)", arch::to_string(e.requant.kind));
    else if (e.accumulator.bits != 32)
        problem = fmt::format("its accumulator has {} bits (ONNX Runtime's has 32)", e.accumulator.bits);
    else if (e.bias.stage != arch::BiasStage::preload || e.bias.bits > 32)
        problem = "its bias is not a 32-bit value added to the accumulator";
    else if (layer.weight_type != arch::ValueType::int8)
        problem = fmt::format("its weights are {} (QLinearConv/QGemm take int8)", arch::to_string(layer.weight_type));
    else if (layer.weight_zero_point != 0)
        problem = "its weights have a zero-point";
    if (!problem.empty())
        throw UserError(fmt::format("node '{}' ({}) on engine '{}' cannot be exported in QOperator form: {}. Export "
                                    "with --format qdq (which carries every register value in the file), or "
                                    "calibrate for an arch ONNX Runtime implements (configs/ort_cpu.yaml)",
                                    node.name, node.op_type, e.name, problem));
}

std::vector<std::int64_t> geometry_pads(const sim::ConvGeometry& g) {
    return {g.pad_top, g.pad_left, g.pad_bottom, g.pad_right};
}

ExportedLayer emit_mac(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q,
                       const sim::MacLayer& layer) {
    const arch::EngineSpec* engine = ctx.arch.find_engine(q.engine);
    if (!engine) throw std::logic_error("export: unknown engine " + q.engine);
    require_ort_mac_datapath(node, *engine, layer);
    const std::string& x = node.inputs.at(0);
    const std::string& y = node.outputs.at(0);
    const sim::QuantParams& xq = ctx.tensor(x).quant;
    const sim::QuantParams& yq = ctx.tensor(y).quant;
    const CTableLayer* record = ctx.table.find_layer(node.name);
    const std::vector<float> w_scales = weight_scales_for_registers(
        node, layer, record ? record->weight_scale : std::vector<float>{}, xq.scales.at(0), yq.scales.at(0));

    std::vector<std::int64_t> wv(layer.weights.begin(), layer.weights.end());
    const std::string weight =
        w.initializer(Tensor::from_vector<std::int64_t>(layer.weight_shape, wv).cast(DType::i8), node.name + "_weight_quantized");
    const bool per_channel = w_scales.size() > 1;
    const std::string w_scale = per_channel ? w.initializer(Tensor::from_vector<float>({std::int64_t(w_scales.size())}, w_scales),
                                                            node.name + "_weight_scale")
                                            : w.scalar_f32(w_scales.at(0), node.name + "_weight_scale");
    const std::string w_zero = w.integers(arch::ValueType::int8, std::vector<std::int64_t>(w_scales.size(), 0),
                                          node.name + "_weight_zero_point", !per_channel);
    std::vector<std::int32_t> bias(layer.bias.begin(), layer.bias.end());
    if (bias.empty()) bias.assign(static_cast<std::size_t>(layer.weight_shape.at(0)), 0);
    const std::string b = w.initializer(Tensor::from_vector<std::int32_t>({std::int64_t(bias.size())}, bias),
                                        node.name + "_bias_quantized");
    const std::string x_scale = w.scalar_f32(xq.scales.at(0), node.name + "_x_scale");
    const std::string x_zero = w.integers(xq.type, {xq.zero_points.at(0)}, node.name + "_x_zero_point", true);
    const std::string y_scale = w.scalar_f32(yq.scales.at(0), node.name + "_y_scale");
    const std::string y_zero = w.integers(yq.type, {yq.zero_points.at(0)}, node.name + "_y_zero_point", true);

    const arch::ValueRange full = arch::value_range(yq.type);
    const bool clamped = layer.clamp_lo > full.min || layer.clamp_hi < full.max;
    const std::string out = clamped ? w.fresh(y + "_unclamped") : ctx.qname(y);
    std::string form;
    if (layer.kind == sim::MacKind::conv) {
        onnx::NodeProto& n = w.node("QLinearConv", {ctx.qname(x), x_scale, x_zero, weight, w_scale, w_zero, y_scale,
                                                    y_zero, b},
                                    {out}, node.name);
        const sim::ConvGeometry& g = layer.geometry;
        ModelWriter::attr_ints(n, "kernel_shape", {layer.weight_shape.at(2), layer.weight_shape.at(3)});
        ModelWriter::attr_ints(n, "strides", {g.stride_h, g.stride_w});
        ModelWriter::attr_ints(n, "dilations", {g.dilation_h, g.dilation_w});
        ModelWriter::attr_ints(n, "pads", geometry_pads(g));
        ModelWriter::attr_int(n, "group", g.groups);
        form = "QLinearConv";
    } else {
        // QGemm takes a 2-D A: a [..., K] input is flattened to [M, K] and the
        // [M, N] result reshaped back to [..., N].
        const Shape in_shape = ctx.tensor(x).shape;
        const bool flat = in_shape.size() == 2;
        std::string a = ctx.qname(x);
        std::string y_shape;
        if (!flat) {
            const std::string k = w.initializer(Tensor::from_vector<std::int64_t>({2}, {-1, layer.weight_shape.at(1)}),
                                                node.name + "_rows");
            const std::string flat_name = w.fresh(x + "_rows");
            w.node("Reshape", {a, k}, {flat_name}, node.name + "_flatten");
            const std::string shape = w.fresh(x + "_shape");
            w.node("Shape", {ctx.qname(x)}, {shape}, node.name + "_shape");
            const std::string lead = w.fresh(x + "_leading_shape");
            const std::string starts = w.initializer(Tensor::from_vector<std::int64_t>({1}, {0}), node.name + "_starts");
            const std::string ends = w.initializer(Tensor::from_vector<std::int64_t>({1}, {-1}), node.name + "_ends");
            w.node("Slice", {shape, starts, ends}, {lead}, node.name + "_leading");
            const std::string n_out =
                w.initializer(Tensor::from_vector<std::int64_t>({1}, {layer.weight_shape.at(0)}), node.name + "_n");
            y_shape = w.fresh(y + "_shape");
            onnx::NodeProto& cat = w.node("Concat", {lead, n_out}, {y_shape}, node.name + "_output_shape");
            ModelWriter::attr_int(cat, "axis", 0);
            a = flat_name;
        }
        const std::string gemm_out = flat ? out : w.fresh(y + "_rows");
        onnx::NodeProto& n = w.node("QGemm", {a, x_scale, x_zero, weight, w_scale, w_zero, b, y_scale, y_zero},
                                    {gemm_out}, node.name, "com.microsoft");
        ModelWriter::attr_int(n, "transB", 1);
        if (!flat) w.node("Reshape", {gemm_out, y_shape}, {out}, node.name + "_unflatten");
        form = flat ? "QGemm" : "Reshape -> QGemm -> Reshape";
    }
    if (clamped) {
        emit_integer_clamp(w, ctx, y, out, layer.clamp_lo, layer.clamp_hi, node.name + "_clamp");
        form += " -> Clip";
    }
    return {node.name, node.op_type, form, true, ""};
}

// The integers a quantized op reads: an activation's exported name, or a
// constant operand's integers as an initializer.
std::string integer_input(ModelWriter& w, const Context& ctx, const std::string& tensor) {
    const sim::QuantTensorInfo& info = ctx.tensor(tensor);
    if (!info.constant) return ctx.qname(tensor);
    return w.integers(info.quant.type, std::vector<std::int64_t>(info.constant->begin(), info.constant->end()),
                      tensor + "_quantized", false);
}

// A float s with fp32(op(s)) == want, starting from `guess` (the CTable's
// scale: it gives the register unless the register was edited), searching
// the floats next to the one solving it in double.
float scale_giving(const Node& node, const std::string& what, float want, float guess, double solved,
                   const std::function<float(float)>& op) {
    if (op(guess) == want) return guess;
    float up = static_cast<float>(solved), down = up;
    for (int step = 0; step < 64; ++step) {
        if (op(up) == want) return up;
        if (op(down) == want) return down;
        up = std::nextafter(up, INFINITY);
        down = std::nextafter(down, 0.0f);
    }
    throw UserError(fmt::format("node '{}': no fp32 {} makes ONNX Runtime compute the register value {}", node.name,
                                what, want));
}

std::string scale_input(ModelWriter& w, float scale, const std::string& hint) { return w.scalar_f32(scale, hint); }

// A com.microsoft QLinearAdd / QLinearMul of inputs a and b with the given
// A and B scales (those that make ONNX Runtime compute the layer's
// registers), then the layer's clamp when it is narrower than the type.
ExportedLayer emit_qlinear_binary(ModelWriter& w, const Context& ctx, const Node& node, const std::string& op,
                                  float sa, float sb, std::int64_t clamp_lo, std::int64_t clamp_hi) {
    const std::string &a = node.inputs.at(0), &b = node.inputs.at(1), &y = node.outputs.at(0);
    const sim::QuantParams &aq = ctx.tensor(a).quant, &bq = ctx.tensor(b).quant, &yq = ctx.tensor(y).quant;
    const arch::ValueRange full = arch::value_range(yq.type);
    const bool clamped = clamp_lo > full.min || clamp_hi < full.max;
    const std::string out = clamped ? w.fresh(y + "_unclamped") : ctx.qname(y);
    w.node(op,
           {integer_input(w, ctx, a), scale_input(w, sa, node.name + "_a_scale"),
            w.integers(aq.type, {aq.zero_points.at(0)}, node.name + "_a_zero_point", true), integer_input(w, ctx, b),
            scale_input(w, sb, node.name + "_b_scale"),
            w.integers(bq.type, {bq.zero_points.at(0)}, node.name + "_b_zero_point", true),
            scale_input(w, yq.scales.at(0), node.name + "_y_scale"),
            w.integers(yq.type, {yq.zero_points.at(0)}, node.name + "_y_zero_point", true)},
           {out}, node.name, "com.microsoft");
    if (clamped) emit_integer_clamp(w, ctx, y, out, clamp_lo, clamp_hi, node.name + "_clamp");
    return {node.name, node.op_type, clamped ? op + " -> Clip" : op, true, ""};
}

// Add on an fp32 vector unit -> com.microsoft QLinearAdd (numerics.md "fp32
// vector units"; ONNX Runtime swaps the operands exactly when the unit does).
ExportedLayer emit_qlinear_add(ModelWriter& w, const Context& ctx, const Node& node, const sim::AddLayer& layer) {
    const float sy = ctx.tensor(node.outputs.at(0)).quant.scales.at(0);
    const float ratio_a = layer.fp32_swapped ? layer.fp32->ratio_b : layer.fp32->ratio_a;
    const float ratio_b = layer.fp32_swapped ? layer.fp32->ratio_a : layer.fp32->ratio_b;
    auto over_sy = [sy](float s) { return s / sy; };
    const float sa = scale_giving(node, "A_scale", ratio_a, ctx.tensor(node.inputs.at(0)).quant.scales.at(0),
                                  double(ratio_a) * sy, over_sy);
    const float sb = scale_giving(node, "B_scale", ratio_b, ctx.tensor(node.inputs.at(1)).quant.scales.at(0),
                                  double(ratio_b) * sy, over_sy);
    return emit_qlinear_binary(w, ctx, node, "QLinearAdd", sa, sb, layer.clamp_lo, layer.clamp_hi);
}

// Mul on an fp32 vector unit -> com.microsoft QLinearMul.
ExportedLayer emit_qlinear_mul(ModelWriter& w, const Context& ctx, const Node& node, const sim::MulLayer& layer) {
    const float sa = ctx.tensor(node.inputs.at(0)).quant.scales.at(0);
    const float sy = ctx.tensor(node.outputs.at(0)).quant.scales.at(0);
    const float ratio = layer.requant.float_scale;
    const float sb = scale_giving(node, "B_scale", ratio, ctx.tensor(node.inputs.at(1)).quant.scales.at(0),
                                  double(ratio) * sy / sa,
                                  [&](float s) { return sim::fp32_vector::mul_ratio(sa, s, sy); });
    return emit_qlinear_binary(w, ctx, node, "QLinearMul", sa, sb, layer.clamp_lo, layer.clamp_hi);
}

// GlobalAveragePool on an fp32 vector unit -> com.microsoft QLinearGlobalAveragePool.
ExportedLayer emit_qlinear_global_average(ModelWriter& w, const Context& ctx, const Node& node,
                                          const sim::AvgPoolLayer& layer) {
    const std::string &x = node.inputs.at(0), &y = node.outputs.at(0);
    const sim::QuantParams &xq = ctx.tensor(x).quant, &yq = ctx.tensor(y).quant;
    if (layer.registers_by_count.size() != 1) throw std::logic_error("global average with several window sizes");
    const auto& [count, registers] = *layer.registers_by_count.begin();
    const float sy = yq.scales.at(0);
    const std::int64_t n = count;
    const float sx = scale_giving(node, "x_scale", registers.float_scale, xq.scales.at(0),
                                  double(registers.float_scale) * sy * double(n),
                                  [&](float s) { return sim::fp32_vector::average_scale(s, sy, n); });
    const arch::ValueRange full = arch::value_range(yq.type);
    const bool clamped = layer.clamp_lo > full.min || layer.clamp_hi < full.max;
    const std::string out = clamped ? w.fresh(y + "_unclamped") : ctx.qname(y);
    onnx::NodeProto& g = w.node("QLinearGlobalAveragePool",
                                {ctx.qname(x), scale_input(w, sx, node.name + "_x_scale"),
                                 w.integers(xq.type, {xq.zero_points.at(0)}, node.name + "_x_zero_point", true),
                                 scale_input(w, sy, node.name + "_y_scale"),
                                 w.integers(yq.type, {yq.zero_points.at(0)}, node.name + "_y_zero_point", true)},
                                {out}, node.name, "com.microsoft");
    ModelWriter::attr_int(g, "channels_last", 0);
    if (clamped) emit_integer_clamp(w, ctx, y, out, layer.clamp_lo, layer.clamp_hi, node.name + "_clamp");
    return {node.name, node.op_type, "QLinearGlobalAveragePool", true, ""};
}

// Concat -> com.microsoft QLinearConcat: inputs tied to the output are
// copied, the others rescaled through the real value (fp32_vector::rescale).
ExportedLayer emit_qlinear_concat(ModelWriter& w, const Context& ctx, const Node& node, const sim::ConcatLayer& layer) {
    const std::string& y = node.outputs.at(0);
    const sim::QuantParams& yq = ctx.tensor(y).quant;
    const arch::ValueRange full = arch::value_range(yq.type);
    const bool clamped = layer.clamp_lo > full.min || layer.clamp_hi < full.max;
    std::vector<std::string> inputs{scale_input(w, yq.scales.at(0), node.name + "_y_scale"),
                                    w.integers(yq.type, {yq.zero_points.at(0)}, node.name + "_y_zero_point", true)};
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const sim::QuantParams& xq = ctx.tensor(node.inputs[i]).quant;
        if (xq.type != yq.type)
            throw UserError(fmt::format("node '{}' (Concat): input {} is {} and the output {}; QLinearConcat needs one "
                                        "type",
                                        node.name, i, arch::to_string(xq.type), arch::to_string(yq.type)));
        if (layer.inputs[i].requant && !layer.inputs[i].fp32) return emit_float_op(w, ctx, node, "an integer rescale");
        inputs.push_back(integer_input(w, ctx, node.inputs[i]));
        inputs.push_back(scale_input(w, xq.scales.at(0), fmt::format("{}_x{}_scale", node.name, i)));
        inputs.push_back(w.integers(xq.type, {xq.zero_points.at(0)}, fmt::format("{}_x{}_zero_point", node.name, i), true));
    }
    const std::string out = clamped ? w.fresh(y + "_unclamped") : ctx.qname(y);
    onnx::NodeProto& n = w.node("QLinearConcat", inputs, {out}, node.name, "com.microsoft");
    ModelWriter::attr_int(n, "axis", layer.axis);
    if (clamped) emit_integer_clamp(w, ctx, y, out, layer.clamp_lo, layer.clamp_hi, node.name + "_clamp");
    return {node.name, node.op_type, clamped ? "QLinearConcat -> Clip" : "QLinearConcat", true, ""};
}

}  // namespace

float ort_output_scale(float x_scale, float w_scale, float y_scale) {
    volatile float product = x_scale * w_scale;   // two fp32 roundings, as ONNX Runtime computes it
    return product / y_scale;
}

// The weight scale per unit that makes ONNX Runtime's multiplier
// fp32(fp32(s_x * s_w) / s_y) the register as written: the CTable's scale
// when it does (always, for a table calib wrote), else the nearest float
// that does (an edited register), else a UserError.
std::vector<float> weight_scales_for_registers(const Node& node, const sim::MacLayer& layer,
                                               const std::vector<float>& recorded, float x_scale, float y_scale) {
    std::vector<float> out;
    for (std::size_t c = 0; c < layer.requant.size(); ++c) {
        const float want = layer.requant[c].float_scale;
        float guess = c < recorded.size() ? recorded[c] : static_cast<float>(double(want) * y_scale / x_scale);
        if (ort_output_scale(x_scale, guess, y_scale) != want) {
            guess = static_cast<float>(double(want) * y_scale / x_scale);
            float down = guess, up = guess;
            bool found = false;
            for (int step = 0; step < 64 && !found; ++step) {
                if (ort_output_scale(x_scale, up, y_scale) == want) { guess = up; found = true; }
                else if (ort_output_scale(x_scale, down, y_scale) == want) { guess = down; found = true; }
                up = std::nextafter(up, INFINITY);
                down = std::nextafter(down, 0.0f);
            }
            if (!found)
                throw UserError(fmt::format("node '{}': no fp32 weight scale makes ONNX Runtime's multiplier "
                                            "x_scale * w_scale / y_scale equal the register float_scale {} of channel "
                                            "{}",
                                            node.name, want, c));
        }
        out.push_back(guess);
    }
    return out;
}

ExportedLayer emit_qoperator(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q) {
    if (const auto* mac = std::get_if<sim::MacLayer>(&q.params)) return emit_mac(w, ctx, node, q, *mac);
    if (const auto* lut = std::get_if<sim::LutLayer>(&q.params)) return emit_lookup_table(w, ctx, node, *lut);
    if (std::holds_alternative<sim::MaxPoolLayer>(q.params) || std::holds_alternative<sim::ReshapeLayer>(q.params))
        return emit_layout(w, ctx, node);
    if (const auto* concat = std::get_if<sim::ConcatLayer>(&q.params)) return emit_qlinear_concat(w, ctx, node, *concat);
    if (const auto* resize = std::get_if<sim::ResizeLayer>(&q.params); resize && resize->fp32_coordinates) {
        ExportedLayer l = emit_layout(w, ctx, node);   // ONNX Runtime's uint8/int8 Resize
        l.form = "Resize on integers (ONNX Runtime's channels-last integer bilinear kernel)";
        return l;
    }
    if (const auto* add = std::get_if<sim::AddLayer>(&q.params); add && add->fp32)
        return emit_qlinear_add(w, ctx, node, *add);
    if (const auto* mul = std::get_if<sim::MulLayer>(&q.params); mul && mul->requant.kind == arch::RequantKind::float32)
        return emit_qlinear_mul(w, ctx, node, *mul);
    if (const auto* pool = std::get_if<sim::AvgPoolLayer>(&q.params);
        pool && pool->geometry.global && pool->registers_by_count.size() == 1 &&
        pool->registers_by_count.begin()->second.kind == arch::RequantKind::float32)
        return emit_qlinear_global_average(w, ctx, node, *pool);
    if (std::holds_alternative<sim::HostLayer>(q.params)) {
        if (q.engine != "host") return emit_layout(w, ctx, node);   // a layout move run by the executor's kernel
        return emit_float_op(w, ctx, node,
                             "runs on the host in FP32: ONNX Runtime's float kernel may round differently");
    }
    return emit_float_op(w, ctx, node,
                         fmt::format("no ONNX Runtime quantized op computes the vector engine's {} arithmetic",
                                     node.op_type));
}

}  // namespace bitnpu::calib::exporting
