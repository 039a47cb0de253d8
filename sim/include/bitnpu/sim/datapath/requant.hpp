// Requantization units (NUMERICS.md step 5-6) and the derivation of their
// register values from a real multiplier m = s_w * s_x / s_y.
#pragma once

#include <cstdint>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"

namespace bitnpu::sim {

// The register values one requant unit (one channel) is programmed with.
struct RequantRegisters {
    arch::RequantKind kind = arch::RequantKind::multiplier;
    arch::RoundingMode rounding = arch::RoundingMode::half_up;
    std::int64_t multiplier = 1;   // multiplier: unsigned M; gemmlowp: Q31 M; shifter: unused (1)
    int shift = 0;                 // shifter/multiplier: right shift (negative = left if allowed);
                                   // gemmlowp: TFLite's shift (positive = left)
    float float_scale = 1.0f;      // float32 kind: the fp32 multiplier
    int dst_bits = 32;             // saturation width for left shifts (the accumulator width)
};

// The result of deriving registers for an ideal multiplier m.
struct DerivedRequant {
    RequantRegisters registers;
    double realized = 0.0;         // m' the hardware realizes
};

// Requantize an accumulator value (before zero-point and clamp).
std::int64_t requantize(std::int64_t acc, const RequantRegisters& r);

// Zero-point add and clamp: clamp(y + zy, lo, hi).
std::int64_t add_zero_point_and_clamp(std::int64_t y, std::int64_t zy, std::int64_t lo, std::int64_t hi);

// Register values for ideal multiplier m > 0 on a unit described by spec:
//  shifter:    sh = nearest power-of-two exponent, within the legal shift range
//  multiplier: largest sh in [0, 2^shift_bits - 1] with M = round(m * 2^sh) < 2^multiplier_bits
//  gemmlowp:   TFLite's QuantizeMultiplier
//  float32:    float_scale = fp32(m)
// Throws std::domain_error if m cannot be represented at all (m <= 0, NaN, or
// too large for the unit); m too small gives M = 0 and realized = 0.
DerivedRequant derive_requant(double m, const arch::RequantSpec& spec, int accumulator_bits);

}  // namespace bitnpu::sim
