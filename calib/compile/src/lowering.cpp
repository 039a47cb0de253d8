// Lowering of a whole graph (or one node) to sim::QuantGraph; the per-role
// rules are in lower_mac.cpp, lower_vector.cpp and lower_host.cpp.
#include "bitnpu/compile/lowering.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "bitnpu/fp32/shape_inference.hpp"
#include "bitnpu/errors.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "lower_ops.hpp"

namespace bitnpu::calib {

namespace lowering {

const QuantParams& NodeContext::params(const std::string& tensor) const {
    auto root = plan.tied_to.find(tensor);
    if (root == plan.tied_to.end())
        throw UserError(fmt::format("node '{}': tensor '{}' is not a quantized activation", node.name, tensor));
    auto it = quant.find(root->second);
    if (it == quant.end())
        throw UserError(fmt::format("node '{}': no quantization parameters for tensor '{}'", node.name, root->second));
    return it->second;
}

const CTableLayer* NodeContext::recorded_layer() const {
    auto it = recorded.find(node.name);
    return it == recorded.end() ? nullptr : &it->second;
}

Shape NodeContext::shape(const std::string& tensor) const {
    Shape s;
    if (static_shape(graph, tensor, s)) return s;
    return {};
}

Clamp output_clamp(const QuantParams& y, const std::string& activation, double act_min, double act_max) {
    const AffineQuant q = channel_quant(y, 0);
    Clamp c{q.grid.qmin, q.grid.qmax};
    if (activation.empty()) return c;
    if (activation == "Relu") {
        c.lo = std::max(c.lo, q.zero_point);
    } else if (activation == "Clip") {
        if (std::isfinite(act_min)) c.lo = std::max(c.lo, quantize_value(act_min, q));
        if (std::isfinite(act_max)) c.hi = std::min(c.hi, quantize_value(act_max, q));
    } else {
        throw UserError(fmt::format("fused activation {} cannot be expressed as an output clamp", activation));
    }
    return c;
}

std::string recorded_where(const NodeContext& ctx) {
    return fmt::format("the CTable's layer '{}' ({})", ctx.node.name, ctx.node.op_type);
}

std::optional<std::vector<sim::RequantRegisters>> recorded_requant(const NodeContext& ctx, const arch::RequantSpec& spec,
                                                                   int accumulator_bits, std::size_t units) {
    const CTableLayer* recorded = ctx.recorded_layer();
    if (!recorded || recorded->requant.empty()) return std::nullopt;
    return checked_registers(ctx, recorded->requant, spec, accumulator_bits, units);
}

std::vector<sim::RequantRegisters> checked_registers(const NodeContext& ctx, const std::vector<CTableRequant>& entries,
                                                     const arch::RequantSpec& spec, int accumulator_bits,
                                                     std::size_t units) {
    const std::string engine = ctx.place.engine ? ctx.place.engine->name : "host";
    if (entries.size() != units)
        throw UserError(fmt::format("{}: requant.channels has {} entries; on engine '{}' this layer has {} requant "
                                    "unit(s)",
                                    recorded_where(ctx), entries.size(), engine, units));
    std::vector<sim::RequantRegisters> out;
    for (std::size_t i = 0; i < units; ++i) {
        const sim::RequantRegisters r = requant_registers(entries[i]);
        if (const std::string problem = sim::requant_register_problem(r, spec, accumulator_bits); !problem.empty())
            throw UserError(fmt::format("{}: requant.channels[{}]: {} (engine '{}')", recorded_where(ctx), i, problem,
                                        engine));
        out.push_back(r);
    }
    return out;
}

Clamp program_clamp(const NodeContext& ctx, const QuantParams& y, Clamp derived) {
    const CTableLayer* recorded = ctx.recorded_layer();
    if (!recorded || !recorded->clamp_lo || !recorded->clamp_hi) return derived;
    const AffineQuant q = channel_quant(y, 0);
    const Clamp c{*recorded->clamp_lo, *recorded->clamp_hi};
    if (c.lo > c.hi || c.lo < q.grid.qmin || c.hi > q.grid.qmax)
        throw UserError(fmt::format("{}: clamp [{}, {}] is not an interval inside the output type {} [{}, {}]",
                                    recorded_where(ctx), c.lo, c.hi, arch::to_string(y.type), q.grid.qmin,
                                    q.grid.qmax));
    return c;
}

void check_output_zero_point(const NodeContext& ctx, const QuantParams& y) {
    const CTableLayer* recorded = ctx.recorded_layer();
    if (!recorded || !recorded->output_zero_point) return;
    if (*recorded->output_zero_point != y.zero_points.at(0))
        throw UserError(fmt::format("{}: output_zero_point {} differs from the zero_point {} of its output tensor "
                                    "'{}' (the layers that read it use the tensor's)",
                                    recorded_where(ctx), *recorded->output_zero_point, y.zero_points.at(0),
                                    ctx.node.outputs.at(0)));
}

}  // namespace lowering

Lowering::Lowering(const Graph& graph, const arch::ArchSpec& arch, const QuantizationPlan& plan)
    : graph_(graph), arch_(arch), plan_(plan) {}

HostRegion host_region(const Graph& graph, const QuantizationPlan& plan, const Node& node) {
    HostRegion region;
    std::set<std::string> seen(node.inputs.begin(), node.inputs.end());
    std::set<const Node*> added;
    // Depth-first over producers, so a producer lands after the ones it reads.
    std::function<void(const Node&, const std::string&, int)> visit = [&](const Node& reader, const std::string& in,
                                                                        int depth) {
        if (in.empty() || graph.is_initializer(in)) return;
        if (plan.tied_to.count(in)) {
            if (seen.insert(in).second) region.activations.push_back(in);
            return;
        }
        const Node* producer = graph.producer_of(in);
        if (!producer || depth > 16)
            throw UserError(fmt::format("node '{}' ({}): input '{}' is computed at run time but is not a quantized "
                                        "activation; the bit-accurate model cannot feed it",
                                        reader.name, reader.op_type, in));
        if (!added.insert(producer).second) return;
        for (const std::string& p : producer->inputs) visit(*producer, p, depth + 1);
        region.nodes.push_back(producer);
    };
    for (const std::string& in : node.inputs)
        if (!in.empty() && !graph.is_initializer(in) && !plan.tied_to.count(in)) visit(node, in, 0);
    std::sort(region.nodes.begin(), region.nodes.end(), [&](const Node* a, const Node* b) {
        return a < b;   // graph.nodes is one vector in topological order: address order is graph order
    });
    return region;
}

std::vector<std::string> operand_inputs(const Graph& graph, const QuantizationPlan& plan, std::size_t node_index) {
    std::vector<std::string> out;
    const Node& node = graph.nodes.at(node_index);
    const NodeRole role = plan.placement.at(node_index).role;
    for (const std::string& in : node.inputs)
        if (!in.empty() && plan.tied_to.count(in)) {
            if (role == NodeRole::layout && !out.empty()) break;  // shape operands
            out.push_back(in);
        }
    if (role == NodeRole::host || role == NodeRole::layout)
        for (std::string& in : host_region(graph, plan, node).activations) out.push_back(std::move(in));
    return out;
}

std::vector<std::string> Lowering::operand_inputs(std::size_t node_index) const {
    return calib::operand_inputs(graph_, plan_, node_index);
}

std::vector<std::string> Lowering::activation_inputs(std::size_t node_index) const {
    std::vector<std::string> out;
    for (std::string& in : operand_inputs(node_index))
        if (!plan_.constants.count(in)) out.push_back(std::move(in));
    return out;
}

void Lowering::set_bias_correction(const std::string& node, std::vector<double> delta) {
    bias_delta_[node] = std::move(delta);
    weight_cache_.erase(node);   // the weight range may widen for the corrected bias (lower_mac.cpp widen_for_bias)
}

void Lowering::set_recorded_layer(const CTableLayer& layer) {
    recorded_[layer.node] = layer;
    weight_cache_.erase(layer.node);
    drop_clipping(layer.node);
}

void Lowering::drop_clipping(const std::string& node) {
    const std::string prefix = node + "|";
    for (auto it = clip_cache_.lower_bound(prefix); it != clip_cache_.end() && it->first.rfind(prefix, 0) == 0;)
        it = clip_cache_.erase(it);
}

void Lowering::set_threads(int threads) { threads_ = std::max(1, threads); }

void Lowering::set_input_moments(const std::string& node, InputMoments moments) {
    input_moments_[node] = std::move(moments);
    weight_cache_.erase(node);
    drop_clipping(node);
}

void Lowering::set_weight_rounding(const std::string& node, std::vector<bool> flags) {
    if (flags.empty()) weight_rounding_.erase(node);
    else weight_rounding_[node] = std::move(flags);
    weight_cache_.erase(node);
}

std::vector<bool> Lowering::weight_rounding(const std::string& node) const {
    auto it = weight_rounding_.find(node);
    return it == weight_rounding_.end() ? std::vector<bool>{} : it->second;
}

const LoweredWeights& Lowering::lowered_weights(const std::string& node) const {
    auto it = weight_cache_.find(node);
    if (it == weight_cache_.end()) throw std::logic_error("lowered_weights: node '" + node + "' has not been lowered");
    return it->second;
}

void Lowering::set_accumulator_bound(const std::string& node, std::vector<double> fractions) {
    if (std::none_of(fractions.begin(), fractions.end(), [](double t) { return t > 0.0; })) fractions.clear();
    if (fractions == accumulator_bound(node)) return;
    if (fractions.empty()) accumulator_bound_.erase(node);
    else accumulator_bound_[node] = std::move(fractions);
    weight_cache_.erase(node);
}

std::vector<double> Lowering::accumulator_bound(const std::string& node) const {
    auto it = accumulator_bound_.find(node);
    return it == accumulator_bound_.end() ? std::vector<double>{} : it->second;
}

Tensor Lowering::mac_weight(std::size_t node_index) const {
    const Node& node = graph_.nodes.at(node_index);
    const NodePlacement& place = plan_.placement.at(node_index);
    if (place.role != NodeRole::mac) throw std::logic_error("mac_weight: node '" + node.name + "' is not a MAC layer");
    const ActivationQuant none;
    lowering::NodeContext ctx{graph_, arch_, plan_, node, place, none, weight_cache_, clip_cache_, bias_delta_, recorded_,
                              input_moments_, weight_rounding_, accumulator_bound_, threads_};
    return lowering::normalized_weight(ctx);
}

LoweredNode Lowering::lower_node(std::size_t index, const ActivationQuant& quant,
                                 const std::map<std::string, int>& tensor_ids) const {
    const Node& node = graph_.nodes.at(index);
    const NodePlacement& place = plan_.placement.at(index);
    lowering::NodeContext ctx{graph_, arch_, plan_, node, place, quant, weight_cache_, clip_cache_, bias_delta_, recorded_,
                              input_moments_, weight_rounding_, accumulator_bound_, threads_};
    LoweredNode out;
    CTableLayer& record = out.record;
    record.node = node.name;
    record.op = node.op_type;
    record.engine = place.engine_name();
    // A MAC layer records the engine precision it runs at (a LayerChoice:
    // weight x input activation); other layers their output's value type.
    if (place.role == NodeRole::mac) record.precision = {place.precision.weight, place.precision.activation};
    else record.precision = {std::nullopt, ctx.params(node.outputs[0]).type};
    record.inputs = node.inputs;
    record.outputs = node.outputs;

    sim::QuantNode& q = out.node;
    q.name = node.name;
    q.op_type = node.op_type;
    q.engine = place.engine_name();
    q.precision = place.precision;
    switch (place.role) {
        case NodeRole::mac: q.params = lowering::lower_mac(ctx, record); break;
        case NodeRole::vector: q.params = lowering::lower_vector(ctx, record); break;
        case NodeRole::layout: q.params = lowering::lower_layout(ctx, record); break;
        case NodeRole::host: q.params = lowering::lower_host(ctx, record); break;
        case NodeRole::shape: throw std::logic_error("shape nodes are not lowered");
    }
    for (const std::string& in : operand_inputs(index)) q.inputs.push_back(tensor_ids.at(in));
    for (const std::string& o : node.outputs)
        if (!o.empty()) q.outputs.push_back(tensor_ids.at(o));
    return out;
}

namespace {

int add_tensor(sim::QuantGraph& g, std::map<std::string, int>& ids, const std::string& name,
               const QuantizationPlan& plan, const ActivationQuant& quant, const Graph& graph) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    sim::QuantTensorInfo info;
    info.name = name;
    auto q = quant.find(plan.root(name));
    if (q == quant.end()) throw UserError(fmt::format("no quantization parameters for tensor '{}'", plan.root(name)));
    info.quant = q->second;
    if (plan.constants.count(name)) {
        // A constant operand: quantized once, here, with its own parameters
        // (numerics.md "Constant operands").
        const Tensor value = graph.initializer(name)->cast(DType::f32);
        info.shape = value.shape();
        const sim::FloatTensor f{value.shape(), std::vector<float>(value.data<float>(), value.data<float>() + value.numel())};
        info.constant = sim::quantize_tensor(f, info.quant).values;
    } else {
        static_shape(graph, name, info.shape);
    }
    const int id = static_cast<int>(g.tensors.size());
    g.tensors.push_back(std::move(info));
    ids[name] = id;
    return id;
}

}  // namespace

sim::QuantGraph Lowering::lower_graph(const ActivationQuant& quant, std::vector<CTableLayer>* records) const {
    sim::QuantGraph g;
    g.name = graph_.name;
    std::map<std::string, int> ids;
    for (const ValueInfo& in : graph_.inputs)
        if (plan_.tied_to.count(in.name)) g.inputs.push_back(add_tensor(g, ids, in.name, plan_, quant, graph_));
    for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
        if (plan_.placement[i].role == NodeRole::shape) continue;
        for (const std::string& in : operand_inputs(i))
            if (plan_.constants.count(in)) add_tensor(g, ids, in, plan_, quant, graph_);
        for (const std::string& o : graph_.nodes[i].outputs)
            if (!o.empty()) add_tensor(g, ids, o, plan_, quant, graph_);
        LoweredNode lowered = lower_node(i, quant, ids);
        g.nodes.push_back(std::move(lowered.node));
        if (records) records->push_back(std::move(lowered.record));
    }
    for (const ValueInfo& out : graph_.outputs) {
        auto it = ids.find(out.name);
        if (it == ids.end())
            throw UserError(fmt::format("graph output '{}' is not produced by the quantized graph", out.name));
        g.outputs.push_back(it->second);
    }
    sim::validate(g);
    return g;
}

sim::QuantGraph Lowering::lower_single(std::size_t index, const ActivationQuant& quant, CTableLayer* record) const {
    sim::QuantGraph g;
    g.name = graph_.nodes.at(index).name;
    std::map<std::string, int> ids;
    for (const std::string& in : operand_inputs(index)) {
        const int id = add_tensor(g, ids, in, plan_, quant, graph_);
        if (!plan_.constants.count(in)) g.inputs.push_back(id);
    }
    for (const std::string& o : graph_.nodes[index].outputs)
        if (!o.empty()) g.outputs.push_back(add_tensor(g, ids, o, plan_, quant, graph_));
    LoweredNode lowered = lower_node(index, quant, ids);
    g.nodes.push_back(std::move(lowered.node));
    if (record) *record = std::move(lowered.record);
    return g;
}

}  // namespace bitnpu::calib
