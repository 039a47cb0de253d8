// Lookup tables for vector-engine nonlinearities (NUMERICS.md "Lookup table"):
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

// One entry per input code, indexed by (q - qmin) of the input type.
std::vector<std::int64_t> build_lut(const std::function<double(double)>& f, const LutQuant& in,
                                    const LutQuant& out);

}  // namespace bitnpu::sim
