// Graph passes: rewrites of the IR that keep the graph's results (up to
// float rounding) and make it simpler to calibrate and map onto hardware.
// Each pass returns how many nodes it changed or removed; none touches the
// model file.
#pragma once

#include "bitnpu/calib/graph.hpp"

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
// Fuses Relu / Clip / LeakyRelu into a preceding Conv/Gemm/MatMul that feeds
// only it (sets the fused:: attributes of graph.hpp).
int fuse_activation(Graph& graph);
// Removes Identity, inference-mode Dropout and Cast to the value's own type.
int remove_identity(Graph& graph);

// The pipeline every tool runs after import: eliminate_dead_nodes,
// remove_identity, shape inference (static models only), fold_constants,
// eliminate_dead_nodes, fold_batchnorm, fuse_activation, eliminate_dead_nodes.
void run_standard_passes(Graph& graph);

}  // namespace bitnpu::calib
