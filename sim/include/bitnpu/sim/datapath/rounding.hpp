// round_shift: the one definition of every rounding rule in bitnpu
// (NUMERICS.md "Rounding modes"). Each mode is a named function with its
// exact definition; round_shift() dispatches on the mode.
#pragma once

#include <cstdint>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

using arch::RoundingMode;
using int128 = __int128;

// All functions take n >= 0 and an exact (up to 128-bit) x and return the
// exactly rounded value of x / 2^n. For n == 0 they return x.
int128 shift_floor(int128 x, int n);       // floor(x / 2^n)
int128 shift_trunc(int128 x, int n);       // toward zero
int128 shift_half_up(int128 x, int n);     // floor((x + 2^(n-1)) / 2^n): ties toward +inf
int128 shift_half_away(int128 x, int n);   // ties away from zero
int128 shift_half_even(int128 x, int n);   // ties to even

// round_shift(x, n, mode) for n >= 0; for n < 0 a left shift by -n whose
// result is saturated to a signed integer of dst_bits (NUMERICS.md).
int128 round_shift(int128 x, int n, RoundingMode mode, int dst_bits = 64);

}  // namespace bitnpu::sim
