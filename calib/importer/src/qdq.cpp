// strip_qdq (qdq.hpp): the Q/DQ nodes of a QDQ model become a partial
// CTable; the graph that remains is the float model they were put around.
#include "bitnpu/importer/qdq.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "bitnpu/errors.hpp"
#include "bitnpu/export/export.hpp"
#include "bitnpu/fp32/executor.hpp"

namespace bitnpu::calib {
namespace {

bool is_q(const Node& n) { return n.domain.empty() && n.op_type == "QuantizeLinear"; }
bool is_dq(const Node& n) { return n.domain.empty() && n.op_type == "DequantizeLinear"; }
std::string label(const Node& n) { return fmt::format("node '{}' ({})", n.name, n.op_type); }

// The quantization a Q or DQ node states: constant scale and zero-point.
struct PairParams {
    arch::ValueType type = arch::ValueType::uint8;   // of the zero-point (absent: uint8)
    bool integer_type_known = true;                  // false for int32 (biases)
    std::vector<float> scales;
    std::vector<std::int64_t> zero_points;
    std::int64_t axis = 1;                           // meaningful when scales.size() > 1
};

// The value of a tensor computed from constants only (an initializer, or
// e.g. the Identity of one, as torch.onnx.export writes zero-points), or null.
class Constants {
public:
    explicit Constants(const Graph& g) : g_(g) {}
    const Tensor* value(const std::string& name, int depth = 0) {
        if (name.empty()) return nullptr;
        if (const Tensor* t = g_.initializer(name)) return t;
        if (auto it = computed_.find(name); it != computed_.end()) return &it->second;
        const Node* p = g_.producer_of(name);
        if (!p || depth > 8 || is_q(*p) || is_dq(*p)) return nullptr;
        std::vector<const Tensor*> in;
        for (const std::string& i : p->inputs) {
            const Tensor* t = i.empty() ? nullptr : value(i, depth + 1);
            if (!i.empty() && !t) return nullptr;
            in.push_back(t);
        }
        std::vector<Tensor> out = run_node(*p, in, g_.opset);
        for (std::size_t k = 0; k < out.size() && k < p->outputs.size(); ++k) computed_[p->outputs[k]] = std::move(out[k]);
        auto it = computed_.find(name);
        return it == computed_.end() ? nullptr : &it->second;
    }

private:
    const Graph& g_;
    std::map<std::string, Tensor> computed_;
};

const Tensor& constant_input(Constants& constants, const Node& n, std::size_t i, const char* what) {
    const Tensor* t = i < n.inputs.size() && !n.inputs[i].empty() ? constants.value(n.inputs[i]) : nullptr;
    if (!t)
        throw UserError(fmt::format("{}: the {} '{}' is computed at run time; bitnpu imports QDQ models whose scales "
                                    "and zero-points are constants",
                                    label(n), what, i < n.inputs.size() ? n.inputs[i] : ""));
    return *t;
}

PairParams pair_params(Constants& constants, const Node& n) {
    PairParams p;
    p.scales = constant_input(constants, n, 1, "scale").to_floats();
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const Tensor& zp = constant_input(constants, n, 2, "zero-point");
        switch (zp.dtype()) {
            case DType::u8: p.type = arch::ValueType::uint8; break;
            case DType::i8: p.type = arch::ValueType::int8; break;
            case DType::i16: p.type = arch::ValueType::int16; break;
            case DType::i32: p.integer_type_known = false; break;
            default:
                throw UserError(fmt::format("{}: zero-point of type {} (bitnpu reads uint8, int8, int16, int32)",
                                            label(n), to_string(zp.dtype())));
        }
        const Tensor z = zp.cast(DType::i64);
        p.zero_points.assign(z.data<std::int64_t>(), z.data<std::int64_t>() + z.numel());
    } else {
        p.zero_points.assign(p.scales.size(), 0);
    }
    if (p.scales.empty() || p.zero_points.size() != p.scales.size())
        throw UserError(fmt::format("{}: the scale and the zero-point have {} and {} values", label(n), p.scales.size(),
                                    p.zero_points.size()));
    for (float s : p.scales)
        if (!(s > 0.0f) || !std::isfinite(s)) throw UserError(fmt::format("{}: scale {} is not positive", label(n), s));
    p.axis = n.attr_int("axis", 1);
    return p;
}

bool same_params(const PairParams& a, const PairParams& b) {
    return a.type == b.type && a.integer_type_known == b.integer_type_known && a.scales == b.scales &&
           a.zero_points == b.zero_points && (a.scales.size() == 1 || a.axis == b.axis);
}

std::string describe(const PairParams& p) {
    return fmt::format("{} scale {} zero-point {}", arch::to_string(p.type),
                       p.scales.size() == 1 ? fmt::format("{}", p.scales[0]) : fmt::format("[{} values]", p.scales.size()),
                       p.zero_points.size() == 1 ? fmt::format("{}", p.zero_points[0]) : "[per channel]");
}

void rename_value(Graph& g, const std::string& from, const std::string& to) {
    for (Node& n : g.nodes) {
        for (std::string& in : n.inputs)
            if (in == from) in = to;
        for (std::string& out : n.outputs)
            if (out == from) out = to;
    }
    if (auto vi = g.value_info.find(from); vi != g.value_info.end()) {
        ValueInfo v = vi->second;
        v.name = to;
        g.value_info.erase(vi);
        g.value_info[to] = v;
    }
}

// The output-channel axis of a MAC node's weight (input 1), or -1.
int output_channel_axis(const Node& n, std::size_t rank) {
    if (n.op_type == "Conv") return 0;
    if (n.op_type == "Gemm") return n.attr_int("transB", 0) != 0 ? 0 : 1;
    if (n.op_type == "MatMul" && rank == 2) return 1;
    return -1;
}

class Stripper {
public:
    explicit Stripper(Graph& g) : g_(g), constants_(g) {}

    QdqImport run() {
        for (const Node& n : g_.nodes)
            if ((is_q(n) || is_dq(n)) &&
                (n.inputs.empty() || n.inputs[0].empty() || n.outputs.size() != 1 || n.outputs[0].empty()))
                throw UserError(fmt::format("{}: needs its input and exactly one output", label(n)));
        for (const Node& n : g_.nodes)
            if (is_q(n)) strip_pair(n);
        for (const Node& n : g_.nodes)
            if (is_dq(n) && !removed_.count(n.name)) strip_constant_dq(n);
        g_.nodes.erase(std::remove_if(g_.nodes.begin(), g_.nodes.end(),
                                      [&](const Node& n) { return removed_.count(n.name) != 0; }),
                       g_.nodes.end());
        for (const auto& [name, value] : renames_) rename_value(g_, name, value);
        record_weights();
        for (const std::string& t : unused_initializers_)
            if (g_.consumers_of(t).empty()) g_.initializers.erase(t);
        check_dataflow(g_);
        sort_topologically(g_);
        if (auto it = g_.metadata.find(kMetaCTable); it != g_.metadata.end())
            out_.embedded = parse_ctable(it->second, "the model's metadata " + std::string(kMetaCTable));
        return std::move(out_);
    }

private:
    std::vector<const Node*> consumers(const std::string& value) const { return g_.consumers_of(value); }
    bool is_graph_output(const std::string& v) const {
        return std::any_of(g_.outputs.begin(), g_.outputs.end(), [&](const ValueInfo& o) { return o.name == v; });
    }

    // Q(x) -> DQ -> consumers: the consumers read x, x is recorded.
    void strip_pair(const Node& q) {
        const PairParams p = pair_params(constants_, q);
        const std::string& x = q.inputs.at(0);
        std::vector<const Node*> dqs = consumers(q.outputs.at(0));
        if (is_graph_output(q.outputs[0]))
            throw UserError(fmt::format("{}: its integer output '{}' is a graph output; bitnpu takes models with float "
                                        "outputs",
                                        label(q), q.outputs[0]));
        for (const Node* d : dqs) {
            if (!is_dq(*d))
                throw UserError(fmt::format("{}: its output feeds {}, not a DequantizeLinear: an operator on integers "
                                            "(QOperator form) is not a QDQ model; export QDQ, or give the float model",
                                            label(q), label(*d)));
            const PairParams dp = pair_params(constants_, *d);
            if (!same_params(p, dp))
                throw UserError(fmt::format("{} quantizes '{}' with {}, but {} dequantizes it with {}", label(q), x,
                                            describe(p), label(*d), describe(dp)));
        }
        removed_.insert(q.name);
        if (g_.is_initializer(x)) {   // fake quantization of a constant (weights of a QAT export)
            for (const Node* d : dqs) {
                const Tensor quantized = run_node(q, inputs_of(q), g_.opset).at(0);
                std::vector<const Tensor*> dq_in = inputs_of(*d);
                dq_in[0] = &quantized;
                replace_with_constant(*d, run_node(*d, dq_in, g_.opset).at(0), p);
            }
            unused_initializers_.insert(x);
            return;
        }
        if (p.scales.size() != 1)
            throw UserError(fmt::format("{}: '{}' is quantized per channel; bitnpu quantizes activations per tensor",
                                        label(q), x));
        if (!p.integer_type_known)
            throw UserError(fmt::format("{}: activation '{}' quantized to int32", label(q), x));
        std::string name = x;
        for (const Node* d : dqs) {
            removed_.insert(d->name);
            const std::string& y = d->outputs.at(0);
            if (is_graph_output(y)) {   // the float tensor takes the graph output's name
                renames_[x] = y;
                name = y;
            } else {
                for (Node& n : g_.nodes)
                    for (std::string& in : n.inputs)
                        if (in == y) in = x;
            }
        }
        record_tensor(name, p, q);
        ++out_.activation_pairs;
    }

    // DQ(integer constant): the float constant it denotes.
    void strip_constant_dq(const Node& d) {
        const PairParams p = pair_params(constants_, d);
        const std::string& in = d.inputs.at(0);
        if (!g_.is_initializer(in)) {
            const bool graph_input = std::any_of(g_.inputs.begin(), g_.inputs.end(),
                                                 [&](const ValueInfo& v) { return v.name == in; });
            throw UserError(fmt::format("{} reads '{}', {}; bitnpu imports QDQ models whose inputs are float", label(d),
                                        in, graph_input ? "an integer graph input" : "which no QuantizeLinear produces"));
        }
        replace_with_constant(d, run_node(d, inputs_of(d), g_.opset).at(0), p);
        unused_initializers_.insert(in);
    }

    void replace_with_constant(const Node& d, Tensor value, const PairParams& p) {
        removed_.insert(d.name);
        const std::string& y = d.outputs.at(0);
        g_.initializers[y] = std::move(value);
        constant_params_[y] = p;
        ++out_.constants;
    }

    std::vector<const Tensor*> inputs_of(const Node& n) {
        std::vector<const Tensor*> in;
        for (const std::string& name : n.inputs) in.push_back(name.empty() ? nullptr : constants_.value(name));
        return in;
    }

    void record_tensor(const std::string& name, const PairParams& p, const Node& q) {
        CTableTensor t;
        t.type = p.type;
        t.scale = p.scales;
        t.zero_point = p.zero_points;
        t.policy = "qdq";
        if (auto it = seen_.find(name); it != seen_.end()) {
            if (!same_params(it->second.first, p))
                throw UserError(fmt::format("tensor '{}' is quantized twice, differently: {} says {}, {} says {}", name,
                                            it->second.second, describe(it->second.first), label(q), describe(p)));
            return;
        }
        seen_[name] = {p, label(q)};
        out_.table.tensors[name] = t;
    }

    // Every quantized constant a MAC node reads as its weight: the node's
    // weight scales (per output channel, or one), when symmetric.
    void record_weights() {
        for (const auto& [name, p] : constant_params_) {
            const Tensor* w = g_.initializer(name);
            for (const Node* n : g_.consumers_of(name)) {
                if (n->inputs.size() < 2 || n->inputs[1] != name) continue;
                const int axis = output_channel_axis(*n, w ? w->shape().size() : 0);
                if (axis < 0) continue;
                if (std::any_of(p.zero_points.begin(), p.zero_points.end(), [](std::int64_t z) { return z != 0; })) {
                    out_.notes.push_back(fmt::format("{}: asymmetric weight (zero-point != 0): re-quantized "
                                                     "symmetrically",
                                                     label(*n)));
                    continue;
                }
                const auto rank = static_cast<std::int64_t>(w->shape().size());
                const std::int64_t p_axis = p.axis < 0 ? p.axis + rank : p.axis;
                CTableLayer layer;
                layer.node = n->name;
                layer.op = n->op_type;
                if (p.scales.size() == 1) {
                    layer.weight_granularity = "per_tensor";
                } else if (p_axis == axis) {
                    layer.weight_granularity = "per_channel";
                } else {
                    out_.notes.push_back(fmt::format("{}: weight scales along axis {}, not the output channels: "
                                                     "re-derived",
                                                     label(*n), p.axis));
                    continue;
                }
                layer.weight_scale = p.scales;
                out_.table.layers.push_back(layer);
            }
        }
    }

    Graph& g_;
    Constants constants_;
    QdqImport out_;
    std::set<std::string> removed_;
    std::map<std::string, std::string> renames_;
    std::map<std::string, PairParams> constant_params_;
    std::map<std::string, std::pair<PairParams, std::string>> seen_;
    std::set<std::string> unused_initializers_;
};

}  // namespace

bool has_qdq(const Graph& graph) {
    return std::any_of(graph.nodes.begin(), graph.nodes.end(), [](const Node& n) { return is_q(n) || is_dq(n); });
}

QdqImport strip_qdq(Graph& graph) { return Stripper(graph).run(); }

}  // namespace bitnpu::calib
