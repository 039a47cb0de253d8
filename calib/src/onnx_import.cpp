// ONNX ModelProto -> graph IR: parsing, Constant folding into initializers,
// op support checks, topological sorting.
#include "bitnpu/calib/onnx_import.hpp"

#include <fstream>
#include <sstream>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/calib/executor.hpp"
#include "onnx_tensor.hpp"

namespace bitnpu::calib {

namespace {

std::string read_file_bytes(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(std::string("cannot open ") + what + " '" + path + "' (missing or unreadable)");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) throw UserError(std::string("error reading ") + what + " '" + path + "'");
    return buf.str();
}

std::string normalized_domain(const std::string& domain) { return domain == "ai.onnx" ? "" : domain; }

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto) {
    ValueInfo info;
    info.name = proto.name();
    if (!proto.type().has_tensor_type())
        throw UserError("value '" + proto.name() + "' is not a tensor (sequences, maps and optionals are not supported)");
    const auto& tt = proto.type().tensor_type();
    if (tt.elem_type() != 0) {
        const auto dtype = onnx_io::dtype_from_onnx(tt.elem_type());
        if (!dtype)
            throw UserError("value '" + proto.name() + "' has element type " + onnx_io::onnx_type_name(tt.elem_type()) +
                            ", which bitnpu does not support");
        info.dtype = *dtype;
    }
    if (tt.has_shape()) {
        info.has_shape = true;
        for (const auto& d : tt.shape().dim()) {
            Dim dim;
            if (d.has_dim_value()) dim.value = d.dim_value();
            if (d.has_dim_param()) dim.param = d.dim_param();
            info.shape.push_back(dim);
        }
    }
    return info;
}

std::string node_label(const Node& n) { return "node '" + n.name + "' (" + n.op_type + ")"; }

AttributeValue attribute_from_proto(const Node& node, const onnx::AttributeProto& a) {
    using AP = onnx::AttributeProto;
    switch (a.type()) {
        case AP::FLOAT: return a.f();
        case AP::INT: return static_cast<std::int64_t>(a.i());
        case AP::STRING: return a.s();
        case AP::TENSOR: return onnx_io::tensor_from_proto(a.t(), node.name + "." + a.name());
        case AP::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
        case AP::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
        case AP::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
        case AP::GRAPH: case AP::GRAPHS:
            throw UserError(node_label(node) + " has a subgraph attribute '" + a.name() +
                            "'; control flow (If/Loop/Scan) is not supported");
        default:
            throw UserError(node_label(node) + ": attribute '" + a.name() + "' has type " +
                            AP::AttributeType_Name(a.type()) + ", which bitnpu does not support");
    }
}

// A Constant node's value as a tensor (the node becomes an initializer).
Tensor constant_value(const onnx::NodeProto& proto, const std::string& label) {
    for (const auto& a : proto.attribute()) {
        const std::string& key = a.name();
        if (key == "value") return onnx_io::tensor_from_proto(a.t(), proto.output(0));
        if (key == "value_float") return Tensor::scalar<float>(a.f());
        if (key == "value_int") return Tensor::scalar<std::int64_t>(a.i());
        if (key == "value_floats")
            return Tensor::from_vector<float>({a.floats_size()}, {a.floats().begin(), a.floats().end()});
        if (key == "value_ints")
            return Tensor::from_vector<std::int64_t>({a.ints_size()}, {a.ints().begin(), a.ints().end()});
        throw UserError(label + ": Constant attribute '" + key + "' (string or sparse constants) is not supported");
    }
    throw UserError(label + ": Constant node has no value attribute");
}

std::string supported_ops_list() {
    std::string list;
    for (const std::string& op : supported_ops()) list += (list.empty() ? "" : ", ") + op;
    return list;
}

// Attribute values the executor could only reject mid-run are caught here,
// so a bad model fails before any data is loaded.
void check_import_attributes(const Node& node) {
    if (node.op_type == "Resize" || node.op_type == "Upsample") {
        const std::string mode = node.attr_string("mode", "nearest");
        if (mode != "nearest" && mode != "linear")
            throw UserError(node_label(node) + ": mode '" + mode +
                            "' is not supported (bitnpu runs Resize with mode nearest or linear)");
    }
}

void check_op_supported(const Node& node, std::int64_t opset) {
    if (is_supported_op(node.op_type, node.domain)) return;
    const std::string domain = node.domain.empty() ? "ai.onnx (default)" : node.domain;
    throw UserError(node_label(node) + ": op '" + node.op_type + "' from domain '" + domain + "' (opset " +
                    std::to_string(opset) + ") is not supported. Supported ops: " + supported_ops_list());
}

Node node_from_proto(const onnx::NodeProto& proto, std::size_t index) {
    Node node;
    node.op_type = proto.op_type();
    node.domain = normalized_domain(proto.domain());
    node.name = proto.name().empty() ? node.op_type + "_" + std::to_string(index) : proto.name();
    node.inputs.assign(proto.input().begin(), proto.input().end());
    node.outputs.assign(proto.output().begin(), proto.output().end());
    return node;
}

// 0 when the model declares none (checked after the op check, which gives
// the more useful message for models made only of other domains' ops).
std::int64_t default_opset(const onnx::ModelProto& model) {
    for (const auto& op : model.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") return op.version();
    return 0;
}

void convert_nodes(const onnx::GraphProto& g, Graph& graph) {
    for (int i = 0; i < g.node_size(); ++i) {
        const auto& proto = g.node(i);
        Node node = node_from_proto(proto, static_cast<std::size_t>(i));
        if (node.op_type == "Constant" && node.domain.empty()) {
            if (proto.output_size() != 1) throw UserError(node_label(node) + ": Constant must have one output");
            graph.initializers[proto.output(0)] = constant_value(proto, node_label(node));
            continue;
        }
        check_op_supported(node, graph.opset);
        for (const auto& a : proto.attribute()) node.attributes[a.name()] = attribute_from_proto(node, a);
        check_import_attributes(node);
        graph.nodes.push_back(std::move(node));
    }
}

Graph graph_from_model(const onnx::ModelProto& model, const std::string& path) {
    const auto& g = model.graph();
    Graph graph;
    graph.name = g.name();
    graph.producer = model.producer_name();
    graph.opset = default_opset(model);
    graph.source_path = path;
    for (const auto& init : g.initializer()) graph.initializers[init.name()] = onnx_io::tensor_from_proto(init, init.name());
    if (g.sparse_initializer_size() > 0) throw UserError("'" + path + "' uses sparse initializers, which are not supported");
    convert_nodes(g, graph);
    if (graph.opset == 0)
        throw UserError("'" + path + "' declares no opset for the default ONNX domain (opset_import is empty or missing)");
    // Old exporters (IR < 4) also list initializers as graph inputs; those are
    // constants, not inputs the user feeds.
    for (const auto& in : g.input())
        if (!graph.is_initializer(in.name())) graph.inputs.push_back(value_info_from_proto(in));
    for (const auto& out : g.output()) graph.outputs.push_back(value_info_from_proto(out));
    for (const auto& vi : g.value_info())
        if (vi.type().has_tensor_type()) graph.value_info[vi.name()] = value_info_from_proto(vi);
    return graph;
}

}  // namespace

Graph load_onnx(const std::string& path) {
    const std::string bytes = read_file_bytes(path, "model file");
    onnx::ModelProto model;
    if (bytes.empty() || !model.ParseFromString(bytes))
        throw UserError("'" + path + "' is not a valid ONNX model (the file is empty, truncated or not protobuf)");
    if (!model.has_graph() || model.graph().node_size() == 0)
        throw UserError("'" + path + "' holds no graph nodes (truncated or not an ONNX model)");
    if (model.graph().output_size() == 0) throw UserError("'" + path + "': the graph declares no outputs");
    Graph graph = graph_from_model(model, path);
    graph.content_hash = arch::sha256_hex(bytes);  // the same identity rule as arch YAML files
    check_dataflow(graph);
    sort_topologically(graph);
    return graph;
}

Tensor load_tensor_proto(const std::string& path) {
    const std::string bytes = read_file_bytes(path, "tensor file");
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes))
        throw UserError("'" + path + "' is not a serialized ONNX TensorProto (truncated or wrong format)");
    return onnx_io::tensor_from_proto(proto, proto.name().empty() ? path : proto.name());
}

}  // namespace bitnpu::calib
