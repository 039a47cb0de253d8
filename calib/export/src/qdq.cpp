// QDQ form (docs/export.md "QDQ"): every quantized tensor as
// QuantizeLinear -> DequantizeLinear around float ops; MAC weights as int8
// initializers dequantized per output channel (axis 0), biases as int32 at
// scale s_x * s_w[c]. The interchange form ONNX Runtime (which fuses
// DQ -> Conv -> Q back into QLinearConv), TensorRT and other toolchains
// import. The register values ride along in the program metadata.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "emit.hpp"

namespace bitnpu::calib::exporting {
namespace {

// Weight scales: on a float32-requant unit those that reproduce the
// registers in ONNX Runtime's fused kernels; else the CTable's.
std::vector<float> qdq_weight_scales(const Context& ctx, const Node& node, const sim::QuantNode& q,
                                     const sim::MacLayer& layer, float x_scale, float y_scale) {
    const CTableLayer* record = ctx.table.find_layer(node.name);
    const std::vector<float> recorded = record ? record->weight_scale : std::vector<float>{};
    const arch::EngineSpec* engine = ctx.arch.find_engine(q.engine);
    if (engine && engine->requant.kind == arch::RequantKind::float32)
        return weight_scales_for_registers(node, layer, recorded, x_scale, y_scale);
    if (recorded.empty())
        throw UserError(fmt::format("node '{}': the CTable records no weight scales; QDQ export needs them", node.name));
    return recorded;
}

ExportedLayer emit_mac_qdq(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q,
                           const sim::MacLayer& layer) {
    const std::string& x = node.inputs.at(0);
    const std::string& y = node.outputs.at(0);
    const sim::QuantParams& xq = ctx.tensor(x).quant;
    const sim::QuantParams& yq = ctx.tensor(y).quant;
    if (layer.weight_zero_point != 0)
        throw UserError(fmt::format("node '{}': weights with a zero-point are not exported", node.name));
    const std::vector<float> scales = qdq_weight_scales(ctx, node, q, layer, xq.scales.at(0), yq.scales.at(0));
    const auto channels = static_cast<std::int64_t>(scales.size());
    const bool per_channel = channels > 1;

    std::vector<std::int64_t> wv(layer.weights.begin(), layer.weights.end());
    const DType wtype = layer.weight_type == arch::ValueType::uint8 ? DType::u8 : DType::i8;
    if (layer.weight_type != arch::ValueType::int8 && layer.weight_type != arch::ValueType::uint8)
        throw UserError(fmt::format("node '{}': {} weights are not exported yet (int8/uint8 only; int4 needs opset 21, "
                                    "which the ONNX checker here does not know)",
                                    node.name, arch::to_string(layer.weight_type)));
    const std::string wq = w.initializer(Tensor::from_vector<std::int64_t>(layer.weight_shape, wv).cast(wtype),
                                         node.name + "_weight_quantized");
    const std::string w_scale = per_channel ? w.initializer(Tensor::from_vector<float>({channels}, scales), node.name + "_weight_scale")
                                            : w.scalar_f32(scales.at(0), node.name + "_weight_scale");
    const std::string w_zero = w.integers(layer.weight_type, std::vector<std::int64_t>(scales.size(), 0),
                                          node.name + "_weight_zero_point", !per_channel);
    const std::string wf = w.fresh(node.name + "_weight");
    onnx::NodeProto& dqw = w.node("DequantizeLinear", {wq, w_scale, w_zero}, {wf}, node.name + "_weight_dequantize");
    if (per_channel) ModelWriter::attr_int(dqw, "axis", 0);

    std::string bf;
    if (!layer.bias.empty()) {
        std::vector<std::int32_t> bias(layer.bias.begin(), layer.bias.end());
        std::vector<float> bias_scales;
        for (float s : scales) bias_scales.push_back(xq.scales.at(0) * s);
        const auto n = static_cast<std::int64_t>(bias.size());
        const std::string bq = w.initializer(Tensor::from_vector<std::int32_t>({n}, bias), node.name + "_bias_quantized");
        const bool bias_per_channel = bias_scales.size() > 1;
        const std::string b_scale = bias_per_channel
                                        ? w.initializer(Tensor::from_vector<float>({n}, bias_scales), node.name + "_bias_scale")
                                        : w.scalar_f32(bias_scales.at(0), node.name + "_bias_scale");
        const std::string b_zero =
            w.initializer(bias_per_channel ? Tensor::from_vector<std::int32_t>({n}, std::vector<std::int32_t>(bias.size(), 0))
                                           : Tensor::from_vector<std::int32_t>({}, {0}),
                          node.name + "_bias_zero_point");
        bf = w.fresh(node.name + "_bias");
        onnx::NodeProto& dqb = w.node("DequantizeLinear", {bq, b_scale, b_zero}, {bf}, node.name + "_bias_dequantize");
        if (bias_per_channel) ModelWriter::attr_int(dqb, "axis", 0);
    }

    const std::string xf = emit_dequantize(w, ctx, x, node.name + "_dequantize");
    const arch::ValueRange full = arch::value_range(yq.type);
    // The fused activation is written out even where the output type's range
    // already clamps (a Relu into uint8 with zero-point 0): the float graph
    // under the Q/DQ pairs is then the model (importers strip the pairs).
    const std::string activation = node.attr_string(fused::kActivation, "");
    const bool clamped = !activation.empty() || layer.clamp_lo > full.min || layer.clamp_hi < full.max;
    const std::string yf = ctx.float_name(y);
    const std::string linear_out = clamped ? w.fresh(y + "_unclamped") : yf;
    std::string form;
    if (layer.kind == sim::MacKind::conv) {
        std::vector<std::string> inputs{xf, wf};
        if (!bf.empty()) inputs.push_back(bf);
        onnx::NodeProto& n = w.node("Conv", inputs, {linear_out}, node.name);
        const sim::ConvGeometry& g = layer.geometry;
        ModelWriter::attr_ints(n, "kernel_shape", {layer.weight_shape.at(2), layer.weight_shape.at(3)});
        ModelWriter::attr_ints(n, "strides", {g.stride_h, g.stride_w});
        ModelWriter::attr_ints(n, "dilations", {g.dilation_h, g.dilation_w});
        ModelWriter::attr_ints(n, "pads", {g.pad_top, g.pad_left, g.pad_bottom, g.pad_right});
        ModelWriter::attr_int(n, "group", g.groups);
        form = "DQ -> Conv -> Q";
    } else if (ctx.tensor(x).shape.size() == 2) {
        std::vector<std::string> inputs{xf, wf};
        if (!bf.empty()) inputs.push_back(bf);
        onnx::NodeProto& n = w.node("Gemm", inputs, {linear_out}, node.name);
        ModelWriter::attr_int(n, "transB", 1);
        form = "DQ -> Gemm -> Q";
    } else {
        // [..., K] x [K, N]: MatMul reads the weight transposed.
        const std::string wt = w.fresh(node.name + "_weight_kn");
        onnx::NodeProto& t = w.node("Transpose", {wf}, {wt}, node.name + "_weight_transpose");
        ModelWriter::attr_ints(t, "perm", {1, 0});
        const std::string mm = bf.empty() ? linear_out : w.fresh(y + "_no_bias");
        w.node("MatMul", {xf, wt}, {mm}, node.name);
        if (!bf.empty()) w.node("Add", {mm, bf}, {linear_out}, node.name + "_bias");
        form = "DQ -> MatMul (+ bias) -> Q";
    }
    if (clamped) {
        // The fused Clip's own bounds; else (an edited clamp register) the
        // real values of the integer bounds.
        float lo = sim::dequantize(layer.clamp_lo, yq.scales.at(0), yq.zero_points.at(0));
        float hi = sim::dequantize(layer.clamp_hi, yq.scales.at(0), yq.zero_points.at(0));
        if (activation == "Clip") {
            lo = std::max(lo, node.attr_float(fused::kClipMin, lo));
            hi = std::min(hi, node.attr_float(fused::kClipMax, hi));
        }
        if (activation == "Relu" || (activation.empty() && layer.clamp_lo == yq.zero_points.at(0) &&
                                     layer.clamp_hi == full.max)) {
            w.node("Relu", {linear_out}, {yf}, node.name + "_relu");
            form += " (Relu)";
        } else {
            w.node("Clip", {linear_out, w.scalar_f32(lo, node.name + "_clip_min"), w.scalar_f32(hi, node.name + "_clip_max")},
                   {yf}, node.name + "_clip");
            form += " (Clip)";
        }
    }
    emit_quantize(w, ctx, yf, y, node.name + "_quantize");
    return {node.name, node.op_type, form, true, ""};
}

}  // namespace

// The default-domain opset that introduced a lookup-table op, for ops the
// ONNX checker here (opsets up to 17) knows; 0 for the others (Gelu 20,
// Mish 18, Swish 24), which are exported as their table.
std::int64_t float_op_opset(const std::string& op) {
    static const std::map<std::string, std::int64_t> known = {
        {"Sigmoid", 13}, {"Tanh", 13}, {"HardSigmoid", 6}, {"HardSwish", 14}, {"Relu", 14}, {"LeakyRelu", 6},
        {"Elu", 6}, {"Selu", 6}, {"Celu", 12}, {"Softplus", 1}, {"Softsign", 1}, {"Exp", 13}, {"Log", 13},
        {"Erf", 13}, {"Clip", 13}, {"Sqrt", 13}, {"Reciprocal", 13}, {"Neg", 13}, {"Abs", 13}};
    auto it = known.find(op);
    return it == known.end() ? 0 : it->second;
}

ExportedLayer emit_qdq(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q) {
    if (const auto* mac = std::get_if<sim::MacLayer>(&q.params)) return emit_mac_qdq(w, ctx, node, q, *mac);
    if (const auto* lut = std::get_if<sim::LutLayer>(&q.params)) {
        const std::int64_t opset = node.domain.empty() ? float_op_opset(node.op_type) : 0;
        if (opset == 0) return emit_lookup_table(w, ctx, node, *lut);
        w.require_opset(opset);
    }
    if (std::holds_alternative<sim::ReshapeLayer>(q.params) || std::holds_alternative<sim::MaxPoolLayer>(q.params) ||
        (std::holds_alternative<sim::HostLayer>(q.params) && q.engine != "host"))
        return emit_float_op(w, ctx, node, "");   // moves values: exact
    return emit_float_op(w, ctx, node,
                         fmt::format("{} in float between DequantizeLinear and QuantizeLinear: a runtime fuses it "
                                     "into its own quantized kernel or runs it in float, either of which can round "
                                     "differently from the engine",
                                     node.op_type));
}

}  // namespace bitnpu::calib::exporting
