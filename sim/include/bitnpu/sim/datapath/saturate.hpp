// Saturation and wrap-around to N-bit two's complement, and clamping to a
// value type's range. Inline: these run once per accumulation in the
// saturating accumulator loop.
#pragma once

#include <cassert>
#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// Largest and smallest value of a signed two's complement integer of bits (2..64).
inline std::int64_t signed_max(int bits) {
    assert(bits >= 2 && bits <= 64);
    return std::int64_t((std::uint64_t(1) << (bits - 1)) - 1);
}
inline std::int64_t signed_min(int bits) { return -signed_max(bits) - 1; }

// Clamp x into [-2^(bits-1), 2^(bits-1)-1]; bits in 2..64.
inline std::int64_t saturate_signed(__int128 x, int bits) {
    const std::int64_t hi = signed_max(bits);
    const std::int64_t lo = -hi - 1;
    if (x > hi) return hi;
    if (x < lo) return lo;
    return std::int64_t(x);
}

// x modulo 2^bits, reinterpreted as signed bits-wide two's complement.
// Done on unsigned words: move the kept bits to the top of a 64-bit word and
// shift back arithmetically, which sign-extends bit (bits-1).
inline std::int64_t wrap_signed(__int128 x, int bits) {
    assert(bits >= 2 && bits <= 64);
    const int drop = 64 - bits;
    const std::uint64_t low = std::uint64_t(static_cast<unsigned __int128>(x));
    return std::int64_t(low << drop) >> drop;
}

// Clamp x into [lo, hi] (lo <= hi).
inline std::int64_t clamp(__int128 x, std::int64_t lo, std::int64_t hi) {
    assert(lo <= hi);
    if (x < lo) return lo;
    if (x > hi) return hi;
    return std::int64_t(x);
}

// Clamp to a value type's range (restricted: symmetric signed range, see
// arch::value_range). int1 has no zero: values >= 0 map to +1 and values < 0
// to -1 (sign binarization, sign(0) = +1), see numerics.md "Saturation and wrap".
std::int64_t saturate_to(__int128 x, arch::ValueType t, bool restricted = false);

}  // namespace bitnpu::sim
