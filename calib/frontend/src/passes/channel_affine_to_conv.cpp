// channel_affine_to_conv: a ChannelAffine (the BatchNorm that no producer
// absorbs: DenseNet's pre-activation BN after a Concat, a BN on the model
// input, BatchNorm1d after a Linear) becomes the depthwise 1x1 Conv it is,
// y[n,c] = x[n,c] * scale[c] + bias[c], which every MAC array runs
// (per-channel weights, bias, requant) instead of the host. A 4-D value is
// converted in place; a 2-D [N, C] or 3-D [N, C, L] value is reshaped to
// [N, C, L, 1] around the Conv and back (Reshape only relabels the values,
// so the output keeps its name and its readers). Other ranks keep the
// ChannelAffine.
#include "bitnpu/frontend/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

int channel_affine_to_conv(Graph& graph) {
    int changed = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& node = graph.nodes[i];
        if (node.op_type != kChannelAffine || node.domain != kDomain || node.inputs.size() != 3) continue;
        const std::int64_t rank = pass_utils::known_rank(graph, node.inputs[0]);
        const Tensor* scale = graph.initializer(node.inputs[1]);
        const Tensor* bias = graph.initializer(node.inputs[2]);
        if (rank < 2 || rank > 4 || !scale || !bias || scale->dtype() != DType::f32 || scale->rank() != 1 ||
            bias->numel() != scale->numel())
            continue;
        const std::int64_t channels = scale->numel();
        const std::string weight = pass_utils::unique_name(graph, node.name + ".depthwise_weight");
        graph.initializers[weight] = Tensor::from_vector<float>({channels, 1, 1, 1}, scale->to_floats());
        node.op_type = "Conv";
        node.domain.clear();
        node.inputs[1] = weight;
        node.attributes["group"] = channels;
        node.attributes["kernel_shape"] = std::vector<std::int64_t>{1, 1};
        ++changed;
        if (rank == 4) continue;
        // [N, C] or [N, C, L] -> [N, C, L, 1] -> Conv -> back to the input's shape.
        const std::vector<std::int64_t> back = rank == 2 ? std::vector<std::int64_t>{0, 0}
                                                         : std::vector<std::int64_t>{0, 0, -1};
        i = pass_utils::wrap_in_reshapes(graph, i, "4d", {0, 0, -1, 1}, back) + 1;   // past the second Reshape
    }
    return changed;
}

}  // namespace bitnpu::calib
