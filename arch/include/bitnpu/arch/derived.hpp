// Facts that follow from an engine's description: operand, product and
// accumulator ranges, how long a dot product may be before the accumulator
// can overflow, and what the requantization unit can realize. sim/ and calib/
// use these instead of re-deriving them; docs/arch.md states every formula.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"

namespace bitnpu::arch {

// ---- integer ranges -------------------------------------------------------

// [-2^(bits-1), 2^(bits-1) - 1] for bits in 1..64.
ValueRange signed_range(int bits);
// The smallest two's-complement width holding every value of r (at least 1).
int signed_bits_for(ValueRange r);
// What enters the multiplier: the stored range, or with a zero-point z inside
// that range, x - z in [min - max, max - min].
ValueRange operand_range(ValueType t, bool restricted, bool has_zero_point);
// {min, max} of a * b over a in x, b in y (interval product).
ValueRange product_of(ValueRange x, ValueRange y);

// ---- per engine and precision --------------------------------------------

// Stored activation / weight codes. weight_range of a precision without a
// weight type (vector engines) is {1, 1}: the value sums through unscaled.
ValueRange activation_range(const EngineSpec& e, const Precision& p);
ValueRange weight_range(const EngineSpec& e, const Precision& p);
// After zero-point subtraction, if the engine supports that zero-point.
ValueRange activation_operand_range(const EngineSpec& e, const Precision& p);
ValueRange weight_operand_range(const EngineSpec& e, const Precision& p);
// p_k = (w - z_w)(x - z_x): the range of one product and its signed width.
// For a vector engine the "product" is the activation operand itself (what
// AveragePool / GlobalAveragePool sum).
ValueRange product_range(const EngineSpec& e, const Precision& p);
int product_bits(const EngineSpec& e, const Precision& p);

ValueRange accumulator_range(const EngineSpec& e);
// The range a quantized bias is saturated to (bias.bits).
ValueRange bias_range(const EngineSpec& e);

// The largest K such that no K products [pmin, pmax] plus a bias [bmin, bmax]
// can leave the accumulator [amin, amax], in any order:
//   K = min( floor((amax - bmax) / pmax)   if pmax > 0,
//            floor((bmin - amin) / -pmin)  if pmin < 0 ),  clamped to >= 0.
// Every partial sum lies between bmin + K*min(pmin,0) and bmax + K*max(pmax,0),
// so up to this K saturation and wrap never trigger. Vector engines have no
// bias: for them the bias terms are 0. Returns INT64_MAX when unbounded.
std::int64_t max_safe_k(const EngineSpec& e, const Precision& p);
// The same with no bias (bmin = bmax = 0): the pure dot-product budget.
std::int64_t max_safe_k_without_bias(const EngineSpec& e, const Precision& p);

// ---- requantization unit ---------------------------------------------------

struct RequantLimits {
    bool has_registers = true;          // false for float32 (an fp32 scale, no M/shift)
    std::int64_t multiplier_min = 0;    // legal M register values
    std::int64_t multiplier_max = 0;
    int shift_min = 0;                  // legal shift register values, in the unit's convention:
    int shift_max = 0;                  //   shifter/multiplier: right shift, m' = M * 2^-shift
                                        //   gemmlowp: TFLite exponent,  m' = M * 2^(shift - 31)
    bool shift_is_exponent = false;     // true for gemmlowp's convention
    double realized_min = 0.0;          // smallest positive m' the unit realizes
    double realized_max = 0.0;          // largest m'
};

// shifter:    M = 1 fixed; shift in [0, 2^shift_bits - 1], or
//             [-(2^shift_bits - 1), 2^shift_bits - 1] with allow_left_shift
//             (shift_bits is the magnitude width; left shifts add a direction bit).
// multiplier: M in [0, 2^multiplier_bits - 1], shift in [0, 2^shift_bits - 1].
// gemmlowp:   M in [0, 2^31 - 1] (Q31), shift in [-31, 30] (TFLite's range).
// float32:    any positive fp32 scale: m' in [denorm_min, max] of float.
RequantLimits requant_limits(const RequantSpec& r);
// m' for register values M, shift (float32: returns M as given, unused).
double realized_multiplier(const RequantSpec& r, std::int64_t multiplier, int shift);

// ---- everything at once (archinfo, reports) -------------------------------

struct PrecisionFacts {
    Precision precision;
    ValueRange activation{0, 0};
    ValueRange weight{0, 0};
    ValueRange activation_operand{0, 0};
    ValueRange weight_operand{0, 0};
    ValueRange product{0, 0};
    int product_bits = 0;
    std::int64_t max_safe_k = 0;
    std::int64_t max_safe_k_without_bias = 0;
};

struct EngineFacts {
    std::string name;
    ValueRange accumulator{0, 0};
    ValueRange bias{0, 0};              // {0, 0} for vector engines (no bias input)
    RequantLimits requant;
    std::vector<PrecisionFacts> precisions;  // in the engine's order
};

PrecisionFacts derive_precision_facts(const EngineSpec& e, const Precision& p);
EngineFacts derive_engine_facts(const EngineSpec& e);

}  // namespace bitnpu::arch
