// Lookup-table op on a vector engine (Sigmoid, Tanh, HardSwish, GELU, ...):
// y = T[x - qmin], T built by datapath build_lut from a float function.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/lut.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

struct LutLayer {
    arch::ValueType input_type = arch::ValueType::int8;
    arch::ValueType output_type = arch::ValueType::int8;
    std::vector<std::int64_t> table;      // one entry per input code, from qmin
};

// The table for y = f(x) between the two quantizations.
LutLayer make_lut_layer(const std::function<double(double)>& f, const LutQuant& in, const LutQuant& out);

std::int64_t lut_output_element(const LutLayer& layer, std::int64_t x);
QTensor run_lut_layer(const LutLayer& layer, const QTensor& x);

}  // namespace bitnpu::sim
