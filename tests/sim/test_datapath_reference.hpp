// Independent reference definitions for the datapath tests. They are written
// differently from sim/datapath on purpose (truncating division and a signed
// remainder instead of floor shifts and masks) so that a bug in one is not
// mirrored in the other.
#pragma once

#include <cstdint>
#include <random>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::test {

using i128 = __int128;

inline i128 pow2(int n) { return i128(1) << n; }  // n <= 126

// x / 2^n rounded per mode, for 0 <= n <= 126, from C++'s truncating quotient
// t and remainder r (r has the sign of x, |r| < 2^n): the exact value is
// t + r / 2^n, and 2|r| compared with 2^n says where it lies between t and
// its neighbour away from zero.
inline i128 reference_round_shift(i128 x, int n, arch::RoundingMode mode) {
    if (n == 0) return x;
    const i128 d = pow2(n);
    const i128 t = x / d;
    const i128 r = x % d;
    if (r == 0) return t;
    const i128 away = t + (r > 0 ? 1 : -1);  // neighbour away from zero
    const i128 twice = 2 * (r > 0 ? r : -r);
    switch (mode) {
        case arch::RoundingMode::trunc: return t;
        case arch::RoundingMode::floor: return r < 0 ? away : t;
        case arch::RoundingMode::half_up:
            if (twice != d) return twice > d ? away : t;
            return r > 0 ? away : t;  // tie toward +inf
        case arch::RoundingMode::half_away:
            return twice >= d ? away : t;
        case arch::RoundingMode::half_even:
            if (twice != d) return twice > d ? away : t;
            return (t % 2 == 0) ? t : away;
    }
    return 0;
}

// Clamp to [-2^(bits-1), 2^(bits-1) - 1].
inline i128 reference_saturate(i128 x, int bits) {
    const i128 hi = pow2(bits - 1) - 1;
    const i128 lo = -pow2(bits - 1);
    return x > hi ? hi : (x < lo ? lo : x);
}

// x mod 2^bits mapped to [-2^(bits-1), 2^(bits-1)).
inline i128 reference_wrap(i128 x, int bits) {
    const i128 m = pow2(bits);
    i128 r = x % m;
    if (r < 0) r += m;
    return r >= pow2(bits - 1) ? r - m : r;
}

// A random signed value with a random bit length 0..bits (so small values are common).
inline i128 random_signed(std::mt19937_64& rng, int bits) {
    const int len = int(rng() % unsigned(bits + 1));
    const unsigned __int128 raw = (static_cast<unsigned __int128>(rng()) << 64) | rng();
    const unsigned __int128 mag = len >= 128 ? raw : (raw & ((static_cast<unsigned __int128>(1) << len) - 1));
    const i128 v = i128(mag >> 1);
    return (rng() & 1) != 0 ? -v : v;
}

inline constexpr arch::RoundingMode kAllModes[] = {arch::RoundingMode::floor, arch::RoundingMode::trunc,
                                                   arch::RoundingMode::half_up, arch::RoundingMode::half_away,
                                                   arch::RoundingMode::half_even};

}  // namespace bitnpu::test
