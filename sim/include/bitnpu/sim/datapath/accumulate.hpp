// The accumulator (NUMERICS.md step 4): wrap modulo 2^bits, or saturate after
// every addition in the canonical order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bitnpu/arch/arch_spec.hpp"

namespace bitnpu::sim {

struct AccumulatorRule {
    int bits = 32;
    arch::Overflow overflow = arch::Overflow::saturate;
};

// One accumulation step: acc + p, then saturate or wrap to bits.
std::int64_t accumulate(std::int64_t acc, std::int64_t p, const AccumulatorRule& rule);

// acc = start; for k in 0..n-1: acc = accumulate(acc, products[k]). For
// saturate this is the ordered loop unless sum(|p|) + |start| fits, in which
// case the exact sum is returned (the fast path NUMERICS.md allows).
std::int64_t accumulate_all(std::int64_t start, const std::int64_t* products, std::size_t n,
                            const AccumulatorRule& rule);

// True when no ordering of adding values with sum of magnitudes abs_sum to a
// start of magnitude |start| can leave the accumulator's range.
bool exact_sum_is_safe(std::uint64_t abs_sum_bound, const AccumulatorRule& rule);

}  // namespace bitnpu::sim
