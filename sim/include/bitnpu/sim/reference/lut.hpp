// The reference lookup-table layer of a vector engine, from
// numerics.md "Lookup table": out = T[x - qmin] (qmin of the input type, unrestricted),
// by datapath lut_lookup. Shares no code with run_lut_layer (lut_layer.hpp),
// which is tested against it.
#pragma once

#include "bitnpu/sim/functional/lut_layer.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim::reference {

// The output carries per_tensor(output_type, 1, 0). An input outside the
// table is a UserError naming it.
QTensor lut(const LutLayer& layer, const QTensor& input);

}  // namespace bitnpu::sim::reference
