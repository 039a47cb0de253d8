// Float <-> integer at the edges of the quantized graph
// (numerics.md "Float and integer at the graph edges", the arithmetic of
// numerics.md "Quantization of real values"):
// q = clamp(round_half_even(x / s) + z, qmin, qmax).
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

// round_half_even as a double: the integer nearest x, ties to the even one,
// for every x but NaN (integers, among them all |x| >= 2^52 and +-inf, are
// returned unchanged). Branch-free, so loops over arrays vectorize.
inline double round_half_even_value(double x) {
    const double below = std::floor(x);   // exact, as is x - below, for finite x
    const double fraction = x - below;    // NaN for +-inf: both tests below fail
    const double half = below * 0.5;
    // Bitwise & and |: no short circuit, so no branch.
    const bool up = (fraction > 0.5) | ((fraction == 0.5) & (std::floor(half) != half));
    return below + (up ? 1.0 : 0.0);
}

// round_half_even of a double to an integer, saturating to the int64 range
// (+-inf saturate too). NaN gives 0.
inline std::int64_t round_half_even(double x) {
    constexpr double two_pow_63 = 9223372036854775808.0;
    if (std::isnan(x)) return 0;
    if (x >= two_pow_63) return INT64_MAX;
    if (x < -two_pow_63) return INT64_MIN;
    return static_cast<std::int64_t>(round_half_even_value(x));   // |result| <= 2^63, exact
}

// q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax) as a double
// (levels are integers, exact in double), branch-free so loops over arrays
// vectorize. The division is done in fp32, as ONNX QuantizeLinear (and ONNX
// Runtime) do it. NaN gives clamp(zero_point) (round_half_even(NaN) = 0),
// +-inf the bounds. Example: x = 2.5, s = 1, z = 0, [-128, 127] -> 2 (a tie,
// to even); x = 1000 -> 127.
// (The build sets -ffp-contract=off, so no caller's expression is fused
// with the fp32 quotient or product below.)
inline double quantize_level(float x, float scale, double zero_point, double qmin, double qmax) {
    const float ratio = x / scale;
    double level = round_half_even_value(static_cast<double>(ratio));
    level = level == level ? level : 0.0;   // NaN -> 0
    level += zero_point;                    // exact while |level| < 2^53; beyond, it clamps the same
    level = level < qmin ? qmin : level;
    level = level > qmax ? qmax : level;
    return level;
}

// quantize_level as an integer: the quantization of every tensor and
// histogram bin (inline: it runs once per element).
inline std::int64_t quantize(float x, float scale, std::int64_t zero_point, std::int64_t qmin, std::int64_t qmax) {
    return static_cast<std::int64_t>(quantize_level(x, scale, static_cast<double>(zero_point),
                                                    static_cast<double>(qmin), static_cast<double>(qmax)));
}

// x^ = fp32(q - zero_point) * scale, in fp32 (ONNX DequantizeLinear).
inline float dequantize(std::int64_t q, float scale, std::int64_t zero_point) {
    const float centered = static_cast<float>(q - zero_point);
    return centered * scale;
}

// dequantize(quantize(x, ...), ...) in double arithmetic without the integer
// conversions, so the calibrator's error loops over histogram bins
// vectorize. Equal to the composition (tested): the same level, then the
// same fp32 product.
inline float fake_quantize(float x, float scale, double zero_point, double qmin, double qmax) {
    return static_cast<float>(quantize_level(x, scale, zero_point, qmin, qmax) - zero_point) * scale;
}

}  // namespace bitnpu::sim
