// Saturation and wrap-around to N-bit two's complement, and clamping to a
// value type's range.
#pragma once

#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

// Clamp x into [-2^(bits-1), 2^(bits-1)-1]; bits in 2..64.
std::int64_t saturate_signed(__int128 x, int bits);
// x modulo 2^bits, reinterpreted as signed bits-wide two's complement.
std::int64_t wrap_signed(__int128 x, int bits);
// Clamp x into [lo, hi].
std::int64_t clamp(__int128 x, std::int64_t lo, std::int64_t hi);
// Clamp to a value type's range (restricted: symmetric signed range).
std::int64_t saturate_to(__int128 x, arch::ValueType t, bool restricted = false);

}  // namespace bitnpu::sim
