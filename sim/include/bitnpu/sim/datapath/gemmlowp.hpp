// gemmlowp / TFLite fixed-point arithmetic, bit for bit (the requant kind of
// numerics.md "gemmlowp"). Names follow gemmlowp's fixedpoint.h and
// TFLite's kernels/internal/common.h and quantization_util.cc.
// Inline: the gemmlowp requant unit runs once per output element.
#pragma once

#include <cassert>
#include <cstdint>
#include <limits>

namespace bitnpu::sim::gemmlowp {

// (a * b * 2) / 2^32 rounded to nearest with gemmlowp's nudge (1<<30 for
// non-negative products, 1-(1<<30) for negative ones, then division truncating
// toward zero). Net effect: ties round toward +infinity (2.5 -> 3,
// -2.5 -> -2), like ARM's SQRDMULH. INT32_MIN * INT32_MIN (the only overflow)
// saturates to INT32_MAX.
inline std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b) {
    constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
    if (a == kMin && b == kMin) return std::numeric_limits<std::int32_t>::max();
    const std::int64_t ab = std::int64_t(a) * std::int64_t(b);
    const std::int64_t nudge = ab >= 0 ? (std::int64_t(1) << 30) : (1 - (std::int64_t(1) << 30));
    return std::int32_t((ab + nudge) / (std::int64_t(1) << 31));  // C++ division truncates
}

// x / 2^exponent, rounding to nearest, ties away from zero. exponent in 0..31.
// gemmlowp's formulation: floor shift plus one when the low bits exceed a
// threshold that is one higher for negative x.
inline std::int32_t RoundingDivideByPOT(std::int32_t x, int exponent) {
    assert(exponent >= 0 && exponent <= 31);
    const std::int32_t mask = std::int32_t((std::int64_t(1) << exponent) - 1);
    const std::int32_t remainder = x & mask;
    const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLite: RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(shift,0), M), max(-shift,0)).
// shift in [-31, 31]. TFLite computes x * (1 << left_shift) in int32; where
// that overflows (undefined in C++, a 32-bit wrap in every compiled TFLite)
// we wrap modulo 2^32, as the TFLite binaries do.
inline std::int32_t MultiplyByQuantizedMultiplier(std::int32_t x, std::int32_t quantized_multiplier, int shift) {
    assert(shift >= -31 && shift <= 31);
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    const std::int32_t shifted = std::int32_t(std::uint32_t(x) << left_shift);
    return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, quantized_multiplier), right_shift);
}

// TFLite's QuantizeMultiplier: m = q * 2^(shift - 31) with q in [2^30, 2^31)
// (std::frexp, std::round i.e. half away from zero, the q == 2^31 fixup, and
// shift < -31 flushed to q = 0, shift = 0). m == 0 gives (0, 0). Negative m
// gives negative q, as in TFLite.
void QuantizeMultiplier(double real_multiplier, std::int32_t* quantized_multiplier, int* shift);

}  // namespace bitnpu::sim::gemmlowp
