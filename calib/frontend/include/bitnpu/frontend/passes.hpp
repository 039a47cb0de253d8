// Graph passes: rewrites of the IR that keep the graph's results (up to
// float rounding) and make it simpler to calibrate and map onto hardware.
// Each pass returns how many nodes it changed or removed; none touches the
// model file.
#pragma once

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib {

// Evaluates nodes whose inputs are all initializers (run_node) and replaces
// them by initializers; folds Shape of values whose shape is fully static
// (only when no graph input has a symbolic dimension).
int fold_constants(Graph& graph);
// Removes nodes whose outputs reach no graph output, then unused initializers.
int eliminate_dead_nodes(Graph& graph);
// Folds BatchNormalization into a preceding Conv/ConvTranspose/Gemm that
// feeds only it; any other inference-mode BN becomes bitnpu ChannelAffine.
int fold_batchnorm(Graph& graph);
// Fuses Relu / Clip into a preceding Conv/Gemm/MatMul that feeds
// only it (sets the fused:: attributes of graph.hpp).
int fuse_activation(Graph& graph);
// ChannelAffine on a 2-D to 4-D value -> depthwise 1x1 Conv (weights =
// scale, bias; 2-D and 3-D values reshaped to 4-D around it), which MAC
// arrays run; other ranks are left as they are.
int channel_affine_to_conv(Graph& graph);
// 1-D Conv (3-D input and weight) -> the equal 2-D Conv on a [N, C, 1, L]
// view, between Reshapes, which MAC arrays run.
int conv1d_to_conv2d(Graph& graph);
// Removes Identity, inference-mode Dropout and Cast to the value's own type.
int remove_identity(Graph& graph);

// Models with a symbolic (batch) input dimension: folds the shape arithmetic
// that does not depend on it (probing two batch sizes) and Reshape targets
// [batch, ...] into [0, ...]; records the probed shapes in value_info with
// the varying dimensions symbolic.
int fold_symbolic_shapes(Graph& graph);
// ReduceMean over axes {2, 3} of a 4-D value -> GlobalAveragePool (+ Flatten
// when keepdims=0), which vector units run.
int canonicalize_reduce_mean(Graph& graph);
// The nine-node LayerNorm of exports below opset 17 (ReduceMean, Sub, Pow,
// ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta) -> one
// LayerNormalization node over the same trailing axes.
int fuse_layer_norm(Graph& graph);
// MatMul(X, W[K,N]) + B[N] (constants) -> Gemm, with Reshapes to [-1, K]
// and back when X has rank > 2 (its dims after the first must be static).
int fuse_matmul_bias(Graph& graph);

// Div(x, c) by a float constant -> Mul(x, 1/c) (the vector engines multiply).
int div_by_constant_to_mul(Graph& graph);
// Sub(x, c) by a float constant -> Add(x, -c) (exact).
int sub_constant_to_add(Graph& graph);
// Exported activation patterns fused to one lookup-table op each (matched
// in any arrangement of the arithmetic, constants within 1e-6 relative):
// relu6(x + 3) / 6 -> HardSigmoid; x * relu6(x + 3) / 6 -> HardSwish;
// 0.5 x (1 + erf(x / sqrt 2)) and its tanh form -> Gelu;
// x * tanh(softplus(x)) -> Mish; x * Sigmoid(x) -> Swish.
int fuse_hard_sigmoid(Graph& graph);
int fuse_hard_swish(Graph& graph);
int fuse_gelu(Graph& graph);
int fuse_mish(Graph& graph);
int fuse_swish(Graph& graph);
// Mul/Add by a per-output-channel constant right after a Conv,
// ConvTranspose, Gemm or MatMul that feeds only it -> folded into the
// weights and bias.
int fold_affine_into_linear(Graph& graph);
// Concat with leading/trailing all-zero constants (channel padding) -> Pad
// of zeros, which moves data only.
int concat_zeros_to_pad(Graph& graph);
// 2-D ConvTranspose (constant weights, dilation 1) -> zero insertion
// (Unsqueeze, Pad, Reshape), a border Pad and a stride-1 Conv with the
// flipped, transposed kernel, which MAC arrays run.
int conv_transpose_to_conv(Graph& graph);
// A Conv read only through Slices of its channel axis (possibly after
// channel-wise ops such as Resize) -> one Conv per Slice computing only its
// channels, so that each gets its own activation scale.
int split_conv_at_channel_slices(Graph& graph);
// Constant-mode spatial Pad read only by a Conv / AveragePool / MaxPool ->
// that node's pads, where the consumer's padding means the same.
int fuse_pad(Graph& graph);

// The pipeline every tool runs after import: eliminate_dead_nodes,
// remove_identity, shape inference (static models) or fold_symbolic_shapes
// (models with a symbolic dimension), fold_constants, eliminate_dead_nodes,
// fuse_layer_norm, div_by_constant_to_mul, sub_constant_to_add, the
// activation fusions, canonicalize_reduce_mean, fuse_matmul_bias,
// fold_batchnorm, fold_affine_into_linear, conv_transpose_to_conv,
// channel_affine_to_conv,
// concat_zeros_to_pad, fuse_activation, fuse_pad,
// split_conv_at_channel_slices, conv1d_to_conv2d,
// eliminate_dead_nodes (standard_pipeline.cpp says why in this order).
void run_standard_passes(Graph& graph);

}  // namespace bitnpu::calib
