// Shape inference: ONNX's InferShapes on an exported copy of the IR, then
// run_node on zero tensors for whatever it left unknown.
#include "bitnpu/fp32/shape_inference.hpp"

#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <algorithm>

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
    // A Shape without its input or output: running it reports that (UserError).
    if (node.inputs.empty() || node.outputs.empty() || node.outputs[0].empty()) return false;
    auto s = known.shapes.find(node.inputs[0]);
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

// ---- Checks before any arithmetic on hostile attributes or shapes ----

// No window attribute (kernel, stride, dilation, pad) of a real model comes
// near this; capping them keeps every size computation below in int64.
constexpr std::int64_t kMaxWindowAttribute = std::int64_t(1) << 24;
// No single tensor may need more bytes than this (or than physical memory).
constexpr std::int64_t kMaxTensorBytes = std::int64_t(1) << 40;

[[noreturn]] void fail_node(const Node& node, const std::string& what) {
    throw UserError("node '" + node.name + "' (" + node.op_type + "): " + what);
}

bool is_pool(const std::string& op) { return op == "MaxPool" || op == "AveragePool" || op == "LpPool"; }

void check_attribute_range(const Node& node, const std::string& key, std::int64_t lo) {
    for (std::int64_t v : node.attr_ints(key))
        if (v < lo || v > kMaxWindowAttribute)
            fail_node(node, "attribute '" + key + "' value " + std::to_string(v) + " is out of range (" +
                                std::to_string(lo) + ".." + std::to_string(kMaxWindowAttribute) + ")");
}

// Conv/ConvTranspose/pool attributes, checked before ONNX's own shape
// inference runs: it divides by strides (a zero stride was a SIGFPE) and
// trusts pads. Pools: ONNX requires every pad to be smaller than the kernel
// (a pad of 1000 made calib run for minutes on windows of pure padding).
void check_window_attributes(const Node& node) {
    if (!node.domain.empty()) return;
    const bool pool = is_pool(node.op_type);
    if (!pool && node.op_type != "Conv" && node.op_type != "ConvTranspose") return;
    check_attribute_range(node, "strides", 1);
    check_attribute_range(node, "dilations", 1);
    check_attribute_range(node, "kernel_shape", 1);
    check_attribute_range(node, "pads", 0);
    check_attribute_range(node, "output_padding", 0);
    if (!pool) return;
    const auto kernel = node.attr_ints("kernel_shape");
    const auto dilations = node.attr_ints("dilations", std::vector<std::int64_t>(kernel.size(), 1));
    const auto pads = node.attr_ints("pads");
    for (std::size_t i = 0; i < pads.size() && !kernel.empty(); ++i) {
        const std::size_t d = i % kernel.size();
        const std::int64_t extent = (kernel[d] - 1) * (d < dilations.size() ? dilations[d] : 1) + 1;
        if (pads[i] >= extent)
            fail_node(node, "pad " + std::to_string(pads[i]) + " on spatial axis " + std::to_string(d) +
                                " must be smaller than the kernel extent " + std::to_string(extent));
    }
}

// Conv/ConvTranspose: ONNX's shape inference indexes the weight's dims by
// the input's rank without checking (a rank-1 weight was a SIGSEGV inside
// libonnx). Checked on every shape known for the weight and the input:
// the initializer's and the declared one.
void check_conv_ranks(const Graph& graph, const Known& known, const Node& node) {
    if (!node.domain.empty() || (node.op_type != "Conv" && node.op_type != "ConvTranspose")) return;
    if (node.inputs.size() < 2) return;
    auto ranks = [&](const std::string& name) {
        std::vector<std::size_t> r;
        if (auto init = graph.initializers.find(name); init != graph.initializers.end())
            r.push_back(init->second.shape().size());
        if (auto s = known.shapes.find(name); s != known.shapes.end()) r.push_back(s->second.second.size());
        return r;
    };
    const std::string& x = node.inputs[0];
    const std::string& w = node.inputs[1];
    for (std::size_t wr : ranks(w)) {
        if (wr < 3) fail_node(node, "weight '" + w + "' has rank " + std::to_string(wr) + " (at least 3 needed)");
        for (std::size_t xr : ranks(x))
            if (xr != wr)
                fail_node(node, "weight '" + w + "' has rank " + std::to_string(wr) + " but input '" + x +
                                    "' has rank " + std::to_string(xr) + " (they must be equal)");
    }
}

// LayerNormalization's axis must lie in [-rank, rank) of its input: ONNX's
// shape inference indexes the dims with it unchecked (axis -32769 was a
// SIGSEGV inside libonnx).
void check_layer_norm_axis(const Known& known, const Node& node) {
    if (!node.domain.empty() || node.op_type != "LayerNormalization" || node.inputs.empty()) return;
    const auto s = known.shapes.find(node.inputs[0]);
    if (s == known.shapes.end()) return;
    const auto rank = static_cast<std::int64_t>(s->second.second.size());
    const std::int64_t axis = node.attr_int("axis", -1);
    if (axis < -rank || axis >= rank)
        fail_node(node, "axis " + std::to_string(axis) + " is out of range for input '" + node.inputs[0] +
                            "' of rank " + std::to_string(rank));
}

std::int64_t tensor_byte_limit() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return kMaxTensorBytes;
    return std::min<std::int64_t>(kMaxTensorBytes, std::int64_t(pages) * page);
}

// Every output shape of node that inference found: no negative dimension,
// and a size (computed without overflow) that fits in memory, so no kernel
// ever tries to allocate it.
void check_output_sizes(const Node& node, const Known& known) {
    static const std::int64_t limit = tensor_byte_limit();
    for (const std::string& out : node.outputs) {
        auto s = known.shapes.find(out);
        if (out.empty() || s == known.shapes.end()) continue;
        const Shape& shape = s->second.second;
        std::int64_t bytes = static_cast<std::int64_t>(element_size(s->second.first));
        bool too_big = false;
        for (std::int64_t d : shape) {
            if (d < 0) fail_node(node, "output '" + out + "' has a negative dimension " + shape_to_string(shape));
            too_big = too_big || __builtin_mul_overflow(bytes, d, &bytes) || bytes > limit;
        }
        if (too_big)
            fail_node(node, "output '" + out + "' of shape " + shape_to_string(shape) + " needs more than " +
                                std::to_string(limit) + " bytes (the largest tensor allowed)");
    }
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
    for (const Node& node : graph.nodes) {
        check_window_attributes(node);
        check_conv_ranks(graph, known, node);
        check_layer_norm_axis(known, node);
    }
    run_onnx_inference(graph, known, input_shapes);
    for (const Node& node : graph.nodes) {
        check_output_sizes(node, known);
        if (node.op_type == "Shape" && infer_shape_op(known, node)) continue;
        if (!all_outputs_known(node, known) || all_inputs_exact(node, known)) infer_by_running(graph, known, node);
        check_output_sizes(node, known);
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
