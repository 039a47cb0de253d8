// Float <-> integer at the edges of the quantized graph (NUMERICS.md
// "Quantization of real values"): q = clamp(round_half_even(x / s) + z, qmin, qmax).
#pragma once

#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// round_half_even of a double to an integer (saturating to int64 range).
std::int64_t round_half_even(double x);
std::int64_t quantize(float x, float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax);
float dequantize(std::int64_t q, float scale, std::int64_t zero_point);

}  // namespace bitnpu::sim
