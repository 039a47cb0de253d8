// Float <-> integer at the edges of the quantized graph (NUMERICS.md
// "Quantization of real values"): q = clamp(round_half_even(x / s) + z, qmin, qmax).
//
// round_half_even(double) is also the final rounding of the float32 requant
// unit and of lookup-table entries: the one definition of "round a real to
// the nearest integer, ties to even" in bitnpu. It does not depend on the
// floating-point environment (fesetround) or on compiler flags.
#pragma once

#include <cmath>
#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// round_half_even of a double to an integer, saturating to the int64 range
// (+-inf saturate too). NaN gives 0.
inline std::int64_t round_half_even(double x) {
    constexpr double two_pow_63 = 9223372036854775808.0;
    constexpr double two_pow_52 = 4503599627370496.0;
    if (std::isnan(x)) return 0;
    if (x >= two_pow_63) return INT64_MAX;
    if (x < -two_pow_63) return INT64_MIN;
    if (std::fabs(x) >= two_pow_52) return std::int64_t(x);  // already an integer
    // |x| < 2^52: floor(x) and x - floor(x) are exact in double.
    const double below = std::floor(x);
    const double fraction = x - below;
    const std::int64_t q = std::int64_t(below);
    if (fraction > 0.5) return q + 1;
    if (fraction < 0.5) return q;
    return (q & 1) != 0 ? q + 1 : q;  // tie: to the even neighbour
}

// q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax). The division
// is done in fp32, as ONNX QuantizeLinear (and ONNX Runtime) do it.
std::int64_t quantize(float x, float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax);
// x^ = fp32(q - zero_point) * scale, in fp32 (ONNX DequantizeLinear).
float dequantize(std::int64_t q, float scale, std::int64_t zero_point);

}  // namespace bitnpu::sim
