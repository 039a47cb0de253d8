// conv1d_to_conv2d: a 1-D Conv (input [N, C, L], weight [M, C/g, K]) becomes
// the 2-D Conv it equals on a [N, C, 1, L] view: weight [M, C/g, 1, K], the
// H axis with kernel 1, stride 1, dilation 1 and no padding. MAC arrays run
// 2-D convolutions; without this, every Conv1d (audio, sequence models) had
// to run on the host. Reshapes relabel the values around it, so the output
// keeps its name, and fused activations stay on the Conv.
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

namespace {

// A per-axis attribute of the 1-D conv with the H axis's value put first
// (pads [begin, end] -> [0, begin, 0, end]).
void widen(Node& node, const std::string& key, std::int64_t h_value) {
    if (!node.has_attr(key)) return;
    const std::vector<std::int64_t> v = node.attr_ints(key);
    if (key == "pads")
        node.attributes[key] = v.size() == 2 ? std::vector<std::int64_t>{0, v[0], 0, v[1]} : v;
    else
        node.attributes[key] = v.size() == 1 ? std::vector<std::int64_t>{h_value, v[0]} : v;
}

}  // namespace

int conv1d_to_conv2d(Graph& graph) {
    int changed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& node = graph.nodes[i];
        if (node.op_type != "Conv" || !node.domain.empty() || node.inputs.size() < 2 || node.outputs.empty()) continue;
        const Tensor* w = graph.initializer(node.inputs[1]);
        if (!w || w->rank() != 3 || pass_utils::known_rank(graph, node.inputs[0]) != 3) continue;
        const Shape& ws = w->shape();
        const std::string weight = pass_utils::unique_name(graph, node.inputs[1] + ".as_2d");
        graph.initializers[weight] = w->reshaped({ws[0], ws[1], 1, ws[2]});
        node.inputs[1] = weight;
        widen(node, "kernel_shape", 1);
        widen(node, "strides", 1);
        widen(node, "dilations", 1);
        widen(node, "pads", 0);
        i = pass_utils::wrap_in_reshapes(graph, i, "2d", {0, 0, 1, -1}, {0, 0, -1}) + 1;   // past the second Reshape
        ++changed;
    }
    return changed;
}

}  // namespace bitnpu::calib
