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
// is done in fp32, as ONNX QuantizeLinear (and ONNX Runtime) do it. Inline:
// it runs once per element of every quantized tensor and histogram bin.
// (The build sets -ffp-contract=off, so no caller's expression is fused
// with the fp32 quotient or product below.)
inline std::int64_t quantize(float x, float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax) {
    const float ratio = x / scale;
    const std::int64_t rounded = round_half_even(static_cast<double>(ratio));
    // rounded saturates to the int64 range; adding a zero point (|z| < 2^32)
    // must not overflow, so clamp in two steps.
    if (rounded <= qmin - zero_point) return qmin;
    if (rounded >= qmax - zero_point) return qmax;
    return rounded + zero_point;
}

// x^ = fp32(q - zero_point) * scale, in fp32 (ONNX DequantizeLinear).
inline float dequantize(std::int64_t q, float scale, std::int64_t zero_point) {
    const float centered = static_cast<float>(q - zero_point);
    return centered * scale;
}

}  // namespace bitnpu::sim
