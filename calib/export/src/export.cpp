// The export driver (docs/export.md): graph inputs quantized, every node
// emitted in the chosen form, graph outputs dequantized under their original
// names, the program in metadata_props; plus the pieces both forms share.
#include "bitnpu/export/export.hpp"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>

#include <fmt/format.h>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/graph/onnx_export.hpp"
#include "bitnpu/graph/onnx_tensor.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "emit.hpp"

namespace bitnpu::calib {

ExportFormat parse_export_format(const std::string& text) {
    if (text == "qdq") return ExportFormat::qdq;
    if (text == "qoperator") return ExportFormat::qoperator;
    throw UserError(fmt::format("--format must be qdq or qoperator, not '{}'", text));
}

const char* to_string(ExportFormat f) { return f == ExportFormat::qdq ? "qdq" : "qoperator"; }

namespace exporting {

// ---- ModelWriter -----------------------------------------------------------

std::string ModelWriter::fresh(const std::string& hint) {
    std::string name = hint;
    for (int i = 1; !used_.insert(name).second; ++i) name = fmt::format("{}_{}", hint, i);
    return name;
}

std::string ModelWriter::initializer(const Tensor& value, const std::string& hint) {
    const std::string name = fresh(hint);
    *graph_.add_initializer() = onnx_io::tensor_to_proto(value, name);
    return name;
}

std::string ModelWriter::scalar_f32(float value, const std::string& hint) {
    return initializer(Tensor::from_vector<float>({}, {value}), hint);
}

std::string ModelWriter::integers(arch::ValueType type, const std::vector<std::int64_t>& values,
                                  const std::string& hint, bool scalar) {
    const Shape shape = scalar ? Shape{} : Shape{static_cast<std::int64_t>(values.size())};
    switch (type) {
        case arch::ValueType::int8: {
            std::vector<std::int8_t> v(values.begin(), values.end());
            return initializer(Tensor::from_vector<std::int8_t>(shape, v), hint);
        }
        case arch::ValueType::uint8: {
            std::vector<std::uint8_t> v(values.begin(), values.end());
            return initializer(Tensor::from_vector<std::uint8_t>(shape, v), hint);
        }
        case arch::ValueType::int16: {
            std::vector<std::int16_t> v(values.begin(), values.end());
            return initializer(Tensor::from_vector<std::int16_t>(shape, v), hint);
        }
        default:
            throw UserError(fmt::format("cannot export {} values: ONNX Runtime's quantized ops take int8 or uint8 "
                                        "(int16 for QuantizeLinear)",
                                        arch::to_string(type)));
    }
}

onnx::NodeProto& ModelWriter::node(const std::string& op, const std::vector<std::string>& inputs,
                                   const std::vector<std::string>& outputs, const std::string& name,
                                   const std::string& domain) {
    onnx::NodeProto& n = *graph_.add_node();
    n.set_op_type(op);
    n.set_name(fresh(name));
    if (!domain.empty()) n.set_domain(domain);
    if (domain == "com.microsoft") microsoft_ = true;
    for (const std::string& in : inputs) n.add_input(in);
    for (const std::string& out : outputs) {
        n.add_output(out);
        used_.insert(out);
    }
    return n;
}

void ModelWriter::attr_int(onnx::NodeProto& n, const std::string& key, std::int64_t v) {
    *n.add_attribute() = onnx_io::attribute_to_proto(key, AttributeValue{v});
}
void ModelWriter::attr_ints(onnx::NodeProto& n, const std::string& key, const std::vector<std::int64_t>& v) {
    *n.add_attribute() = onnx_io::attribute_to_proto(key, AttributeValue{v});
}
void ModelWriter::attr_float(onnx::NodeProto& n, const std::string& key, float v) {
    *n.add_attribute() = onnx_io::attribute_to_proto(key, AttributeValue{v});
}

void ModelWriter::copy_initializer(const Graph& source, const std::string& name) {
    if (!copied_.insert(name).second) return;
    used_.insert(name);
    *graph_.add_initializer() = onnx_io::tensor_to_proto(*source.initializer(name), name);
}

// ---- Context ---------------------------------------------------------------

const sim::QuantTensorInfo& Context::tensor(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::logic_error("export: '" + name + "' is not a tensor of the program");
    return *it->second;
}

std::string Context::qname(const std::string& tensor) const {
    const bool renamed = format == ExportFormat::qdq || graph_inputs.count(tensor) || graph_outputs.count(tensor);
    return renamed ? tensor + "_quantized" : tensor;
}

std::string Context::float_name(const std::string& tensor) const {
    const bool renamed = format == ExportFormat::qoperator || graph_outputs.count(tensor);
    return renamed ? tensor + "_float" : tensor;
}

int onnx_element_type(arch::ValueType t) {
    switch (t) {
        case arch::ValueType::int8: return onnx::TensorProto::INT8;
        case arch::ValueType::uint8: return onnx::TensorProto::UINT8;
        case arch::ValueType::int16: return onnx::TensorProto::INT16;
        default:
            throw UserError(fmt::format("{} tensors cannot be exported (ONNX Runtime's quantized ops take int8 and "
                                        "uint8)",
                                        arch::to_string(t)));
    }
}

namespace {

// Scale and zero-point initializers of a tensor's quantization (1-D with an
// axis when per channel).
struct QuantInputs {
    std::string scale, zero_point;
    int axis = -1;
};

QuantInputs quant_inputs(ModelWriter& w, const sim::QuantParams& q, const std::string& hint) {
    QuantInputs out;
    if (q.per_channel()) {
        out.scale = w.initializer(Tensor::from_vector<float>({static_cast<std::int64_t>(q.scales.size())}, q.scales),
                                  hint + "_scale");
        out.zero_point = w.integers(q.type, q.zero_points, hint + "_zero_point", false);
        out.axis = q.axis;
    } else {
        out.scale = w.scalar_f32(q.scales.at(0), hint + "_scale");
        out.zero_point = w.integers(q.type, {q.zero_points.at(0)}, hint + "_zero_point", true);
    }
    return out;
}

void check_quantize_range(const sim::QuantParams& q, const std::string& tensor) {
    const arch::ValueRange full = arch::value_range(q.type);
    if (q.restricted && q.type == arch::ValueType::int8 && full.min == -128)
        throw UserError(fmt::format("tensor '{}' is quantized to the restricted range [-127, 127]; ONNX "
                                    "QuantizeLinear saturates to [-128, 127]",
                                    tensor));
}

}  // namespace

void emit_quantize(ModelWriter& w, const Context& ctx, const std::string& float_name, const std::string& tensor,
                   const std::string& node_name) {
    const sim::QuantParams& q = ctx.tensor(tensor).quant;
    check_quantize_range(q, tensor);
    const QuantInputs p = quant_inputs(w, q, tensor);
    onnx::NodeProto& n = w.node("QuantizeLinear", {float_name, p.scale, p.zero_point}, {ctx.qname(tensor)}, node_name);
    if (p.axis >= 0) ModelWriter::attr_int(n, "axis", p.axis);
}

std::string emit_dequantize(ModelWriter& w, const Context& ctx, const std::string& tensor,
                            const std::string& node_name, const std::string& output) {
    const sim::QuantTensorInfo& info = ctx.tensor(tensor);
    std::string source = ctx.qname(tensor);
    std::string out_name = output;
    if (info.constant) {   // a constant operand: its integers are an initializer
        // QDQ form: dequantized once, under the constant's own name, so
        // stripping the pairs gives back the model's constant.
        if (ctx.format == ExportFormat::qdq) {
            if (w.is_used(tensor)) return tensor;
            out_name = tensor;
        }
        std::vector<std::int64_t> values(info.constant->begin(), info.constant->end());
        Tensor t = Tensor::from_vector<std::int64_t>(info.shape, values).cast(
            info.quant.type == arch::ValueType::uint8 ? DType::u8 : DType::i8);
        source = w.initializer(t, tensor + "_quantized");
    }
    const QuantInputs p = quant_inputs(w, info.quant, tensor);
    const std::string out = out_name.empty() ? w.fresh(tensor + "_dequantized") : out_name;
    onnx::NodeProto& n = w.node("DequantizeLinear", {source, p.scale, p.zero_point}, {out}, node_name);
    if (p.axis >= 0) ModelWriter::attr_int(n, "axis", p.axis);
    return out;
}

void emit_integer_clamp(ModelWriter& w, const Context& ctx, const std::string& tensor, const std::string& from,
                        std::int64_t lo, std::int64_t hi, const std::string& node_name) {
    const arch::ValueType type = ctx.tensor(tensor).quant.type;
    const std::string min = w.integers(type, {lo}, tensor + "_clamp_min", true);
    const std::string max = w.integers(type, {hi}, tensor + "_clamp_max", true);
    w.node("Clip", {from, min, max}, {ctx.qname(tensor)}, node_name);
}

namespace {

void copy_attributes(onnx::NodeProto& n, const Node& node) {
    for (const auto& [key, value] : node.attributes)
        if (key.rfind("bitnpu.", 0) != 0) *n.add_attribute() = onnx_io::attribute_to_proto(key, value);
}

// A float input of a float op: a dequantized activation, an initializer, or
// a non-quantized run-time value (a host region's, kept under its name).
std::string float_input(ModelWriter& w, const Context& ctx, const std::string& in, const std::string& node_name) {
    if (in.empty()) return in;
    if (ctx.tensors.count(in)) return emit_dequantize(w, ctx, in, node_name + "_dequantize");
    if (ctx.graph.is_initializer(in)) w.copy_initializer(ctx.graph, in);
    return in;
}

}  // namespace

ExportedLayer emit_float_op(ModelWriter& w, const Context& ctx, const Node& node, const std::string& why) {
    // Ops bitnpu's passes create that need a newer opset than the model's.
    if (node.domain.empty() && node.op_type == "LayerNormalization") w.require_opset(17);
    if (node.domain.empty() && node.op_type == "HardSwish") w.require_opset(14);
    std::vector<std::string> inputs;
    for (const std::string& in : node.inputs) inputs.push_back(float_input(w, ctx, in, node.name));
    std::vector<std::string> outputs;
    for (const std::string& out : node.outputs)
        outputs.push_back(out.empty() || !ctx.tensors.count(out) ? out : ctx.float_name(out));
    onnx::NodeProto& n = w.node(node.op_type, inputs, outputs, node.name, node.domain);
    copy_attributes(n, node);
    for (std::size_t i = 0; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty() && ctx.tensors.count(node.outputs[i]))
            emit_quantize(w, ctx, outputs[i], node.outputs[i], node.name + "_quantize");
    return {node.name, node.op_type, fmt::format("DQ -> {} -> Q", node.op_type), why.empty(), why};
}

ExportedLayer emit_layout(ModelWriter& w, const Context& ctx, const Node& node) {
    std::vector<std::string> inputs;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const std::string& in = node.inputs[i];
        if (in.empty()) {
            inputs.push_back(in);
        } else if (i == 0 && ctx.tensors.count(in)) {
            inputs.push_back(ctx.qname(in));
        } else if (node.op_type == "Pad" && i == 2 && ctx.graph.is_initializer(in)) {
            // The pad value moves with the values: quantized like them.
            const sim::QuantParams& q = ctx.tensor(node.inputs[0]).quant;
            const float v = ctx.graph.initializer(in)->to_floats().at(0);
            inputs.push_back(w.integers(q.type, {sim::quantize(v, q.scales.at(0), q.zero_points.at(0), q.range().min,
                                                               q.range().max)},
                                        in + "_quantized", true));
        } else {
            if (ctx.graph.is_initializer(in)) w.copy_initializer(ctx.graph, in);
            inputs.push_back(in);
        }
    }
    std::vector<std::string> outputs;
    for (const std::string& out : node.outputs) outputs.push_back(out.empty() ? out : ctx.qname(out));
    onnx::NodeProto& n = w.node(node.op_type, inputs, outputs, node.name);
    copy_attributes(n, node);
    return {node.name, node.op_type, node.op_type + " on integers", true, ""};
}

ExportedLayer emit_lookup_table(ModelWriter& w, const Context& ctx, const Node& node, const sim::LutLayer& lut) {
    const std::string& x = node.inputs.at(0);
    const std::string& y = node.outputs.at(0);
    const std::string index32 = w.fresh(x + "_as_int32");
    onnx::NodeProto& cast = w.node("Cast", {ctx.qname(x)}, {index32}, node.name + "_index");
    ModelWriter::attr_int(cast, "to", onnx::TensorProto::INT32);
    std::string index = index32;
    const std::int64_t qmin = arch::value_range(lut.input_type).min;
    if (qmin != 0) {   // T[0] is for the smallest code
        index = w.fresh(x + "_table_index");
        const std::string offset = w.initializer(Tensor::from_vector<std::int32_t>({}, {static_cast<std::int32_t>(-qmin)}),
                                                 node.name + "_table_offset");
        w.node("Add", {index32, offset}, {index}, node.name + "_offset");
    }
    std::vector<std::int64_t> table(lut.table.begin(), lut.table.end());
    const std::string values = w.integers(lut.output_type, table, node.name + "_table", false);
    onnx::NodeProto& gather = w.node("Gather", {values, index}, {ctx.qname(y)}, node.name);
    ModelWriter::attr_int(gather, "axis", 0);
    return {node.name, node.op_type, "Gather (the lookup table)", true, ""};
}

}  // namespace exporting

namespace {

using exporting::Context;
using exporting::ModelWriter;

void set_value_info(onnx::ValueInfoProto& vi, const ValueInfo& v) {
    vi.set_name(v.name);
    auto* tt = vi.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_io::onnx_type_of(v.dtype));
    if (!v.has_shape) return;
    auto* shape = tt->mutable_shape();
    for (const Dim& d : v.shape) {
        auto* dim = shape->add_dim();
        if (d.known()) dim->set_dim_value(d.value);
        else if (!d.param.empty()) dim->set_dim_param(d.param);
    }
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
    auto* p = model.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
}

}  // namespace

ExportResult export_model(const Graph& graph, const arch::ArchSpec& arch, const CTable& table, const Program& program,
                          ExportFormat format) {
    Context ctx{graph, arch, table, program, format, {}, {}, {}};
    for (const sim::QuantTensorInfo& t : program.qgraph.tensors) ctx.tensors[t.name] = &t;
    for (const ValueInfo& in : graph.inputs) ctx.graph_inputs.insert(in.name);
    for (const ValueInfo& out : graph.outputs) ctx.graph_outputs.insert(out.name);

    ExportResult result;
    onnx::ModelProto& model = result.model;
    model.set_ir_version(8);
    model.set_producer_name("bitnpu npuexport");
    auto& g = *model.mutable_graph();
    g.set_name(graph.name.empty() ? "bitnpu" : graph.name);
    ModelWriter w(g);

    for (const ValueInfo& in : graph.inputs) {
        set_value_info(*g.add_input(), in);
        w.fresh(in.name);
        if (ctx.tensors.count(in.name)) exporting::emit_quantize(w, ctx, in.name, in.name, in.name + "_quantize");
    }
    std::size_t q_index = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        if (program.plan.placement.at(i).role == NodeRole::shape) {
            // Shape computations on static shapes: copied as they are.
            std::vector<std::string> inputs;
            for (const std::string& in : node.inputs) {
                if (!in.empty() && graph.is_initializer(in)) w.copy_initializer(graph, in);
                const bool quantized = ctx.tensors.count(in) != 0;
                inputs.push_back(!quantized ? in : format == ExportFormat::qdq ? ctx.float_name(in) : ctx.qname(in));
            }
            onnx::NodeProto& n = w.node(node.op_type, inputs, node.outputs, node.name, node.domain);
            for (const auto& [key, value] : node.attributes) *n.add_attribute() = onnx_io::attribute_to_proto(key, value);
            continue;
        }
        const sim::QuantNode& q = program.qgraph.nodes.at(q_index++);
        if (q.name != node.name) throw std::logic_error("export: program and graph disagree on node order");
        result.layers.push_back(format == ExportFormat::qoperator ? exporting::emit_qoperator(w, ctx, node, q)
                                                                  : exporting::emit_qdq(w, ctx, node, q));
    }
    for (const ValueInfo& out : graph.outputs) {
        exporting::emit_dequantize(w, ctx, out.name, out.name + "_dequantize", out.name);
        set_value_info(*g.add_output(), out);
    }

    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(std::max<std::int64_t>(graph.opset, w.required_opset()));
    if (w.uses_microsoft_domain()) {
        auto* ms = model.add_opset_import();
        ms->set_domain("com.microsoft");
        ms->set_version(1);
    }
    add_metadata(model, kMetaFormat, to_string(format));
    add_metadata(model, kMetaArch, fmt::format("{} {}", arch.name, arch.content_hash));
    add_metadata(model, kMetaCTable, to_yaml(table));
    return result;
}

void check_exported_model(const onnx::ModelProto& model) {
    try {
        onnx::checker::check_model(model);
        onnx::ModelProto copy = model;
        onnx::ShapeInferenceOptions strict(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
        onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), strict);
    } catch (const std::exception& e) {
        throw UserError(fmt::format("the exported model fails onnx.checker (full check): {}", e.what()));
    }
}

}  // namespace bitnpu::calib
