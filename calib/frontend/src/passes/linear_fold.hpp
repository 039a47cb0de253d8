// Folding a per-output-channel affine map y = x * scale[c] + shift[c] that
// follows a Conv, ConvTranspose, Gemm or MatMul into its weights and bias;
// shared by fold_batchnorm and fold_affine_into_linear.
#pragma once

#include <string>
#include <vector>

#include "bitnpu/graph/graph.hpp"

namespace bitnpu::calib::linear_fold {

struct Affine {
    std::vector<double> scale, shift;   // one per output channel
};

// Output channels of a Conv (W [M, C/g, k...]: M), ConvTranspose (W [C, M/g,
// k...]: M), Gemm (N) or MatMul with a 2-D constant weight (N); -1 when the
// weight is not a float constant of the expected rank.
std::int64_t output_channels(const Graph& graph, const Node& node);

// Folds `a` into the node's weight (scaled per output channel; kept as is when
// every scale is 1) and bias (b * scale + shift; created when absent): new
// initializers named after the node plus suffix + "_weight" / "_bias". A
// MatMul has no bias, so only a pure scale folds into it. False (graph
// unchanged) when the node, its constants or the channel count do not fit.
bool fold(Graph& graph, Node& node, const Affine& a, const std::string& suffix);

}  // namespace bitnpu::calib::linear_fold
