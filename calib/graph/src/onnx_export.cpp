// Graph IR -> ONNX ModelProto (nodes, attributes, initializers, typed I/O).
#include "bitnpu/graph/onnx_export.hpp"

#include "bitnpu/graph/onnx_tensor.hpp"

namespace bitnpu::calib::onnx_io {

namespace {

void set_type(onnx::ValueInfoProto& vi, DType dtype, const std::vector<Dim>* dims) {
    auto* tt = vi.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_type_of(dtype));
    if (!dims) return;
    auto* shape = tt->mutable_shape();
    for (const Dim& d : *dims) {
        auto* dim = shape->add_dim();
        if (d.known())
            dim->set_dim_value(d.value);
        else if (!d.param.empty())
            dim->set_dim_param(d.param);
    }
}

std::vector<Dim> dims_of(const Shape& s) {
    std::vector<Dim> dims;
    for (auto v : s) dims.push_back(Dim{v, ""});
    return dims;
}

void add_input(onnx::GraphProto& g, const ValueInfo& in, const ExportOptions& options) {
    auto* vi = g.add_input();
    vi->set_name(in.name);
    auto it = options.input_shapes.find(in.name);
    if (it != options.input_shapes.end()) {
        const auto dims = dims_of(it->second);
        set_type(*vi, in.dtype, &dims);
    } else {
        set_type(*vi, in.dtype, in.has_shape ? &in.shape : nullptr);
    }
}

void add_initializer(onnx::GraphProto& g, const std::string& name, const Tensor& t, const ExportOptions& options) {
    const bool large = options.max_initializer_elements >= 0 && t.numel() > options.max_initializer_elements &&
                       (t.dtype() == DType::f32 || t.dtype() == DType::f64);
    if (!large) {
        *g.add_initializer() = tensor_to_proto(t, name);
        return;
    }
    auto* vi = g.add_input();
    vi->set_name(name);
    const auto dims = dims_of(t.shape());
    set_type(*vi, t.dtype(), &dims);
}

void add_node(onnx::GraphProto& g, const Node& node, const ExportOptions& options) {
    auto* n = g.add_node();
    n->set_name(node.name);
    for (const auto& out : node.outputs) n->add_output(out);
    if (!node.domain.empty() && options.custom_ops_as_identity) {
        n->set_op_type("Identity");
        n->add_input(node.inputs.at(0));
        return;
    }
    n->set_op_type(node.op_type);
    n->set_domain(node.domain);
    for (const auto& in : node.inputs) n->add_input(in);
    for (const auto& [key, value] : node.attributes) {
        if (key.rfind("bitnpu.", 0) == 0 && options.custom_ops_as_identity) continue;
        *n->add_attribute() = attribute_to_proto(key, value);
    }
}

}  // namespace

onnx::AttributeProto attribute_to_proto(const std::string& name, const AttributeValue& value) {
    using AP = onnx::AttributeProto;
    AP a;
    a.set_name(name);
    if (auto* i = std::get_if<std::int64_t>(&value)) {
        a.set_type(AP::INT);
        a.set_i(*i);
    } else if (auto* f = std::get_if<float>(&value)) {
        a.set_type(AP::FLOAT);
        a.set_f(*f);
    } else if (auto* s = std::get_if<std::string>(&value)) {
        a.set_type(AP::STRING);
        a.set_s(*s);
    } else if (auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
        a.set_type(AP::INTS);
        for (auto v : *is) a.add_ints(v);
    } else if (auto* fs = std::get_if<std::vector<float>>(&value)) {
        a.set_type(AP::FLOATS);
        for (auto v : *fs) a.add_floats(v);
    } else if (auto* ss = std::get_if<std::vector<std::string>>(&value)) {
        a.set_type(AP::STRINGS);
        for (const auto& v : *ss) a.add_strings(v);
    } else if (auto* t = std::get_if<Tensor>(&value)) {
        a.set_type(AP::TENSOR);
        *a.mutable_t() = tensor_to_proto(*t, "");
    }
    return a;
}

onnx::ModelProto model_to_proto(const Graph& graph, const ExportOptions& options) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.set_producer_name(graph.producer.empty() ? "bitnpu" : graph.producer);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(graph.opset);
    if (!options.custom_ops_as_identity) {
        auto* ours = model.add_opset_import();
        ours->set_domain(kDomain);
        ours->set_version(1);
    }
    auto& g = *model.mutable_graph();
    g.set_name(graph.name);
    for (const ValueInfo& in : graph.inputs) add_input(g, in, options);
    for (const auto& [name, t] : graph.initializers) add_initializer(g, name, t, options);
    for (const Node& node : graph.nodes) add_node(g, node, options);
    for (const ValueInfo& out : graph.outputs) {
        auto* vi = g.add_output();
        vi->set_name(out.name);
        set_type(*vi, out.dtype, out.has_shape ? &out.shape : nullptr);
    }
    return model;
}

}  // namespace bitnpu::calib::onnx_io
