// run_standard_passes: the pass pipeline every tool applies after import.
#include "bitnpu/frontend/passes.hpp"
#include "bitnpu/fp32/shape_inference.hpp"

namespace bitnpu::calib {

namespace {

// Concrete shapes of all graph inputs, if the model declares them statically.
bool static_input_shapes(const Graph& graph, std::map<std::string, Shape>& shapes) {
    for (const ValueInfo& in : graph.inputs) {
        Shape s;
        if (!static_shape(graph, in.name, s)) return false;
        shapes[in.name] = s;
    }
    return true;
}

}  // namespace

void run_standard_passes(Graph& graph) {
    // Dead branches would count as extra consumers and block BN folding and
    // activation fusion, so they go first (and again after folding).
    eliminate_dead_nodes(graph);
    remove_identity(graph);
    // Static models: shapes let fold_constants resolve Shape nodes and
    // remove_identity see Cast-to-same-type on intermediate values.
    std::map<std::string, Shape> shapes;
    // Symbolic ones: probing two sizes folds what does not depend on them.
    if (static_input_shapes(graph, shapes))
        infer_shapes(graph, shapes);
    else
        fold_symbolic_shapes(graph);
    // Folding can expose new identities (e.g. Cast of a folded constant) and
    // vice versa; two rounds reach the fixed point for exporter patterns.
    for (int round = 0; round < 2; ++round) {
        const int changed = fold_constants(graph) + remove_identity(graph);
        if (changed == 0) break;
    }
    eliminate_dead_nodes(graph);
    fuse_layer_norm(graph);   // before the rewrites below, which would change its Sub/Div
    // One spelling of constant arithmetic for the fusions and the engines.
    div_by_constant_to_mul(graph);
    sub_constant_to_add(graph);
    // hard_sigmoid first: fuse_hard_swish matches x * HardSigmoid(x).
    fuse_hard_sigmoid(graph);
    fuse_hard_swish(graph);
    fuse_gelu(graph);
    fuse_mish(graph);
    fuse_swish(graph);
    canonicalize_reduce_mean(graph);
    fuse_matmul_bias(graph);
    fold_batchnorm(graph);
    fold_affine_into_linear(graph);   // after fold_batchnorm: a BN's leftover ChannelAffine is not a Mul/Add
    conv_transpose_to_conv(graph);    // after the folds into its weights; before fuse_activation
    channel_affine_to_conv(graph);
    concat_zeros_to_pad(graph);
    fuse_activation(graph);
    fuse_pad(graph);           // after fuse_activation: a fused Relu proves a MaxPool's input >= 0
    split_conv_at_channel_slices(graph);   // after fuse_activation: the pieces keep a fused activation
    conv1d_to_conv2d(graph);   // after the fusions, which match a Conv's direct reader
    eliminate_dead_nodes(graph);
}

}  // namespace bitnpu::calib
