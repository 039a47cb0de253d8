// Lowering: graph IR + activation quantization + arch -> sim::QuantGraph,
// the integer program the bit-accurate simulator runs. Every integer
// parameter (quantized weights and biases, requant registers, clamps, lookup
// tables) is derived here from scales with sim/datapath and scale.hpp, so
// the simulated result is what the silicon computes. The CTable's per-layer
// records are produced alongside, from the same values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/graph.hpp"
#include "bitnpu/compile/placement.hpp"
#include "bitnpu/quant/scale.hpp"
#include "bitnpu/quant/weight_clipping.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::calib {

// Quantization of every activation tensor, by tensor name (tied tensors
// carry their root's parameters).
using ActivationQuant = std::map<std::string, QuantParams>;


struct LoweredNode {
    sim::QuantNode node;        // tensor ids refer to the graph being built
    CTableLayer record;
};

// A MAC node's weights as lowered: they depend only on the weights, the
// engine and the node's recorded layer or input moments, not on the
// activation quantization, so the search's many lowerings of a node share
// them (Lowering's cache, dropped when a setter changes their inputs).
struct LoweredWeights {
    QuantParams params;                    // the weight quantization
    Shape shape;                           // the MAC layout: [out channels, ...]
    std::vector<std::int32_t> quantized;   // the integer weights in that layout
    std::vector<bool> rounding;            // flags of weights not rounded to nearest (CTableLayer::weight_rounding)
};

// The values a host node reads that are computed at run time but are not
// quantized activations: non-float values such as the bool of
// Equal(x, MaxPool(x)) that a Cast turns back into floats. The host computes
// them too, in FP32, from quantized activations and constants: `nodes` are
// their producers (graph order) and `activations` the quantized tensors
// those read that the host node does not read itself.
struct HostRegion {
    std::vector<const Node*> nodes;
    std::vector<std::string> activations;
};
// Throws UserError naming the node and the value when a producer reads
// anything else (a graph input that is not a float, ...).
HostRegion host_region(const Graph& graph, const QuantizationPlan& plan, const Node& node);

// The quantized tensors node `node_index` reads, in QuantNode input order
// (Lowering::operand_inputs).
std::vector<std::string> operand_inputs(const Graph& graph, const QuantizationPlan& plan, std::size_t node_index);

class Lowering {
public:
    // graph must have been through run_standard_passes and infer_shapes.
    Lowering(const Graph& graph, const arch::ArchSpec& arch, const QuantizationPlan& plan);

    // The whole graph. Every quantized tensor must have parameters in `quant`.
    sim::QuantGraph lower_graph(const ActivationQuant& quant, std::vector<CTableLayer>* records = nullptr) const;

    // A graph of one node (by index in graph.nodes), whose inputs are the
    // node's quantized activation inputs and outputs its outputs: the
    // calibrator's search runs candidates through it.
    sim::QuantGraph lower_single(std::size_t node_index, const ActivationQuant& quant,
                                 CTableLayer* record = nullptr) const;

    // The quantized tensors a node reads, in QuantNode input order: its
    // activations and its constant operands (plan().constants); for a host
    // node, then its host region's activations.
    std::vector<std::string> operand_inputs(std::size_t node_index) const;
    // The same without the constant operands: what a caller running the node
    // alone (lower_single) feeds it, in order.
    std::vector<std::string> activation_inputs(std::size_t node_index) const;

    // Bias correction: a float delta per output channel added to a MAC
    // node's float bias before it is quantized (set by the calibrator).
    void set_bias_correction(const std::string& node, std::vector<double> delta);
    // A CTable's record of a layer: its weight scales and biases (b_q)
    // replace the derived ones, so a CTable reproduces the calibrated program
    // (data-aware clipping and bias correction cannot be re-derived without
    // the calibration data).
    void set_recorded_layer(const CTableLayer& layer);
    // Worker threads for the weight clipping (default 1; results do not depend on it).
    void set_threads(int threads);
    // Input moments for a MAC node's weight clipping (drops its cached
    // weight quantization, so the next lowering re-derives it).
    void set_input_moments(const std::string& node, InputMoments moments);
    // Learned rounding of a MAC node's weights (AdaRound): flags in the MAC
    // layout, set where a weight takes other_rounding (scale.hpp) instead of
    // nearest rounding; empty: nearest again. Preferred over a CTable
    // record's weight.rounding; drops the cached weights.
    void set_weight_rounding(const std::string& node, std::vector<bool> flags);
    // The node's learned rounding flags (empty: nearest rounding).
    std::vector<bool> weight_rounding(const std::string& node) const;
    // A MAC node's weights as last lowered (lower_single fills the cache):
    // quantization, layout, integers. logic_error when they are not cached.
    const LoweredWeights& lowered_weights(const std::string& node) const;
    // Accumulator-aware weights for a MAC node (numerics.md "Accumulator-aware
    // weight bound"), one fraction per weight scale or one for all: 1 grows
    // the scale until no input can overflow the accumulator, 0 leaves it as
    // clipped, a fraction in between takes scales_between (drops the node's
    // cached weight quantization when they change; all 0 or empty: none).
    void set_accumulator_bound(const std::string& node, std::vector<double> fractions);
    // The node's fractions (empty: none).
    std::vector<double> accumulator_bound(const std::string& node) const;
    // A MAC node's weight as float, [C_out, C_in/g, kH, kW] (Conv) or [N, K]
    // (Gemm/MatMul, transB and alpha applied): what the bias correction reads.
    Tensor mac_weight(std::size_t node_index) const;

    const QuantizationPlan& plan() const { return plan_; }
    const Graph& graph() const { return graph_; }

private:
    void drop_clipping(const std::string& node);
    LoweredNode lower_node(std::size_t node_index, const ActivationQuant& quant,
                           const std::map<std::string, int>& tensor_ids) const;

    const Graph& graph_;
    const arch::ArchSpec& arch_;
    const QuantizationPlan& plan_;
    mutable std::map<std::string, LoweredWeights> weight_cache_;
    // The weight clipping (mse_weight_ranges) per node and weight type: it
    // reads only the weights and the input moments, so a bias correction or
    // an accumulator bound (which drop weight_cache_) keep it.
    mutable std::map<std::string, ChannelRanges> clip_cache_;
    std::map<std::string, std::vector<double>> bias_delta_;
    std::map<std::string, CTableLayer> recorded_;
    std::map<std::string, InputMoments> input_moments_;
    std::map<std::string, std::vector<bool>> weight_rounding_;
    std::map<std::string, std::vector<double>> accumulator_bound_;   // node -> fractions, some > 0
    int threads_ = 1;
};

}  // namespace bitnpu::calib
