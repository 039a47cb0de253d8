// Elementwise Mul on a vector engine: acc = (a - z_a)(b - z_b) at accumulator
// width, requantized with m = s_a s_b / s_y, then zero-point and clamp.
#pragma once

#include <cstdint>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/datapath/requant.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

struct MulLayer {
    std::int64_t a_zero_point = 0;
    std::int64_t b_zero_point = 0;
    AccumulatorRule accumulator;
    RequantRegisters requant;
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t output_zero_point = 0;
    std::int64_t clamp_lo = -128;
    std::int64_t clamp_hi = 127;
};

std::int64_t mul_output_element(const MulLayer& layer, std::int64_t a, std::int64_t b);
QTensor run_mul_layer(const MulLayer& layer, const QTensor& a, const QTensor& b);

}  // namespace bitnpu::sim
