// Elementwise Add / Sub on a vector engine (numerics.md "Add and Sub"):
// acc = (a - z_a) * M_a +/- (b - z_b) * M_b at accumulator width,
// y = clamp(round_shift(acc, sh, mode) + z_y, lo, hi). One shared shift.
#pragma once

#include <optional>

#include "bitnpu/sim/datapath/fp32_vector.hpp"

#include <cstdint>

#include "bitnpu/arch/types.hpp"
#include "bitnpu/sim/datapath/accumulate.hpp"
#include "bitnpu/sim/functional/qtensor.hpp"

namespace bitnpu::sim {

struct AddLayer {
    bool subtract = false;                // Sub: acc = (a - z_a) M_a - (b - z_b) M_b
    std::int64_t a_zero_point = 0;
    std::int64_t b_zero_point = 0;
    std::int64_t a_multiplier = 1;        // M_a * 2^-shift ~ s_a / s_y
    std::int64_t b_multiplier = 1;        // M_b * 2^-shift ~ s_b / s_y
    int shift = 0;                        // shared; negative = left shift (saturated to accumulator width)
    arch::RoundingMode rounding = arch::RoundingMode::half_up;
    AccumulatorRule accumulator;
    arch::ValueType output_type = arch::ValueType::int8;
    std::int64_t output_zero_point = 0;
    std::int64_t clamp_lo = -128;
    std::int64_t clamp_hi = 127;
    // An fp32 vector unit (requant kind float32, Add only): every element is
    // fp32_vector::add(a, b, *fp32), then clamped; the integer multipliers,
    // shift, rounding and accumulator above are unused. fp32_swapped: the
    // unit takes its operands the other way round, add(b, a, *fp32) with
    // *fp32 built for (b, a), as ONNX Runtime does when the first input is
    // the broadcast one (numerics.md "fp32 vector units").
    std::optional<fp32_vector::AddUnit> fp32;
    bool fp32_swapped = false;
};

// One output element from its two input codes.
std::int64_t add_output_element(const AddLayer& layer, std::int64_t a, std::int64_t b);

// Elementwise with broadcasting; the output has the broadcast shape.
QTensor run_add_layer(const AddLayer& layer, const QTensor& a, const QTensor& b);

}  // namespace bitnpu::sim
