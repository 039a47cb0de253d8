// round_shift: the one definition of every rounding rule in bitnpu
// (numerics.md "Rounding modes"). Each mode is a named function with its
// exact definition; round_shift() dispatches on the mode.
//
// Everything here is exact integer arithmetic on 128-bit values: no floating
// point, no undefined behaviour (no left shift of a negative value, no signed
// overflow). The functions are inline because requantization sits in the
// functional simulator's per-output loop.
#pragma once

#include <cassert>
#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

using arch::RoundingMode;
using int128 = __int128;
using uint128 = unsigned __int128;

namespace detail {

// The rounding decision is made from the floor quotient q = floor(x / 2^n)
// and the remainder r = x - q * 2^n in [0, 2^n). Compared with half = 2^(n-1),
// r < half means the exact value is below q + 1/2, r == half is a tie.
struct FloorDivision {
    int128 quotient;
    int cmp_half;       // sign of (r - 2^(n-1)): -1 below, 0 tie, +1 above
    bool exact;         // r == 0
};

// n in 1..127 (n == 0 and n >= 128 are handled by the callers).
inline FloorDivision floor_divide_pow2(int128 x, int n) {
    // Right shift of a negative int128 is arithmetic on every compiler we
    // support (GCC/Clang define it); it is floor division by 2^n.
    const int128 q = x >> n;
    const uint128 mask = (uint128(1) << n) - 1;
    const uint128 r = uint128(x) & mask;
    const uint128 half = uint128(1) << (n - 1);
    return {q, r < half ? -1 : (r == half ? 0 : 1), r == 0};
}

// Shifts of 128 or more: |x| <= 2^127 <= 2^(n-1), so every result is 0 or -1
// and the only tie is x = -2^127 with n = 128.
inline int128 huge_shift(int128 x, int n, RoundingMode mode) {
    if (x >= 0) return 0;
    const bool tie = (n == 128) && (x == int128(uint128(1) << 127));
    switch (mode) {
        case RoundingMode::floor: return -1;
        case RoundingMode::half_away: return tie ? -1 : 0;
        default: return 0;  // trunc, half_up, half_even (-1/2 ties to 0, even)
    }
}

inline int128 round_from_floor(const FloorDivision& d, int128 x, RoundingMode mode) {
    switch (mode) {
        case RoundingMode::floor: return d.quotient;
        case RoundingMode::trunc: return d.quotient + ((x < 0 && !d.exact) ? 1 : 0);
        case RoundingMode::half_up: return d.quotient + (d.cmp_half >= 0 ? 1 : 0);
        case RoundingMode::half_away:
            // A tie rounds up for x >= 0 and down (stays at q) for x < 0.
            return d.quotient + ((d.cmp_half > 0 || (d.cmp_half == 0 && x >= 0)) ? 1 : 0);
        case RoundingMode::half_even:
            return d.quotient + ((d.cmp_half > 0 || (d.cmp_half == 0 && (d.quotient & 1) != 0)) ? 1 : 0);
    }
    return d.quotient;
}

inline int128 right_shift_rounded(int128 x, int n, RoundingMode mode) {
    assert(n >= 0);
    if (n == 0) return x;
    if (n >= 128) return huge_shift(x, n, mode);
    return round_from_floor(floor_divide_pow2(x, n), x, mode);
}

}  // namespace detail

// The rounding right shifts, one per arch::RoundingMode. Each takes n >= 0
// and an exact (up to 128-bit) x and returns x / 2^n rounded exactly by the
// mode in its name: "shift" because dividing by 2^n is an arithmetic right
// shift by n, the suffix is the rounding mode (the YAML `rounding:` value).
// For n == 0 they return x; shifts of 128 or more give 0 or -1.
// The examples use n = 1, where every odd x is a tie (x / 2 = k + 1/2), and
// n = 2 for -7 / 4 = -1.75 (no tie), -6 / 4 = -1.5 and 6 / 4 = 1.5 (ties).
// "RTL" is the ROUNDING code of rtl/round_shift.sv that computes the same
// (a localparam of bitnpu_rtl_pkg, from the codes table in bitnpu/arch/types.hpp).

// shift_floor: rounds toward -infinity, i.e. takes the "floor" of the exact
// quotient. It is the plain arithmetic right shift x >> n, without rounding
// correction (Python's x // 2**n). Biased: the error is in (-1, 0].
//   rule:    floor(x / 2^n)
//   n = 1:   -5 -> -3,  5 -> 2,  -6 -> -3,  6 -> 3
//   n = 2:   -7 -> -2,  -6 -> -2,  6 -> 1
//   RTL:     ROUND_FLOOR
inline int128 shift_floor(int128 x, int n) {
    return detail::right_shift_rounded(x, n, RoundingMode::floor);
}
// shift_trunc: rounds toward zero, i.e. "truncates" the fraction of |x| / 2^n,
// like C++ integer division x / 2^n. Differs from shift_floor only for
// negative x with a non-zero remainder.
//   rule:    sign(x) * floor(|x| / 2^n)   (floor for x >= 0, ceil for x < 0)
//   n = 1:   -5 -> -2,  5 -> 2,  -6 -> -3,  6 -> 3
//   n = 2:   -7 -> -1,  -6 -> -1,  6 -> 1
//   RTL:     ROUND_TRUNC
inline int128 shift_trunc(int128 x, int n) {
    return detail::right_shift_rounded(x, n, RoundingMode::trunc);
}
// shift_half_up: rounds to nearest; a tie ("half") goes "up", toward
// +infinity, for both signs (-2.5 -> -2: not away from zero). The usual
// hardware rounding: add half an LSB, then shift. gemmlowp's
// SaturatingRoundingDoublingHighMul breaks ties the same way (gemmlowp.hpp).
//   rule:    floor((x + 2^(n-1)) / 2^n) = floor(x / 2^n + 1/2)
//   n = 1:   -5 -> -2,  5 -> 3,  -6 -> -3,  6 -> 3
//   n = 2:   -7 -> -2,  -6 -> -1,  6 -> 2
//   RTL:     ROUND_HALF_UP
inline int128 shift_half_up(int128 x, int n) {
    return detail::right_shift_rounded(x, n, RoundingMode::half_up);
}
// shift_half_away: rounds to nearest; a tie goes "away" from zero, so the
// result is symmetric: f(-x) = -f(x). C's round(); gemmlowp's and TFLite's
// RoundingDivideByPOT (gemmlowp.hpp).
//   rule:    sign(x) * floor((|x| + 2^(n-1)) / 2^n)
//   n = 1:   -5 -> -3,  5 -> 3,  -6 -> -3,  6 -> 3
//   n = 2:   -7 -> -2,  -6 -> -2,  6 -> 2
//   RTL:     ROUND_HALF_AWAY
inline int128 shift_half_away(int128 x, int n) {
    return detail::right_shift_rounded(x, n, RoundingMode::half_away);
}
// shift_half_even: rounds to nearest; a tie goes to the "even" neighbour
// (banker's rounding, IEEE 754 roundTiesToEven, as in ONNX QuantizeLinear
// and the float32 requant unit). Unbiased over uniformly spread ties.
//   rule:    q = floor(x / 2^n), r = x - q * 2^n in [0, 2^n):
//            q + 1 if r > 2^(n-1) or (r == 2^(n-1) and q is odd), else q
//   n = 1:   -5 -> -2,  5 -> 2,  -6 -> -3,  6 -> 3
//   n = 2:   -7 -> -2,  -6 -> -2,  6 -> 2
//   RTL:     ROUND_HALF_EVEN
inline int128 shift_half_even(int128 x, int n) {
    return detail::right_shift_rounded(x, n, RoundingMode::half_even);
}

// left_shift_saturated: shifts x "left" by s (x * 2^s, exact: no bits are
// lost, so nothing to round) and "saturates" the result to a signed integer
// of dst_bits (2..64) instead of wrapping. s >= 0. The bounds are tested
// before multiplying so nothing overflows:
// x * 2^s <= hi  <=>  x <= floor(hi / 2^s);  x * 2^s >= lo  <=>  x >= -floor(2^(d-1) / 2^s).
//   rule:    clamp(x * 2^s, -2^(dst_bits-1), 2^(dst_bits-1) - 1)
//   s = 1, dst_bits = 8:   -5 -> -10,  5 -> 10,  -100 -> -128,  100 -> 127
//   RTL:     no ROUNDING code: rtl/requant.sv with KIND = REQUANT_SHIFTER and
//            ALLOW_LEFT = 1 (a negative shift register), saturated to ACC_BITS
inline int128 left_shift_saturated(int128 x, int s, int dst_bits) {
    assert(dst_bits >= 2 && dst_bits <= 64);
    assert(s >= 0);
    const int128 magnitude = int128(uint128(1) << (dst_bits - 1));  // 2^(d-1)
    const int128 hi = magnitude - 1;
    const int128 lo = -magnitude;
    const int shift = s > 127 ? 127 : s;  // beyond d-1 bits only 0 survives anyway
    if (x > (hi >> shift)) return hi;
    if (x < -(magnitude >> shift)) return lo;
    return int128(uint128(x) << shift);  // in range: the unsigned shift is exact
}

// round_shift(x, n, mode) for n >= 0; for n < 0 a left shift by -n whose
// result is saturated to a signed integer of dst_bits (numerics.md "Left shifts").
// dst_bits only matters for n < 0.
// The name: a "shift" by n that "round"s, with the rounding mode as an
// argument (the requant units' primitive; shift_<mode> fix the mode).
//   rule:    n >= 0: shift_<mode>(x, n);  n < 0: left_shift_saturated(x, -n, dst_bits)
//   n = 1:   round_shift(-5, 1, half_even) = -2,  round_shift(-5, 1, half_away) = -3
//   n = -2:  round_shift(100, -2, any, 16) = 400,  round_shift(10000, -2, any, 16) = 32767
//   RTL:     rtl/round_shift.sv, parameter ROUNDING = the mode's code
//            (ROUND_FLOOR .. ROUND_HALF_EVEN); n < 0: see left_shift_saturated
inline int128 round_shift(int128 x, int n, RoundingMode mode, int dst_bits = 64) {
    if (n < 0) {
        // -n overflows for INT_MIN; any shift past 127 saturates the same way.
        const int s = n < -127 ? 127 : -n;
        return left_shift_saturated(x, s, dst_bits);
    }
    return detail::right_shift_rounded(x, n, mode);
}

}  // namespace bitnpu::sim
