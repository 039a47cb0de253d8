// round_shift: the one definition of every rounding rule in bitnpu
// (NUMERICS.md "Rounding modes"). Each mode is a named function with its
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

// All functions take n >= 0 and an exact (up to 128-bit) x and return the
// exactly rounded value of x / 2^n. For n == 0 they return x.
inline int128 shift_floor(int128 x, int n) {  // floor(x / 2^n)
    return detail::right_shift_rounded(x, n, RoundingMode::floor);
}
inline int128 shift_trunc(int128 x, int n) {  // toward zero
    return detail::right_shift_rounded(x, n, RoundingMode::trunc);
}
inline int128 shift_half_up(int128 x, int n) {  // floor((x + 2^(n-1)) / 2^n): ties toward +inf
    return detail::right_shift_rounded(x, n, RoundingMode::half_up);
}
inline int128 shift_half_away(int128 x, int n) {  // ties away from zero
    return detail::right_shift_rounded(x, n, RoundingMode::half_away);
}
inline int128 shift_half_even(int128 x, int n) {  // ties to even
    return detail::right_shift_rounded(x, n, RoundingMode::half_even);
}

// x * 2^s saturated to a signed integer of dst_bits (2..64), s >= 0. The
// bounds are tested before multiplying so nothing overflows:
// x * 2^s <= hi  <=>  x <= floor(hi / 2^s);  x * 2^s >= lo  <=>  x >= -floor(2^(d-1) / 2^s).
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
// result is saturated to a signed integer of dst_bits (NUMERICS.md).
// dst_bits only matters for n < 0.
inline int128 round_shift(int128 x, int n, RoundingMode mode, int dst_bits = 64) {
    if (n < 0) {
        // -n overflows for INT_MIN; any shift past 127 saturates the same way.
        const int s = n < -127 ? 127 : -n;
        return left_shift_saturated(x, s, dst_bits);
    }
    return detail::right_shift_rounded(x, n, mode);
}

}  // namespace bitnpu::sim
