// Per-role lowering of one node (private to the calibrator). Each function
// fills the sim layer parameters and the node's CTable record.
#pragma once

#include <map>
#include <optional>
#include <vector>
#include <string>

#include "bitnpu/compile/lowering.hpp"

namespace bitnpu::calib::lowering {

struct NodeContext {
    const Graph& graph;
    const arch::ArchSpec& arch;
    const QuantizationPlan& plan;
    const Node& node;
    const NodePlacement& place;
    const ActivationQuant& quant;
    // Weight quantization per node name: it depends only on the weights and
    // the engine, so the search's many lowerings of a node share it.
    std::map<std::string, LoweredWeights>& weight_cache;
    // The clipped weight ranges per "node|type" (Lowering's clip_cache_).
    std::map<std::string, ChannelRanges>& clip_cache;
    // Bias corrections by node name (Lowering::set_bias_correction).
    const std::map<std::string, std::vector<double>>& bias_delta;
    // CTable records by node name (Lowering::set_recorded_layer).
    const std::map<std::string, CTableLayer>& recorded;
    // Input moments by node name (Lowering::set_input_moments).
    const std::map<std::string, InputMoments>& input_moments;
    // Learned weight rounding by node name (Lowering::set_weight_rounding).
    const std::map<std::string, std::vector<bool>>& weight_rounding;
    // MAC nodes with accumulator-aware weights, their fractions (Lowering::set_accumulator_bound).
    const std::map<std::string, std::vector<double>>& accumulator_bound;
    int threads;   // for the weight clipping (results do not depend on it)

    // The parameters of a quantized tensor (its root's).
    const QuantParams& params(const std::string& tensor) const;
    // The CTable record of this node, or null.
    const CTableLayer* recorded_layer() const;
    // A statically inferred shape (value_info); empty when unknown.
    Shape shape(const std::string& tensor) const;
};

// [lo, hi] of the output type narrowed by a fused activation (numerics.md "MAC step 6: clamp").
struct Clamp {
    std::int64_t lo;
    std::int64_t hi;
};
Clamp output_clamp(const QuantParams& y, const std::string& activation, double act_min, double act_max);

// ---- a CTable's registers are the program (docs/ctable.md "What npusim executes") ----
// When the node's CTable record (Lowering::set_recorded_layer) carries
// register values, the lowering executes them as written, after checking
// each against the unit it programs; it derives them from the scales only
// when the record has none.

// Recorded registers `entries`, one per unit (`units` of them), checked
// against `spec` and the accumulator width (UserError naming the entry).
std::vector<sim::RequantRegisters> checked_registers(const NodeContext& ctx, const std::vector<CTableRequant>& entries,
                                                     const arch::RequantSpec& spec, int accumulator_bits,
                                                     std::size_t units);
// The node's recorded requant registers, checked; nullopt when none are recorded.
std::optional<std::vector<sim::RequantRegisters>> recorded_requant(const NodeContext& ctx, const arch::RequantSpec& spec,
                                                                   int accumulator_bits, std::size_t units);
// The recorded output clamp (inside the output type's range, lo <= hi), or `derived`.
Clamp program_clamp(const NodeContext& ctx, const QuantParams& y, Clamp derived);
// A recorded output_zero_point must be the output tensor's (downstream layers
// read the tensor's): UserError otherwise.
void check_output_zero_point(const NodeContext& ctx, const QuantParams& y);
// The CTable's words on a layer, for messages: "the CTable's layer 'conv1' (Conv)".
std::string recorded_where(const NodeContext& ctx);

// The CTable record of one requant unit (ctable.hpp's converter).
inline CTableRequant record_requant(const sim::RequantRegisters& r, double ideal, double realized) {
    return ctable_requant(ChannelRequant{ideal, sim::DerivedRequant{r, realized}});
}

sim::LayerParams lower_mac(const NodeContext& ctx, CTableLayer& record);
// The MAC weight in the layout lower_mac quantizes (Lowering::mac_weight).
Tensor normalized_weight(const NodeContext& ctx);
sim::LayerParams lower_vector(const NodeContext& ctx, CTableLayer& record);
sim::LayerParams lower_layout(const NodeContext& ctx, CTableLayer& record);
sim::LayerParams lower_host(const NodeContext& ctx, CTableLayer& record);

}  // namespace bitnpu::calib::lowering
