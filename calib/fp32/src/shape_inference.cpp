// Shape inference: ONNX's InferShapes on an exported copy of the IR, then
// run_node on zero tensors for whatever it left unknown.
#include "bitnpu/fp32/shape_inference.hpp"

#include <onnx/shape_inference/implementation.h>

#include "bitnpu/fp32/executor.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/graph/onnx_export.hpp"
#include "bitnpu/graph/onnx_tensor.hpp"

namespace bitnpu::calib {

namespace {

// Float initializers above this size travel to ONNX as typed inputs without
// data: shape inference never needs weight values, only shape tensors.
constexpr std::int64_t kMaxInlinedInitializer = 64;
// Exact contents are kept only for initializers up to this size: shape
// arithmetic reads small tensors, and copying every weight made inference
// cost as much as a forward pass on ResNet-sized models.
constexpr std::int64_t kMaxExactInitializer = 4096;
// The fallback never builds a dummy tensor larger than this.
constexpr std::int64_t kMaxDummyElements = std::int64_t(1) << 26;

// What inference has learned so far; value_info, when set, receives every
// shape as it is found.
struct Known {
    std::map<std::string, std::pair<DType, Shape>> shapes;
    std::map<std::string, Tensor> values;  // exact contents where known (shape arithmetic)
    std::map<std::string, ValueInfo>* value_info = nullptr;
};

void record(Known& known, const std::string& name, DType dtype, const Shape& shape) {
    known.shapes[name] = {dtype, shape};
    if (!known.value_info) return;
    ValueInfo vi;
    vi.name = name;
    vi.dtype = dtype;
    vi.has_shape = true;
    for (auto d : shape) vi.shape.push_back(Dim{d, ""});
    (*known.value_info)[name] = vi;
}

// Reads a fully concrete tensor type from ONNX's inference results.
bool concrete_type(const onnx::ValueInfoProto& vi, DType& dtype, Shape& shape) {
    if (!vi.type().has_tensor_type()) return false;
    const auto& tt = vi.type().tensor_type();
    const auto dt = onnx_io::dtype_from_onnx(tt.elem_type());
    if (!dt || !tt.has_shape()) return false;
    shape.clear();
    for (const auto& d : tt.shape().dim()) {
        if (!d.has_dim_value()) return false;
        shape.push_back(d.dim_value());
    }
    dtype = *dt;
    return true;
}

void run_onnx_inference(const Graph& graph, Known& known, const std::map<std::string, Shape>& input_shapes) {
    onnx_io::ExportOptions options;
    options.max_initializer_elements = kMaxInlinedInitializer;
    options.custom_ops_as_identity = true;
    options.input_shapes = input_shapes;
    onnx::ModelProto model = onnx_io::model_to_proto(graph, options);
    // Declared output shapes may name another batch size; let inference decide.
    for (auto& out : *model.mutable_graph()->mutable_output()) out.clear_type();
    try {
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(false, 0, true));
    } catch (const std::exception&) {
        return;  // a node ONNX cannot infer: the fallback below handles the graph
    }
    DType dtype;
    Shape shape;
    for (const auto& vi : model.graph().value_info())
        if (concrete_type(vi, dtype, shape)) record(known, vi.name(), dtype, shape);
    for (const auto& vi : model.graph().output())
        if (concrete_type(vi, dtype, shape)) record(known, vi.name(), dtype, shape);
}

// Whether every input's contents are known exactly (constants and shape
// arithmetic on them), so running the node gives exact values.
bool all_inputs_exact(const Node& node, const Known& known) {
    for (const std::string& in : node.inputs)
        if (!in.empty() && !known.values.count(in)) return false;
    return true;
}

bool all_outputs_known(const Node& node, const Known& known) {
    for (const std::string& out : node.outputs)
        if (!out.empty() && !known.shapes.count(out)) return false;
    return true;
}

// Evaluates node on exact values where known, zeros elsewhere; records the
// output shapes, and the output values when every input value was exact.
void infer_by_running(const Graph& graph, Known& known, const Node& node) {
    std::vector<Tensor> dummies;
    dummies.reserve(node.inputs.size());
    std::vector<const Tensor*> inputs;
    bool exact = true;
    for (const std::string& in : node.inputs) {
        if (in.empty()) {
            inputs.push_back(nullptr);
            continue;
        }
        auto v = known.values.find(in);
        if (v != known.values.end()) {
            inputs.push_back(&v->second);
            continue;
        }
        auto s = known.shapes.find(in);
        if (s == known.shapes.end() || num_elements(s->second.second) > kMaxDummyElements) return;
        exact = false;
        dummies.emplace_back(s->second.first, s->second.second);
        inputs.push_back(&dummies.back());
    }
    std::vector<Tensor> results;
    try {
        results = run_node(node, inputs, graph.opset);
    } catch (const UserError&) {
        return;  // e.g. a Reshape fed zeros instead of its real target shape
    }
    for (std::size_t i = 0; i < node.outputs.size() && i < results.size(); ++i) {
        if (node.outputs[i].empty()) continue;
        record(known, node.outputs[i], results[i].dtype(), results[i].shape());
        if (exact) known.values[node.outputs[i]] = std::move(results[i]);
    }
}

// Shape's output depends only on its input's shape: exact even for data we
// never computed, which keeps Shape->Gather->Reshape chains exact.
bool infer_shape_op(Known& known, const Node& node) {
    if (node.op_type != "Shape" || !node.domain.empty()) return false;
    auto s = known.shapes.find(node.inputs.at(0));
    if (s == known.shapes.end()) return false;
    const Shape& dims = s->second.second;
    const auto rank = static_cast<std::int64_t>(dims.size());
    auto clamp_axis = [rank](std::int64_t a) { return std::min(std::max<std::int64_t>(a < 0 ? a + rank : a, 0), rank); };
    const std::int64_t start = clamp_axis(node.attr_int("start", 0)), end = clamp_axis(node.attr_int("end", rank));
    std::vector<std::int64_t> slice(dims.begin() + start, dims.begin() + std::max(start, end));
    Tensor value = Tensor::from_vector<std::int64_t>({static_cast<std::int64_t>(slice.size())}, slice);
    record(known, node.outputs.at(0), DType::i64, value.shape());
    known.values[node.outputs.at(0)] = std::move(value);
    return true;
}

void infer_into(const Graph& graph, Known& known, const std::map<std::string, Shape>& input_shapes) {
    for (const auto& [name, t] : graph.initializers) {
        known.shapes[name] = {t.dtype(), t.shape()};
        if (t.numel() <= kMaxExactInitializer) known.values[name] = t;
    }
    for (const ValueInfo& in : graph.inputs) {
        auto it = input_shapes.find(in.name);
        Shape shape;
        if (it != input_shapes.end())
            shape = it->second;
        else if (!static_shape(graph, in.name, shape))
            continue;
        record(known, in.name, in.dtype, shape);
    }
    run_onnx_inference(graph, known, input_shapes);
    for (const Node& node : graph.nodes) {
        if (node.op_type == "Shape" && infer_shape_op(known, node)) continue;
        if (!all_outputs_known(node, known) || all_inputs_exact(node, known)) infer_by_running(graph, known, node);
    }
}

}  // namespace

void infer_shapes(Graph& graph, const std::map<std::string, Shape>& input_shapes) {
    Known known;
    known.value_info = &graph.value_info;
    infer_into(graph, known, input_shapes);
}

ShapeProbe probe_shapes(const Graph& graph, const std::map<std::string, Shape>& input_shapes) {
    Known known;
    infer_into(graph, known, input_shapes);
    ShapeProbe probe;
    for (const ValueInfo& in : graph.inputs)
        if (auto s = known.shapes.find(in.name); s != known.shapes.end()) probe.shapes[in.name] = s->second;
    for (const Node& node : graph.nodes)
        for (const std::string& out : node.outputs) {
            if (out.empty()) continue;
            if (auto s = known.shapes.find(out); s != known.shapes.end()) probe.shapes[out] = s->second;
            if (auto v = known.values.find(out); v != known.values.end()) probe.values[out] = v->second;
        }
    return probe;
}

bool static_shape(const Graph& graph, const std::string& value, Shape& shape) {
    if (const Tensor* t = graph.initializer(value)) {
        shape = t->shape();
        return true;
    }
    const ValueInfo* vi = nullptr;
    for (const ValueInfo& in : graph.inputs)
        if (in.name == value) vi = &in;
    if (!vi) {
        auto it = graph.value_info.find(value);
        if (it != graph.value_info.end()) vi = &it->second;
    }
    if (!vi || !vi->has_shape) return false;
    shape.clear();
    for (const Dim& d : vi->shape) {
        if (!d.known()) return false;
        shape.push_back(d.value);
    }
    return true;
}

}  // namespace bitnpu::calib
