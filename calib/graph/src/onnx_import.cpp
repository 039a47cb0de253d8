// ONNX ModelProto -> graph IR: parsing, Constant folding into initializers,
// op support checks, topological sorting.
#include "bitnpu/graph/onnx_import.hpp"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <unordered_map>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/graph/op_set.hpp"
#include "bitnpu/graph/onnx_tensor.hpp"

namespace bitnpu::calib {

namespace {

// One read into a buffer of the file's size: streaming through an
// ostringstream grew the string step by step and cost seconds on a 45 MB
// ResNet-18 (more than its whole forward pass).
std::string read_file_bytes(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw UserError(std::string("cannot open ") + what + " '" + path + "' (missing or unreadable)");
    const std::streamoff size = in.tellg();
    if (size < 0) throw UserError(std::string("error reading ") + what + " '" + path + "'");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.seekg(0);
    if (!in.read(bytes.data(), size)) throw UserError(std::string("error reading ") + what + " '" + path + "'");
    return bytes;
}

// Weights kept outside the .onnx file (onnx.save_model(...,
// save_as_external_data=True); Hugging Face / optimum exports do this):
// ONNX's external_data keys name a file next to the model, an offset and a
// length. The data is loaded into raw_data so the rest of import sees an
// ordinary tensor. Returns the SHA-256 digests of the loaded pieces, in
// order, for the model's identity.
std::string external_key(const onnx::TensorProto& t, const std::string& key) {
    for (const auto& kv : t.external_data())
        if (kv.key() == key) return kv.value();
    return "";
}

std::int64_t external_number(const onnx::TensorProto& t, const std::string& key, const std::string& label) {
    const std::string v = external_key(t, key);
    if (v.empty()) return -1;
    try {
        std::size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && n >= 0) return n;
    } catch (const std::exception&) {
    }
    throw UserError(label + ": external_data '" + key + "' is '" + v + "', not a byte count");
}

std::string load_external_tensor(onnx::TensorProto& t, const std::filesystem::path& model_dir) {
    const std::string label = "tensor '" + t.name() + "'";
    const std::filesystem::path location = external_key(t, "location");
    if (location.empty()) throw UserError(label + " keeps its data externally but names no location");
    for (const auto& part : location)
        if (part == "..")
            throw UserError(label + ": external data location '" + location.string() + "' leaves the model's folder");
    if (location.is_absolute())
        throw UserError(label + ": external data location '" + location.string() +
                        "' is absolute; ONNX requires a path relative to the model file");
    const std::filesystem::path file = model_dir / location;
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (!in) throw UserError(label + ": cannot open its external data file '" + file.string() + "'");
    const std::int64_t size = static_cast<std::int64_t>(in.tellg());
    const std::int64_t offset = std::max<std::int64_t>(0, external_number(t, "offset", label));
    std::int64_t length = external_number(t, "length", label);
    if (length < 0) length = size - offset;
    if (offset > size || length > size - offset)
        throw UserError(label + ": bytes " + std::to_string(offset) + ".." + std::to_string(offset + length) +
                        " lie beyond the end of '" + file.string() + "' (" + std::to_string(size) + " bytes)");
    std::string bytes(static_cast<std::size_t>(length), '\0');
    in.seekg(offset);
    if (!in.read(bytes.data(), length)) throw UserError(label + ": error reading '" + file.string() + "'");
    const std::string digest = arch::sha256_hex(bytes);
    t.set_raw_data(std::move(bytes));
    t.clear_external_data();
    t.set_data_location(onnx::TensorProto::DEFAULT);
    return digest;
}

std::string load_external_data(onnx::ModelProto& model, const std::string& path) {
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::string digests;
    for (auto& init : *model.mutable_graph()->mutable_initializer())
        if (init.data_location() == onnx::TensorProto::EXTERNAL) digests += load_external_tensor(init, dir);
    return digests;
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
                            "'; control flow other than If (Loop, Scan) is not supported");
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

// Inputs ONNX's schema (for the model's opset) marks required must be named:
// a node without them would fail later or not at all (a Shape without its
// input was accepted).
void check_required_inputs(const Node& node, std::int64_t opset) {
    if (!node.domain.empty() || opset <= 0) return;
    const onnx::OpSchema* schema =
        onnx::OpSchemaRegistry::Schema(node.op_type, static_cast<int>(std::min<std::int64_t>(opset, INT_MAX)), "");
    if (!schema) return;
    const auto& formals = schema->inputs();
    for (std::size_t i = 0; i < formals.size(); ++i) {
        if (formals[i].GetOption() != onnx::OpSchema::Single) continue;  // optional or variadic
        if (i >= node.inputs.size() || node.inputs[i].empty())
            throw UserError(node_label(node) + ": required input " + std::to_string(i) + " ('" +
                            formals[i].GetName() + "') is missing");
    }
}

int newest_known_opset() {
    const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    const auto known = ranges.find("");
    return known == ranges.end() ? INT_MAX : known->second.second;
}

bool newer_than_library(const onnx::checker::CheckerContext& ctx) {
    const auto& opsets = ctx.get_opset_imports();
    const auto it = opsets.find("");
    return it != opsets.end() && it->second > newest_known_opset();
}

// ONNX's own node checker (the schema's input/output counts, attribute names
// and types, required attributes) on default-domain nodes: a node it rejects
// is malformed, however the rest of import would have treated it (a dead
// node, or one the shape folding dropped, used to load without a word).
// Skipped for models newer than the library (opset 18 gave ReduceMean an
// axes input and Split num_outputs, which its opset-17 schemas reject).
void check_node_schema(const onnx::NodeProto& proto, const Node& node, const onnx::checker::CheckerContext& ctx,
                       const onnx::checker::LexicalScopeContext& scope) {
    if (!node.domain.empty() || newer_than_library(ctx)) return;
    try {
        onnx::checker::check_node(proto, ctx, scope);
    } catch (const onnx::checker::ValidationError& e) {
        std::string what = e.what();
        if (const auto cut = what.find("\n\n==> Context:"); cut != std::string::npos) what.resize(cut);
        throw UserError(node_label(node) + ": malformed " + node.op_type + " node: " + what);
    }
}

void check_op_supported(const Node& node, std::int64_t opset) {
    if (is_supported_op(node.op_type, node.domain)) return;
    static const std::set<std::string> integer_ops = {"QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear",
                                                      "QAttention", "MatMulIntegerToFloat"};
    if (node.op_type.rfind("QLinear", 0) == 0 || integer_ops.count(node.op_type))
        throw UserError(node_label(node) + ": an operator on quantized integers (QOperator form): bitnpu reads float "
                        "models and QDQ models (QuantizeLinear/DequantizeLinear around float ops); give the float model "
                        "or its QDQ export");
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

onnx::checker::CheckerContext checker_context(const onnx::ModelProto& model) {
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(std::clamp<std::int64_t>(model.ir_version(), 0, onnx::IR_VERSION)));
    std::unordered_map<std::string, int> opsets;
    for (const auto& op : model.opset_import())
        opsets[op.domain() == "ai.onnx" ? "" : op.domain()] =
            static_cast<int>(std::clamp<std::int64_t>(op.version(), 0, INT_MAX));
    ctx.set_opset_imports(std::move(opsets));
    ctx.set_schema_registry(onnx::OpSchemaRegistry::Instance());
    return ctx;
}

// Every name the main graph defines, for checking If branches that read
// values of the enclosing graph (the graph may be exported unsorted).
onnx::checker::LexicalScopeContext main_graph_scope(const onnx::GraphProto& g) {
    onnx::checker::LexicalScopeContext scope;
    for (const auto& in : g.input()) scope.add(in.name());
    for (const auto& init : g.initializer()) scope.add(init.name());
    for (const auto& node : g.node())
        for (const auto& out : node.output()) scope.add(out);
    return scope;
}

// Names inside an inlined If branch: what the branch defines gets the
// branch's prefix (so the two branches and the main graph cannot collide);
// a name from an enclosing graph resolves there.
struct NameScope {
    std::string prefix;
    std::set<std::string> local;
    const NameScope* parent = nullptr;

    std::string resolve(const std::string& name) const {
        if (name.empty()) return name;
        if (local.count(name)) return prefix + name;
        return parent ? parent->resolve(name) : name;
    }
};

struct ImportContext {
    Graph& graph;
    const onnx::checker::CheckerContext& checker;
    const onnx::checker::LexicalScopeContext& main_scope;
};

void convert_node(const onnx::NodeProto& proto, std::size_t index, const NameScope& scope, ImportContext& ic);

// Inlines one branch of an If; returns the (renamed) values it outputs.
std::vector<std::string> inline_branch(const onnx::GraphProto& branch, const std::string& prefix,
                                       const NameScope& parent, const Node& if_node, ImportContext& ic) {
    if (branch.input_size() > 0)
        throw UserError(node_label(if_node) + ": a branch graph with inputs is not a valid If branch");
    if (branch.sparse_initializer_size() > 0)
        throw UserError(node_label(if_node) + ": a branch uses sparse initializers, which are not supported");
    NameScope scope{prefix, {}, &parent};
    for (const auto& init : branch.initializer()) scope.local.insert(init.name());
    for (const auto& node : branch.node())
        for (const auto& out : node.output()) scope.local.insert(out);
    for (const auto& init : branch.initializer())
        ic.graph.initializers[prefix + init.name()] = onnx_io::tensor_from_proto(init, prefix + init.name());
    for (int i = 0; i < branch.node_size(); ++i) convert_node(branch.node(i), static_cast<std::size_t>(i), scope, ic);
    std::vector<std::string> outputs;
    for (const auto& out : branch.output()) outputs.push_back(scope.resolve(out.name()));
    return outputs;
}

// A branch output's declared shape, when every dimension is a number.
std::optional<std::vector<std::int64_t>> declared_shape(const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return std::nullopt;
    std::vector<std::int64_t> dims;
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
        if (!d.has_dim_value()) return std::nullopt;
        dims.push_back(d.dim_value());
    }
    return dims;
}

// If-conversion: an If becomes both branches inlined and one
// Where(cond, then_i, else_i) per output. The values are the If's for any
// condition, since ONNX branches have no side effects; the price is running
// both (an NPU has no branch: a wake-word verifier that runs only on a
// positive runs on every window). The condition is reshaped to a scalar so
// Where's broadcast is the branches' own shape; branches whose declared
// output shapes differ cannot be selected elementwise and are refused.
void inline_if(const onnx::NodeProto& proto, const Node& node, const NameScope& scope, ImportContext& ic) {
    const onnx::GraphProto* then_branch = nullptr;
    const onnx::GraphProto* else_branch = nullptr;
    for (const auto& a : proto.attribute()) {
        if (a.name() == "then_branch" && a.has_g()) then_branch = &a.g();
        if (a.name() == "else_branch" && a.has_g()) else_branch = &a.g();
    }
    if (!then_branch || !else_branch)
        throw UserError(node_label(node) + ": If needs both then_branch and else_branch graphs");
    const int n = proto.output_size();
    if (then_branch->output_size() != n || else_branch->output_size() != n)
        throw UserError(node_label(node) + ": the If has " + std::to_string(n) + " outputs but its branches have " +
                        std::to_string(then_branch->output_size()) + " and " +
                        std::to_string(else_branch->output_size()));
    for (int i = 0; i < n; ++i) {
        const auto a = declared_shape(then_branch->output(i));
        const auto b = declared_shape(else_branch->output(i));
        if (a && b && *a != *b)
            throw UserError(node_label(node) + ": output " + std::to_string(i) +
                            " has different shapes in the two branches; bitnpu runs an If as both branches and a "
                            "select, which needs equal shapes");
    }
    const std::string base = node.name + "/";
    const std::vector<std::string> then_out = inline_branch(*then_branch, base + "then/", scope, node, ic);
    const std::vector<std::string> else_out = inline_branch(*else_branch, base + "else/", scope, node, ic);

    const std::string scalar_shape = base + "scalar_shape";
    ic.graph.initializers[scalar_shape] = Tensor::from_vector<std::int64_t>({0}, {});
    Node cond;
    cond.op_type = "Reshape";
    cond.name = base + "condition";
    cond.inputs = {node.inputs.at(0), scalar_shape};
    cond.outputs = {base + "condition"};
    ic.graph.nodes.push_back(cond);
    for (int i = 0; i < n; ++i) {
        Node select;
        select.op_type = "Where";
        select.name = base + "select_" + std::to_string(i);
        select.inputs = {cond.outputs[0], then_out[static_cast<std::size_t>(i)], else_out[static_cast<std::size_t>(i)]};
        select.outputs = {node.outputs[static_cast<std::size_t>(i)]};
        ic.graph.nodes.push_back(std::move(select));
    }
}

void convert_node(const onnx::NodeProto& proto, std::size_t index, const NameScope& scope, ImportContext& ic) {
    Node node = node_from_proto(proto, index);
    node.name = scope.prefix + node.name;
    for (auto& in : node.inputs) in = scope.resolve(in);
    for (auto& out : node.outputs) out = scope.resolve(out);
    Graph& graph = ic.graph;
    if (node.op_type == "Constant" && node.domain.empty()) {
        if (proto.output_size() != 1) throw UserError(node_label(node) + ": Constant must have one output");
        graph.initializers[node.outputs[0]] = constant_value(proto, node_label(node));
        return;
    }
    // Branches are checked with their If (ONNX's checker descends into them).
    const bool top_level = scope.prefix.empty();
    if (node.op_type == "If" && node.domain.empty()) {
        if (top_level) check_node_schema(proto, node, ic.checker, ic.main_scope);
        if (node.inputs.empty() || node.inputs[0].empty())
            throw UserError(node_label(node) + ": required input 0 ('cond') is missing");
        inline_if(proto, node, scope, ic);
        return;
    }
    check_op_supported(node, graph.opset);
    for (const auto& a : proto.attribute()) node.attributes[a.name()] = attribute_from_proto(node, a);
    check_import_attributes(node);
    check_required_inputs(node, graph.opset);
    if (top_level) check_node_schema(proto, node, ic.checker, ic.main_scope);
    graph.nodes.push_back(std::move(node));
}

void convert_nodes(const onnx::ModelProto& model, Graph& graph) {
    const onnx::GraphProto& g = model.graph();
    const onnx::checker::CheckerContext ctx = checker_context(model);
    const onnx::checker::LexicalScopeContext scope = main_graph_scope(g);
    ImportContext ic{graph, ctx, scope};
    const NameScope main;
    for (int i = 0; i < g.node_size(); ++i) convert_node(g.node(i), static_cast<std::size_t>(i), main, ic);
}

Graph graph_from_model(const onnx::ModelProto& model, const std::string& path) {
    const auto& g = model.graph();
    Graph graph;
    graph.name = g.name();
    graph.producer = model.producer_name();
    graph.opset = default_opset(model);
    graph.source_path = path;
    for (const auto& p : model.metadata_props()) graph.metadata[p.key()] = p.value();
    for (const auto& init : g.initializer()) graph.initializers[init.name()] = onnx_io::tensor_from_proto(init, init.name());
    if (g.sparse_initializer_size() > 0) throw UserError("'" + path + "' uses sparse initializers, which are not supported");
    convert_nodes(model, graph);
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

// A model newer than this importer's ONNX library is read with the newest
// definitions it knows: ops whose semantics changed later would be misread,
// so the user is told (not refused: most ops keep their meaning).
std::vector<std::string> version_warnings(const onnx::ModelProto& model, const Graph& graph, const std::string& path) {
    std::vector<std::string> warnings;
    if (model.ir_version() > onnx::IR_VERSION)
        warnings.push_back("'" + path + "' declares ONNX IR version " + std::to_string(model.ir_version()) +
                           "; this importer knows IR versions up to " + std::to_string(onnx::IR_VERSION) +
                           " and reads it as that version");
    const int known = newest_known_opset();
    if (graph.opset > known)
        warnings.push_back("'" + path + "' declares opset " + std::to_string(graph.opset) +
                           " of the default domain; this importer knows opsets up to " +
                           std::to_string(known) +
                           ": its nodes are not checked against ONNX's schemas, and an op whose definition changed "
                           "after opset " + std::to_string(known) + " may be misread");
    return warnings;
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
    const std::string external_digests = load_external_data(model, path);
    Graph graph = graph_from_model(model, path);
    graph.import_warnings = version_warnings(model, graph, path);
    // The same identity rule as arch YAML files; external weights are part
    // of the model, so their digests join the file's bytes.
    graph.content_hash = arch::sha256_hex(external_digests.empty() ? bytes : bytes + external_digests);
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
