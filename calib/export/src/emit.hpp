// Private to calib/export: the model being written and the per-form emitters.
#pragma once

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bitnpu/export/export.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::calib::exporting {

// An ONNX GraphProto under construction: initializers with unique names,
// nodes, and the domains they use.
class ModelWriter {
public:
    explicit ModelWriter(onnx::GraphProto& graph) : graph_(graph) {}

    // A new name starting with `hint`, unused so far.
    std::string fresh(const std::string& hint);
    bool is_used(const std::string& name) const { return used_.count(name) != 0; }
    std::string initializer(const Tensor& value, const std::string& hint);
    std::string scalar_f32(float value, const std::string& hint);
    // A zero-point / integer constant of the quantized element type (scalar, or 1-D when several).
    std::string integers(arch::ValueType type, const std::vector<std::int64_t>& values, const std::string& hint,
                         bool scalar);
    onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name,
                          const std::string& domain = "");
    static void attr_int(onnx::NodeProto& n, const std::string& key, std::int64_t v);
    static void attr_ints(onnx::NodeProto& n, const std::string& key, const std::vector<std::int64_t>& v);
    static void attr_float(onnx::NodeProto& n, const std::string& key, float v);
    bool uses_microsoft_domain() const { return microsoft_; }
    // The default-domain opset the model must import (at least this).
    void require_opset(std::int64_t version) { opset_ = std::max(opset_, version); }
    std::int64_t required_opset() const { return opset_; }
    void copy_initializer(const Graph& source, const std::string& name);   // once, under its own name

private:
    onnx::GraphProto& graph_;
    std::set<std::string> used_;
    std::set<std::string> copied_;
    bool microsoft_ = false;
    std::int64_t opset_ = 13;   // per-axis QuantizeLinear/DequantizeLinear
};

// What the emitters read: the calibrated graph, its program, and the names
// the exported graph gives each quantized tensor.
struct Context {
    const Graph& graph;
    const arch::ArchSpec& arch;
    const CTable& table;
    const Program& program;
    ExportFormat format;
    std::map<std::string, const sim::QuantTensorInfo*> tensors;   // program tensors by name
    std::set<std::string> graph_inputs, graph_outputs;

    const sim::QuantTensorInfo& tensor(const std::string& name) const;
    // The exported name of a quantized tensor's integers. QOperator form: the
    // tensor's own name (a graph input's or output's + "_quantized": those
    // names are the float ones). QDQ form: always name + "_quantized".
    std::string qname(const std::string& tensor) const;
    // The name of a tensor's float value before its QuantizeLinear. QDQ
    // form: its own (+ "_float" for a graph output, whose name is the final
    // DequantizeLinear's), so stripping the Q/DQ pairs gives back the
    // model's tensor names (what a CTable is keyed by). QOperator form:
    // name + "_float" (the name is the integers').
    std::string float_name(const std::string& tensor) const;
};

int onnx_element_type(arch::ValueType t);   // UserError for types ONNX cannot carry

// Q(x) / DQ(q) with the tensor's per-tensor (or per-channel) parameters.
void emit_quantize(ModelWriter& w, const Context& ctx, const std::string& float_name, const std::string& tensor,
                   const std::string& node_name);
// DQ's output is `output`, or a fresh name when empty.
std::string emit_dequantize(ModelWriter& w, const Context& ctx, const std::string& tensor, const std::string& node_name,
                            const std::string& output = "");

// One graph node (placement role != shape) and its lowered program node.
ExportedLayer emit_qoperator(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q);
ExportedLayer emit_qdq(ModelWriter& w, const Context& ctx, const Node& node, const sim::QuantNode& q);

// ONNX Runtime's fused requant multiplier fp32(fp32(x_scale * w_scale) / y_scale).
float ort_output_scale(float x_scale, float w_scale, float y_scale);
// The weight scale per requant unit of a float32-requant MAC layer that makes
// ort_output_scale the register float_scale as written (the CTable's own
// scale when it does, else the nearest float that does; UserError if none).
std::vector<float> weight_scales_for_registers(const Node& node, const sim::MacLayer& layer,
                                               const std::vector<float>& recorded, float x_scale, float y_scale);

// Shared by both forms.
ExportedLayer emit_float_op(ModelWriter& w, const Context& ctx, const Node& node, const std::string& why);
ExportedLayer emit_layout(ModelWriter& w, const Context& ctx, const Node& node);
ExportedLayer emit_lookup_table(ModelWriter& w, const Context& ctx, const Node& node, const sim::LutLayer& lut);
// The clamp [lo, hi] of a layer output as a Clip on the integers, when it is narrower than the type.
void emit_integer_clamp(ModelWriter& w, const Context& ctx, const std::string& tensor, const std::string& from,
                        std::int64_t lo, std::int64_t hi, const std::string& node_name);

}  // namespace bitnpu::calib::exporting
