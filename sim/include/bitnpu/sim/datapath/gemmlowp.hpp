// gemmlowp / TFLite fixed-point arithmetic, bit for bit (NUMERICS.md
// requant kind "gemmlowp"). Names follow gemmlowp's fixedpoint.h.
#pragma once

#include <cstdint>

namespace bitnpu::sim::gemmlowp {

// (a * b * 2) >> 31 rounded to nearest (ties away from zero... as gemmlowp:
// nudge 1<<30 for non-negative products, 1-(1<<30) for negative), with
// INT32_MIN * INT32_MIN saturating to INT32_MAX.
std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b);
// x / 2^exponent, rounding to nearest, ties away from zero. exponent in 0..31.
std::int32_t RoundingDivideByPOT(std::int32_t x, int exponent);
// TFLite: RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(shift,0), M), max(-shift,0)).
std::int32_t MultiplyByQuantizedMultiplier(std::int32_t x, std::int32_t quantized_multiplier, int shift);
// TFLite's QuantizeMultiplier: m = q * 2^shift with q in Q31 [2^30, 2^31) (or 0).
void QuantizeMultiplier(double real_multiplier, std::int32_t* quantized_multiplier, int* shift);

}  // namespace bitnpu::sim::gemmlowp
