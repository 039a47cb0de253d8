// Lookup tables for vector-engine nonlinearities (numerics.md "Lookup table"):
// T[q] = clamp(round_half_even(f(s_x (q - z_x)) / s_y) + z_y, lo, hi).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bitnpu/arch/types.hpp"

namespace bitnpu::sim {

struct LutQuant {
    float scale = 1.0f;
    std::int64_t zero_point = 0;
    arch::ValueType type = arch::ValueType::int8;
};

// One entry per integer q in value_range(in.type) (unrestricted), indexed by
// q - min: 2^bits entries for the multi-bit types, 3 for int2, and 3 for int1
// (whose middle entry, q = 0, is never looked up). Arithmetic is in double:
// x = double(s_x) * (q - z_x), T = round_half_even(f(x) / double(s_y)) + z_y,
// then saturate_to(out.type) (full range; int1 outputs binarize, sign(0) = +1).
// Throws std::domain_error if a scale is not positive and finite, or f
// returns NaN for some input.
std::vector<std::int64_t> build_lut(const std::function<double(double)>& f, const LutQuant& in,
                                    const LutQuant& out);

// T[q] for an input code value q of the table's input type.
inline std::int64_t lut_lookup(const std::vector<std::int64_t>& table, std::int64_t q, std::int64_t in_qmin) {
    return table[std::size_t(q - in_qmin)];
}

}  // namespace bitnpu::sim
