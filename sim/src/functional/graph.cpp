// Executes a QuantGraph node by node, each through its layer's kernel.
#include "bitnpu/sim/functional/graph.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "bitnpu/errors.hpp"

namespace bitnpu::sim {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string where(const QuantNode& node) { return "node '" + node.name + "' (" + node.op_type + ")"; }

// Inputs and outputs each kind of layer takes (-1: any number >= 1).
std::pair<int, int> arity(const LayerParams& params, std::size_t concat_inputs) {
    return std::visit(Overloaded{
                          [](const AddLayer&) { return std::pair{2, 1}; },
                          [](const MulLayer&) { return std::pair{2, 1}; },
                          [&](const ConcatLayer&) { return std::pair{static_cast<int>(concat_inputs), 1}; },
                          [](const HostLayer&) { return std::pair{-1, -1}; },
                          [](const auto&) { return std::pair{1, 1}; },
                      },
                      params);
}

std::vector<QTensor> run_node(const QuantNode& node, const PreparedMacLayer* prepared,
                              const std::vector<const QTensor*>& in, const std::vector<QuantParams>& out_quant,
                              const RunOptions& options) {
    return std::visit(
        Overloaded{
            [&](const MacLayer&) {
                return std::vector<QTensor>{run_mac_layer(*prepared, *in[0], {options.threads, options.mac_path})};
            },
            [&](const AddLayer& l) { return std::vector<QTensor>{run_add_layer(l, *in[0], *in[1])}; },
            [&](const MulLayer& l) { return std::vector<QTensor>{run_mul_layer(l, *in[0], *in[1])}; },
            [&](const MaxPoolLayer& l) { return std::vector<QTensor>{run_max_pool_layer(l, *in[0])}; },
            [&](const AvgPoolLayer& l) { return std::vector<QTensor>{run_avg_pool_layer(l, *in[0])}; },
            [&](const ConcatLayer& l) { return std::vector<QTensor>{run_concat_layer(l, in)}; },
            [&](const LutLayer& l) { return std::vector<QTensor>{run_lut_layer(l, *in[0])}; },
            [&](const RequantizeLayer& l) { return std::vector<QTensor>{run_requantize_layer(l, *in[0])}; },
            [&](const ReshapeLayer& l) { return std::vector<QTensor>{run_reshape_layer(l, *in[0])}; },
            [&](const ResizeLayer& l) { return std::vector<QTensor>{run_resize_layer(l, *in[0])}; },
            [&](const HostLayer& l) { return run_host_layer(l, in, out_quant); },
        },
        node.params);
}

}  // namespace

QTensor constant_value(const QuantTensorInfo& tensor) {
    QTensor q;
    q.shape = tensor.shape;
    q.quant = tensor.quant;
    if (tensor.constant) q.values = *tensor.constant;
    return q;
}

void validate(const QuantGraph& graph) {
    const int count = static_cast<int>(graph.tensors.size());
    std::vector<bool> ready(graph.tensors.size(), false);
    auto check_id = [&](int id, const std::string& what) {
        if (id < 0 || id >= count) throw UserError(what + " names tensor id " + std::to_string(id) + ", which does not exist");
    };
    for (std::size_t id = 0; id < graph.tensors.size(); ++id) {
        const QuantTensorInfo& t = graph.tensors[id];
        if (!t.constant) continue;
        if (static_cast<std::int64_t>(t.constant->size()) != element_count(t.shape))
            throw UserError("constant tensor '" + t.name + "' holds " + std::to_string(t.constant->size()) +
                            " values but its shape holds " + std::to_string(element_count(t.shape)));
        ready[id] = true;
    }
    auto check_not_constant = [&](int id, const std::string& what) {
        const QuantTensorInfo& t = graph.tensors[static_cast<std::size_t>(id)];
        if (t.constant) throw UserError(what + " writes constant tensor '" + t.name + "'");
    };
    for (int id : graph.inputs) {
        check_id(id, "graph input");
        check_not_constant(id, "graph input");
        ready[static_cast<std::size_t>(id)] = true;
    }
    for (const QuantNode& node : graph.nodes) {
        const std::size_t concat_inputs =
            std::holds_alternative<ConcatLayer>(node.params) ? std::get<ConcatLayer>(node.params).inputs.size() : 0;
        const auto [n_in, n_out] = arity(node.params, concat_inputs);
        if ((n_in >= 0 && static_cast<int>(node.inputs.size()) != n_in) || node.inputs.empty())
            throw UserError(where(node) + " has " + std::to_string(node.inputs.size()) + " inputs, its layer takes " +
                            std::to_string(n_in));
        if ((n_out >= 0 && static_cast<int>(node.outputs.size()) != n_out) || node.outputs.empty())
            throw UserError(where(node) + " has " + std::to_string(node.outputs.size()) + " outputs, its layer makes " +
                            std::to_string(n_out));
        for (int id : node.inputs) {
            check_id(id, where(node));
            if (!ready[static_cast<std::size_t>(id)])
                throw UserError(where(node) + " reads tensor '" + graph.tensors[static_cast<std::size_t>(id)].name +
                                "' before any node produces it (nodes must be in topological order)");
        }
        for (int id : node.outputs) {
            check_id(id, where(node));
            check_not_constant(id, where(node));
            ready[static_cast<std::size_t>(id)] = true;
        }
    }
    for (int id : graph.outputs) {
        check_id(id, "graph output");
        if (!ready[static_cast<std::size_t>(id)])
            throw UserError("graph output '" + graph.tensors[static_cast<std::size_t>(id)].name + "' is never produced");
    }
}

GraphRunner::GraphRunner(const QuantGraph& graph) : graph_(&graph) {
    validate(graph);
    for (const QuantTensorInfo& t : graph.tensors)
        constants_.push_back(t.constant ? std::optional<QTensor>(constant_value(t)) : std::nullopt);
    for (const QuantNode& node : graph.nodes) {
        prepared_.emplace_back();
        if (const auto* mac = std::get_if<MacLayer>(&node.params)) {
            try {
                prepared_.back() = prepare_mac_layer(*mac);
            } catch (const UserError& e) {
                throw UserError(where(node) + ": " + e.what());
            }
        }
    }
}

GraphResult GraphRunner::run(const std::vector<FloatTensor>& inputs, const RunOptions& options,
                             const TensorObserver& observer) const {
    const QuantGraph& graph = *graph_;
    if (inputs.size() != graph.inputs.size())
        throw UserError("graph '" + graph.name + "' takes " + std::to_string(graph.inputs.size()) + " inputs, got " +
                        std::to_string(inputs.size()));
    std::vector<QTensor> quantized;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        quantized.push_back(quantize_tensor(inputs[i], graph.tensors[static_cast<std::size_t>(graph.inputs[i])].quant));
    return run_quantized(quantized, options, observer);
}

std::vector<int> last_uses(const QuantGraph& graph) {
    std::vector<int> last_use(graph.tensors.size(), -1);
    for (std::size_t n = 0; n < graph.nodes.size(); ++n)
        for (int id : graph.nodes[n].inputs) last_use[static_cast<std::size_t>(id)] = static_cast<int>(n);
    for (int id : graph.outputs) last_use[static_cast<std::size_t>(id)] = static_cast<int>(graph.nodes.size());
    return last_use;
}

std::vector<std::optional<QTensor>> graph_input_values(const QuantGraph& graph, const std::vector<QTensor>& inputs) {
    if (inputs.size() != graph.inputs.size())
        throw UserError("graph '" + graph.name + "' takes " + std::to_string(graph.inputs.size()) + " inputs, got " +
                        std::to_string(inputs.size()));
    std::vector<std::optional<QTensor>> values(graph.tensors.size());
    for (std::size_t id = 0; id < graph.tensors.size(); ++id)
        if (graph.tensors[id].constant) values[id] = constant_value(graph.tensors[id]);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto id = static_cast<std::size_t>(graph.inputs[i]);
        values[id] = inputs[i];
        values[id]->quant = graph.tensors[id].quant;
    }
    return values;
}

void store_node_outputs(const QuantGraph& graph, std::size_t n, std::vector<QTensor>& produced,
                        const std::vector<int>& last_use, std::vector<std::optional<QTensor>>& values) {
    const QuantNode& node = graph.nodes[n];
    if (produced.size() != node.outputs.size())
        throw UserError(where(node) + " produced " + std::to_string(produced.size()) + " tensors, expected " +
                        std::to_string(node.outputs.size()));
    for (std::size_t o = 0; o < produced.size(); ++o) {
        const auto id = static_cast<std::size_t>(node.outputs[o]);
        produced[o].quant = graph.tensors[id].quant;
        values[id] = std::move(produced[o]);
    }
    for (int id : node.inputs)
        if (last_use[static_cast<std::size_t>(id)] == static_cast<int>(n)) values[static_cast<std::size_t>(id)].reset();
}

GraphResult GraphRunner::run_quantized(const std::vector<QTensor>& inputs, const RunOptions& options,
                                       const TensorObserver& observer) const {
    std::vector<const QTensor*> in;
    for (const QTensor& t : inputs) in.push_back(&t);
    GraphResult result;
    result.raw_outputs = run_raw(in, options, observer);
    for (const QTensor& q : result.raw_outputs) result.outputs.push_back(dequantize_tensor(q));
    return result;
}

std::vector<QTensor> GraphRunner::run_raw(const std::vector<const QTensor*>& inputs, const RunOptions& options,
                                          const TensorObserver& observer) const {
    const QuantGraph& graph = *graph_;
    if (inputs.size() != graph.inputs.size())
        throw UserError("graph '" + graph.name + "' takes " + std::to_string(graph.inputs.size()) + " inputs, got " +
                        std::to_string(inputs.size()));
    // Tensor id -> value: produced (or restamped) tensors are owned, the
    // caller's inputs are borrowed.
    std::vector<std::optional<QTensor>> owned(graph.tensors.size());
    std::vector<const QTensor*> borrowed(graph.tensors.size(), nullptr);
    for (std::size_t id = 0; id < constants_.size(); ++id)
        if (constants_[id]) borrowed[id] = &*constants_[id];
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto id = static_cast<std::size_t>(graph.inputs[i]);
        if (inputs[i]->quant == graph.tensors[id].quant) {
            borrowed[id] = inputs[i];
        } else {
            owned[id] = *inputs[i];
            owned[id]->quant = graph.tensors[id].quant;
        }
    }
    auto value = [&](int id) -> const QTensor& {
        const auto k = static_cast<std::size_t>(id);
        return borrowed[k] ? *borrowed[k] : *owned[k];
    };
    if (observer)
        for (int id : graph.inputs) observer(nullptr, id, value(id));
    // The last node reading each tensor, so intermediates are freed early.
    const std::vector<int> last_use = last_uses(graph);

    for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
        const QuantNode& node = graph.nodes[n];
        std::vector<const QTensor*> in;
        for (int id : node.inputs) in.push_back(&value(id));
        std::vector<QuantParams> out_quant;
        for (int id : node.outputs) out_quant.push_back(graph.tensors[static_cast<std::size_t>(id)].quant);
        std::vector<QTensor> produced;
        try {
            produced = run_node(node, prepared_[n] ? &*prepared_[n] : nullptr, in, out_quant, options);
        } catch (const UserError& e) {
            throw UserError(where(node) + ": " + e.what());
        }
        store_node_outputs(graph, n, produced, last_use, owned);
        for (int id : node.inputs)
            if (last_use[static_cast<std::size_t>(id)] == static_cast<int>(n)) borrowed[static_cast<std::size_t>(id)] = nullptr;
        if (observer)
            for (int id : node.outputs)
                if (owned[static_cast<std::size_t>(id)]) observer(&node, id, *owned[static_cast<std::size_t>(id)]);
    }
    std::vector<QTensor> outputs;
    for (std::size_t k = 0; k < graph.outputs.size(); ++k) {
        const int id = graph.outputs[k];
        const bool read_again = std::find(graph.outputs.begin() + static_cast<std::ptrdiff_t>(k) + 1,
                                          graph.outputs.end(), id) != graph.outputs.end();
        if (borrowed[static_cast<std::size_t>(id)] || read_again) outputs.push_back(value(id));
        else outputs.push_back(std::move(*owned[static_cast<std::size_t>(id)]));
    }
    return outputs;
}

GraphResult run(const QuantGraph& graph, const std::vector<FloatTensor>& inputs, const RunOptions& options,
                const TensorObserver& observer) {
    return GraphRunner(graph).run(inputs, options, observer);
}

GraphResult run_quantized(const QuantGraph& graph, const std::vector<QTensor>& inputs, const RunOptions& options,
                          const TensorObserver& observer) {
    return GraphRunner(graph).run_quantized(inputs, options, observer);
}

}  // namespace bitnpu::sim
