// Requantization units (numerics.md "Requantization units") and the derivation of their
// register values from a real multiplier m = s_w * s_x / s_y (numerics.md "Deriving registers").
#pragma once

#include <string>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "bitnpu/arch/arch_spec.hpp"
#include "bitnpu/sim/datapath/gemmlowp.hpp"
#include "bitnpu/sim/datapath/quantize.hpp"
#include "bitnpu/sim/datapath/rounding.hpp"
#include "bitnpu/sim/datapath/saturate.hpp"

namespace bitnpu::sim {

// The register values one requant unit (one channel) is programmed with.
struct RequantRegisters {
    arch::RequantKind kind = arch::RequantKind::multiplier;
    arch::RoundingMode rounding = arch::RoundingMode::half_up;  // shifter, multiplier only
    std::int64_t multiplier = 1;   // multiplier: unsigned M (< 2^32); gemmlowp: Q31 M; shifter: unused (1)
    int shift = 0;                 // shifter/multiplier: right shift (negative = left if allowed);
                                   // gemmlowp: TFLite's shift (positive = left), in [-31, 31]
    float float_scale = 1.0f;      // float32 kind: the fp32 multiplier
    int dst_bits = 32;             // saturation width for left shifts (the accumulator width)
};

// The result of deriving registers for an ideal multiplier m.
struct DerivedRequant {
    RequantRegisters registers;
    double realized = 0.0;         // m' the hardware realizes
};

// The shift register values a shifter/multiplier unit accepts: right shifts
// 0 .. 2^shift_bits - 1; a shifter with allow_left_shift also takes
// -(2^shift_bits - 1) .. -1. A thin view of arch::requant_limits (the one
// definition; for gemmlowp it gives TFLite's exponent range -31..30).
struct ShiftRange {
    int min = 0;
    int max = 0;
};
ShiftRange legal_shift_range(const arch::RequantSpec& spec);

// The four units, one function each (requantize() dispatches on r.kind).
// "Inputs" are the register values the unit is built for (the legal ranges
// of arch::requant_limits, what derive_requant produces); "Assumptions" are
// what the function needs to compute its rule exactly, checked by assert
// (compiled out in Release builds).
namespace detail {

// shifter: a barrel shifter, no multiplier (M = 1, m' = 2^-shift).
//   Inputs:      acc        the accumulator, an int64 (in hardware a dst_bits
//                           two's complement value).
//                shift      right shift in [0, 2^shift_bits - 1]; with
//                           allow_left_shift also [-(2^shift_bits - 1), -1], a
//                           left shift by -shift saturated to dst_bits. Any int
//                           is computed exactly.
//                rounding   any arch::RoundingMode (right shifts only).
//                dst_bits   the accumulator width; multiplier is unused (1).
//   Assumptions: 2 <= dst_bits <= 64.
//   Result:      round_shift(acc, shift, rounding, dst_bits); always fits int64.
//   RTL:         rtl/requant.sv, KIND = REQUANT_SHIFTER (ACC_BITS = dst_bits,
//                ALLOW_LEFT = 1 for left shifts).
inline std::int64_t requantize_shifter(std::int64_t acc, const RequantRegisters& r) {
    assert(r.dst_bits >= 2 && r.dst_bits <= 64);
    return saturate_signed(round_shift(acc, r.shift, r.rounding, r.dst_bits), 64);
}

// multiplier: an unsigned integer multiplier M and a right shift
// (m' = M * 2^-shift).
//   Inputs:      acc        the accumulator, an int64.
//                multiplier M in [0, 2^multiplier_bits - 1], multiplier_bits <= 32.
//                shift      right shift in [0, 2^shift_bits - 1] (a negative
//                           one is taken as the shifter's saturated left shift).
//                rounding   any arch::RoundingMode.
//                dst_bits   the accumulator width (for negative shifts).
//   Assumptions: 0 <= M <= 2^32, so acc * M is exact in 128 bits;
//                2 <= dst_bits <= 64.
//   Result:      round_shift(acc * M, shift, rounding, dst_bits), saturated to int64.
//   RTL:         rtl/requant.sv, KIND = REQUANT_MULTIPLIER.
inline std::int64_t requantize_multiplier(std::int64_t acc, const RequantRegisters& r) {
    assert(r.multiplier >= 0 && r.multiplier <= (std::int64_t(1) << 32));
    assert(r.dst_bits >= 2 && r.dst_bits <= 64);
    return saturate_signed(round_shift(int128(acc) * r.multiplier, r.shift, r.rounding, r.dst_bits), 64);
}

// gemmlowp: TFLite's MultiplyByQuantizedMultiplier (m' = M * 2^(shift - 31)).
//   Inputs:      acc        the accumulator, an int64; saturated to int32 first
//                           (TFLite's accumulator is int32).
//                multiplier Q31 M in [0, 2^31 - 1] (QuantizeMultiplier gives
//                           [2^30, 2^31) or 0; a negative m gives a negative M,
//                           as in TFLite).
//                shift      TFLite's exponent, positive = left, in [-31, 30].
//                rounding   ignored: fixed by TFLite's arithmetic.
//   Assumptions: M fits int32; -31 <= shift <= 31.
//   Result:      MultiplyByQuantizedMultiplier(saturate_signed(acc, 32), M, shift),
//                an int32 value.
//   RTL:         code REQUANT_GEMMLOWP; rtl/requant.sv does not implement it.
inline std::int64_t requantize_gemmlowp(std::int64_t acc, const RequantRegisters& r) {
    assert(r.multiplier >= std::numeric_limits<std::int32_t>::min() &&
           r.multiplier <= std::numeric_limits<std::int32_t>::max());
    assert(r.shift >= -31 && r.shift <= 31);
    return gemmlowp::MultiplyByQuantizedMultiplier(std::int32_t(saturate_signed(acc, 32)),
                                                   std::int32_t(r.multiplier), r.shift);
}

// float32: one fp32 multiply by an fp32 scale, then round half to even.
//   Inputs:      acc        the accumulator, an int64 (fp32(acc) is exact for
//                           |acc| <= 2^24, rounded to nearest even beyond).
//                scale      float_scale, any fp32: derive_requant gives fp32(m) > 0
//                           (0 when m is too small); other values follow IEEE
//                           fp32 (a NaN product gives 0, +-inf saturate).
//                rounding   ignored: always half_even.
//   Assumptions: none to check (the product is rounded in the default
//                round-to-nearest fp environment, as ONNX Runtime's is).
//   Result:      round_half_even(fp32(fp32(acc) * scale)), saturated to int64.
//   RTL:         code REQUANT_FLOAT32; rtl/requant.sv does not implement it.
inline std::int64_t requantize_float32(std::int64_t acc, float scale) {
    // The product must be rounded to fp32 before the final rounding. A lone
    // multiply cannot be contracted into an FMA, and the empty asm makes the
    // compiler materialize the fp32 value even under -ffp-contract=fast or
    // excess-precision settings (volatile elsewhere).
    float product = static_cast<float>(acc) * scale;
#if defined(__x86_64__) && defined(__SSE2__)
    __asm__("" : "+x"(product));
#elif defined(__aarch64__)
    __asm__("" : "+w"(product));
#else
    volatile float materialized = product;
    product = materialized;
#endif
    return round_half_even(static_cast<double>(product));
}

}  // namespace detail

// Requantize an accumulator value (before zero-point and clamp):
//  shifter:    round_shift(acc, shift, rounding, dst_bits)
//  multiplier: round_shift(acc * M, shift, rounding, dst_bits), acc * M exact in 128 bits
//  gemmlowp:   MultiplyByQuantizedMultiplier(saturate_signed(acc, 32), M, shift)
//              (TFLite's accumulator is int32: a wider acc saturates to int32 first)
//  float32:    round_half_even(fp32(fp32(acc) * float_scale)), saturating to int64
// Results beyond int64 saturate to int64 (the later clamp gives the same
// output as clamping the exact value). Inputs and assumptions of each kind:
// detail::requantize_<kind> above.
inline std::int64_t requantize(std::int64_t acc, const RequantRegisters& r) {
    switch (r.kind) {
        case arch::RequantKind::shifter: return detail::requantize_shifter(acc, r);
        case arch::RequantKind::multiplier: return detail::requantize_multiplier(acc, r);
        case arch::RequantKind::gemmlowp: return detail::requantize_gemmlowp(acc, r);
        case arch::RequantKind::float32: return detail::requantize_float32(acc, r.float_scale);
    }
    return 0;
}

// requantize() over n values (out may alias acc).
void requantize_n(const std::int64_t* acc, std::size_t n, const RequantRegisters& r, std::int64_t* out);

// Zero-point add and clamp: clamp(y + zy, lo, hi).
inline std::int64_t add_zero_point_and_clamp(std::int64_t y, std::int64_t zy, std::int64_t lo, std::int64_t hi) {
    return clamp(int128(y) + zy, lo, hi);
}

// Register values for ideal multiplier m > 0 on a unit described by spec:
//  shifter:    sh = -k for the power of two 2^k nearest to m in the log domain
//              (exact; a tie would need m = 2^(k+1/2), which no double is),
//              clamped to the legal shifts (m too small: the largest shift)
//  multiplier: largest legal sh with M = round_half_even(m * 2^sh) < 2^multiplier_bits
//  gemmlowp:   TFLite's QuantizeMultiplier
//  float32:    float_scale = fp32(m) (round to nearest even)
// Legal register values and m' come from arch::requant_limits and
// arch::realized_multiplier (arch/derived.hpp), the one definition of them.
// Throws std::domain_error if m cannot be represented at all (m <= 0, NaN,
// inf, or too large for the unit) or the spec/accumulator_bits is out of
// range; m too small for multiplier/gemmlowp/float32 gives M = 0 (float_scale
// 0) and realized = 0.
DerivedRequant derive_requant(double m, const arch::RequantSpec& spec, int accumulator_bits);

// Why register values r cannot be programmed into a unit described by spec
// with an accumulator of accumulator_bits, or "" when they can: the kind and
// (shifter, multiplier) rounding must be the unit's, dst_bits the accumulator
// width, M and shift inside arch::requant_limits, float_scale finite and >= 0.
// What a CTable's registers are checked against before they are executed.
std::string requant_register_problem(const RequantRegisters& r, const arch::RequantSpec& spec, int accumulator_bits);

}  // namespace bitnpu::sim
