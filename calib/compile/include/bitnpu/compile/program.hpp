// A calibrated graph as the integer program the bit-accurate simulator
// runs: the CTable's tensors and layer records, lowered for an arch.
#pragma once

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/compile/lowering.hpp"
#include "bitnpu/compile/placement.hpp"
#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/graph/graph.hpp"
#include "bitnpu/sim/functional/graph.hpp"

namespace bitnpu::calib {

// Rebuilds the activation quantization a CTable records for this graph.
ActivationQuant activation_quant_from(const CTable& table, const QuantizationPlan& plan);

// The engine and precision each MAC layer of a CTable records (the
// mixed-precision search's choices): build_program places the layers there.
LayerChoices layer_choices_from(const CTable& table, const arch::ArchSpec& arch);

// The bit-accurate program for a graph and a CTable (npusim, evaluation).
// Checks the CTable's model and arch hashes (UserError on mismatch).
struct Program {
    QuantizationPlan plan;
    sim::QuantGraph qgraph;
};
Program build_program(Graph& graph, const arch::ArchSpec& arch, const CTable& table, const Shape& input_shape);

}  // namespace bitnpu::calib
