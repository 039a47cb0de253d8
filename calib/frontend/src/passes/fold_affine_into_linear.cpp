// fold_affine_into_linear: a Mul or Add by a constant right after a Conv,
// ConvTranspose, Gemm or MatMul whose output it alone reads, with the
// constant varying only along the output channels (Conv: [C, 1, 1],
// [1, C, 1, 1]; Gemm/MatMul: [N], [1, N]; or one value), is folded into the
// weights and bias: Mul scales the weights and bias of each output channel,
// Add adds to the bias (MatMul has none: only Mul folds; fuse_matmul_bias
// turns MatMul + Add into Gemm). Exporters write such a Mul/Add for a
// BatchNormalization unfolded into Mul + Add (TF/Keras conversions), a
// layer scale, or `conv(x) / c` (after div_by_constant_to_mul).
//
// Exactness: y = (W x + b) * s + t becomes (W s) x + (b s + t): the same
// function; float rounding only (the products are rounded before the sum
// instead of after it, relative 1e-6 on the outputs).
#include <cmath>

#include "bitnpu/frontend/passes.hpp"
#include "linear_fold.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

using namespace pass_utils;

Node* producer_of_value(Graph& graph, const std::string& value) {
    for (Node& n : graph.nodes)
        for (const std::string& out : n.outputs)
            if (out == value) return &n;
    return nullptr;
}

// The rank of the producer's output and the axis of its output channels;
// false when unknown.
bool channel_axis(const Graph& graph, const Node& producer, std::int64_t& rank, std::int64_t& axis) {
    if (producer.op_type == "Conv" || producer.op_type == "ConvTranspose") {
        rank = graph.initializer(producer.inputs[1])->rank();
        axis = 1;
        return true;
    }
    rank = producer.op_type == "Gemm" ? 2 : known_rank(graph, producer.outputs[0]);
    if (rank < 1) return false;
    axis = rank - 1;
    return true;
}

// The constant's value per output channel, if it broadcasts to the output
// (rank at most the output's) and is constant along every other axis.
bool per_channel(const Tensor& c, std::int64_t channels, std::int64_t rank, std::int64_t axis,
                 std::vector<double>& values) {
    if (c.dtype() != DType::f32 || c.rank() > rank) return false;
    std::int64_t along = 1;
    for (std::int64_t j = 0; j < c.rank(); ++j) {
        const std::int64_t out_axis = j + rank - c.rank();
        if (out_axis == axis && (c.dim(j) == channels || c.dim(j) == 1))
            along = c.dim(j);
        else if (c.dim(j) != 1)
            return false;
    }
    const float* d = c.data<float>();
    values.assign(static_cast<std::size_t>(channels), 0.0);
    for (std::int64_t k = 0; k < channels; ++k) {
        values[static_cast<std::size_t>(k)] = d[along == 1 ? 0 : k];
        if (!std::isfinite(values[static_cast<std::size_t>(k)])) return false;
    }
    return true;
}

bool fold_node(Graph& graph, const Node& node) {
    if ((node.op_type != "Mul" && node.op_type != "Add") || !node.domain.empty() || node.inputs.size() != 2) return false;
    const int c_slot = graph.is_initializer(node.inputs[1]) ? 1 : graph.is_initializer(node.inputs[0]) ? 0 : -1;
    if (c_slot < 0) return false;
    const std::string& x = node.inputs[static_cast<std::size_t>(1 - c_slot)];
    const Tensor& c = *graph.initializer(node.inputs[static_cast<std::size_t>(c_slot)]);
    Node* producer = producer_of_value(graph, x);
    if (!producer || !producer->domain.empty() || producer->outputs.size() != 1 ||
        producer->has_attr(fused::kActivation) || use_count(graph, x) != 1)
        return false;
    const std::int64_t channels = linear_fold::output_channels(graph, *producer);
    std::int64_t rank = 0, axis = 0;
    std::vector<double> values;
    if (channels < 1 || !channel_axis(graph, *producer, rank, axis) || !per_channel(c, channels, rank, axis, values))
        return false;
    linear_fold::Affine a;
    const bool mul = node.op_type == "Mul";
    a.scale = mul ? values : std::vector<double>(values.size(), 1.0);
    a.shift = mul ? std::vector<double>(values.size(), 0.0) : values;
    if (!linear_fold::fold(graph, *producer, a, mul ? ".mul_folded" : ".add_folded")) return false;
    producer->outputs[0] = node.outputs[0];
    return true;
}

}  // namespace

int fold_affine_into_linear(Graph& graph) {
    std::vector<bool> remove(graph.nodes.size(), false);
    int folded = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        if (!fold_node(graph, graph.nodes[i])) continue;
        remove[i] = true;
        ++folded;
    }
    erase_marked(graph, remove);
    return folded;
}

}  // namespace bitnpu::calib
