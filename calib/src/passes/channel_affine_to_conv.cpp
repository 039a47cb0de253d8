// channel_affine_to_conv: a ChannelAffine on a 4-D value (the BatchNorm that
// no producer absorbs: DenseNet's pre-activation BN after a Concat, a BN on
// the model input) becomes the depthwise 1x1 Conv it is, y[n,c] = x[n,c] *
// scale[c] + bias[c], which every MAC array runs (per-channel weights, bias,
// requant) instead of the host. Other ranks keep the ChannelAffine.
#include "bitnpu/calib/passes.hpp"
#include "pass_utils.hpp"

namespace bitnpu::calib {

int channel_affine_to_conv(Graph& graph) {
    int changed = 0;
    for (Node& node : graph.nodes) {
        if (node.op_type != kChannelAffine || node.domain != kDomain || node.inputs.size() != 3) continue;
        if (pass_utils::known_rank(graph, node.inputs[0]) != 4) continue;
        const Tensor* scale = graph.initializer(node.inputs[1]);
        const Tensor* bias = graph.initializer(node.inputs[2]);
        if (!scale || !bias || scale->dtype() != DType::f32 || scale->rank() != 1 || bias->numel() != scale->numel())
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
    }
    return changed;
}

}  // namespace bitnpu::calib
