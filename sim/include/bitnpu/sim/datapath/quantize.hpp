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

// dequantize(quantize(x, ...), ...) for non-NaN x, in double arithmetic
// without the integer conversions, so the calibrator's error loops over
// histogram bins vectorize. Equal to the composition (tested): every step is
// the same operation on the same values (levels are integers, exact in
// double; an unclamped level beyond 2^53 clamps to the same bound).
inline float fake_quantize(float x, float scale, double zero_point, double qmin, double qmax) {
    const float ratio = x / scale;
    double level = round_half_even_value(static_cast<double>(ratio)) + zero_point;
    level = level < qmin ? qmin : level;
    level = level > qmax ? qmax : level;
    return static_cast<float>(level - zero_point) * scale;
}

}  // namespace bitnpu::sim
